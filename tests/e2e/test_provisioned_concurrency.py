"""Provisioned concurrency: the control plane as botocore's model shapes it (202 on Put,
IN_PROGRESS then READY, the counts, LastModified, the list), AWS's refusals ($LATEST,
PER_TENANT, over-allocation, missing config), and the real thing: a provisioned alias's
invokes are served by environments initialised beforehand (no Init Duration in REPORT,
`AWS_LAMBDA_INITIALIZATION_TYPE=provisioned-concurrency`), and deletion drains them."""

import base64
import json
import time

from harness import make_zip
from helpers import LAST_MODIFIED, PER_TENANT, body, create, expect_error, function_arn, status, unique

INIT_TYPE = make_zip({"app.py": (
    "import os\n"
    "def handler(event, context):\n"
    "    return os.environ['AWS_LAMBDA_INITIALIZATION_TYPE']\n"
)})


def published_with_alias(lambda_client, **overrides):
    name = unique("pc")
    create(lambda_client, name, code=INIT_TYPE, **overrides)
    lambda_client.publish_version(FunctionName=name)
    lambda_client.create_alias(FunctionName=name, Name="live", FunctionVersion="1")
    return name


def wait_ready(lambda_client, name, qualifier, timeout=60):
    deadline = time.monotonic() + timeout
    while True:
        config = lambda_client.get_provisioned_concurrency_config(FunctionName=name, Qualifier=qualifier)
        if config["Status"] != "IN_PROGRESS" or time.monotonic() > deadline:
            return config
        time.sleep(0.2)


def test_a_provisioned_alias_becomes_ready_and_serves_warm_invokes(lambda_client):
    name = published_with_alias(lambda_client)
    put = lambda_client.put_provisioned_concurrency_config(
        FunctionName=name, Qualifier="live", ProvisionedConcurrentExecutions=2)
    assert status(put) == 202
    assert set(body(put)) == {"RequestedProvisionedConcurrentExecutions", "AvailableProvisionedConcurrentExecutions",
                              "AllocatedProvisionedConcurrentExecutions", "Status", "LastModified"}
    assert put["RequestedProvisionedConcurrentExecutions"] == 2
    assert put["Status"] in ("IN_PROGRESS", "READY")
    assert LAST_MODIFIED.match(put["LastModified"]), put["LastModified"]
    ready = wait_ready(lambda_client, name, "live")
    assert body(ready) == {
        "RequestedProvisionedConcurrentExecutions": 2, "AvailableProvisionedConcurrentExecutions": 2,
        "AllocatedProvisionedConcurrentExecutions": 2, "Status": "READY", "LastModified": put["LastModified"],
    }
    # The very first invoke finds an initialised environment.
    reply = lambda_client.invoke(FunctionName=name, Qualifier="live", LogType="Tail", Payload=b"{}")
    assert json.loads(reply["Payload"].read()) == "provisioned-concurrency"
    log = base64.b64decode(reply["LogResult"]).decode()
    assert "REPORT RequestId:" in log and "Init Duration" not in log, log
    # The unprovisioned $LATEST starts on demand.
    reply = lambda_client.invoke(FunctionName=name, LogType="Tail", Payload=b"{}")
    assert json.loads(reply["Payload"].read()) == "on-demand"
    assert "Init Duration" in base64.b64decode(reply["LogResult"]).decode()

    listed = lambda_client.list_provisioned_concurrency_configs(FunctionName=name)["ProvisionedConcurrencyConfigs"]
    assert listed == [{"FunctionArn": function_arn(name, qualifier="live"), **body(ready)}]

    # Deleting drains: the next invoke of the alias starts on demand.
    assert status(lambda_client.delete_provisioned_concurrency_config(FunctionName=name, Qualifier="live")) == 204
    expect_error("ProvisionedConcurrencyConfigNotFoundException", 404,
                 lambda_client.get_provisioned_concurrency_config, FunctionName=name, Qualifier="live")
    assert lambda_client.list_provisioned_concurrency_configs(FunctionName=name)["ProvisionedConcurrencyConfigs"] == []
    reply = lambda_client.invoke(FunctionName=name, Qualifier="live", Payload=b"{}")
    assert json.loads(reply["Payload"].read()) == "on-demand"


def test_latest_is_refused(lambda_client):
    name = published_with_alias(lambda_client)
    message = expect_error("InvalidParameterValueException", 400, lambda_client.put_provisioned_concurrency_config,
                           FunctionName=name, Qualifier="$LATEST", ProvisionedConcurrentExecutions=1)
    assert message == "Provisioned Concurrency Configs cannot be applied to unpublished function versions."
    message = expect_error("InvalidParameterValueException", 400, lambda_client.get_provisioned_concurrency_config,
                           FunctionName=name, Qualifier="$LATEST")
    assert message == "The function resource provided must be an alias or a published version."


def test_per_tenant_functions_are_refused(lambda_client):
    name = published_with_alias(lambda_client, TenancyConfig=PER_TENANT)
    expect_error("InvalidParameterValueException", 400, lambda_client.put_provisioned_concurrency_config,
                 FunctionName=name, Qualifier="live", ProvisionedConcurrentExecutions=1)
    assert lambda_client.list_provisioned_concurrency_configs(FunctionName=name)["ProvisionedConcurrencyConfigs"] == []


def test_missing_targets_and_configs(lambda_client):
    name = published_with_alias(lambda_client)
    message = expect_error("ResourceNotFoundException", 404, lambda_client.put_provisioned_concurrency_config,
                           FunctionName=name, Qualifier="nope", ProvisionedConcurrentExecutions=1)
    assert message == f"Cannot find alias arn: {function_arn(name, qualifier='nope')}"
    message = expect_error("ResourceNotFoundException", 404, lambda_client.put_provisioned_concurrency_config,
                           FunctionName=name, Qualifier="7", ProvisionedConcurrentExecutions=1)
    assert message == f"Function not found: {function_arn(name, qualifier='7')}"
    message = expect_error("ProvisionedConcurrencyConfigNotFoundException", 404,
                           lambda_client.get_provisioned_concurrency_config, FunctionName=name, Qualifier="1")
    assert message == "No Provisioned Concurrency Config found for this function"


def test_over_allocation_is_refused(lambda_client):
    name = published_with_alias(lambda_client)
    lambda_client.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=1)
    message = expect_error("InvalidParameterValueException", 400, lambda_client.put_provisioned_concurrency_config,
                           FunctionName=name, Qualifier="live", ProvisionedConcurrentExecutions=2)
    assert message == ("Requested Provisioned Concurrency should not be greater than the "
                       "reservedConcurrentExecution for function")
    lambda_client.delete_function_concurrency(FunctionName=name)
    # Without a reservation it comes out of the account's 1000, which must keep 100 unreserved.
    message = expect_error("InvalidParameterValueException", 400, lambda_client.put_provisioned_concurrency_config,
                           FunctionName=name, Qualifier="live", ProvisionedConcurrentExecutions=901)
    assert message == ("Specified ConcurrentExecutions for function decreases account's "
                       "UnreservedConcurrentExecution below its minimum value of [100].")


def test_an_alias_and_its_version_cannot_both_be_provisioned(lambda_client):
    name = published_with_alias(lambda_client)
    lambda_client.put_provisioned_concurrency_config(FunctionName=name, Qualifier="1", ProvisionedConcurrentExecutions=1)
    expect_error("ResourceConflictException", 409, lambda_client.put_provisioned_concurrency_config,
                 FunctionName=name, Qualifier="live", ProvisionedConcurrentExecutions=1)
