"""Concurrency limits at invoke time, with real concurrent clients: the function's reserved
concurrency, the account's unreserved pool, Alcove's per-tenant limits, and the fair
queue that keeps a flooding tenant from starving a quiet one."""

import concurrent.futures
import json
import threading
import time
import uuid

import pytest
import requests
from botocore.exceptions import ClientError

from harness import ROLE, Server, make_zip
from helpers import PER_TENANT, unique

SLEEPER = make_zip({"app.py": r'''
import json, time

def handler(event, context):
    started = time.time()
    if event.get("marker"):
        print(event["marker"], json.dumps({"n": event["n"], "tenant": context.tenant_id}), flush=True)
    time.sleep(event.get("sleep", 0))
    return {"started": started, "tenant": context.tenant_id}
'''})


def create(client, tenancy=True, **extra):
    name = unique("throttle")
    client.create_function(FunctionName=name, Runtime="python3.12", Handler="app.handler", Role=ROLE,
                           Code={"ZipFile": SLEEPER}, Timeout=60,
                           **({"TenancyConfig": PER_TENANT} if tenancy else {}), **extra)
    return name


def invoke(client, name, tenant=None, **event):
    """(started, None) on success, (None, (code, reason)) when throttled."""
    try:
        reply = client.invoke(FunctionName=name, Payload=json.dumps(event), **({"TenantId": tenant} if tenant else {}))
    except ClientError as e:
        error = e.response["Error"]
        assert e.response["ResponseMetadata"]["HTTPStatusCode"] == 429
        return None, (error["Code"], e.response.get("Reason"))
    result = json.loads(reply["Payload"].read())
    assert "FunctionError" not in reply, result
    return result["started"], None


def burst(client, name, count, tenant=None, **event):
    with concurrent.futures.ThreadPoolExecutor(count) as pool:
        return list(pool.map(lambda _: invoke(client, name, tenant, **event), range(count)))


def outcome(results):
    ok = [r for r, _ in results if r is not None]
    throttled = [t for _, t in results if t is not None]
    return ok, throttled


def tenant_limits(server, name, method="GET", path="tenant-limits", **document):
    return requests.request(method, f"{server.url}/alcove/v1/functions/{name}/{path}",
                            json=document if method == "PUT" else None, timeout=10)


def test_reserved_concurrency_throttles_the_rest(lambda_client):
    name = create(lambda_client, tenancy=False)
    lambda_client.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=2)
    ok, throttled = outcome(burst(lambda_client, name, 6, sleep=2))
    assert len(ok) == 2 and len(throttled) == 4, (ok, throttled)
    assert set(throttled) == {("TooManyRequestsException", "ReservedFunctionConcurrentInvocationLimitExceeded")}
    # The slots come back once those invokes end.
    assert invoke(lambda_client, name)[1] is None
    lambda_client.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=0)
    assert invoke(lambda_client, name)[1] == ("TooManyRequestsException", "ReservedFunctionConcurrentInvocationLimitExceeded")


def test_account_limit_throttles_unreserved_functions(tmp_path):
    server = Server(tmp_path / "small-account", "--account-concurrency", "3").start()
    try:
        client = server.client()
        first, second = create(client, tenancy=False), create(client, tenancy=False)
        with concurrent.futures.ThreadPoolExecutor(6) as pool:
            futures = [pool.submit(invoke, client, name, None, sleep=2) for name in (first, second) * 3]
            results = [f.result() for f in futures]
        ok, throttled = outcome(results)
        assert len(ok) == 3 and len(throttled) == 3, (ok, throttled)
        assert set(throttled) == {("TooManyRequestsException", "ConcurrentInvocationLimitExceeded")}
        settings = client.get_account_settings()["AccountLimit"]
        assert settings["ConcurrentExecutions"] == 3 and settings["UnreservedConcurrentExecutions"] == 3
    finally:
        server.stop()


