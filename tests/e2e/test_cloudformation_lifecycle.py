"""CloudFormation stacks over their life: code packaged into Alcove's S3 by `aws
cloudformation package` and deployed from there; an update that changes `TenancyConfig`
replacing the function (a new one is made, the old one deleted), as on AWS; a template
whose second resource fails rolling back so that nothing half-made remains; and a server
killed with SIGKILL in the middle of a create, whose stack is settled when it starts
again, never left in progress, with the function it had made removed."""

import json
import time
import uuid

import pytest
from botocore.exceptions import ClientError

from harness import ROLE

COUNTER = """import json
counter = 0
def handler(event, context):
    global counter
    counter += 1
    return {"counter": counter - 1, "tenantId": context.tenant_id}
"""


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def function_resource(tenancy=None, runtime="python3.12", depends_on=None):
    properties = {"Runtime": runtime, "Handler": "index.handler", "Role": ROLE, "Code": {"ZipFile": COUNTER}}
    if tenancy:
        properties["TenancyConfig"] = {"TenantIsolationMode": tenancy}
    resource = {"Type": "AWS::Lambda::Function", "Properties": properties}
    if depends_on:
        resource["DependsOn"] = depends_on
    return resource


def template(**resources):
    return json.dumps({"AWSTemplateFormatVersion": "2010-09-09", "Resources": resources})


def settled(cfn, stack, timeout=120):
    """The stack once it is no longer in progress."""
    deadline = time.monotonic() + timeout
    while True:
        found = cfn.describe_stacks(StackName=stack)["Stacks"][0]
        if not found["StackStatus"].endswith("_IN_PROGRESS"):
            return found
        assert time.monotonic() < deadline, f"stack still {found['StackStatus']}"
        time.sleep(0.2)


def physical_id(cfn, stack, logical_id):
    return cfn.describe_stack_resource(StackName=stack, LogicalResourceId=logical_id)[
        "StackResourceDetail"]["PhysicalResourceId"]


def function_exists(lambda_client, name):
    try:
        lambda_client.get_function(FunctionName=name)
        return True
    except ClientError as e:
        assert e.response["Error"]["Code"] == "ResourceNotFoundException"
        return False


def test_package_uploads_the_code_to_s3_and_deploy_creates_the_function_from_it(server, lambda_client, tmp_path):
    s3 = server.client("s3")
    bucket = unique("artifacts")
    s3.create_bucket(Bucket=bucket)
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "index.py").write_text(COUNTER)
    source = tmp_path / "template.yaml"
    source.write_text(
        "Resources:\n"
        "  Counter:\n"
        "    Type: AWS::Lambda::Function\n"
        "    Properties:\n"
        "      Runtime: python3.12\n"
        "      Handler: index.handler\n"
        f"      Role: {ROLE}\n"
        "      Code: ./src\n"
        "      TenancyConfig:\n"
        "        TenantIsolationMode: PER_TENANT\n"
        "Outputs:\n"
        "  Name:\n"
        "    Value: !Ref Counter\n")
    packaged = tmp_path / "packaged.yaml"
    rc, _, err = server.aws("cloudformation", "package", "--template-file", source, "--s3-bucket", bucket,
                            "--output-template-file", packaged)
    assert rc == 0, err
    # The packaged template names the object `package` uploaded to this server's S3.
    text = packaged.read_text()
    assert f"S3Bucket: {bucket}" in text, text
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
    assert len(keys) == 1 and keys[0] in text

    stack = unique("packaged")
    rc, _, err = server.aws("cloudformation", "deploy", "--template-file", packaged, "--stack-name", stack)
    assert rc == 0, err
    cfn = server.client("cloudformation")
    name = physical_id(cfn, stack, "Counter")
    configuration = lambda_client.get_function_configuration(FunctionName=name)
    assert configuration["TenancyConfig"] == {"TenantIsolationMode": "PER_TENANT"}
    counts = []
    for tenant in ["BlueTenant", "BlueTenant", "GreenTenant", "BlueTenant"]:
        reply = lambda_client.invoke(FunctionName=name, TenantId=tenant)
        counts.append(json.loads(reply["Payload"].read()))
    assert counts == [{"counter": 0, "tenantId": "BlueTenant"}, {"counter": 1, "tenantId": "BlueTenant"},
                      {"counter": 0, "tenantId": "GreenTenant"}, {"counter": 2, "tenantId": "BlueTenant"}]
    cfn.delete_stack(StackName=stack)
    cfn.get_waiter("stack_delete_complete").wait(StackName=stack, WaiterConfig={"Delay": 1})
    assert not function_exists(lambda_client, name)


