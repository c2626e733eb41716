"""Function states, asynchronous updates, the fields AWS returns and how names and ARNs
resolve, compared field by field with AWS's answers.

Expected values come from the Lambda API reference, botocore's model and its waiters
(`waiters-2.json`), and responses recorded against AWS (LocalStack's snapshot tests of
CreateFunction, UpdateFunctionConfiguration and UpdateFunctionCode): a new version answers
`State: Pending` with `StateReason: "The function is being created."` and
`StateReasonCode: Creating` and no `LastUpdateStatus`; an update answers `LastUpdateStatus:
InProgress` with the same reason and code; once settled, `State: Active` and
`LastUpdateStatus: Successful` with no reasons, under a new `RevisionId`.

The lifecycle tests run a server whose transitions take 1.5 s, so the in-between states can
be observed without racing them; everything else uses the default (settled at once)."""

import re

import pytest

from harness import ROLE
from helpers import PY_CODE, body, create, distinct_zip, error_of, function_arn, status, unique

TRANSITION_MS = 1500
CREATING = {"State": "Pending", "StateReason": "The function is being created.", "StateReasonCode": "Creating"}
UPDATING = {"LastUpdateStatus": "InProgress", "LastUpdateStatusReason": "The function is being created.",
            "LastUpdateStatusReasonCode": "Creating"}
LIFECYCLE_KEYS = ("State", "StateReason", "StateReasonCode", "LastUpdateStatus", "LastUpdateStatusReason",
                  "LastUpdateStatusReasonCode")
PENDING_CONFLICT = ("The operation cannot be performed at this time. The function is currently in the "
                    "following state: Pending")
RUNTIME_VERSION_ARN = re.compile(r"^arn:aws:lambda:us-east-1::runtime:[0-9a-f]{64}$")


def lifecycle(document):
    return {k: document[k] for k in LIFECYCLE_KEYS if k in document}


def update_conflict(name):
    return ("The operation cannot be performed at this time. An update is in progress for resource: "
            f"{function_arn(name)}")


@pytest.fixture(scope="module")
def slow(tmp_path_factory):
    """A server whose versions settle 1.5 s after each write."""
    from harness import Server
    server = Server(tmp_path_factory.mktemp("slow"), "--state-transition-ms", str(TRANSITION_MS)).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def slow_client(slow):
    return slow.client()


# --- States and asynchronous updates ------------------------------------------------------------


def test_create_is_pending_then_active_with_a_new_revision(slow_client):
    name = unique("pending")
    created = slow_client.create_function(FunctionName=name, Runtime="python3.12", Handler="app.handler",
                                          Role=ROLE, Code={"ZipFile": PY_CODE})
    assert status(created) == 201
    assert lifecycle(created) == CREATING
    # A Pending function is neither invoked nor changed.
    code, http_status, message = error_of(slow_client.invoke, FunctionName=name, Payload=b"{}")
    assert (code, http_status, message) == ("ResourceConflictException", 409, PENDING_CONFLICT)
    code, http_status, _ = error_of(slow_client.update_function_configuration, FunctionName=name, Timeout=9)
    assert (code, http_status) == ("ResourceConflictException", 409)
    slow_client.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig={"Delay": 1})
    settled = slow_client.get_function_configuration(FunctionName=name)
    assert lifecycle(settled) == {"State": "Active", "LastUpdateStatus": "Successful"}
    assert settled["RevisionId"] != created["RevisionId"]
    assert body(settled) | {"RevisionId": None} == {
        **{k: v for k, v in body(created).items() if k not in LIFECYCLE_KEYS},
        "State": "Active", "LastUpdateStatus": "Successful", "RevisionId": None,
    }
    assert slow_client.invoke(FunctionName=name, Payload=b'{"ok": 1}')["Payload"].read() == b'{"ok": 1}'


