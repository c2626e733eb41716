"""CloudFormation end to end, driven as users drive AWS: `aws cloudformation deploy` of a
template holding a PER_TENANT function (inline code) behind a REST API that maps the
`x-tenant-id` header to `X-Amz-Tenant-Id`, then the per-tenant counter through the stage
URL, the stack's events and resources, `validate-template`, a deploy from an S3 bucket
(`--s3-bucket`, so the template arrives as a TemplateURL), and `delete-stack`, which
takes every resource with it. Each answer is asserted as AWS gives it."""

import uuid

import pytest
import requests
from botocore.exceptions import ClientError

from helpers import SEED_COUNTS, count_through_stage

TEMPLATE = """AWSTemplateFormatVersion: '2010-09-09'
Description: A per-tenant counter behind a REST API
Parameters:
  StageName:
    Type: String
    Default: prod
    Description: The stage the API is deployed to
Resources:
  CounterRole:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Version: '2012-10-17'
        Statement:
          - Effect: Allow
            Principal: {Service: lambda.amazonaws.com}
            Action: sts:AssumeRole
  Counter:
    Type: AWS::Lambda::Function
    Properties:
      Runtime: python3.12
      Handler: index.handler
      Role: !GetAtt CounterRole.Arn
      TenancyConfig:
        TenantIsolationMode: PER_TENANT
      Code:
        ZipFile: |
          import json
          counter = 0
          def handler(event, context):
              global counter
              body = {"counter": counter, "tenantId": context.tenant_id}
              counter += 1
              return {"statusCode": 200, "headers": {"Content-Type": "application/json"},
                      "body": json.dumps(body)}
  Api:
    Type: AWS::ApiGateway::RestApi
    Properties:
      Name: !Sub "${AWS::StackName}-tenants"
  CounterPath:
    Type: AWS::ApiGateway::Resource
    Properties:
      RestApiId: !Ref Api
      ParentId: !GetAtt Api.RootResourceId
      PathPart: counter
  CounterGet:
    Type: AWS::ApiGateway::Method
    Properties:
      RestApiId: !Ref Api
      ResourceId: !Ref CounterPath
      HttpMethod: GET
      AuthorizationType: NONE
      RequestParameters:
        method.request.header.x-tenant-id: true
      Integration:
        Type: AWS_PROXY
        IntegrationHttpMethod: POST
        Uri: !Sub "arn:aws:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${Counter.Arn}/invocations"
        RequestParameters:
          integration.request.header.X-Amz-Tenant-Id: method.request.header.x-tenant-id
  Invoke:
    Type: AWS::Lambda::Permission
    Properties:
      Action: lambda:InvokeFunction
      FunctionName: !Ref Counter
      Principal: apigateway.amazonaws.com
      SourceArn: !Sub "arn:aws:execute-api:${AWS::Region}:${AWS::AccountId}:${Api}/*/GET/counter"
  Deployment:
    Type: AWS::ApiGateway::Deployment
    DependsOn: CounterGet
    Properties:
      RestApiId: !Ref Api
      StageName: !Ref StageName
Outputs:
  ApiId:
    Value: !Ref Api
  FunctionName:
    Value: !Ref Counter
    Export:
      Name: !Sub "${AWS::StackName}-function"
"""

RESOURCES = {
    "CounterRole": "AWS::IAM::Role",
    "Counter": "AWS::Lambda::Function",
    "Api": "AWS::ApiGateway::RestApi",
    "CounterPath": "AWS::ApiGateway::Resource",
    "CounterGet": "AWS::ApiGateway::Method",
    "Invoke": "AWS::Lambda::Permission",
    "Deployment": "AWS::ApiGateway::Deployment",
}


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def cfn(server):
    return server.client("cloudformation")


@pytest.fixture
def template_file(tmp_path):
    path = tmp_path / "template.yaml"
    path.write_text(TEMPLATE)
    return path


def outputs(stack):
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def stage_url(server, api_id, stage, path):
    return f"{server.url}/restapis/{api_id}/{stage}/_user_request_{path}"


def deploy(server, stack, template_file, *extra):
    return server.aws("cloudformation", "deploy", "--template-file", template_file, "--stack-name", stack,
                      "--capabilities", "CAPABILITY_IAM", *extra)


