"""Scoped keys: a SaaS front end holds a key whose policy allows only
`lambda:InvokeFunction` on function F for tenant T. It invokes F as T; every other route
to another tenant, function or operation is refused with `AccessDeniedException` in the
service's own shape: sync, async and streaming invokes as another tenant, another
function, the control plane, API Gateway's control plane, usage, environment listings,
dead letters and logs."""

import json

import pytest
import requests
from botocore.exceptions import ClientError

from harness import Server, create_key, create_per_tenant_python, signed_request

ACCOUNT = "000000000000"
HANDLER = "def handler(event, context):\n    return {'tenant': context.tenant_id}\n"


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("scoped")
    admin = create_key(data_dir, name="admin")
    srv = Server(data_dir, "--auth", "sigv4").start()
    lam = srv.client("lambda", credentials=admin)
    create_per_tenant_python(lam, "tenant-fn", HANDLER)
    create_per_tenant_python(lam, "other-fn", HANDLER)
    arn = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:tenant-fn"
    policy = {
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Action": "lambda:InvokeFunction",
            "Resource": [arn, arn + ":*"],
            "Condition": {"StringEquals": {"alcove:TenantId": "BlueTenant"}},
        }],
    }
    scoped = srv.create_key(name="frontend", policy=policy)
    yield srv, admin, scoped
    srv.stop()


def denied(call, action, resource):
    with pytest.raises(ClientError) as excinfo:
        call()
    error = excinfo.value.response["Error"]
    assert error["Code"] == "AccessDeniedException", error
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    if action:
        assert error["Message"] == (
            f"User: arn:aws:iam::{ACCOUNT}:user/frontend is not authorized to perform: {action} on resource: "
            f"{resource} because no identity-based policy allows the {action} action")


FN = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:tenant-fn"


def test_the_scoped_key_invokes_its_function_as_its_tenant(setup):
    srv, _, scoped = setup
    lam = srv.client("lambda", credentials=scoped)
    result = lam.invoke(FunctionName="tenant-fn", TenantId="BlueTenant", Payload=b"{}")
    assert json.loads(result["Payload"].read()) == {"tenant": "BlueTenant"}


def test_other_tenants_are_refused_sync_async_and_streaming(setup):
    srv, _, scoped = setup
    lam = srv.client("lambda", credentials=scoped)
    denied(lambda: lam.invoke(FunctionName="tenant-fn", TenantId="GreenTenant", Payload=b"{}"),
           "lambda:InvokeFunction", FN)
    denied(lambda: lam.invoke(FunctionName="tenant-fn", TenantId="GreenTenant", InvocationType="Event",
                              Payload=b"{}"), "lambda:InvokeFunction", FN)
    denied(lambda: lam.invoke_with_response_stream(FunctionName="tenant-fn", TenantId="GreenTenant",
                                                   Payload=b"{}"), "lambda:InvokeFunction", FN)
    denied(lambda: lam.invoke(FunctionName="tenant-fn", Payload=b"{}"), "lambda:InvokeFunction", FN)
    other = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:other-fn"
    denied(lambda: lam.invoke(FunctionName="other-fn", TenantId="BlueTenant", Payload=b"{}"),
           "lambda:InvokeFunction", other)


def test_the_control_planes_are_refused(setup):
    srv, _, scoped = setup
    lam = srv.client("lambda", credentials=scoped)
    denied(lambda: lam.get_function(FunctionName="tenant-fn"), "lambda:GetFunction", FN)
    denied(lambda: lam.list_functions(), "lambda:ListFunctions", "*")
    denied(lambda: lam.update_function_configuration(FunctionName="tenant-fn", Timeout=5),
           "lambda:UpdateFunctionConfiguration", FN)
    denied(lambda: lam.delete_function(FunctionName="tenant-fn"), "lambda:DeleteFunction", FN)
    gateway = srv.client("apigateway", credentials=scoped)
    denied(lambda: gateway.get_rest_apis(), "apigateway:GET", "arn:aws:apigateway:us-east-1::/restapis")
    denied(lambda: gateway.create_rest_api(name="x"), "apigateway:POST", "arn:aws:apigateway:us-east-1::/restapis")
    logs = srv.client("logs", credentials=scoped)
    with pytest.raises(ClientError) as excinfo:
        logs.filter_log_events(logGroupName="/aws/lambda/tenant-fn")
    assert excinfo.value.response["Error"]["Code"] == "AccessDeniedException"


@pytest.mark.parametrize("path", [
    "/alcove/v1/usage",
    "/alcove/v1/usage?function=tenant-fn",
    "/alcove/v1/usage?function=tenant-fn&tenant=GreenTenant",
    "/alcove/v1/environments",
    "/alcove/v1/environments?function=tenant-fn",
    "/alcove/v1/dead-letters?function=tenant-fn",
    "/alcove/v1/functions/tenant-fn/logs",
    "/alcove/v1/functions/tenant-fn/logs?tenant=GreenTenant",
    "/alcove/v1/functions/tenant-fn/tenant-limits",
])
def test_alcoves_own_api_is_refused_for_other_tenants_and_listings(setup, path):
    srv, admin, scoped = setup
    response = signed_request(srv.url, "GET", path, scoped)
    assert response.status_code == 403, response.text
    assert response.headers["x-amzn-ErrorType"] == "AccessDeniedException"
    assert "is not authorized to perform: alcove:" in response.json()["message"]
    # The administrator may.
    assert signed_request(srv.url, "GET", path, admin).status_code == 200


def test_unsigned_native_calls_are_refused(setup):
    srv, _, _ = setup
    assert requests.get(srv.url + "/alcove/v1/usage", timeout=30).status_code == 403
