"""Asynchronous invocation done fully: event invoke configs through boto3, retries as
configured, Lambda's invocation record delivered to on-success and on-failure destination
functions (for the same tenant), dead letters when there is nowhere to go, and events
that age out while throttled."""

import json
import subprocess
import time
import uuid

import pytest
from botocore.exceptions import ClientError

from harness import ROLE, Server, binary, make_zip
from helpers import PER_TENANT, unique

WORKER = make_zip({"app.py": r'''
def handler(event, context):
    if event.get("fail"):
        raise ValueError("failing as asked: " + str(event.get("n")))
    return {"done": event.get("n"), "tenant": context.tenant_id}
'''})
COLLECTOR = make_zip({"app.py": r'''
import json

def handler(event, context):
    print("RECORD", json.dumps({"record": event, "tenant": context.tenant_id}), flush=True)
    return "kept"
'''})
MAX_AGE = 60


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    server = Server(tmp_path_factory.mktemp("destinations"), "--async-retry-base", "0.2").start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def client(server):
    return server.client()


def create(client, code=WORKER, tenancy=True):
    name = unique("async")
    created = client.create_function(FunctionName=name, Runtime="python3.12", Handler="app.handler", Role=ROLE,
                                     Code={"ZipFile": code}, Timeout=15,
                                     **({"TenancyConfig": PER_TENANT} if tenancy else {}))
    return name, created["FunctionArn"]


def send(client, name, tenant=None, **event):
    reply = client.invoke(FunctionName=name, InvocationType="Event", Payload=json.dumps(event),
                          **({"TenantId": tenant} if tenant else {}))
    assert reply["StatusCode"] == 202
    return reply["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"]


def wait_for(probe, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError("timed out waiting")


def records(server, request_id):
    return [line for line in server.function_output("RECORD") if line["record"]["requestContext"]["requestId"] == request_id]


@pytest.fixture(scope="module")
def aging(server, client):
    """Started first: an event that can never run (reserved concurrency 0) on a function
    whose events live 60 s. Checked by the module's last test."""
    name, _ = create(client)
    client.put_function_event_invoke_config(FunctionName=name, MaximumEventAgeInSeconds=MAX_AGE)
    client.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=0)
    return name, send(client, name, "AgingTenant", n="old"), time.time()


def test_event_invoke_config_lifecycle(client, aging):
    name, arn = create(client)
    _, collector_arn = create(client, COLLECTOR)
    put = client.put_function_event_invoke_config(
        FunctionName=name, MaximumRetryAttempts=0, MaximumEventAgeInSeconds=300,
        DestinationConfig={"OnFailure": {"Destination": collector_arn}},
    )
    assert put["FunctionArn"] == arn + ":$LATEST"
    assert (put["MaximumRetryAttempts"], put["MaximumEventAgeInSeconds"]) == (0, 300)
    assert put["DestinationConfig"] == {"OnFailure": {"Destination": collector_arn}}
    assert put["LastModified"].year >= 2026
    got = client.get_function_event_invoke_config(FunctionName=name)
    assert {k: got[k] for k in ("FunctionArn", "MaximumRetryAttempts", "DestinationConfig")} == \
        {k: put[k] for k in ("FunctionArn", "MaximumRetryAttempts", "DestinationConfig")}

    # Update merges; Put replaces.
    updated = client.update_function_event_invoke_config(FunctionName=name, MaximumRetryAttempts=1,
                                                         DestinationConfig={"OnSuccess": {"Destination": collector_arn}})
    assert updated["MaximumRetryAttempts"] == 1 and updated["MaximumEventAgeInSeconds"] == 300
    assert updated["DestinationConfig"] == {"OnSuccess": {"Destination": collector_arn}, "OnFailure": {"Destination": collector_arn}}
    replaced = client.put_function_event_invoke_config(FunctionName=name, MaximumRetryAttempts=2)
    assert "MaximumEventAgeInSeconds" not in replaced and replaced["DestinationConfig"] == {}

    version = client.publish_version(FunctionName=name)["Version"]
    client.put_function_event_invoke_config(FunctionName=name, Qualifier=version, MaximumRetryAttempts=0)
    listed = client.list_function_event_invoke_configs(FunctionName=name)["FunctionEventInvokeConfigs"]
    assert sorted(c["FunctionArn"] for c in listed) == sorted([arn + ":$LATEST", f"{arn}:{version}"])

    client.delete_function_event_invoke_config(FunctionName=name)
    with pytest.raises(ClientError) as caught:
        client.get_function_event_invoke_config(FunctionName=name)
    assert caught.value.response["Error"]["Code"] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as caught:
        client.delete_function_event_invoke_config(FunctionName=name)
    assert caught.value.response["Error"]["Code"] == "ResourceNotFoundException"