def test_deploy_counts_per_tenant_behind_the_api_and_delete_removes_everything(
        server, cfn, lambda_client, template_file):
    stack = unique("tenants")
    rc, out, err = deploy(server, stack, template_file)
    assert rc == 0, err
    assert f"Successfully created/updated stack - {stack}" in out

    [described] = cfn.describe_stacks(StackName=stack)["Stacks"]
    assert described["StackStatus"] == "CREATE_COMPLETE"
    assert described["StackId"].startswith(f"arn:aws:cloudformation:us-east-1:000000000000:stack/{stack}/")
    assert described["Description"] == "A per-tenant counter behind a REST API"
    assert described["Parameters"] == [{"ParameterKey": "StageName", "ParameterValue": "prod"}]
    assert described["Capabilities"] == ["CAPABILITY_IAM"]
    api_id, function = outputs(described)["ApiId"], outputs(described)["FunctionName"]
    def exports_of_the_stack():
        return [e for e in cfn.list_exports()["Exports"] if e["ExportingStackId"] == described["StackId"]]
    assert exports_of_the_stack() == [
        {"ExportingStackId": described["StackId"], "Name": f"{stack}-function", "Value": function}]

    summaries = cfn.list_stack_resources(StackName=stack)["StackResourceSummaries"]
    assert {r["LogicalResourceId"]: r["ResourceType"] for r in summaries} == RESOURCES
    assert {r["ResourceStatus"] for r in summaries} == {"CREATE_COMPLETE"}
    detail = cfn.describe_stack_resource(StackName=stack, LogicalResourceId="Counter")["StackResourceDetail"]
    assert detail["PhysicalResourceId"] == function
    assert function.startswith(f"{stack}-Counter-")

    # The function is the one Lambda serves, with its tenancy.
    config = lambda_client.get_function(FunctionName=function)["Configuration"]
    assert config["TenancyConfig"] == {"TenantIsolationMode": "PER_TENANT"}
    assert config["Runtime"] == "python3.12" and config["Handler"] == "index.handler"

    # The counter experiment: each tenant has its own environments, so its own count.
    url = stage_url(server, api_id, "prod", "/counter")
    assert [body["counter"] for body in count_through_stage(url)] == SEED_COUNTS
    response = requests.get(url, timeout=60)
    assert response.status_code == 400
    assert response.json() == {"message": "Missing required request parameters: [x-tenant-id]"}

    # Events, newest first: the stack's own last, then first; every resource created.
    rc, events, err = server.aws("cloudformation", "describe-stack-events", "--stack-name", stack)
    assert rc == 0, err
    events = events["StackEvents"]
    assert (events[0]["LogicalResourceId"], events[0]["ResourceStatus"]) == (stack, "CREATE_COMPLETE")
    assert events[0]["ResourceType"] == "AWS::CloudFormation::Stack"
    # `deploy` creates the stack through a change set: the stack is first under review,
    # then created when the change set is executed (both "User Initiated", as on AWS).
    own = [(e["ResourceStatus"], e.get("ResourceStatusReason")) for e in events if e["LogicalResourceId"] == stack]
    assert own[-2:] == [("CREATE_IN_PROGRESS", "User Initiated"), ("REVIEW_IN_PROGRESS", "User Initiated")], own
    times = [e["Timestamp"] for e in events]
    assert times == sorted(times, reverse=True)
    for logical_id, kind in RESOURCES.items():
        # AWS writes CREATE_IN_PROGRESS once or twice (the second "Resource creation
        # Initiated"), then CREATE_COMPLETE.
        statuses = [e["ResourceStatus"] for e in events if e["LogicalResourceId"] == logical_id]
        assert statuses[0] == "CREATE_COMPLETE" and set(statuses[1:]) == {"CREATE_IN_PROGRESS"}, \
            (logical_id, statuses)
        assert {e["ResourceType"] for e in events if e["LogicalResourceId"] == logical_id} == {kind}
    assert {e["StackId"] for e in events} == {described["StackId"]}

    # The same template again: nothing to change, which `deploy` reports as AWS's CLI does.
    rc, out, err = deploy(server, stack, template_file, "--no-fail-on-empty-changeset")
    assert rc == 0, err
    assert f"No changes to deploy. Stack {stack} is up to date" in out

    rc, _, err = server.aws("cloudformation", "delete-stack", "--stack-name", stack)
    assert rc == 0, err
    rc, _, err = server.aws("cloudformation", "wait", "stack-delete-complete", "--stack-name", stack)
    assert rc == 0, err
    with pytest.raises(ClientError) as caught:
        cfn.describe_stacks(StackName=stack)
    assert caught.value.response["Error"]["Code"] == "ValidationError"
    assert caught.value.response["Error"]["Message"] == f"Stack with id {stack} does not exist"
    # By id, a deleted stack is still described.
    [deleted] = cfn.describe_stacks(StackName=described["StackId"])["Stacks"]
    assert deleted["StackStatus"] == "DELETE_COMPLETE" and "DeletionTime" in deleted
    listed = cfn.list_stacks(StackStatusFilter=["DELETE_COMPLETE"])["StackSummaries"]
    assert described["StackId"] in [s["StackId"] for s in listed]
    with pytest.raises(ClientError) as caught:
        lambda_client.get_function(FunctionName=function)
    assert caught.value.response["Error"]["Code"] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as caught:
        server.client("apigateway").get_rest_api(restApiId=api_id)
    assert caught.value.response["Error"]["Code"] == "NotFoundException"
    assert exports_of_the_stack() == []


