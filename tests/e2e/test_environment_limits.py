"""The environment cap (least recently used idle environments evicted first, 429 when all
are busy) and the idle timeout, on a server started with tight limits."""

import concurrent.futures
import json
import time
import uuid

import pytest
from botocore.exceptions import ClientError

from harness import ROLE, Server, make_zip

HANDLER = '''
import time
counter = 0
def handler(event, context):
    global counter
    counter += 1
    time.sleep(event.get("sleep", 0))
    return counter - 1
'''


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    server = Server(tmp_path_factory.mktemp("limits"), "--max-environments", "2", "--idle-timeout", "2").start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def function(server):
    name = f"limits-{uuid.uuid4().hex[:8]}"
    server.client().create_function(
        FunctionName=name, Runtime="python3.12", Handler="app.handler", Role=ROLE,
        Code={"ZipFile": make_zip({"app.py": HANDLER})}, Timeout=10,
        TenancyConfig={"TenantIsolationMode": "PER_TENANT"},
    )
    return name


def counter(server, function, tenant, **payload):
    response = server.client().invoke(FunctionName=function, TenantId=tenant, Payload=json.dumps(payload))
    assert "FunctionError" not in response, response["Payload"].read()
    return json.loads(response["Payload"].read())


def test_least_recently_used_idle_environment_is_evicted(server, function):
    assert counter(server, function, "A") == 0
    assert counter(server, function, "B") == 0
    assert counter(server, function, "A") == 1
    # The cap is 2: C's cold start evicts B, the least recently used.
    assert counter(server, function, "C") == 0
    assert counter(server, function, "A") == 2, "A was used more recently than B and stays warm"
    assert counter(server, function, "B") == 0, "B was evicted"


def test_all_busy_means_too_many_requests(server, function):
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        busy = [pool.submit(counter, server, function, tenant, sleep=2) for tenant in ("X", "Y")]
        time.sleep(1)
        with pytest.raises(ClientError) as throttled:
            counter(server, function, "Z")
        assert throttled.value.response["Error"]["Code"] == "TooManyRequestsException"
        assert throttled.value.response["ResponseMetadata"]["HTTPStatusCode"] == 429
        assert throttled.value.response["Reason"] == "ConcurrentInvocationLimitExceeded"
        assert [f.result() for f in busy] == [0, 0]
    assert counter(server, function, "Z") == 0


def test_idle_environments_are_reaped(server, function):
    assert counter(server, function, "sleepy") == 0
    assert counter(server, function, "sleepy") == 1
    time.sleep(3.5)
    assert counter(server, function, "sleepy") == 0, "the idle environment was shut down"