def test_updates_are_in_progress_one_at_a_time_then_successful(slow_client):
    name = unique("updating")
    create(slow_client, name, wait=False)
    slow_client.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig={"Delay": 1})
    updated = slow_client.update_function_configuration(FunctionName=name, Timeout=9)
    assert updated["Timeout"] == 9
    assert lifecycle(updated) == {"State": "Active", **UPDATING}
    assert updated["FunctionArn"] == function_arn(name)
    # A second change of any kind waits for the first.
    for call, kwargs in [
        (slow_client.update_function_configuration, {"Timeout": 10}),
        (slow_client.update_function_code, {"ZipFile": distinct_zip()}),
        (slow_client.publish_version, {}),
    ]:
        code, http_status, message = error_of(call, FunctionName=name, **kwargs)
        assert (code, http_status, message) == ("ResourceConflictException", 409, update_conflict(name)), call
    # Invokes keep running during an update.
    assert slow_client.invoke(FunctionName=name, Payload=b"[1]")["Payload"].read() == b"[1]"
    slow_client.get_waiter("function_updated_v2").wait(FunctionName=name, WaiterConfig={"Delay": 1})
    settled = slow_client.get_function(FunctionName=name)["Configuration"]
    assert lifecycle(settled) == {"State": "Active", "LastUpdateStatus": "Successful"}
    assert settled["Timeout"] == 9
    assert settled["RevisionId"] != updated["RevisionId"]
    # The revision an update answered is stale once it has settled, as on AWS.
    code, http_status, _ = error_of(slow_client.update_function_configuration, FunctionName=name,
                                    Timeout=11, RevisionId=updated["RevisionId"])
    assert (code, http_status) == ("PreconditionFailedException", 412)
    code_update = slow_client.update_function_code(FunctionName=name, ZipFile=distinct_zip(),
                                                   RevisionId=settled["RevisionId"])
    assert lifecycle(code_update) == {"State": "Active", **UPDATING}
    slow_client.get_waiter("function_updated_v2").wait(FunctionName=name, WaiterConfig={"Delay": 1})


def test_published_versions_are_pending_then_active(slow_client):
    name = unique("publish")
    create(slow_client, name, wait=False)
    slow_client.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig={"Delay": 1})
    published = slow_client.publish_version(FunctionName=name)
    assert status(published) == 201
    assert published["Version"] == "1"
    assert published["FunctionArn"] == function_arn(name, qualifier="1")
    assert lifecycle(published) == CREATING
    code, http_status, message = error_of(slow_client.invoke, FunctionName=name, Qualifier="1", Payload=b"{}")
    assert (code, http_status, message) == ("ResourceConflictException", 409, PENDING_CONFLICT)
    slow_client.get_waiter("published_version_active").wait(FunctionName=name, Qualifier="1",
                                                            WaiterConfig={"Delay": 1})
    version = slow_client.get_function_configuration(FunctionName=name, Qualifier="1")
    assert lifecycle(version) == {"State": "Active", "LastUpdateStatus": "Successful"}
    assert version["RevisionId"] != published["RevisionId"]


def test_waiters_of_the_cli_and_function_exists(slow, slow_client):
    name = unique("cliwait")
    client = slow_client
    missing = unique("later")
    create(client, name, wait=False)
    exit_code, out, err = slow.aws("lambda", "wait", "function-active-v2", "--function-name", name)
    assert exit_code == 0, err
    assert client.get_function(FunctionName=name)["Configuration"]["State"] == "Active"
    client.update_function_configuration(FunctionName=name, Description="changed")
    exit_code, out, err = slow.aws("lambda", "wait", "function-updated-v2", "--function-name", name)
    assert exit_code == 0, err
    assert client.get_function(FunctionName=name)["Configuration"]["LastUpdateStatus"] == "Successful"
    create(client, missing, wait=False)
    client.get_waiter("function_exists").wait(FunctionName=missing, WaiterConfig={"Delay": 1})


def test_a_restart_settles_what_a_stop_left_pending(server_factory):
    slowest = server_factory.start(None, "--state-transition-ms", "600000")
    client = slowest.client()
    name = unique("restart")
    assert lifecycle(create(client, name, wait=False)) == CREATING
    assert client.get_function(FunctionName=name)["Configuration"]["State"] == "Pending"
    slowest.stop()
    slowest.extra_args = []
    slowest.start()
    settled = slowest.client().get_function(FunctionName=name)["Configuration"]
    assert lifecycle(settled) == {"State": "Active", "LastUpdateStatus": "Successful"}