def test_validate_template_describes_parameters_and_capabilities(server, template_file):
    rc, validated, err = server.aws("cloudformation", "validate-template",
                                    "--template-body", f"file://{template_file}")
    assert rc == 0, err
    assert validated == {
        "Parameters": [{"ParameterKey": "StageName", "DefaultValue": "prod", "NoEcho": False,
                        "Description": "The stage the API is deployed to"}],
        "Description": "A per-tenant counter behind a REST API",
        "Capabilities": ["CAPABILITY_IAM"],
        "CapabilitiesReason": "The following resource(s) require capabilities: [AWS::IAM::Role]",
    }
    rc, _, err = server.aws("cloudformation", "validate-template", "--template-body", "Resources: [not, a, map")
    assert rc == 255
    assert "An error occurred (ValidationError) when calling the ValidateTemplate operation: " \
           "Template format error:" in err


def test_summary_and_template_of_a_deployed_stack(server, cfn, template_file):
    stack = unique("summary")
    rc, _, err = deploy(server, stack, template_file)
    assert rc == 0, err
    template = cfn.get_template(StackName=stack)
    assert template["TemplateBody"] == TEMPLATE
    assert template["StagesAvailable"] == ["Original", "Processed"]
    summary = cfn.get_template_summary(StackName=stack)
    assert summary["ResourceTypes"] == sorted(set(RESOURCES.values()))
    assert summary["Parameters"][0]["ParameterKey"] == "StageName"
    assert summary["Parameters"][0]["ParameterType"] == "String"
    cfn.delete_stack(StackName=stack)
    cfn.get_waiter("stack_delete_complete").wait(StackName=stack, WaiterConfig={"Delay": 1})


def test_deploy_without_the_capability_is_refused(server, template_file):
    stack = unique("nocap")
    rc, _, err = server.aws("cloudformation", "deploy", "--template-file", template_file, "--stack-name", stack)
    assert rc == 255
    assert "An error occurred (InsufficientCapabilitiesException) when calling the CreateChangeSet " \
           "operation: Requires capabilities : [CAPABILITY_IAM]" in err


def test_deploy_through_an_s3_bucket_reads_the_template_url(server, cfn, template_file):
    # `--s3-bucket` uploads the template and hands CloudFormation its URL on this endpoint
    # (`<endpoint>/<bucket>/<key>`), which the server reads from its own S3.
    bucket = unique("templates")
    server.client("s3").create_bucket(Bucket=bucket)
    stack = unique("froms3")
    rc, out, err = deploy(server, stack, template_file, "--s3-bucket", bucket)
    assert rc == 0, err
    assert f"Successfully created/updated stack - {stack}" in out
    [described] = cfn.describe_stacks(StackName=stack)["Stacks"]
    assert described["StackStatus"] == "CREATE_COMPLETE"
    assert cfn.get_template(StackName=stack)["TemplateBody"] == TEMPLATE
    [key] = [o["Key"] for o in server.client("s3").list_objects_v2(Bucket=bucket)["Contents"]]
    validated = cfn.validate_template(TemplateURL=f"{server.url}/{bucket}/{key}")
    assert validated["Description"] == "A per-tenant counter behind a REST API"
    cfn.delete_stack(StackName=stack)
    cfn.get_waiter("stack_delete_complete").wait(StackName=stack, WaiterConfig={"Delay": 1})


def test_change_sets_show_what_an_update_would_do(server, cfn, template_file):
    stack = unique("changes")
    rc, _, err = deploy(server, stack, template_file)
    assert rc == 0, err
    changed = TEMPLATE.replace("      Handler: index.handler\n", "      Handler: index.handler\n      MemorySize: 256\n")
    created = cfn.create_change_set(StackName=stack, ChangeSetName="more-memory", TemplateBody=changed,
                                    Capabilities=["CAPABILITY_IAM"])
    cfn.get_waiter("change_set_create_complete").wait(ChangeSetName=created["Id"], WaiterConfig={"Delay": 1})
    described = cfn.describe_change_set(ChangeSetName="more-memory", StackName=stack)
    assert (described["Status"], described["ExecutionStatus"]) == ("CREATE_COMPLETE", "AVAILABLE")
    [change] = described["Changes"]
    assert change["Type"] == "Resource"
    resource = change["ResourceChange"]
    assert (resource["Action"], resource["LogicalResourceId"], resource["Replacement"]) == \
        ("Modify", "Counter", "False")
    assert resource["Scope"] == ["Properties"]
    assert [d["Target"]["Name"] for d in resource["Details"]] == ["MemorySize"]
    assert [s["ChangeSetName"] for s in cfn.list_change_sets(StackName=stack)["Summaries"]] == ["more-memory"]
    cfn.execute_change_set(ChangeSetName=created["Id"])
    cfn.get_waiter("stack_update_complete").wait(StackName=stack, WaiterConfig={"Delay": 1})
    function = outputs(cfn.describe_stacks(StackName=stack)["Stacks"][0])["FunctionName"]
    assert server.client("lambda").get_function_configuration(FunctionName=function)["MemorySize"] == 256
    cfn.delete_stack(StackName=stack)
    cfn.get_waiter("stack_delete_complete").wait(StackName=stack, WaiterConfig={"Delay": 1})
