"""The SAM transform end to end: `aws cloudformation deploy` of a SAM template (Globals, a
PER_TENANT `AWS::Serverless::Function` with inline code, an `AutoPublishAlias` and an
`Api` event, an `AWS::Serverless::Api` whose OpenAPI definition maps `x-tenant-id` to
`X-Amz-Tenant-Id`), translated by AWS's own translator, then the per-tenant counter
through the stage URL, the original and processed templates, SAM's tenancy rules with its
own messages, a server without the translator, and `delete-stack` taking everything."""

import json
import uuid

import pytest
import requests
from botocore.exceptions import ClientError

from helpers import SEED_COUNTS, count_through_stage

SAM = "AWS::Serverless-2016-10-31"

TEMPLATE = """AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Description: A per-tenant counter, in SAM
Globals:
  Function:
    Runtime: python3.12
    Timeout: 10
    MemorySize: 256
    Environment:
      Variables:
        GREETING: hello
Resources:
  Counter:
    Type: AWS::Serverless::Function
    Properties:
      Handler: index.handler
      AutoPublishAlias: live
      TenancyConfig:
        TenantIsolationMode: PER_TENANT
      InlineCode: |
        import json, os
        counter = 0
        def handler(event, context):
            global counter
            body = {"counter": counter, "tenantId": context.tenant_id, "greeting": os.environ["GREETING"]}
            counter += 1
            return {"statusCode": 200, "headers": {"Content-Type": "application/json"},
                    "body": json.dumps(body)}
      Events:
        Count:
          Type: Api
          Properties:
            RestApiId: !Ref Api
            Path: /counter
            Method: get
  Api:
    Type: AWS::Serverless::Api
    Properties:
      StageName: prod
      DefinitionBody:
        openapi: '3.0.1'
        info: {title: counter, version: '1'}
        paths:
          /counter:
            get:
              parameters:
                - {name: x-tenant-id, in: header, required: true}
              x-amazon-apigateway-integration:
                type: aws_proxy
                httpMethod: POST
                uri: !Sub "arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${Counter.Alias}/invocations"
                requestParameters:
                  integration.request.header.X-Amz-Tenant-Id: method.request.header.x-tenant-id
Outputs:
  ApiId:
    Value: !Ref Api
  FunctionName:
    Value: !Ref Counter
"""

# What the translator makes of it (Version and Deployment ids end in content hashes).
PROCESSED_TYPES = {
    "CounterRole": "AWS::IAM::Role",
    "Counter": "AWS::Lambda::Function",
    "CounterVersion": "AWS::Lambda::Version",
    "CounterAliaslive": "AWS::Lambda::Alias",
    "CounterCountPermissionprod": "AWS::Lambda::Permission",
    "Api": "AWS::ApiGateway::RestApi",
    "ApiDeployment": "AWS::ApiGateway::Deployment",
    "ApiprodStage": "AWS::ApiGateway::Stage",
}

PER_TENANT_WITH_URL = """Transform: AWS::Serverless-2016-10-31
Resources:
  Counter:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      Handler: index.handler
      InlineCode: "def handler(event, context): return 0"
      TenancyConfig:
        TenantIsolationMode: PER_TENANT
      FunctionUrlConfig:
        AuthType: NONE
"""

PER_TENANT_WITH_QUEUE = PER_TENANT_WITH_URL.replace("""      FunctionUrlConfig:
        AuthType: NONE
""", """      Events:
        Work:
          Type: SQS
          Properties:
            Queue: arn:aws:sqs:us-east-1:000000000000:work
""")


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def kind_of(logical_id):
    """The expected type of a generated logical id, its hash suffix aside."""
    for prefix, kind in PROCESSED_TYPES.items():
        if logical_id == prefix or (prefix in ("CounterVersion", "ApiDeployment") and logical_id.startswith(prefix)):
            return kind
    return None


@pytest.fixture(scope="module")
def cfn(server):
    return server.client("cloudformation")


def write(tmp_path, body):
    path = tmp_path / "template.yaml"
    path.write_text(body)
    return path


def deploy(server, stack, path, *capabilities):
    return server.aws("cloudformation", "deploy", "--template-file", path, "--stack-name", stack,
                      "--capabilities", *(capabilities or ("CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND")))