# Values outside the model's ranges are AWS's ValidationException; a destination the model
# admits but this server has not is refused as an invalid parameter value.
@pytest.mark.parametrize("arguments, message, code", [
    ({"MaximumRetryAttempts": 3}, "maximumRetryAttempts", "ValidationException"),
    ({"MaximumEventAgeInSeconds": 59}, "maximumEventAgeInSeconds", "ValidationException"),
    ({"DestinationConfig": {"OnFailure": {"Destination": "arn:aws:sqs:us-east-1:000000000000:queue"}}},
     "destinations must be Lambda functions", "InvalidParameterValueException"),
])
def test_invalid_event_invoke_configs(server, client, arguments, message, code):
    name, _ = create(client)
    with pytest.raises(ClientError) as caught:
        server.client(validate=False).put_function_event_invoke_config(FunctionName=name, **arguments)
    assert caught.value.response["Error"]["Code"] == code
    assert message in caught.value.response["Error"]["Message"]


def test_event_invoke_config_of_missing_things(client):
    name, _ = create(client)
    for function, qualifier in ((unique("missing"), None), (name, "7")):
        with pytest.raises(ClientError) as caught:
            client.put_function_event_invoke_config(FunctionName=function, MaximumRetryAttempts=0,
                                                    **({"Qualifier": qualifier} if qualifier else {}))
        assert caught.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_failure_after_retries_reaches_the_on_failure_function(server, client):
    name, arn = create(client)
    collector, collector_arn = create(client, COLLECTOR)
    client.put_function_event_invoke_config(FunctionName=name, MaximumRetryAttempts=1,
                                            DestinationConfig={"OnFailure": {"Destination": collector_arn}})
    request_id = send(client, name, "BlueTenant", fail=True, n=7)
    (line,) = wait_for(lambda: records(server, request_id))
    record = line["record"]
    assert line["tenant"] == "BlueTenant", "the destination runs for the same tenant"
    assert record["version"] == "1.0"
    assert record["requestContext"] == {
        "requestId": request_id, "functionArn": arn + ":$LATEST", "condition": "RetriesExhausted",
        "approximateInvokeCount": 2, "tenantId": "BlueTenant",
    }
    assert record["requestPayload"] == {"fail": True, "n": 7}
    assert record["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"}
    assert record["responsePayload"]["errorType"] == "ValueError"
    assert record["responsePayload"]["errorMessage"] == "failing as asked: 7"


def test_success_reaches_the_on_success_function(server, client):
    name, _ = create(client)
    collector, collector_arn = create(client, COLLECTOR, tenancy=False)
    client.put_function_event_invoke_config(FunctionName=name, DestinationConfig={"OnSuccess": {"Destination": collector_arn}})
    request_id = send(client, name, "GreenTenant", n=3)
    (line,) = wait_for(lambda: records(server, request_id))
    assert line["tenant"] is None, "a destination without tenant isolation runs without a tenant"
    assert line["record"]["requestContext"]["condition"] == "Success"
    assert line["record"]["responsePayload"] == {"done": 3, "tenant": "GreenTenant"}
    assert "functionError" not in line["record"]["responseContext"]


def test_failures_with_nowhere_to_go_are_dead_letters(server, client):
    name, _ = create(client)
    client.put_function_event_invoke_config(FunctionName=name, MaximumRetryAttempts=0)
    request_id = send(client, name, "RedTenant", fail=True, n=1)

    def letters():
        done = subprocess.run([binary(), "dead-letters", "--function", name, "--format", "json", "--endpoint", server.url],
                              capture_output=True, text=True, timeout=30)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)["DeadLetters"]

    (letter,) = wait_for(letters)
    assert letter["Id"] == request_id and letter["TenantId"] == "RedTenant"
    assert letter["Record"]["requestContext"]["condition"] == "RetriesExhausted"
    assert letter["Record"]["requestContext"]["approximateInvokeCount"] == 1
    table = subprocess.run([binary(), "dead-letters", "--function", name, "--endpoint", server.url],
                           capture_output=True, text=True, timeout=30).stdout
    assert request_id in table and "ValueError: failing as asked: 1" in table


def test_unreachable_destination_keeps_a_dead_letter(server, client):
    name, _ = create(client)
    gone, gone_arn = create(client, COLLECTOR)
    client.put_function_event_invoke_config(FunctionName=name, MaximumRetryAttempts=0,
                                            DestinationConfig={"OnFailure": {"Destination": gone_arn}})
    client.delete_function(FunctionName=gone)
    request_id = send(client, name, "T", fail=True)
    letters = lambda: [l for l in json.loads(subprocess.run(
        [binary(), "dead-letters", "--format", "json", "--endpoint", server.url],
        capture_output=True, text=True, timeout=30).stdout)["DeadLetters"] if l["Id"] == request_id]
    assert wait_for(letters)[0]["FunctionName"] == name


def test_zz_throttled_events_age_out(server, aging):
    """Last in the module: the event sent first has been throttled for 60 s by now."""
    name, request_id, sent = aging
    time.sleep(max(0.0, sent + MAX_AGE + 2 - time.time()))

    def letter():
        done = subprocess.run([binary(), "dead-letters", "--function", name, "--format", "json", "--endpoint", server.url],
                              capture_output=True, text=True, timeout=30)
        return json.loads(done.stdout)["DeadLetters"]

    (found,) = wait_for(letter, timeout=15)
    assert found["Id"] == request_id
    context = found["Record"]["requestContext"]
    assert context["condition"] == "EventAgeExceeded" and context["approximateInvokeCount"] == 0
    assert "responsePayload" not in found["Record"]
