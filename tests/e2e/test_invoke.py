"""Invoke end to end: real runtimes (awslambdaric, Alcove's Node bootstrap, a
lambda_runtime binary) in real environments, driven by boto3 and the AWS CLI."""

import base64
import concurrent.futures
import json
import os
import time
import uuid

import pytest
from botocore.exceptions import ClientError

from harness import ROLE, Server, fixture_bootstrap, make_zip

PY_HANDLER = '''
import json, os, sys, time, uuid
counter = 0
INSTANCE = uuid.uuid4().hex
TOP_LEVEL_TENANT = "unset"
def handler(event, context):
    global counter
    value = counter
    counter += 1
    print("handling for", context.tenant_id)
    if event.get("sleep"):
        time.sleep(event["sleep"])
    if event.get("mark"):
        print(event["mark"], json.dumps({"id": context.aws_request_id, "tenant": context.tenant_id, "n": event.get("n")}), flush=True)
    if event.get("fail"):
        raise ValueError("asked to fail")
    if event.get("crash"):
        os._exit(7)
    return {
        "counter": value,
        "tenantId": context.tenant_id,
        "pid": os.getpid(),
        "instance": INSTANCE,
        "requestId": context.aws_request_id,
        "remaining": context.get_remaining_time_in_millis(),
        "arn": context.invoked_function_arn,
        "custom": (context.client_context.custom if context.client_context else None),
        "env": {k: os.environ.get(k) for k in ["AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "STAGE", "TZ", "AWS_REGION"]},
    }
'''

NODE_HANDLER = '''
let counter = 0;
export const handler = async (event, context) => ({ counter: counter++, tenantId: context.tenantId });
'''


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    server = Server(tmp_path_factory.mktemp("invoke"), "--async-retry-base", "0.2", "--max-environments", "512").start()
    yield server
    server.stop()


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def create(client, name, files, runtime, handler, tenancy=True, **extra):
    args = dict(
        FunctionName=name, Runtime=runtime, Handler=handler, Role=ROLE,
        Code={"ZipFile": make_zip(files)}, **extra,
    )
    if tenancy:
        args["TenancyConfig"] = {"TenantIsolationMode": "PER_TENANT"}
    return client.create_function(**args)


def invoke(client, name, tenant=None, payload=None, **extra):
    args = dict(FunctionName=name, Payload=json.dumps(payload or {}), **extra)
    if tenant is not None:
        args["TenantId"] = tenant
    response = client.invoke(**args)
    body = response["Payload"].read()
    return response, json.loads(body) if body else None


def seed_walkthrough_with_cli(aws, name):
    """The reference experiment, exactly as a user types it."""
    observed = []
    for tenant in ["BlueTenant"] * 3 + ["GreenTenant"] * 2 + ["BlueTenant"]:
        out = f"/tmp/{name}-{uuid.uuid4().hex}.json"
        rc, result, err = aws("invoke", "--function-name", name, "--tenant-id", tenant, out)
        assert rc == 0, err
        assert result["StatusCode"] == 200 and "FunctionError" not in result, result
        with open(out) as f:
            body = json.load(f)
        os.unlink(out)
        assert body["tenantId"] == tenant
        observed.append(body["counter"])
    assert observed == [0, 1, 2, 0, 1, 3]


def test_seed_experiment_node(lambda_client, aws):
    name = unique("node-counter")
    create(lambda_client, name, {"index.mjs": NODE_HANDLER}, "nodejs22.x", "index.handler")
    seed_walkthrough_with_cli(aws, name)


def test_seed_experiment_python(lambda_client, aws):
    name = unique("py-counter")
    create(lambda_client, name, {"app.py": PY_HANDLER}, "python3.12", "app.handler")
    seed_walkthrough_with_cli(aws, name)


def test_seed_experiment_rust(lambda_client, aws):
    name = unique("rust-counter")
    create(lambda_client, name, {"bootstrap": (fixture_bootstrap(), 0o755)}, "provided.al2023", "bootstrap")
    seed_walkthrough_with_cli(aws, name)


@pytest.fixture(scope="module")
def py_function(lambda_client):
    name = unique("py")
    create(lambda_client, name, {"app.py": PY_HANDLER}, "python3.12", "app.handler",
           Environment={"Variables": {"STAGE": "test"}}, MemorySize=256, Timeout=2)
    return name


@pytest.fixture(scope="module")
def rust_function(lambda_client):
    name = unique("rs")
    create(lambda_client, name, {"bootstrap": (fixture_bootstrap(), 0o755)}, "provided.al2023", "bootstrap")
    return name