def test_per_tenant_limits(server, lambda_client):
    name = create(lambda_client)
    reply = tenant_limits(server, name, "PUT", DefaultMaxConcurrency=1, Tenants={"BlueTenant": 3})
    assert reply.status_code == 200, reply.text
    assert reply.json() == {"DefaultMaxConcurrency": 1, "Tenants": {"BlueTenant": 3}}
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        green = pool.submit(burst, lambda_client, name, 4, "GreenTenant", sleep=2)
        blue = pool.submit(burst, lambda_client, name, 4, "BlueTenant", sleep=2)
        green_ok, green_throttled = outcome(green.result())
        blue_ok, blue_throttled = outcome(blue.result())
    assert (len(green_ok), len(blue_ok)) == (1, 3), (green_ok, blue_ok)
    reason = ("TooManyRequestsException", "TenantConcurrentInvocationLimitExceeded")
    assert green_throttled == [reason] * 3 and blue_throttled == [reason]

    # One override set and removed on its own.
    assert requests.put(f"{server.url}/alcove/v1/functions/{name}/tenants/GreenTenant/limits",
                        json={"MaxConcurrency": 2}, timeout=10).json()["Tenants"] == {"BlueTenant": 3, "GreenTenant": 2}
    assert len(outcome(burst(lambda_client, name, 3, "GreenTenant", sleep=1))[0]) == 2
    assert requests.delete(f"{server.url}/alcove/v1/functions/{name}/tenants/BlueTenant/limits", timeout=10).status_code == 204
    assert tenant_limits(server, name).json() == {"DefaultMaxConcurrency": 1, "Tenants": {"GreenTenant": 2}}
    assert tenant_limits(server, name, "DELETE").status_code == 204
    assert tenant_limits(server, name).json() == {"Tenants": {}}
    assert len(outcome(burst(lambda_client, name, 3, "GreenTenant", sleep=1))[0]) == 3


def test_tenant_limits_survive_a_restart(tmp_path):
    server = Server(tmp_path / "limits").start()
    try:
        client = server.client()
        name = create(client)
        tenant_limits(server, name, "PUT", DefaultMaxConcurrency=1)
        server.kill9()
        server.start()
        assert tenant_limits(server, name).json() == {"DefaultMaxConcurrency": 1, "Tenants": {}}
        ok, throttled = outcome(burst(server.client(), name, 2, "T", sleep=1))
        assert len(ok) == 1 and throttled == [("TooManyRequestsException", "TenantConcurrentInvocationLimitExceeded")]
    finally:
        server.stop()


@pytest.mark.parametrize("document, message", [
    ({"DefaultMaxConcurrency": 0}, "between 1 and 100000"),
    ({"Tenants": {"bad tenant!": 2}}, "not allowed"),
    ({"Tenants": {"ok": -1}}, "between 1 and 100000"),
])
def test_invalid_tenant_limits(server, lambda_client, document, message):
    name = create(lambda_client)
    reply = tenant_limits(server, name, "PUT", **document)
    assert reply.status_code == 400 and reply.headers["x-amzn-ErrorType"] == "InvalidParameterValueException"
    assert message in reply.json()["message"]


def test_tenant_limits_need_an_existing_per_tenant_function(server, lambda_client):
    plain = create(lambda_client, tenancy=False)
    reply = tenant_limits(server, plain)
    assert reply.status_code == 400 and "does not use tenant isolation" in reply.json()["message"]
    reply = tenant_limits(server, unique("missing"))
    assert reply.status_code == 404 and reply.headers["x-amzn-ErrorType"] == "ResourceNotFoundException"


def test_a_flooding_tenant_does_not_starve_a_quiet_one(tmp_path):
    """Tenant A sends 24 concurrent 1-second invokes to a function with 4 slots; tenant B
    then sends 4. With the fair queue, B's invokes start as soon as A's first ones end,
    while most of A's are still queued."""
    server = Server(tmp_path / "fair", "--queue-wait", "60").start()
    try:
        client = server.client()
        name = create(client)
        client.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=4)
        with concurrent.futures.ThreadPoolExecutor(28) as pool:
            flood = [pool.submit(invoke, client, name, "TenantA", sleep=1) for _ in range(24)]
            time.sleep(0.5)
            quiet_sent = time.time()
            quiet = [pool.submit(invoke, client, name, "TenantB", sleep=1) for _ in range(4)]
            a_starts = sorted(f.result()[0] for f in flood)
            b_starts = sorted(f.result()[0] for f in quiet)
        assert None not in a_starts and None not in b_starts, "nobody is throttled while waiting is allowed"
        # B waited for one round of A at most (plus cold starts), not for A's whole queue.
        assert b_starts[-1] - quiet_sent < 3.5, (b_starts[-1] - quiet_sent)
        still_queued = [s for s in a_starts if s > b_starts[-1]]
        assert len(still_queued) >= 12, f"A had {len(still_queued)} invokes left when B's last one started"
    finally:
        server.stop()


def test_async_events_wait_for_concurrency_instead_of_failing(server, lambda_client):
    name = create(lambda_client)
    lambda_client.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=1)
    marker = "EVENT-" + uuid.uuid4().hex
    for n in range(5):
        reply = lambda_client.invoke(FunctionName=name, InvocationType="Event", TenantId="T",
                                     Payload=json.dumps({"marker": marker, "n": n, "sleep": 0.5}))
        assert reply["StatusCode"] == 202
    deadline = time.time() + 60
    while time.time() < deadline and len(server.function_output(marker)) < 5:
        time.sleep(0.5)
    assert sorted(e["n"] for e in server.function_output(marker)) == [0, 1, 2, 3, 4]