# --- Fields as AWS returns them -----------------------------------------------------------------


def test_runtime_version_config_is_stable_per_runtime(lambda_client):
    first = create(lambda_client)
    second = create(lambda_client)
    node = create(lambda_client, Runtime="nodejs22.x", Handler="index.handler")
    arn = first["RuntimeVersionConfig"]["RuntimeVersionArn"]
    assert RUNTIME_VERSION_ARN.match(arn), arn
    assert first["RuntimeVersionConfig"] == {"RuntimeVersionArn": arn}
    assert second["RuntimeVersionConfig"]["RuntimeVersionArn"] == arn
    assert node["RuntimeVersionConfig"]["RuntimeVersionArn"] != arn
    fetched = lambda_client.get_function_configuration(FunctionName=first["FunctionName"])
    assert fetched["RuntimeVersionConfig"] == first["RuntimeVersionConfig"]


def test_environment_set_empty_is_reported_empty(lambda_client):
    empty = create(lambda_client, Environment={"Variables": {}})
    assert empty["Environment"] == {"Variables": {}}
    assert lambda_client.get_function_configuration(
        FunctionName=empty["FunctionName"])["Environment"] == {"Variables": {}}
    never = create(lambda_client)
    assert "Environment" not in never
    cleared = lambda_client.update_function_configuration(FunctionName=never["FunctionName"],
                                                          Environment={"Variables": {}})
    assert cleared["Environment"] == {"Variables": {}}


def test_vpc_config_is_validated_and_returned(lambda_client):
    vpc = {"SubnetIds": ["subnet-0a1b2c3d4e5f67890", "subnet-11112222"], "SecurityGroupIds": ["sg-0123456789abcdef0"]}
    created = create(lambda_client, VpcConfig=vpc)
    returned = created["VpcConfig"]
    assert set(returned) == {"SubnetIds", "SecurityGroupIds", "VpcId", "Ipv6AllowedForDualStack"}
    assert (returned["SubnetIds"], returned["SecurityGroupIds"]) == (vpc["SubnetIds"], vpc["SecurityGroupIds"])
    assert re.match(r"^vpc-[0-9a-f]+$", returned["VpcId"]), returned
    assert returned["Ipv6AllowedForDualStack"] is False
    name = created["FunctionName"]
    assert lambda_client.get_function(FunctionName=name)["Configuration"]["VpcConfig"] == returned
    # Removing the VPC: empty lists and an empty VpcId, as AWS reports a detached function.
    detached = lambda_client.update_function_configuration(
        FunctionName=name, VpcConfig={"SubnetIds": [], "SecurityGroupIds": []})
    assert detached["VpcConfig"] == {"SubnetIds": [], "SecurityGroupIds": [], "VpcId": "",
                                     "Ipv6AllowedForDualStack": False}
    assert "VpcConfig" not in create(lambda_client)
    for bad in [{"SubnetIds": ["net-1"]}, {"SecurityGroupIds": ["group"]},
                {"SubnetIds": [f"subnet-{i}" for i in range(17)]}]:
        _, http_status, message = error_of(lambda **kw: create(lambda_client, **kw), VpcConfig=bad)
        assert http_status == 400 and "vpcConfig" in message, message


