"""SSM Parameter Store, driven with boto3's `ssm` client and the AWS CLI against the real
server: versions, overwrite, paths and pages, SecureString reads, deletes and the errors
botocore models; then CloudFormation's `AWS::SSM::Parameter` resource, a second stack whose
`AWS::SSM::Parameter::Value<String>` parameter resolves it (shown as `ResolvedValue`), and
the `Rules` section asserting on that value, as the CDK's bootstrap-version check does."""

import uuid

import pytest
import requests
from botocore.exceptions import ClientError


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def ssm(server):
    return server.client("ssm")


@pytest.fixture(scope="module")
def cfn(server):
    return server.client("cloudformation")


def error_of(call, *args, **kwargs):
    with pytest.raises(ClientError) as caught:
        call(*args, **kwargs)
    return caught.value.response["Error"]["Code"], caught.value.response["Error"]["Message"], \
        caught.value.response["ResponseMetadata"]["HTTPStatusCode"]


def test_put_get_overwrite_and_versions(ssm):
    name = f"/{unique('app')}/db/host"
    assert ssm.put_parameter(Name=name, Value="one", Type="String", Description="the host")["Version"] == 1
    code, message, status = error_of(ssm.put_parameter, Name=name, Value="two", Type="String")
    assert (code, status) == ("ParameterAlreadyExists", 400)
    assert "overwrite" in message
    assert ssm.put_parameter(Name=name, Value="two", Overwrite=True)["Version"] == 2
    parameter = ssm.get_parameter(Name=name)["Parameter"]
    assert parameter["Value"] == "two" and parameter["Version"] == 2 and parameter["Type"] == "String"
    assert parameter["ARN"] == f"arn:aws:ssm:us-east-1:000000000000:parameter{name}"
    assert parameter["DataType"] == "text" and parameter["LastModifiedDate"].year >= 2024
    first = ssm.get_parameter(Name=f"{name}:1")["Parameter"]
    assert (first["Value"], first["Selector"]) == ("one", ":1")
    assert error_of(ssm.get_parameter, Name=f"{name}:7")[0] == "ParameterVersionNotFound"
    described = ssm.describe_parameters(ParameterFilters=[{"Key": "Name", "Values": [name]}])["Parameters"]
    assert [(p["Name"], p["Version"], p["Description"], p["Tier"]) for p in described] == [
        (name, 2, "the host", "Standard")
    ]


def test_paths_pages_and_get_parameters(ssm):
    root = f"/{unique('tree')}"
    for leaf in ["a", "b", "c", "sub/d"]:
        ssm.put_parameter(Name=f"{root}/{leaf}", Value=leaf, Type="String")
    one_level = ssm.get_parameters_by_path(Path=root)["Parameters"]
    assert [p["Name"] for p in one_level] == [f"{root}/a", f"{root}/b", f"{root}/c"]
    first = ssm.get_parameters_by_path(Path=root, Recursive=True, MaxResults=3)
    assert len(first["Parameters"]) == 3 and "NextToken" in first
    second = ssm.get_parameters_by_path(Path=root, Recursive=True, MaxResults=3, NextToken=first["NextToken"])
    assert [p["Name"] for p in second["Parameters"]] == [f"{root}/sub/d"] and "NextToken" not in second
    paginator = ssm.get_paginator("get_parameters_by_path")
    pages = paginator.paginate(Path=root, Recursive=True, PaginationConfig={"PageSize": 2})
    assert sum(len(page["Parameters"]) for page in pages) == 4
    got = ssm.get_parameters(Names=[f"{root}/a", f"{root}/missing"])
    assert [p["Value"] for p in got["Parameters"]] == ["a"]
    assert got["InvalidParameters"] == [f"{root}/missing"]
    deleted = ssm.delete_parameters(Names=[f"{root}/a", f"{root}/missing"])
    assert (deleted["DeletedParameters"], deleted["InvalidParameters"]) == ([f"{root}/a"], [f"{root}/missing"])
    ssm.delete_parameter(Name=f"{root}/b")
    code, _, status = error_of(ssm.get_parameter, Name=f"{root}/b")
    assert (code, status) == ("ParameterNotFound", 400)
    assert error_of(ssm.delete_parameter, Name=f"{root}/b")[0] == "ParameterNotFound"


def test_string_lists_and_secure_strings(ssm):
    name = unique("secret")
    ssm.put_parameter(Name=name, Value="hunter2", Type="SecureString")
    assert ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"] == "hunter2"
    hidden = ssm.get_parameter(Name=name)["Parameter"]
    assert hidden["Type"] == "SecureString" and hidden["Value"] != "hunter2"
    listed = unique("list")
    ssm.put_parameter(Name=listed, Value="a,b,c", Type="StringList")
    assert ssm.get_parameter(Name=listed)["Parameter"]["Type"] == "StringList"