def test_a_sam_stack_counts_per_tenant_keeps_both_templates_and_deletes_everything(
        server, cfn, lambda_client, tmp_path):
    stack = unique("sam")
    rc, out, err = deploy(server, stack, write(tmp_path, TEMPLATE))
    assert rc == 0, err
    assert f"Successfully created/updated stack - {stack}" in out

    [described] = cfn.describe_stacks(StackName=stack)["Stacks"]
    assert described["StackStatus"] == "CREATE_COMPLETE"
    assert described["Description"] == "A per-tenant counter, in SAM"
    outputs = {o["OutputKey"]: o["OutputValue"] for o in described["Outputs"]}
    api_id, function = outputs["ApiId"], outputs["FunctionName"]

    resources = cfn.list_stack_resources(StackName=stack)["StackResourceSummaries"]
    assert sorted(kind_of(r["LogicalResourceId"]) or r["LogicalResourceId"] for r in resources) == \
        sorted(PROCESSED_TYPES.values())
    assert {r["ResourceType"] for r in resources} == set(PROCESSED_TYPES.values())
    assert all(kind_of(r["LogicalResourceId"]) == r["ResourceType"] for r in resources)
    assert {r["ResourceStatus"] for r in resources} == {"CREATE_COMPLETE"}

    # Globals reached the function; SAM's tag marks it; the tenancy is Lambda's.
    fn = lambda_client.get_function(FunctionName=function)
    config = fn["Configuration"]
    assert config["TenancyConfig"] == {"TenantIsolationMode": "PER_TENANT"}
    assert (config["Runtime"], config["Handler"], config["Timeout"], config["MemorySize"]) == \
        ("python3.12", "index.handler", 10, 256)
    assert config["Environment"]["Variables"] == {"GREETING": "hello"}
    assert fn["Tags"]["lambda:createdBy"] == "SAM"
    # AutoPublishAlias: version 1 published, alias `live` on it.
    alias = lambda_client.get_alias(FunctionName=function, Name="live")
    assert alias["FunctionVersion"] == "1"
    versions = lambda_client.list_versions_by_function(FunctionName=function)["Versions"]
    assert [v["Version"] for v in versions] == ["$LATEST", "1"]

    # The counter experiment through the stage URL: each tenant has its own count.
    url = f"{server.url}/restapis/{api_id}/prod/_user_request_/counter"
    bodies = count_through_stage(url)
    assert [body["counter"] for body in bodies] == SEED_COUNTS
    assert {body["greeting"] for body in bodies} == {"hello"}
    response = requests.get(url, timeout=60)
    assert response.status_code == 400
    assert response.json() == {"message": "Missing required request parameters: [x-tenant-id]"}

    # GetTemplate: as submitted by default, the translator's output when Processed.
    rc, original, err = server.aws("cloudformation", "get-template", "--stack-name", stack)
    assert rc == 0, err
    assert original["TemplateBody"] == TEMPLATE
    rc, processed, err = server.aws("cloudformation", "get-template", "--stack-name", stack,
                                    "--template-stage", "Processed")
    assert rc == 0, err
    body = processed["TemplateBody"]
    body = json.loads(body) if isinstance(body, str) else body
    assert "Transform" not in body and "Globals" not in body
    assert {k: kind_of(k) for k in body["Resources"]} == {k: v["Type"] for k, v in body["Resources"].items()}
    code = body["Resources"]["Counter"]["Properties"]["Code"]["ZipFile"]
    assert code.startswith("import json, os\ncounter = 0\n")
    summary = cfn.get_template_summary(StackName=stack)
    assert summary["DeclaredTransforms"] == [SAM]

    # The same template again: nothing changes (the translation is deterministic).
    rc, out, err = server.aws("cloudformation", "deploy", "--template-file", tmp_path / "template.yaml",
                              "--stack-name", stack, "--capabilities", "CAPABILITY_IAM",
                              "--no-fail-on-empty-changeset")
    assert rc == 0, err
    assert f"No changes to deploy. Stack {stack} is up to date" in out

    rc, _, err = server.aws("cloudformation", "delete-stack", "--stack-name", stack)
    assert rc == 0, err
    rc, _, err = server.aws("cloudformation", "wait", "stack-delete-complete", "--stack-name", stack)
    assert rc == 0, err
    [deleted] = cfn.describe_stacks(StackName=described["StackId"])["Stacks"]
    assert deleted["StackStatus"] == "DELETE_COMPLETE"
    with pytest.raises(ClientError) as caught:
        lambda_client.get_function(FunctionName=function)
    assert caught.value.response["Error"]["Code"] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as caught:
        server.client("apigateway").get_rest_api(restApiId=api_id)
    assert caught.value.response["Error"]["Code"] == "NotFoundException"


def test_create_stack_with_the_transform_needs_auto_expand(server, cfn):
    stack = unique("sam")
    with pytest.raises(ClientError) as caught:
        cfn.create_stack(StackName=stack, TemplateBody=TEMPLATE, Capabilities=["CAPABILITY_IAM"])
    error = caught.value.response["Error"]
    assert (error["Code"], error["Message"]) == \
        ("InsufficientCapabilitiesException", "Requires capabilities : [CAPABILITY_AUTO_EXPAND]")