def test_context_and_environment(lambda_client, py_function):
    custom = {"app": "tests"}
    context = base64.b64encode(json.dumps({"custom": custom}).encode()).decode()
    response, body = invoke(lambda_client, py_function, "ctx-tenant", ClientContext=context)
    assert response["StatusCode"] == 200
    assert response["ExecutedVersion"] == "$LATEST"
    assert body["tenantId"] == "ctx-tenant"
    assert body["custom"] == custom
    assert 0 < body["remaining"] <= 2000
    assert body["arn"] == f"arn:aws:lambda:us-east-1:000000000000:function:{py_function}"
    assert body["env"] == {
        "AWS_LAMBDA_FUNCTION_NAME": py_function, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
        "STAGE": "test", "TZ": ":UTC", "AWS_REGION": "us-east-1",
    }
    assert response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"] == body["requestId"]


def test_tenant_rules(lambda_client, raw_client, py_function):
    plain = unique("plain")
    create(lambda_client, plain, {"app.py": PY_HANDLER}, "python3.12", "app.handler", tenancy=False)
    with pytest.raises(ClientError) as missing:
        invoke(lambda_client, py_function)
    assert missing.value.response["Error"]["Code"] == "InvalidParameterValueException"
    assert "tenant" in missing.value.response["Error"]["Message"].lower()
    with pytest.raises(ClientError) as extra:
        invoke(lambda_client, plain, "BlueTenant")
    assert extra.value.response["Error"]["Code"] == "InvalidParameterValueException"
    # Ids that break the TenantId shape's length or pattern are AWS's ValidationException; an
    # empty one breaks its minimum length; a header that is not text is refused before that.
    for bad, code in [("", "ValidationException"), ("x" * 257, "ValidationException"),
                      ("semi;colon", "ValidationException"), ("tab\there", "ValidationException"),
                      ("é", "InvalidParameterValueException")]:
        with pytest.raises(ClientError) as invalid:
            invoke(raw_client, py_function, bad)
        assert invalid.value.response["Error"]["Code"] == code, bad
        assert invalid.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    # Any valid id works without registration, including every allowed character.
    response, body = invoke(lambda_client, py_function, "org:42/team=a+b-c@x.io_1 z")
    assert body["tenantId"] == "org:42/team=a+b-c@x.io_1 z"
    response, body = invoke(lambda_client, plain)
    assert body["tenantId"] is None


def test_distinct_tenants_never_share_an_environment(lambda_client, rust_function):
    tenants = [uuid.uuid4().hex for _ in range(200)]
    pids = {}
    for tenant in tenants:
        _, body = invoke(lambda_client, rust_function, tenant)
        assert body["counter"] == 0, "a new tenant must get a fresh environment"
        assert body["tenantId"] == tenant
        pids[tenant] = body["instance"]
    assert len(set(pids.values())) == 200


def test_concurrent_invokes_of_one_tenant_scale_out(lambda_client, py_function):
    tenant = unique("busy")
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: invoke(lambda_client, py_function, tenant, {"sleep": 0.7})[1], range(4)))
    pids = {r["instance"] for r in results}
    assert len(pids) == 4, "four overlapping invokes need four environments"
    assert all(r["tenantId"] == tenant for r in results)
    # All four are now warm for this tenant and for nobody else.
    _, other = invoke(lambda_client, py_function, unique("other"))
    assert other["instance"] not in pids and other["counter"] == 0
    _, again = invoke(lambda_client, py_function, tenant)
    assert again["instance"] in pids and again["counter"] == 1


def test_function_error(lambda_client, py_function):
    response, body = invoke(lambda_client, py_function, "err", {"fail": True})
    assert response["FunctionError"] == "Unhandled"
    assert body["errorType"] == "ValueError"
    assert body["errorMessage"] == "asked to fail"
    # The environment survives a handled exception.
    _, after = invoke(lambda_client, py_function, "err")
    assert after["counter"] == 1


def test_timeout_destroys_only_that_environment(lambda_client, py_function):
    _, warm_other = invoke(lambda_client, py_function, "bystander")
    response, body = invoke(lambda_client, py_function, "slow", {"sleep": 5})
    assert response["FunctionError"] == "Unhandled"
    assert "Task timed out after 2.00 seconds" in body["errorMessage"]
    _, after = invoke(lambda_client, py_function, "slow")
    assert after["counter"] == 0, "the timed-out environment was destroyed"
    _, bystander = invoke(lambda_client, py_function, "bystander")
    assert bystander["instance"] == warm_other["instance"] and bystander["counter"] == 1


def test_runtime_crash(lambda_client, rust_function, py_function):
    response, body = invoke(lambda_client, rust_function, "crashy", {"crash": True})
    assert response["FunctionError"] == "Unhandled"
    assert body["errorType"] == "Runtime.ExitError"
    _, after = invoke(lambda_client, rust_function, "crashy")
    assert after["counter"] == 0
    response, body = invoke(lambda_client, py_function, "crashy", {"crash": True})
    assert response["FunctionError"] == "Unhandled" and body["errorType"] == "Runtime.ExitError"


