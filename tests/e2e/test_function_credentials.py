"""Execution-role credentials inside functions: each environment gets temporary
credentials of its function's role and a channel to Alcove's API (`AWS_ENDPOINT_URL`),
so boto3 inside a handler works unmodified, as on Lambda. The role's policy decides what
those calls may do; the credentials work only from the environment they were issued to.

The router pattern AWS recommends for queues with tenant isolation runs here for real: a
PER_TENANT router reads a tenant from its event and invokes a PER_TENANT worker for that
tenant with boto3 from inside its sandbox."""

import json
import os
import subprocess

import pytest
from botocore.exceptions import ClientError

from harness import Server, binary, create_key, make_zip
from helpers import SEED_COUNTS, SEED_TENANTS

WORKER = """
counter = 0

def handler(event, context):
    global counter
    value = counter
    counter += 1
    return {"counter": value, "tenantId": context.tenant_id}
"""

# The router forwards to the worker as the tenant its event names, with the SDK as
# any handler would use it: no endpoint, no credentials in the code.
ROUTER = """
import json, os
import boto3
from botocore.exceptions import ClientError

lam = boto3.client("lambda")

def handler(event, context):
    try:
        answer = lam.invoke(FunctionName=event["worker"], TenantId=event["tenant"], Payload=b"{}")
    except ClientError as e:
        return {"error": e.response["Error"]["Code"], "message": e.response["Error"]["Message"]}
    return {
        "routedBy": context.tenant_id,
        "worker": json.loads(answer["Payload"].read()),
        "keyId": os.environ["AWS_ACCESS_KEY_ID"],
        "endpoint": os.environ["AWS_ENDPOINT_URL"],
    }
"""

# Calls whatever it is told to, with the credentials it is given (or its own), and
# reports what the API answered.
PROBE = """
import os
import boto3
from botocore.exceptions import ClientError

def handler(event, context):
    kwargs = {}
    if event.get("credentials"):
        c = event["credentials"]
        kwargs = dict(aws_access_key_id=c["AccessKeyId"], aws_secret_access_key=c["SecretAccessKey"],
                      aws_session_token=c["SessionToken"])
    try:
        if event["call"] == "identity":
            return {"ok": boto3.client("sts", **kwargs).get_caller_identity()["Arn"]}
        if event["call"] == "list":
            names = [f["FunctionName"] for f in boto3.client("lambda", **kwargs).list_functions()["Functions"]]
            return {"ok": names}
        if event["call"] == "credentials":
            return {"ok": {"AccessKeyId": os.environ["AWS_ACCESS_KEY_ID"],
                           "SecretAccessKey": os.environ["AWS_SECRET_ACCESS_KEY"],
                           "SessionToken": os.environ["AWS_SESSION_TOKEN"]}}
    except ClientError as e:
        return {"error": e.response["Error"]["Code"], "message": e.response["Error"]["Message"]}
"""


def invoke(client, name, payload, tenant=None):
    extra = {"TenantId": tenant} if tenant else {}
    answer = client.invoke(FunctionName=name, Payload=json.dumps(payload).encode(), **extra)
    body = json.loads(answer["Payload"].read())
    assert "FunctionError" not in answer, body
    return body


def put_role_policy(server, role, statements):
    """`alcove roles put-policy` on the server's data directory (the server is running)."""
    document = json.dumps({"Version": "2012-10-17", "Statement": statements})
    subprocess.run([binary(), "roles", "put-policy", "--data-dir", server.data_dir, role, document],
                   check=True, capture_output=True)


def role(name):
    return f"arn:aws:iam::123456789012:role/{name}"


def create_python(client, name, source, role_arn, per_tenant=False, timeout=30):
    extra = {"TenancyConfig": {"TenantIsolationMode": "PER_TENANT"}} if per_tenant else {}
    client.create_function(
        FunctionName=name, Runtime="python3.12", Handler="app.handler", Role=role_arn,
        Code={"ZipFile": make_zip({"app.py": source})}, Timeout=timeout, **extra,
    )
    client.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig={"Delay": 0.1})


INVOKE_WORKER = {"Effect": "Allow", "Action": "lambda:InvokeFunction", "Resource": "arn:aws:lambda:*:*:function:worker*"}


