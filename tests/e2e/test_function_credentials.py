"""Execution-role credentials inside functions: each environment gets temporary
credentials of its function's role and a channel to Alcove's API (`AWS_ENDPOINT_URL`),
so boto3 inside a handler works unmodified, as on Lambda. The role's policy decides what
those calls may do; the credentials work only from the environment they were issued to.

The router pattern AWS recommends for queues with tenant isolation runs here for real: a
PER_TENANT router reads a tenant from its event and invokes a PER_TENANT worker for that
tenant with boto3 from inside its sandbox."""

import json
import uuid

import boto3
import pytest
from botocore.config import Config

from harness import ROLE, create_per_tenant_python
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

lam = boto3.client("lambda")

def handler(event, context):
    answer = lam.invoke(FunctionName=event["worker"], TenantId=event["tenant"],
                        Payload=json.dumps({}).encode())
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