@pytest.mark.parametrize("template, cause", [
    (PER_TENANT_WITH_URL, "Function URL is not supported for functions enabled with tenancy configuration."),
    (PER_TENANT_WITH_QUEUE, "Event source 'SQS' is not supported for functions enabled with tenancy "
                            "configuration. Only Api and HttpApi event sources are supported."),
])
def test_sams_tenancy_rules_refuse_with_its_message(server, cfn, tmp_path, template, cause):
    expected = (f"Transform {SAM} failed with: Invalid Serverless Application Specification document. "
                f"Number of errors found: 1. Resource with id [Counter] is invalid. {cause}")
    # A change set records the refusal: it is made, and settles FAILED with SAM's text.
    stack = unique("sam")
    rc, _, err = deploy(server, stack, write(tmp_path, template))
    assert rc != 0
    assert "Status: FAILED" in err and expected in err, err
    [summary] = cfn.list_change_sets(StackName=stack)["Summaries"]
    assert (summary["Status"], summary["ExecutionStatus"], summary["StatusReason"]) == \
        ("FAILED", "UNAVAILABLE", expected)
    assert cfn.describe_stacks(StackName=stack)["Stacks"][0]["StackStatus"] == "REVIEW_IN_PROGRESS"
    # CreateStack and ValidateTemplate run the transform in the request and refuse it.
    with pytest.raises(ClientError) as caught:
        cfn.create_stack(StackName=unique("sam"), TemplateBody=template,
                         Capabilities=["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"])
    assert (caught.value.response["Error"]["Code"], caught.value.response["Error"]["Message"]) == \
        ("ValidationError", expected)
    with pytest.raises(ClientError) as caught:
        cfn.validate_template(TemplateBody=template)
    assert caught.value.response["Error"]["Code"] == "ValidationError"
    assert caught.value.response["Error"]["Message"] == expected


def test_other_transforms_are_refused_by_name(server, cfn):
    body = TEMPLATE.replace(f"Transform: {SAM}", "Transform: [AWS::LanguageExtensions]")
    with pytest.raises(ClientError) as caught:
        cfn.validate_template(TemplateBody=body.replace("Globals:", "Metadata:"))
    assert caught.value.response["Error"]["Code"] == "ValidationError"
    assert caught.value.response["Error"]["Message"] == \
        f"Transform AWS::LanguageExtensions is not supported by Alcove (only {SAM} is applied)"


def test_a_server_without_the_translator_says_how_to_install_it(server_factory):
    server = server_factory.start(None, "--sam-python", "/nonexistent/python3")
    with pytest.raises(ClientError) as caught:
        server.client("cloudformation").validate_template(TemplateBody=TEMPLATE)
    error = caught.value.response["Error"]
    assert error["Code"] == "ValidationError"
    assert error["Message"].startswith(f"Transform {SAM} failed with: the SAM translator is not available")
    assert "pip install aws-sam-translator" in error["Message"] and "/nonexistent/python3" in error["Message"]


PACKAGED = """Transform: AWS::Serverless-2016-10-31
Resources:
  Hello:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      Handler: app.handler
      CodeUri: ./src
Outputs:
  FunctionName:
    Value: !Ref Hello
"""


def test_code_uri_packaged_to_s3_by_the_cli_is_deployed(server, cfn, lambda_client, tmp_path, monkeypatch):
    """`aws cloudformation package` uploads `CodeUri: ./src` to S3 and writes
    `CodeUri: s3://bucket/key`, which SAM turns into the function's S3 code."""
    # The CLI's uploader makes its own S3 client: it learns the endpoint from here.
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", server.url)
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.py").write_text("def handler(event, context):\n    return {'packaged': True}\n")
    write(tmp_path, PACKAGED)
    bucket = unique("code")
    rc, _, err = server.aws("s3api", "create-bucket", "--bucket", bucket)
    assert rc == 0, err
    packaged = tmp_path / "packaged.yaml"
    rc, _, err = server.aws("cloudformation", "package", "--template-file", tmp_path / "template.yaml",
                            "--s3-bucket", bucket, "--output-template-file", packaged)
    assert rc == 0, err
    assert f"CodeUri: s3://{bucket}/" in packaged.read_text()
    stack = unique("packaged")
    rc, _, err = deploy(server, stack, packaged)
    assert rc == 0, err
    [described] = cfn.describe_stacks(StackName=stack)["Stacks"]
    function = described["Outputs"][0]["OutputValue"]
    answer = lambda_client.invoke(FunctionName=function)
    assert json.loads(answer["Payload"].read()) == {"packaged": True}
    rc, processed, err = server.aws("cloudformation", "get-template", "--stack-name", stack,
                                    "--template-stage", "Processed")
    assert rc == 0, err
    body = processed["TemplateBody"]
    body = json.loads(body) if isinstance(body, str) else body
    code = body["Resources"]["Hello"]["Properties"]["Code"]
    assert code["S3Bucket"] == bucket and set(code) == {"S3Bucket", "S3Key"}
    rc, _, err = server.aws("cloudformation", "delete-stack", "--stack-name", stack)
    assert rc == 0, err
    rc, _, err = server.aws("cloudformation", "wait", "stack-delete-complete", "--stack-name", stack)
    assert rc == 0, err