def test_init_errors(lambda_client):
    broken = unique("broken")
    create(lambda_client, broken, {"app.py": "raise RuntimeError('bad init')\n"}, "python3.12", "app.handler")
    response, body = invoke(lambda_client, broken, "t")
    assert response["FunctionError"] == "Unhandled"
    assert "bad init" in body["errorMessage"]
    missing = unique("missing")
    create(lambda_client, missing, {"app.py": "x = 1\n"}, "python3.12", "nothere.handler")
    response, body = invoke(lambda_client, missing, "t")
    assert response["FunctionError"] == "Unhandled"
    assert body["errorType"] == "Runtime.ImportModuleError"
    no_bootstrap = unique("nobootstrap")
    create(lambda_client, no_bootstrap, {"readme.txt": "x"}, "provided.al2023", "bootstrap")
    response, body = invoke(lambda_client, no_bootstrap, "t")
    assert body["errorType"] == "Runtime.InvalidEntrypoint"
    unavailable = unique("java")
    create(lambda_client, unavailable, {"A.class": "x"}, "java21", "A::handle")
    response, body = invoke(lambda_client, unavailable, "t")
    assert body["errorType"] == "Runtime.Unavailable"


def test_payload_limits(lambda_client, py_function):
    big = json.dumps({"x": "a" * (6 * 1024 * 1024)})
    with pytest.raises(ClientError) as sync_error:
        lambda_client.invoke(FunctionName=py_function, TenantId="t", Payload=big)
    # Over 6 MiB, AWS's front end refuses the request before the invocation type matters.
    assert sync_error.value.response["Error"]["Code"] == "RequestEntityTooLargeException"
    assert sync_error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 413
    event = json.dumps({"x": "a" * (1024 * 1024)})
    with pytest.raises(ClientError) as async_error:
        lambda_client.invoke(FunctionName=py_function, TenantId="t", Payload=event, InvocationType="Event")
    assert async_error.value.response["Error"]["Code"] == "RequestTooLargeException"
    with pytest.raises(ClientError) as not_json:
        lambda_client.invoke(FunctionName=py_function, TenantId="t", Payload=b"{nope")
    assert not_json.value.response["Error"]["Code"] == "InvalidRequestContentException"


def test_dry_run_and_log_tail(lambda_client, py_function):
    response = lambda_client.invoke(FunctionName=py_function, TenantId="t", InvocationType="DryRun")
    assert response["StatusCode"] == 204
    response = lambda_client.invoke(FunctionName=py_function, TenantId="tail-tenant", LogType="Tail", Payload="{}")
    log = base64.b64decode(response["LogResult"]).decode()
    assert "START RequestId:" in log and "END RequestId:" in log
    assert "REPORT RequestId:" in log and "Billed Duration:" in log and "Init Duration:" in log
    assert "handling for tail-tenant" in log


def test_versions_aliases_and_code_updates(lambda_client, aws):
    name = unique("versioned")
    create(lambda_client, name, {"index.mjs": NODE_HANDLER}, "nodejs22.x", "index.handler")
    lambda_client.publish_version(FunctionName=name)
    lambda_client.create_alias(FunctionName=name, Name="live", FunctionVersion="1")
    response, body = invoke(lambda_client, name, "A", Qualifier="live")
    assert response["ExecutedVersion"] == "1" and body["counter"] == 0
    _, body = invoke(lambda_client, name, "A")
    assert body["counter"] == 0, "$LATEST and version 1 are different environments"
    updated = NODE_HANDLER.replace("counter++", "counter++ + 100")
    lambda_client.update_function_code(FunctionName=name, ZipFile=make_zip({"index.mjs": updated}))
    _, body = invoke(lambda_client, name, "A")
    assert body["counter"] == 100, "new code runs in a new environment"
    _, body = invoke(lambda_client, name, "A", Qualifier="live")
    assert body["counter"] == 1, "the published version keeps its environment"


def wait_for_output(server, marker, count, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        lines = server.function_output(marker)
        if len(lines) >= count:
            return lines
        time.sleep(0.2)
    raise AssertionError(f"expected {count} lines marked {marker}")


def test_async_events_keep_their_tenant_and_retry(server, lambda_client, py_function):
    marker = unique("EVENT")
    response = lambda_client.invoke(
        FunctionName=py_function, TenantId="async-tenant", InvocationType="Event",
        Payload=json.dumps({"mark": marker, "n": 1}),
    )
    assert response["StatusCode"] == 202
    lines = wait_for_output(server, marker, 1)
    assert lines[0]["tenant"] == "async-tenant"
    assert lines[0]["id"] == response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"]
    # A failing event runs three times in all (two retries), same request id.
    failing = unique("FAILING")
    lambda_client.invoke(
        FunctionName=py_function, TenantId="async-tenant", InvocationType="Event",
        Payload=json.dumps({"mark": failing, "n": 2, "fail": True}),
    )
    lines = wait_for_output(server, failing, 3)
    assert len({line["id"] for line in lines}) == 1
    time.sleep(1.5)
    assert len(server.function_output(failing)) == 3