@pytest.fixture(scope="module")
def open_server(tmp_path_factory):
    """A development server (`--auth none`): outside callers may do anything, but a
    function's own calls are still held to its role's policy."""
    server = Server(tmp_path_factory.mktemp("alcove")).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def signed_server(tmp_path_factory):
    """A server that authenticates every caller (`--auth sigv4`), with an admin key."""
    data_dir = tmp_path_factory.mktemp("alcove")
    admin = create_key(data_dir, name="admin")
    server = Server(data_dir, "--auth", "sigv4").start()
    server.admin = admin
    yield server
    server.stop()


def test_a_function_gets_session_credentials_and_by_default_may_do_nothing(open_server):
    client = open_server.client()
    create_python(client, "probe", PROBE, role("probe-role"))
    credentials = invoke(client, "probe", {"call": "credentials"})["ok"]
    assert credentials["AccessKeyId"].startswith("ASIA") and len(credentials["AccessKeyId"]) == 20
    assert credentials["SessionToken"]
    # STS answers who the function is without any permission, as on AWS.
    identity = invoke(client, "probe", {"call": "identity"})
    assert identity == {"ok": "arn:aws:sts::000000000000:assumed-role/probe-role/probe"}, identity
    # A role with no policy may do nothing, even on a server that lets outside callers do anything.
    denied = invoke(client, "probe", {"call": "list"})
    assert denied["error"] == "AccessDeniedException", denied
    assert "lambda:ListFunctions" in denied["message"]
    put_role_policy(open_server, role("probe-role"),
                    [{"Effect": "Allow", "Action": "lambda:ListFunctions", "Resource": "*"}])
    assert "probe" in invoke(client, "probe", {"call": "list"})["ok"]


def test_a_per_tenant_router_invokes_a_per_tenant_worker_as_the_tenant_its_event_names(signed_server):
    client = signed_server.client(credentials=signed_server.admin)
    create_python(client, "worker", WORKER, role("worker-role"), per_tenant=True)
    create_python(client, "router", ROUTER, role("router-role"), per_tenant=True)
    put_role_policy(signed_server, role("router-role"), [INVOKE_WORKER])
    answers = [invoke(client, "router", {"worker": "worker", "tenant": t}, tenant="router-tenant")
               for t in SEED_TENANTS]
    assert [a["worker"]["counter"] for a in answers] == SEED_COUNTS
    assert [a["worker"]["tenantId"] for a in answers] == SEED_TENANTS
    assert {a["routedBy"] for a in answers} == {"router-tenant"}
    assert {a["endpoint"] for a in answers} == {"http://127.0.0.1:9002"}


def test_a_role_policy_can_hold_a_router_to_its_own_tenant(signed_server):
    client = signed_server.client(credentials=signed_server.admin)
    create_python(client, "worker-pinned", WORKER, role("pinned-worker-role"), per_tenant=True)
    create_python(client, "router-pinned", ROUTER, role("pinned-router-role"), per_tenant=True)
    # The tenant invoked as must be the tenant of the calling environment.
    put_role_policy(signed_server, role("pinned-router-role"), [{
        **INVOKE_WORKER, "Condition": {"StringEquals": {"alcove:TenantId": "${alcove:SourceTenantId}"}},
    }])
    own = invoke(client, "router-pinned", {"worker": "worker-pinned", "tenant": "BlueTenant"}, tenant="BlueTenant")
    assert own["worker"] == {"counter": 0, "tenantId": "BlueTenant"}, own
    other = invoke(client, "router-pinned", {"worker": "worker-pinned", "tenant": "GreenTenant"},
                   tenant="BlueTenant")
    assert other["error"] == "AccessDeniedException", other
    assert "lambda:InvokeFunction" in other["message"]