def test_bad_input_gets_ssm_errors(ssm, server):
    for bad in ["aws-reserved", "/ssm/x", "has space", "no/leading/slash"]:
        code, message, status = error_of(ssm.put_parameter, Name=bad, Value="v", Type="String")
        assert (code, status) == ("ValidationException", 400), bad
        assert "Parameter name" in message
    deep = "/" + "/".join(["l"] * 16)
    assert error_of(ssm.put_parameter, Name=deep, Value="v", Type="String")[0] == \
        "HierarchyLevelLimitExceededException"
    assert error_of(ssm.put_parameter, Name=unique("big"), Value="x" * 4097, Type="String")[0] == \
        "ValidationException"
    code, message, _ = error_of(ssm.put_parameter, Name=unique("pat"), Value="abc", Type="String",
                                AllowedPattern="^[0-9]+$")
    assert code == "ParameterPatternMismatchException" and "allowedPattern" in message
    assert error_of(ssm.get_parameters_by_path, Path="relative")[0] == "ValidationException"
    assert error_of(ssm.get_parameters_by_path, Path="/x", NextToken="!!")[0] == "InvalidNextToken"
    raw = requests.post(server.url + "/", data="{}", timeout=10, headers={
        "X-Amz-Target": "AmazonSSM.NoSuchThing", "Content-Type": "application/x-amz-json-1.1"})
    assert raw.status_code == 400 and raw.json()["__type"] == "UnknownOperationException"


def test_tags_are_kept_changed_and_listed(ssm):
    name = f"/{unique('tagged')}"
    ssm.put_parameter(Name=name, Value="v", Type="String", Tags=[{"Key": "team", "Value": "blue"}])
    listed = lambda: ssm.list_tags_for_resource(ResourceType="Parameter", ResourceId=name)["TagList"]
    assert listed() == [{"Key": "team", "Value": "blue"}]
    ssm.add_tags_to_resource(ResourceType="Parameter", ResourceId=name,
                             Tags=[{"Key": "team", "Value": "green"}, {"Key": "tier", "Value": "1"}])
    assert listed() == [{"Key": "team", "Value": "green"}, {"Key": "tier", "Value": "1"}]
    ssm.remove_tags_from_resource(ResourceType="Parameter", ResourceId=name, TagKeys=["tier"])
    assert listed() == [{"Key": "team", "Value": "green"}]
    code, _, status = error_of(ssm.put_parameter, Name=name, Value="w", Type="String", Overwrite=True,
                               Tags=[{"Key": "a", "Value": "b"}])
    assert (code, status) == ("ValidationException", 400)
    too_many = [{"Key": f"k{i}", "Value": "v"} for i in range(50)]
    code, _, _ = error_of(ssm.add_tags_to_resource, ResourceType="Parameter", ResourceId=name, Tags=too_many)
    assert code == "TooManyTagsError"
    assert listed() == [{"Key": "team", "Value": "green"}]
    code, _, _ = error_of(ssm.list_tags_for_resource, ResourceType="Parameter", ResourceId=f"{name}-gone")
    assert code == "InvalidResourceId"
    code, _, _ = error_of(ssm.list_tags_for_resource, ResourceType="Document", ResourceId=name)
    assert code == "InvalidResourceType"


def test_the_cli_reads_a_parameter(ssm, server):
    name = f"/{unique('cli')}/version"
    ssm.put_parameter(Name=name, Value="33", Type="String")
    rc, out, err = server.aws("ssm", "get-parameter", "--name", name, "--with-decryption")
    assert rc == 0, err
    assert (out["Parameter"]["Name"], out["Parameter"]["Value"]) == (name, "33")
    rc, _, err = server.aws("ssm", "get-parameter", "--name", f"{name}-missing")
    assert rc != 0 and "ParameterNotFound" in err


BOOTSTRAP = """
Resources:
  Version:
    Type: AWS::SSM::Parameter
    Properties:
      Type: String
      Name: {name}
      Value: '{value}'
      Tags:
        team: {team}
  Unnamed:
    Type: AWS::SSM::Parameter
    Properties:
      Type: StringList
      Value: a,b
Outputs:
  Name:
    Value: !Ref Version
  Value:
    Value: !GetAtt Version.Value
  Generated:
    Value: !Ref Unnamed
"""

