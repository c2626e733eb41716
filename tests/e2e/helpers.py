"""Small helpers for the control-plane suites: names, ARNs, digests and error checks."""

import base64
import hashlib
import re
import uuid

import botocore.session
import pytest
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


def create(client, name=None, code=None, **overrides):
    """CreateFunction with working defaults; any member can be overridden."""
    args = dict(
        FunctionName=name or unique(), Runtime="python3.12", Handler="app.handler", Role=ROLE,
        Code={"ZipFile": PY_CODE if code is None else code},
    )
    args.update(overrides)
    return client.create_function(**args)


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