def test_what_alcove_cannot_serve_is_refused_clearly(server, cfn, tmp_path):
    with_preference = PER_TENANT_WITH_URL.replace("""      TenancyConfig:
        TenantIsolationMode: PER_TENANT
      FunctionUrlConfig:
        AuthType: NONE
""", """      AutoPublishAlias: live
      DeploymentPreference:
        Type: AllAtOnce
""")
    with pytest.raises(ClientError) as caught:
        cfn.validate_template(TemplateBody=with_preference)
    assert caught.value.response["Error"]["Message"] == (
        f"Transform {SAM} failed with: Invalid Serverless Application Specification document. Number of "
        "errors found: 1. Resource with id [Counter] is invalid. DeploymentPreference is not supported by "
        "Alcove: it deploys through CodeDeploy, which Alcove does not serve.")

    # There is no stage cache: a method setting enabling it fails the generated stage,
    # and the stack rolls back.
    cached = TEMPLATE.replace("      StageName: prod\n", "      StageName: prod\n      MethodSettings:\n"
                              "        - {ResourcePath: '/*', HttpMethod: '*', CachingEnabled: true}\n")
    stack = unique("cached")
    rc, _, err = deploy(server, stack, write(tmp_path, cached))
    assert rc != 0
    events = cfn.describe_stack_events(StackName=stack)["StackEvents"]
    [failed] = [e for e in events if e["ResourceStatus"] == "CREATE_FAILED"]
    assert failed["LogicalResourceId"] == "ApiprodStage"
    assert "Caching is not supported by this server" in failed["ResourceStatusReason"]
    [described] = cfn.describe_stacks(StackName=stack)["Stacks"]
    assert described["StackStatus"] == "ROLLBACK_COMPLETE"


def throttled(burst, rate):
    return TEMPLATE.replace("      StageName: prod\n", "      StageName: prod\n      MethodSettings:\n"
                            f"        - {{ResourcePath: '/*', HttpMethod: '*', ThrottlingBurstLimit: {burst}, "
                            f"ThrottlingRateLimit: {rate}}}\n")


def test_method_settings_deploy_and_throttle_the_stage_url(server, cfn, tmp_path):
    stack = unique("throttled")
    rc, _, err = deploy(server, stack, write(tmp_path, throttled(2, 0.01)))
    assert rc == 0, err
    outputs = {o["OutputKey"]: o["OutputValue"] for o in cfn.describe_stacks(StackName=stack)["Stacks"][0]["Outputs"]}
    api_id = outputs["ApiId"]
    apigw = server.client("apigateway")
    settings = apigw.get_stage(restApiId=api_id, stageName="prod")["methodSettings"]
    assert (settings["*/*"]["throttlingBurstLimit"], settings["*/*"]["throttlingRateLimit"]) == (2, 0.01)

    # A burst of 2, refilled at one request per 100 s: the third request is turned away.
    url = f"{server.url}/restapis/{api_id}/prod/_user_request_/counter"
    statuses = [requests.get(url, headers={"x-tenant-id": "Blue"}, timeout=60).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    refused = requests.get(url, headers={"x-tenant-id": "Green"}, timeout=60)
    assert refused.status_code == 429, "the stage's limit is shared by every tenant"
    assert refused.json() == {"message": "Too Many Requests"}
    assert refused.headers["x-amzn-ErrorType"] == "TooManyRequestsException"

    # Raising the limit updates the stage in place; requests pass again.
    stage_before = apigw.get_stage(restApiId=api_id, stageName="prod")
    rc, _, err = deploy(server, stack, write(tmp_path, throttled(50, 10)))
    assert rc == 0, err
    stage_after = apigw.get_stage(restApiId=api_id, stageName="prod")
    assert stage_after["createdDate"] == stage_before["createdDate"], "updated, not recreated"
    assert stage_after["methodSettings"]["*/*"]["throttlingBurstLimit"] == 50
    assert [requests.get(url, headers={"x-tenant-id": "Blue"}, timeout=60).status_code for _ in range(5)] == [200] * 5

    rc, _, err = server.aws("cloudformation", "delete-stack", "--stack-name", stack)
    assert rc == 0, err
    rc, _, err = server.aws("cloudformation", "wait", "stack-delete-complete", "--stack-name", stack)
    assert rc == 0, err
