"""Function logs as CloudWatch Logs: one log group per function, one stream per
execution environment (so one tenant per stream), read with boto3's `logs` client, the
AWS CLI's `aws logs` and `alcove logs`; durable across restarts, bounded by retention
and by a size cap."""

import json
import re
import subprocess
import threading
import time
import uuid

import pytest
import requests

from harness import ROLE, Server, binary, make_zip
from helpers import PER_TENANT, unique

HANDLER = '''
import json
def handler(event, context):
    for i in range(event.get("lines", 1)):
        print(json.dumps({"tenantId": context.tenant_id, "n": event.get("n"), "i": i}))
        print("plain line from", context.tenant_id, event.get("n"), "x" * event.get("pad", 0))
    return "ok"
'''

STREAM_NAME = re.compile(r"^(\d{4})/(\d{2})/(\d{2})/\[\$LATEST\][0-9a-f]{32}$")
DAY_MS = 86_400_000


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    server = Server(tmp_path_factory.mktemp("logs")).start()
    yield server
    server.stop()


def create(client, prefix="logs", per_tenant=True):
    name = unique(prefix)
    extra = {"TenancyConfig": PER_TENANT} if per_tenant else {}
    client.create_function(FunctionName=name, Runtime="python3.12", Handler="app.handler", Role=ROLE,
                           Code={"ZipFile": make_zip({"app.py": HANDLER})}, **extra)
    return name


def invoke(client, name, tenant=None, **event):
    extra = {"TenantId": tenant} if tenant else {}
    response = client.invoke(FunctionName=name, Payload=json.dumps(event), **extra)
    assert "FunctionError" not in response, response["Payload"].read()
    return response


def group_of(name):
    return f"/aws/lambda/{name}"


def streams(server, name):
    rc, out, err = server.aws("logs", "describe-log-streams", "--log-group-name", group_of(name))
    assert rc == 0, err
    return out["logStreams"]


def stream_messages(logs, name, stream):
    events = logs.get_log_events(logGroupName=group_of(name), logStreamName=stream, startFromHead=True)["events"]
    return [e["message"] for e in events]


def json_lines(messages):
    return [json.loads(m) for m in messages if m.startswith("{")]


def test_one_stream_per_environment_each_of_one_tenant(server):
    client, logs = server.client(), server.client("logs")
    name = create(client)
    for n in range(3):
        invoke(client, name, "BlueTenant", n=n)
    for n in range(2):
        invoke(client, name, "GreenTenant", n=n)

    described = streams(server, name)
    assert len(described) == 2, described
    tenants = set()
    for stream in described:
        match = STREAM_NAME.match(stream["logStreamName"])
        assert match, stream["logStreamName"]
        created = time.gmtime(stream["creationTime"] / 1000)
        assert tuple(int(g) for g in match.groups()) == (created.tm_year, created.tm_mon, created.tm_mday)
        assert stream["firstEventTimestamp"] <= stream["lastEventTimestamp"] <= stream["lastIngestionTime"]
        assert stream["arn"].endswith(f":log-group:{group_of(name)}:log-stream:{stream['logStreamName']}")
        messages = stream_messages(logs, name, stream["logStreamName"])
        owners = {line["tenantId"] for line in json_lines(messages)}
        assert len(owners) == 1, owners
        tenants |= owners
        starts = [m for m in messages if m.startswith("START RequestId: ")]
        assert len(starts) == (3 if owners == {"BlueTenant"} else 2), messages
        assert all(m.endswith("\n") for m in messages), "events keep their newline, as Lambda's do"
    assert tenants == {"BlueTenant", "GreenTenant"}

    groups = logs.describe_log_groups(logGroupNamePrefix=group_of(name))["logGroups"]
    assert [g["logGroupName"] for g in groups] == [group_of(name)]
    assert groups[0]["arn"] == f"arn:aws:logs:us-east-1:000000000000:log-group:{group_of(name)}:*"
    assert "retentionInDays" not in groups[0]

    # The AWS CLI, unmodified, with a JSON filter pattern: Blue's JSON lines only.
    rc, out, err = server.aws("logs", "filter-log-events", "--log-group-name", group_of(name),
                              "--filter-pattern", '{ $.tenantId = "BlueTenant" }')
    assert rc == 0, err
    found = [json.loads(e["message"]) for e in out["events"]]
    assert sorted(line["n"] for line in found) == [0, 1, 2]
    assert {line["tenantId"] for line in found} == {"BlueTenant"}
    assert len({e["logStreamName"] for e in out["events"]}) == 1

    # Term patterns: all terms, `-` exclusions, `?` alternatives.
    plain = logs.filter_log_events(logGroupName=group_of(name), filterPattern='"plain line" -GreenTenant')["events"]
    assert sorted(e["message"].split()[4] for e in plain) == ["0", "1", "2"]
    either = logs.filter_log_events(logGroupName=group_of(name), filterPattern="?GreenTenant ?nothing-like-this")
    assert len(either["events"]) == 4 and all("GreenTenant" in e["message"] for e in either["events"])
    numeric = logs.filter_log_events(logGroupName=group_of(name), filterPattern="{ $.n >= 1 && $.tenantId = Blue* }")
    assert sorted(json.loads(e["message"])["n"] for e in numeric["events"]) == [1, 2]

    # Deleting the function leaves its logs, as on AWS.
    client.delete_function(FunctionName=name)
    assert len(streams(server, name)) == 2