def test_function_arn_is_qualified_as_the_request_was(lambda_client):
    name = unique("arns")
    created = create(lambda_client, name, Publish=True)
    # CreateFunction names the function unqualified even when it published version 1.
    assert (created["Version"], created["FunctionArn"]) == ("1", function_arn(name))
    lambda_client.create_alias(FunctionName=name, Name="live", FunctionVersion="1")
    get = lambda name_, **kw: lambda_client.get_function(FunctionName=name_, **kw)["Configuration"]["FunctionArn"]
    assert get(name) == function_arn(name)
    assert get(name, Qualifier="$LATEST") == function_arn(name, qualifier="$LATEST")
    assert get(name, Qualifier="1") == function_arn(name, qualifier="1")
    assert get(name, Qualifier="live") == function_arn(name, qualifier="live")
    assert lambda_client.get_function_configuration(
        FunctionName=name, Qualifier="live")["FunctionArn"] == function_arn(name, qualifier="live")
    listed = {f["FunctionArn"]: f for page in lambda_client.get_paginator("list_functions").paginate(
        FunctionVersion="ALL") for f in page["Functions"] if f["FunctionName"] == name}
    assert set(listed) == {function_arn(name, qualifier="$LATEST"), function_arn(name, qualifier="1")}
    plain = [f for page in lambda_client.get_paginator("list_functions").paginate()
             for f in page["Functions"] if f["FunctionName"] == name]
    assert [f["FunctionArn"] for f in plain] == [function_arn(name)]
    for entry in [*listed.values(), *plain]:
        assert not set(entry) & {*LIFECYCLE_KEYS, "RuntimeVersionConfig"}, entry


# --- Names and ARNs -----------------------------------------------------------------------------


def test_create_and_read_through_every_arn_form(lambda_client):
    by_arn = unique("byarn")
    created = create(lambda_client, function_arn(by_arn))
    assert (created["FunctionName"], created["FunctionArn"]) == (by_arn, function_arn(by_arn))
    by_partial = unique("bypartial")
    assert create(lambda_client, f"000000000000:function:{by_partial}")["FunctionName"] == by_partial
    for form in [by_arn, function_arn(by_arn), f"000000000000:function:{by_arn}",
                 f"{by_arn}:$LATEST", function_arn(by_arn, qualifier="$LATEST")]:
        assert lambda_client.get_function_configuration(FunctionName=form)["FunctionName"] == by_arn, form


def test_names_aws_accepts_but_cannot_find_are_not_found(lambda_client, raw_client):
    name = create(lambda_client)["FunctionName"]
    for qualifier in ["$latest", "0", "007", "nosuchalias"]:
        code, http_status, message = error_of(lambda_client.get_function, FunctionName=name, Qualifier=qualifier)
        assert (code, http_status) == ("ResourceNotFoundException", 404), qualifier
        assert message == f"Function not found: {function_arn(name, qualifier=qualifier)}"
    # In the function name the model's pattern admits only `$LATEST` or `[a-zA-Z0-9-_]+` after
    # the colon, so there a lower-case `$latest` breaks a constraint rather than naming nothing.
    code, http_status, message = error_of(lambda_client.invoke, FunctionName=f"{name}:$latest", Payload=b"{}")
    assert (code, http_status) == ("ValidationException", 400), message
    assert message.startswith(f"1 validation error detected: Value '{name}:$latest' at 'functionName' failed to "
                              "satisfy constraint: Member must satisfy regular expression pattern: "), message
    code, http_status, message = error_of(lambda_client.get_function, FunctionName=f"{name}:1", Qualifier="2")
    assert (code, http_status, message) == (
        "InvalidParameterValueException", 400,
        "The derived qualifier from the function name does not match the specified qualifier.")


def test_another_regions_functions_are_not_reachable(lambda_client):
    name = create(lambda_client)["FunctionName"]
    west = function_arn(name, region="eu-west-1")
    expected = ("ResourceNotFoundException", 404,
                "Functions from 'eu-west-1' are not reachable in this region ('us-east-1')")
    for call, kwargs in [
        (lambda_client.get_function, {}),
        (lambda_client.get_function_configuration, {}),
        (lambda_client.invoke, {"Payload": b"{}"}),
        (lambda_client.update_function_configuration, {"Timeout": 5}),
        (lambda_client.publish_version, {}),
        (lambda_client.delete_function, {}),
    ]:
        assert error_of(call, FunctionName=west, **kwargs) == expected, call
    assert error_of(lambda: create(lambda_client, west)) == expected
    assert lambda_client.get_function(FunctionName=function_arn(name))["Configuration"]["FunctionName"] == name
