"""Usage and billing per tenant, Prometheus metrics, and the live list of environments,
through the API and the `alcove` CLI, checked against what the tests really invoked and
against the REPORT lines the platform wrote."""

import csv
import io
import json
import re
import subprocess
import time

import pytest
import requests
from botocore.exceptions import ClientError

from harness import ROLE, Server, binary, make_zip
from helpers import PER_TENANT, unique

CODE = make_zip({"app.py": r'''
def handler(event, context):
    if event.get("fail"):
        raise RuntimeError("asked to fail")
    return {"tenant": context.tenant_id}
'''})
PRICES = {
    "Currency": "EUR",
    "PerRequest": 0.001,
    "PerGbSecond": {"x86_64": 0.01, "arm64": 0.02},
    "TenantColdStartPerGb": {"x86_64": 0.5, "arm64": 0.25},
}
BILLED = re.compile(r"Billed Duration: (\d+) ms")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    data = tmp_path_factory.mktemp("usage")
    prices = data / "prices.json"
    prices.write_text(json.dumps(PRICES))
    server = Server(data / "data", "--prices", str(prices)).start()
    yield server
    server.stop()


def create(client, tenancy=True, **extra):
    name = unique("usage")
    client.create_function(FunctionName=name, Runtime="python3.12", Handler="app.handler", Role=ROLE,
                           Code={"ZipFile": CODE}, **({"TenancyConfig": PER_TENANT} if tenancy else {}), **extra)
    return name


def invoke(client, name, tenant=None, **event):
    extra = {"TenantId": tenant} if tenant else {}
    return client.invoke(FunctionName=name, Payload=json.dumps(event), **extra)


def usage(server, **query):
    reply = requests.get(f"{server.url}/alcove/v1/usage", params=query, timeout=10)
    assert reply.status_code == 200, reply.text
    return reply.json()


def billed_in_logs(server, function):
    return sum(int(n) for n in BILLED.findall(server.log_text(function)))


def cli(server, *args):
    done = subprocess.run([binary(), *args, "--endpoint", server.url], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_usage_per_tenant_matches_what_ran(server):
    client = server.client()
    name = create(client, Architectures=["arm64"], MemorySize=2048)
    for _ in range(3):
        invoke(client, name, "BlueTenant")
    assert invoke(client, name, "BlueTenant", fail=True)["FunctionError"] == "Unhandled"
    for _ in range(2):
        invoke(client, name, "GreenTenant")
    client.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=0)
    with pytest.raises(ClientError):
        invoke(client, name, "GreenTenant")

    report = usage(server, function=name)
    assert report["Currency"] == "EUR"
    rows = {row["TenantId"]: row for row in report["Rows"]}
    assert set(rows) == {"BlueTenant", "GreenTenant"}
    blue, green = rows["BlueTenant"], rows["GreenTenant"]
    assert (blue["Invocations"], blue["Errors"], blue["Throttles"], blue["ColdStarts"]) == (4, 1, 0, 1)
    assert (green["Invocations"], green["Errors"], green["Throttles"], green["ColdStarts"]) == (2, 0, 1, 1)
    for row in (blue, green):
        assert (row["Architecture"], row["MemorySize"]) == ("arm64", 2048)
        assert row["InitDurationMs"] > 0
        assert row["GbSeconds"] == pytest.approx(2 * row["BilledDurationMs"] / 1000)
        assert row["RequestCharge"] == pytest.approx(row["Invocations"] * 0.001)
        assert row["DurationCharge"] == pytest.approx(row["GbSeconds"] * 0.02)
        # The tenant cold-start charge: cold starts × price per GB (arm64) × 2 GB.
        assert row["ColdStartCharge"] == pytest.approx(row["ColdStarts"] * 0.25 * 2)
        assert row["TotalCharge"] == pytest.approx(row["RequestCharge"] + row["DurationCharge"] + row["ColdStartCharge"])
    # Billed time is exactly what the REPORT lines say.
    assert blue["BilledDurationMs"] + green["BilledDurationMs"] == billed_in_logs(server, name)
    assert report["Totals"]["Invocations"] == 6 and report["Totals"]["Throttles"] == 1
    assert report["Totals"]["TotalCharge"] == pytest.approx(blue["TotalCharge"] + green["TotalCharge"])
    assert [r["TenantId"] for r in usage(server, function=name, tenant="GreenTenant")["Rows"]] == ["GreenTenant"]


def test_functions_without_tenants_pay_no_cold_start_charge(server):
    client = server.client()
    name = create(client, tenancy=False)
    invoke(client, name)
    invoke(client, name)
    (row,) = usage(server, function=name)["Rows"]
    assert "TenantId" not in row
    assert (row["Invocations"], row["ColdStarts"], row["ColdStartCharge"]) == (2, 1, 0)
    assert (row["Architecture"], row["MemorySize"]) == ("x86_64", 128)