CONSUMER = """
Parameters:
  BootstrapVersion:
    Type: AWS::SSM::Parameter::Value<String>
    Default: {name}
    Description: Version of the bootstrap resources
Rules:
  CheckBootstrapVersion:
    Assertions:
      - Assert:
          Fn::Not:
            - Fn::Contains:
                - - "1"
                  - "2"
                  - "3"
                  - "4"
                  - "5"
                - Ref: BootstrapVersion
        AssertDescription: CDK bootstrap stack version 6 required. Please run 'cdk bootstrap' with a recent version of the CDK CLI.
Resources:
  Copy:
    Type: AWS::SSM::Parameter
    Properties:
      Type: String
      Value: !Ref BootstrapVersion
Outputs:
  Seen:
    Value: !Ref BootstrapVersion
"""


def create(cfn, name, body):
    cfn.create_stack(StackName=name, TemplateBody=body)
    cfn.get_waiter("stack_create_complete").wait(StackName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    return cfn.describe_stacks(StackName=name)["Stacks"][0]


def outputs(stack):
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def test_stacks_make_resolve_and_assert_on_parameters(cfn, ssm):
    name = f"/{unique('cdk-bootstrap')}/version"
    producer = unique("bootstrap")
    made = outputs(create(cfn, producer, BOOTSTRAP.format(name=name, value="33", team="blue")))
    assert (made["Name"], made["Value"]) == (name, "33")
    assert made["Generated"].startswith("CFN-Unnamed-")
    assert ssm.get_parameter(Name=name)["Parameter"]["Value"] == "33"
    assert ssm.get_parameter(Name=made["Generated"])["Parameter"]["Type"] == "StringList"
    tags = ssm.list_tags_for_resource(ResourceType="Parameter", ResourceId=name)["TagList"]
    assert tags == [{"Key": "team", "Value": "blue"}]

    consumer = unique("app")
    stack = create(cfn, consumer, CONSUMER.format(name=name))
    [parameter] = stack["Parameters"]
    assert (parameter["ParameterValue"], parameter["ResolvedValue"]) == (name, "33")
    assert outputs(stack)["Seen"] == "33"

    # An update re-reads the parameter: the producer writes 5, which the rule refuses.
    cfn.update_stack(StackName=producer, TemplateBody=BOOTSTRAP.format(name=name, value="5", team="green"))
    cfn.get_waiter("stack_update_complete").wait(StackName=producer, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    assert ssm.get_parameter(Name=name)["Parameter"]["Version"] == 2
    tags = ssm.list_tags_for_resource(ResourceType="Parameter", ResourceId=name)["TagList"]
    assert tags == [{"Key": "team", "Value": "green"}]
    code, message, _ = error_of(cfn.update_stack, StackName=consumer, UsePreviousTemplate=True,
                                Parameters=[{"ParameterKey": "BootstrapVersion", "UsePreviousValue": True}])
    assert code == "ValidationError"
    assert message.startswith("CDK bootstrap stack version 6 required.")
    code, message, _ = error_of(cfn.create_change_set, StackName=unique("refused"), ChangeSetName="cs",
                                ChangeSetType="CREATE", TemplateBody=CONSUMER.format(name=name))
    assert code == "ValidationError" and message.startswith("CDK bootstrap stack version 6 required.")

    missing = f"/{unique('nowhere')}/version"
    code, message, _ = error_of(cfn.create_stack, StackName=unique("missing"),
                                TemplateBody=CONSUMER.format(name=missing))
    assert (code, message) == (
        "ValidationError", f"Unable to fetch parameters [{missing}] from parameter store for this account.")

    cfn.delete_stack(StackName=consumer)
    cfn.delete_stack(StackName=producer)
    cfn.get_waiter("stack_delete_complete").wait(StackName=producer, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    assert error_of(ssm.get_parameter, Name=name)[0] == "ParameterNotFound"


def test_secure_string_resources_and_bad_rules_are_refused(cfn):
    body = "Resources:\n  P:\n    Type: AWS::SSM::Parameter\n    Properties:\n      Type: SecureString\n      Value: x\n"
    stack = unique("secure")
    cfn.create_stack(StackName=stack, TemplateBody=body)
    with pytest.raises(Exception):
        cfn.get_waiter("stack_create_complete").wait(StackName=stack, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    events = cfn.describe_stack_events(StackName=stack)["StackEvents"]
    assert any("SecureString" in (e.get("ResourceStatusReason") or "") for e in events)
    bad_rules = "Rules:\n  R:\n    Assertions:\n      - Assert: {'Fn::RefAll': 'AWS::EC2::VPC::Id'}\n" \
                "Resources:\n  P:\n    Type: AWS::SSM::Parameter\n    Properties:\n      Type: String\n      Value: x\n"
    code, message, _ = error_of(cfn.validate_template, TemplateBody=bad_rules)
    assert code == "ValidationError" and message.startswith("Template format error:") and "Fn::RefAll" in message