def test_changing_the_tenancy_replaces_the_function(server, lambda_client):
    cfn = server.client("cloudformation")
    stack = unique("tenancy")
    cfn.create_stack(StackName=stack, TemplateBody=template(Counter=function_resource()))
    assert settled(cfn, stack)["StackStatus"] == "CREATE_COMPLETE"
    shared = physical_id(cfn, stack, "Counter")
    assert "TenancyConfig" not in lambda_client.get_function_configuration(FunctionName=shared)

    change_set = cfn.create_change_set(StackName=stack, ChangeSetName="isolate",
                                       TemplateBody=template(Counter=function_resource("PER_TENANT")))
    described = cfn.describe_change_set(ChangeSetName=change_set["Id"])
    assert [(c["ResourceChange"]["Action"], c["ResourceChange"]["Replacement"])
            for c in described["Changes"]] == [("Modify", "True")]
    cfn.execute_change_set(ChangeSetName=change_set["Id"])
    assert settled(cfn, stack)["StackStatus"] == "UPDATE_COMPLETE"

    isolated = physical_id(cfn, stack, "Counter")
    assert isolated != shared
    assert lambda_client.get_function_configuration(FunctionName=isolated)["TenancyConfig"] == {
        "TenantIsolationMode": "PER_TENANT"}
    # The old function went in the cleanup, once the new one was in place.
    assert not function_exists(lambda_client, shared)
    events = cfn.describe_stack_events(StackName=stack)["StackEvents"]
    cleaned = [e for e in events if e.get("PhysicalResourceId") == shared and e["ResourceStatus"] == "DELETE_COMPLETE"]
    assert len(cleaned) == 1
    reply = lambda_client.invoke(FunctionName=isolated, TenantId="BlueTenant")
    assert json.loads(reply["Payload"].read()) == {"counter": 0, "tenantId": "BlueTenant"}
    cfn.delete_stack(StackName=stack)


def test_a_failing_resource_rolls_the_whole_stack_back(server, lambda_client):
    cfn = server.client("cloudformation")
    stack = unique("rollback")
    body = template(Good=function_resource(), Bad=function_resource(runtime="python2.1", depends_on="Good"))
    cfn.create_stack(StackName=stack, TemplateBody=body)
    found = settled(cfn, stack)
    assert found["StackStatus"] == "ROLLBACK_COMPLETE"

    events = cfn.describe_stack_events(StackName=stack)["StackEvents"]
    good = next(e["PhysicalResourceId"] for e in events
                if e["LogicalResourceId"] == "Good" and e["ResourceStatus"] == "CREATE_COMPLETE")
    assert not function_exists(lambda_client, good)
    failed = next(e for e in events if e["LogicalResourceId"] == "Bad" and e["ResourceStatus"] == "CREATE_FAILED")
    # The real cause: Lambda's own refusal of the runtime, as CloudFormation words it.
    assert "Resource handler returned message:" in failed["ResourceStatusReason"]
    assert "python2.1" in failed["ResourceStatusReason"]
    assert "HandlerErrorCode: InvalidRequest" in failed["ResourceStatusReason"]
    rollback = next(e for e in events if e["LogicalResourceId"] == stack and e["ResourceStatus"] == "ROLLBACK_IN_PROGRESS")
    assert rollback["ResourceStatusReason"] == \
        "The following resource(s) failed to create: [Bad]. Rollback requested by user."
    assert [e["ResourceStatus"] for e in events if e["LogicalResourceId"] == "Good"][0] == "DELETE_COMPLETE"
    assert cfn.list_stack_resources(StackName=stack)["StackResourceSummaries"] == [] or all(
        r["ResourceStatus"] == "DELETE_COMPLETE"
        for r in cfn.list_stack_resources(StackName=stack)["StackResourceSummaries"])
    # A stack rolled back can only be deleted.
    with pytest.raises(ClientError) as refused:
        cfn.update_stack(StackName=stack, TemplateBody=template(Good=function_resource()))
    assert refused.value.response["Error"]["Code"] == "ValidationError"
    assert "ROLLBACK_COMPLETE state and can not be updated" in refused.value.response["Error"]["Message"]
    cfn.delete_stack(StackName=stack)
    cfn.get_waiter("stack_delete_complete").wait(StackName=stack, WaiterConfig={"Delay": 1})


def test_a_server_killed_during_a_create_leaves_no_stack_in_progress(server_factory, tmp_path):
    data_dir = tmp_path / "data"
    # Functions take seconds to settle, so the kill lands while the stack waits for one.
    server = server_factory.start(data_dir, "--state-transition-ms", "5000")
    cfn = server.client("cloudformation")
    lambda_client = server.client()
    stack = unique("killed")
    stack_id = cfn.create_stack(StackName=stack, TemplateBody=template(Counter=function_resource("PER_TENANT")))[
        "StackId"]
    deadline = time.monotonic() + 30
    while not lambda_client.list_functions()["Functions"]:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    made = lambda_client.list_functions()["Functions"][0]["FunctionName"]
    assert cfn.describe_stacks(StackName=stack)["Stacks"][0]["StackStatus"] == "CREATE_IN_PROGRESS"
    server.kill9()

    restarted = server_factory.start(data_dir)
    cfn = restarted.client("cloudformation")
    found = settled(cfn, stack_id)
    assert found["StackStatus"] == "ROLLBACK_COMPLETE", found
    events = cfn.describe_stack_events(StackName=stack_id)["StackEvents"]
    assert any(e["LogicalResourceId"] == stack and e["ResourceStatus"] == "ROLLBACK_IN_PROGRESS"
               and "restarted" in e.get("ResourceStatusReason", "") for e in events), events
    # The function the create had made is deleted by the rollback, not left behind.
    assert not function_exists(restarted.client(), made)
    cfn.delete_stack(StackName=stack_id)
    cfn.get_waiter("stack_delete_complete").wait(StackName=stack_id, WaiterConfig={"Delay": 1})