def test_since_filters_by_hour(server):
    client = server.client()
    name = create(client)
    invoke(client, name, "T")
    assert len(usage(server, function=name, since="1h")["Rows"]) == 1
    assert usage(server, function=name, since="2099-01-01T00:00:00Z")["Rows"] == []
    reply = requests.get(f"{server.url}/alcove/v1/usage", params={"since": "yesterday"}, timeout=10)
    assert reply.status_code == 400 and reply.headers["x-amzn-ErrorType"] == "InvalidParameterValueException"


def test_usage_cli_formats(server):
    client = server.client()
    name = create(client)
    for tenant in ("a", "b", "b"):
        invoke(client, name, tenant)
    rows = list(csv.DictReader(io.StringIO(cli(server, "usage", "--function", name, "--format", "csv"))))
    assert {r["TENANT"]: int(r["INVOCATIONS"]) for r in rows} == {"a": 1, "b": 2}
    assert all(int(r["COLD_STARTS"]) == 1 for r in rows)
    as_json = json.loads(cli(server, "usage", "--function", name, "--format", "json"))
    assert as_json["Totals"]["Invocations"] == 3
    table = cli(server, "usage", "--function", name)
    assert "TOTAL" in table and "currency: EUR" in table


def test_usage_survives_restarts(tmp_path):
    server = Server(tmp_path / "restart").start()
    try:
        client = server.client()
        name = create(client)
        invoke(client, name, "T")
        server.restart()  # SIGTERM: the last counts are stored on the way out
        invoke(server.client(), name, "T")
        time.sleep(1.5)  # the once-a-second flush
        server.kill9()
        server.start()
        (row,) = usage(server, function=name)["Rows"]
        assert (row["Invocations"], row["ColdStarts"]) == (2, 2)
    finally:
        server.stop()


def test_metrics_are_aggregate_and_name_no_tenant(server):
    client = server.client()
    name = create(client)
    for tenant in ("secret-tenant-1", "secret-tenant-2"):
        invoke(client, name, tenant)
    client.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=0)
    with pytest.raises(ClientError):
        invoke(client, name, "secret-tenant-1")
    reply = requests.get(f"{server.url}/metrics", timeout=10)
    assert reply.status_code == 200 and reply.headers["content-type"].startswith("text/plain")
    text = reply.text
    assert f'alcove_invocations_total{{function="{name}"}} 2' in text
    assert f'alcove_cold_starts_total{{function="{name}"}} 2' in text
    assert f'alcove_throttles_total{{function="{name}",reason="ReservedFunctionConcurrentInvocationLimitExceeded"}} 1' in text
    assert re.search(r'^alcove_environments\{state="idle"\} \d+$', text, re.M)
    assert re.search(r"^alcove_async_events_pending \d+$", text, re.M)
    assert "secret-tenant" not in text


def test_environments_are_listed_per_tenant(server):
    client = server.client()
    name = create(client)
    invoke(client, name, "BlueTenant")
    invoke(client, name, "BlueTenant")
    invoke(client, name, "GreenTenant")
    # Idle environments are frozen 2 ms after their last invoke; the CLI may be quicker.
    for _ in range(50):
        listed = json.loads(cli(server, "envs", "--function", name, "--format", "json"))["Environments"]
        assert all(env["State"] in ("idle", "frozen") for env in listed), listed
        if all(env["State"] == "frozen" for env in listed):
            break
        time.sleep(0.02)
    by_tenant = {env["TenantId"]: env for env in listed}
    assert set(by_tenant) == {"BlueTenant", "GreenTenant"}
    assert by_tenant["BlueTenant"]["Invocations"] == 2 and by_tenant["GreenTenant"]["Invocations"] == 1
    for env in listed:
        assert env["State"] == "frozen" and env["Sandboxed"] is True
        assert env["MemoryUsedBytes"] > 0 and env["AgeSeconds"] >= 0
    table = cli(server, "envs", "--function", name)
    assert "BlueTenant" in table and "frozen" in table


def test_tenant_limits_cli(server):
    client = server.client()
    name = create(client)
    cli(server, "tenant-limits", "set-default", "--function", name, "--max-concurrency", "2")
    shown = json.loads(cli(server, "tenant-limits", "set", "--function", name, "--tenant", "Blue Tenant", "--max-concurrency", "5"))
    assert shown == {"DefaultMaxConcurrency": 2, "Tenants": {"Blue Tenant": 5}}
    assert json.loads(cli(server, "tenant-limits", "unset", "--function", name, "--tenant", "Blue Tenant")) == {"DefaultMaxConcurrency": 2, "Tenants": {}}
    assert json.loads(cli(server, "tenant-limits", "clear", "--function", name)) == {"Tenants": {}}
    failed = subprocess.run([binary(), "tenant-limits", "get", "--function", unique("missing"), "--endpoint", server.url],
                            capture_output=True, text=True, timeout=60)
    assert failed.returncode != 0 and "ResourceNotFoundException" in failed.stderr