def test_get_log_events_pages_each_event_once(server):
    client, logs = server.client(), server.client("logs")
    name = create(client, per_tenant=False)
    invoke(client, name, lines=150)
    (stream,) = [s["logStreamName"] for s in streams(server, name)]
    forward, token = [], None
    for _ in range(100):
        args = {"nextToken": token} if token else {"startFromHead": True}
        page = logs.get_log_events(logGroupName=group_of(name), logStreamName=stream, limit=40, **args)
        assert len(page["events"]) <= 40
        forward += page["events"]
        if page["nextForwardToken"] == token:
            break
        token = page["nextForwardToken"]
    else:
        pytest.fail("the forward token never repeated")
    messages = [e["message"] for e in forward]
    assert [line["i"] for line in json_lines(messages)] == list(range(150))
    assert messages[0].startswith("START RequestId: ") and messages[-1].startswith("REPORT RequestId: ")
    # The same events, newest first page by page, with backward tokens.
    backward, token = [], None
    while True:
        args = {"nextToken": token} if token else {}
        page = logs.get_log_events(logGroupName=group_of(name), logStreamName=stream, limit=70, **args)
        if not page["events"]:
            break
        backward = page["events"] + backward
        token = page["nextBackwardToken"]
    assert backward == forward
    # The AWS CLI reads the stream too.
    rc, out, err = server.aws("logs", "get-log-events", "--log-group-name", group_of(name),
                              "--log-stream-name", stream, "--start-from-head", "--limit", "5")
    assert rc == 0, err
    assert [e["message"] for e in out["events"]] == messages[:5]
    assert out["nextForwardToken"].startswith("f/") and out["nextBackwardToken"].startswith("b/")


def test_logs_survive_a_restart(server_factory):
    server = server_factory.start()
    client = server.client()
    name = create(client)
    invoke(client, name, "BlueTenant", n=1)
    before = server.log_events(group_of(name))
    assert any('"n": 1' in e["message"] for e in before)
    server.restart()
    client = server.client()
    assert server.log_events(group_of(name)) == before
    invoke(client, name, "BlueTenant", n=2)
    after = server.log_events(group_of(name))
    assert after[:len(before)] == before
    assert len({e["logStreamName"] for e in after}) == 2, "a new environment writes a new stream"


def test_retention_removes_expired_events(server_factory):
    server = server_factory.start(None, "--logs-sweep-interval", "0.5")
    client, logs = server.client(), server.client("logs")
    name = create(client)
    invoke(client, name, "BlueTenant", n=7)
    group = group_of(name)
    now = int(time.time() * 1000)
    logs.create_log_stream(logGroupName=group, logStreamName="imported")
    put = logs.put_log_events(logGroupName=group, logStreamName="imported", logEvents=[
        {"timestamp": now - 20 * DAY_MS, "message": "far too old"},
        {"timestamp": now - 3 * DAY_MS, "message": "three days old"},
        {"timestamp": now - 2 * DAY_MS, "message": "two days old"},
        {"timestamp": now - 60_000, "message": "a minute old"},
    ])
    assert put["rejectedLogEventsInfo"] == {"tooOldLogEventEndIndex": 1}
    messages = lambda: [e["message"] for e in server.log_events(group)]
    assert {"three days old", "two days old", "a minute old"} <= set(messages())
    time.sleep(1.5)
    assert "two days old" in messages(), "without a retention policy nothing expires"

    rc, _, err = server.aws("logs", "put-retention-policy", "--log-group-name", group, "--retention-in-days", "1")
    assert rc == 0, err
    deadline = time.time() + 30
    while time.time() < deadline and "two days old" in messages():
        time.sleep(0.5)
    left = messages()
    assert "three days old" not in left and "two days old" not in left, left
    assert "a minute old" in left
    assert any('"n": 7' in m for m in left), "the function's fresh events stay"
    assert logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"][0]["retentionInDays"] == 1
    logs.delete_retention_policy(logGroupName=group)
    assert "retentionInDays" not in logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"][0]


def environments(server):
    return requests.get(f"{server.url}/alcove/v1/environments", timeout=10).json()["Environments"]


