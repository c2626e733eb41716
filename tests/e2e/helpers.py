"""Small helpers for the control-plane suites: names, ARNs, digests and error checks."""

import base64
import hashlib
import re
import uuid

import botocore.session
import pytest
import requests
from botocore.exceptions import ClientError

from harness import ROLE, make_zip

ACCOUNT = "000000000000"
PER_TENANT = {"TenantIsolationMode": "PER_TENANT"}
LAST_MODIFIED = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}\+0000$")

PY_CODE = make_zip({"app.py": "def handler(event, context):\n    return event\n"})


def unique(prefix="fn"):
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def function_arn(name, region="us-east-1", qualifier=None):
    arn = f"arn:aws:lambda:{region}:{ACCOUNT}:function:{name}"
    return f"{arn}:{qualifier}" if qualifier else arn


def sha256_b64(data):
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def distinct_zip(tag=None):
    """A Python package whose bytes differ from every other one built here."""
    tag = tag or uuid.uuid4().hex
    return make_zip({"app.py": f"TAG = {tag!r}\ndef handler(event, context):\n    return TAG\n"})


def create(client, name=None, code=None, wait=True, **overrides):
    """CreateFunction with working defaults; any member can be overridden. Returns
    CreateFunction's answer; with `wait`, after waiting, as AWS users do, for the function
    to leave `Pending` (boto3's `function_active_v2` waiter)."""
    args = dict(
        FunctionName=name or unique(), Runtime="python3.12", Handler="app.handler", Role=ROLE,
        Code={"ZipFile": PY_CODE if code is None else code},
    )
    args.update(overrides)
    created = client.create_function(**args)
    if wait:
        wait_active(client, created["FunctionName"])
    return created


def wait_active(client, name):
    """boto3's `function_active_v2` waiter, polling every 0.1 s (the server settles a
    version moments after the write)."""
    client.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig={"Delay": 0.1})


def wait_updated(client, name):
    """boto3's `function_updated_v2` waiter: an update has settled (`LastUpdateStatus`
    `Successful`), so the function takes the next change, as on AWS."""
    client.get_waiter("function_updated_v2").wait(FunctionName=name, WaiterConfig={"Delay": 0.1})


# The members Lambda moves asynchronously, and the revision it mints when they settle.
SETTLING = ("State", "StateReason", "StateReasonCode", "LastUpdateStatus", "LastUpdateStatusReason",
            "LastUpdateStatusReasonCode", "RevisionId")


def without_settling(document):
    """A configuration without the members that change when it settles."""
    return {k: v for k, v in document.items() if k not in SETTLING and k != "ResponseMetadata"}


def body(response):
    """A boto3 response without its per-request metadata."""
    return {k: v for k, v in response.items() if k != "ResponseMetadata"}


def status(response):
    return response["ResponseMetadata"]["HTTPStatusCode"]


def error_of(call, **kwargs):
    """Calls a boto3 operation that must fail; returns (code, http status, message)."""
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    response = caught.value.response
    return (response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"],
            response["Error"].get("Message", ""))


def expect_error(expected_code, expected_status, call, **kwargs):
    code, http_status, message = error_of(call, **kwargs)
    assert (code, http_status) == (expected_code, expected_status), message
    return message


def error_message(document):
    """The message of a Lambda error body, under the key its shape gives it."""
    return document.get("Message", document.get("message"))


def check_raw_error(reply, expected_status, expected_code):
    """A raw HTTP error reply carries Lambda's status, error header and JSON body: the members
    of the error's shape in botocore's model (`Type` and `Message` or `message`); an error
    the model does not list (ValidationException) only `message`."""
    assert reply.status_code == expected_status, reply.text[:500]
    assert reply.headers.get("x-amzn-ErrorType", "").split(":")[0] == expected_code, dict(reply.headers)
    assert reply.headers.get("x-amzn-RequestId")
    document = reply.json()
    model = botocore.session.get_session().get_service_model("lambda")
    if expected_code == "ValidationException":
        assert list(document) == ["message"], document
    elif expected_code == "RequestEntityTooLargeException":
        assert list(document) == ["Message"], document
    else:
        members = set(model.shape_for(expected_code).members) & {"Type", "Message", "message"}
        assert set(document) - {"Reason"} == members, document
        assert document.get("Type") == "User", document
    assert isinstance(error_message(document), str) and error_message(document), document
    return document


# The seed's experiment: Blue three times, Green twice, Blue again; per-tenant
# environments count 0, 1, 2 / 0, 1 / 3.
SEED_TENANTS = ["BlueTenant"] * 3 + ["GreenTenant"] * 2 + ["BlueTenant"]
SEED_COUNTS = [0, 1, 2, 0, 1, 3]


def count_through_stage(url, tenants=SEED_TENANTS):
    """GETs a stage URL as each tenant in turn (`x-tenant-id`), asserting each answer is
    a 200 for that tenant; returns the JSON bodies."""
    bodies = []
    for tenant in tenants:
        response = requests.get(url, headers={"x-tenant-id": tenant}, timeout=60)
        assert response.status_code == 200, response.text
        assert response.json()["tenantId"] == tenant
        bodies.append(response.json())
    return bodies