def test_credentials_work_only_in_the_environment_they_were_issued_to(signed_server):
    client = signed_server.client(credentials=signed_server.admin)
    create_python(client, "probe-tenants", PROBE, role("probe-tenants-role"), per_tenant=True)
    put_role_policy(signed_server, role("probe-tenants-role"),
                    [{"Effect": "Allow", "Action": "lambda:ListFunctions", "Resource": "*"}])
    blue = invoke(client, "probe-tenants", {"call": "credentials"}, tenant="BlueTenant")["ok"]
    # Blue's own environment may use them.
    assert "probe-tenants" in invoke(client, "probe-tenants", {"call": "list"}, tenant="BlueTenant")["ok"]
    # Green's environment, handed Blue's credentials, is refused.
    stolen = invoke(client, "probe-tenants", {"call": "list", "credentials": blue}, tenant="GreenTenant")
    assert stolen.get("error") == "UnrecognizedClientException", stolen
    # So is anyone outside, on the server's own address.
    outside = signed_server.client(credentials=(blue["AccessKeyId"], blue["SecretAccessKey"]),
                                   session_token=blue["SessionToken"])
    with pytest.raises(ClientError) as refused:
        outside.list_functions()
    assert refused.value.response["Error"]["Code"] == "UnrecognizedClientException"


def test_credentials_are_renewed_with_the_environment_before_they_expire(server_factory):
    # Credentials of 60 s, environments idle up to 45 s, invokes of up to 10 s: no
    # environment could finish a later invoke before its credentials expire, so each one
    # is retired after its invoke and the next starts with fresh credentials.
    server = server_factory.start(None, "--function-credentials-ttl", "60", "--idle-timeout", "45")
    client = server.client()
    create_python(client, "probe-ttl", PROBE, role("ttl-role"), timeout=10)
    first = invoke(client, "probe-ttl", {"call": "credentials"})["ok"]["AccessKeyId"]
    second = invoke(client, "probe-ttl", {"call": "credentials"})["ok"]["AccessKeyId"]
    assert first != second


# The same router in Node.js with the AWS SDK for JavaScript v3, bundled with the code as
# on Lambda's own runtime: no endpoint or credentials in the code.
ROUTER_JS = """
import { LambdaClient, InvokeCommand } from "@aws-sdk/client-lambda";

const lambda = new LambdaClient({});

export const handler = async (event, context) => {
  const answer = await lambda.send(new InvokeCommand({
    FunctionName: event.worker, TenantId: event.tenant, Payload: new TextEncoder().encode("{}"),
  }));
  return { routedBy: context.tenantId, worker: JSON.parse(new TextDecoder().decode(answer.Payload)) };
};
"""

DEFAULT_SDK_JS_HOME = os.path.expanduser("~/.cache/alcove-tools/aws-sdk-js")


def sdk_js_files():
    """The SDK's node_modules as zip entries; skips, saying why, when it is not installed."""
    home = os.environ.get("ALCOVE_SDK_JS_HOME") or DEFAULT_SDK_JS_HOME
    modules = os.path.join(home, "node_modules")
    if not os.path.isdir(os.path.join(modules, "@aws-sdk", "client-lambda")):
        pytest.skip(f"the AWS SDK for JavaScript is not installed (set ALCOVE_SDK_JS_HOME or install "
                    f"tests/fixtures/aws-sdk-js at {home}, as .ci/run does)")
    files = {}
    for root, _dirs, names in os.walk(modules):
        for name in names:
            path = os.path.join(root, name)
            if os.path.isfile(path) and not os.path.islink(path):
                with open(path, "rb") as f:
                    files[os.path.relpath(path, home)] = f.read()
    return files


def test_the_aws_sdk_for_javascript_inside_a_function_routes_by_tenant(signed_server):
    files = sdk_js_files()
    client = signed_server.client(credentials=signed_server.admin)
    create_python(client, "worker-js", WORKER, role("js-worker-role"), per_tenant=True)
    client.create_function(
        FunctionName="router-js", Runtime="nodejs22.x", Handler="index.handler", Role=role("js-router-role"),
        Code={"ZipFile": make_zip({**files, "index.mjs": ROUTER_JS})}, Timeout=30,
        TenancyConfig={"TenantIsolationMode": "PER_TENANT"},
    )
    client.get_waiter("function_active_v2").wait(FunctionName="router-js", WaiterConfig={"Delay": 0.1})
    put_role_policy(signed_server, role("js-router-role"), [{
        "Effect": "Allow", "Action": "lambda:InvokeFunction", "Resource": "arn:aws:lambda:*:*:function:worker-js",
    }])
    answers = [invoke(client, "router-js", {"worker": "worker-js", "tenant": t}, tenant="js") for t in SEED_TENANTS]
    assert [a["worker"]["counter"] for a in answers] == SEED_COUNTS
    assert [a["worker"]["tenantId"] for a in answers] == SEED_TENANTS