def test_the_size_cap_drops_the_oldest_stream_first(server_factory):
    server = server_factory.start(None, "--logs-max-mib", "1", "--idle-timeout", "1")
    client, logs = server.client(), server.client("logs")
    name = create(client)
    # Each invoke logs about 300 KB (150 pairs of lines).
    for n in range(3):
        invoke(client, name, f"tenant-{n}", n=n, lines=150, pad=1900)
    deadline = time.time() + 30
    while environments(server) and time.time() < deadline:
        time.sleep(0.5)
    assert not environments(server), "the idle environments were reaped"
    time.sleep(1)
    by_tenant = lambda: {json_lines(stream_messages(logs, name, s["logStreamName"]))[0]["tenantId"]: s
                         for s in streams(server, name)}
    assert set(by_tenant()) == {"tenant-0", "tenant-1", "tenant-2"}
    # The fourth takes the total over 1 MiB: the oldest stream goes, whole (the log
    # store's own thread applies the cap, right after the write that crossed it).
    invoke(client, name, "tenant-3", n=3, lines=150, pad=1900)
    deadline = time.time() + 30
    while "tenant-0" in by_tenant() and time.time() < deadline:
        time.sleep(0.5)
    kept = by_tenant()
    assert set(kept) == {"tenant-1", "tenant-2", "tenant-3"}, set(kept)
    for tenant, stream in kept.items():
        messages = [e["message"] for e in server.log_events(group_of(name), logStreamNames=[stream["logStreamName"]])]
        assert [line["i"] for line in json_lines(messages)] == list(range(150)), tenant
    assert "log size cap reached" in server.log()


def test_errors_are_aws_shaped(server):
    logs = server.client("logs")
    name = f"/test/{uuid.uuid4().hex}"
    with pytest.raises(logs.exceptions.ResourceNotFoundException) as caught:
        logs.get_log_events(logGroupName=name, logStreamName="s")
    assert caught.value.response["Error"]["Message"] == "The specified log group does not exist."
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    logs.create_log_group(logGroupName=name)
    with pytest.raises(logs.exceptions.ResourceAlreadyExistsException):
        logs.create_log_group(logGroupName=name)
    with pytest.raises(logs.exceptions.ResourceNotFoundException) as caught:
        logs.get_log_events(logGroupName=name, logStreamName="nope")
    assert caught.value.response["Error"]["Message"] == "The specified log stream does not exist."
    with pytest.raises(logs.exceptions.InvalidParameterException) as caught:
        logs.filter_log_events(logGroupName=name, filterPattern="{ $.tenantId = }")
    assert "Invalid filter pattern" in caught.value.response["Error"]["Message"]
    with pytest.raises(logs.exceptions.InvalidParameterException) as caught:
        logs.put_retention_policy(logGroupName=name, retentionInDays=10)
    assert "Value '10' at 'retentionInDays' failed to satisfy constraint" in caught.value.response["Error"]["Message"]
    with pytest.raises(logs.exceptions.InvalidParameterException):
        logs.get_log_events(logGroupName=name, logStreamName="s", nextToken="f/garbage")
    with pytest.raises(logs.exceptions.ResourceNotFoundException):
        logs.put_retention_policy(logGroupName=name + "-missing", retentionInDays=7)
    logs.delete_log_group(logGroupName=name)
    with pytest.raises(logs.exceptions.ResourceNotFoundException):
        logs.delete_log_group(logGroupName=name)

    rc, _, err = server.aws("logs", "describe-log-streams", "--log-group-name", name)
    assert rc != 0 and "ResourceNotFoundException" in err and "The specified log group does not exist." in err
    reply = requests.post(server.url + "/", data="{}", timeout=10, headers={
        "X-Amz-Target": "Logs_20140328.NoSuchThing", "Content-Type": "application/x-amz-json-1.1"})
    assert reply.status_code == 400
    assert reply.headers["x-amzn-ErrorType"] == "UnknownOperationException"
    assert reply.json()["__type"] == "UnknownOperationException"


def alcove_logs(server, *args):
    done = subprocess.run([binary(), "logs", *args, "--endpoint", server.url], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_alcove_logs_prints_a_tenants_lines(server):
    client = server.client()
    name = create(client)
    invoke(client, name, "BlueTenant", n=1)
    invoke(client, name, "GreenTenant", n=2)
    blue = alcove_logs(server, name, "--tenant", "BlueTenant")
    assert "plain line from BlueTenant 1" in blue
    assert "GreenTenant" not in blue
    every = alcove_logs(server, name).splitlines()
    printed = set()
    for line in every:
        _, tenant, stream, message = line.split(" ", 3)
        assert tenant in ("BlueTenant", "GreenTenant") and re.fullmatch(r"\[\$LATEST\][0-9a-f]{8}", stream), line
        if message.startswith("plain line from "):
            assert message.split()[3] == tenant, "each line is prefixed by the tenant whose environment wrote it"
        printed.add(message.strip())
    assert {"plain line from BlueTenant 1", "plain line from GreenTenant 2"} <= printed

    # --follow prints lines written later.
    follower = subprocess.Popen([binary(), "logs", name, "--tenant", "GreenTenant", "--follow", "--since", "1h",
                                 "--endpoint", server.url], stdout=subprocess.PIPE, text=True)
    lines = []
    reader = threading.Thread(target=lambda: lines.extend(follower.stdout), daemon=True)
    reader.start()
    try:
        invoke(client, name, "GreenTenant", n=99)
        deadline = time.time() + 30
        while time.time() < deadline and not any("GreenTenant 99" in line for line in lines):
            time.sleep(0.3)
        assert any("plain line from GreenTenant 99" in line for line in lines), lines
        assert not any("BlueTenant" in line for line in lines)
    finally:
        follower.kill()
        follower.wait()
