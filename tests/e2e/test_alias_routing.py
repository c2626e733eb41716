"""Weighted aliases (`RoutingConfig.AdditionalVersionWeights`): AWS's validation errors
(codes and messages as Lambda answers them), the alias shape with its routing, and invokes
through the alias split between the two versions by weight, each reporting the version
it ran in `X-Amz-Executed-Version`."""

import base64
import json
import math

from harness import make_zip
from helpers import body, create, expect_error, function_arn, unique

VERSIONED = make_zip({"app.py": (
    "import os\n"
    "def handler(event, context):\n"
    "    return os.environ['AWS_LAMBDA_FUNCTION_VERSION']\n"
)})


def two_versions(lambda_client):
    name = unique("weighted")
    create(lambda_client, name, code=VERSIONED)
    assert lambda_client.publish_version(FunctionName=name)["Version"] == "1"
    lambda_client.update_function_configuration(FunctionName=name, Environment={"Variables": {"SECOND": "1"}})
    assert lambda_client.publish_version(FunctionName=name)["Version"] == "2"
    return name


def test_routing_is_validated_as_aws_does(lambda_client):
    name = two_versions(lambda_client)
    create_alias = lambda_client.create_alias
    message = expect_error("InvalidParameterValueException", 400, create_alias, FunctionName=name, Name="a",
                           FunctionVersion="1", RoutingConfig={"AdditionalVersionWeights": {"2": 0.1, "3": 0.1}})
    assert message == "Number of items in AdditionalVersionWeights cannot be greater than 1"
    message = expect_error("ValidationException", 400, create_alias, FunctionName=name, Name="a",
                           FunctionVersion="1", RoutingConfig={"AdditionalVersionWeights": {"2": 1.5}})
    assert message == (
        "1 validation error detected: Value '{2=1.5}' at 'routingConfig.additionalVersionWeights' failed to "
        "satisfy constraint: Map value must satisfy constraint: [Member must have value less than or equal to "
        "1.0, Member must have value greater than or equal to 0.0, Member must not be null]")
    message = expect_error("InvalidParameterValueException", 400, create_alias, FunctionName=name, Name="a",
                           FunctionVersion="1", RoutingConfig={"AdditionalVersionWeights": {"1": 0.5}})
    assert message == "Invalid function version 1. Function version 1 is already included in routing configuration."
    message = expect_error("InvalidParameterValueException", 400, create_alias, FunctionName=name, Name="a",
                           FunctionVersion="$LATEST", RoutingConfig={"AdditionalVersionWeights": {"2": 0.5}})
    assert message == "$LATEST is not supported for an alias pointing to more than 1 version"
    message = expect_error("ResourceNotFoundException", 404, create_alias, FunctionName=name, Name="a",
                           FunctionVersion="1", RoutingConfig={"AdditionalVersionWeights": {"9": 0.5}})
    assert message == f"Function not found: {function_arn(name, qualifier='9')}"
    # Nothing was created by the refused requests.
    assert lambda_client.list_aliases(FunctionName=name)["Aliases"] == []


def test_validation_exception_is_caught_by_class(server, lambda_client):
    # botocore checks the minimum itself; without its check the server answers.
    # (This botocore's Lambda model has no ValidationException shape, so the class
    # boto3 raises is ClientError with that code.)
    unchecked = server.client(validate=False)
    name = two_versions(lambda_client)
    try:
        unchecked.create_alias(FunctionName=name, Name="a", FunctionVersion="1",
                                   RoutingConfig={"AdditionalVersionWeights": {"2": -0.1}})
    except lambda_client.exceptions.ClientError as error:
        assert error.response["Error"]["Code"] == "ValidationException"
    else:
        raise AssertionError("a negative weight must be refused")


def test_alias_shape_carries_its_routing(lambda_client):
    name = two_versions(lambda_client)
    created = lambda_client.create_alias(FunctionName=name, Name="live", FunctionVersion="1",
                                         RoutingConfig={"AdditionalVersionWeights": {"2": 0.25}})
    expected = {
        "AliasArn": function_arn(name, qualifier="live"), "Name": "live", "FunctionVersion": "1",
        "Description": "", "RoutingConfig": {"AdditionalVersionWeights": {"2": 0.25}},
        "RevisionId": created["RevisionId"],
    }
    assert body(created) == expected
    assert body(lambda_client.get_alias(FunctionName=name, Name="live")) == expected
    assert lambda_client.list_aliases(FunctionName=name)["Aliases"] == [expected]
    # An empty map removes the routing; the member is then absent, as on AWS.
    updated = lambda_client.update_alias(FunctionName=name, Name="live", RoutingConfig={"AdditionalVersionWeights": {}})
    assert "RoutingConfig" not in updated and updated["FunctionVersion"] == "1"
    # A version a weighted alias routes to cannot be deleted.
    lambda_client.update_alias(FunctionName=name, Name="live", RoutingConfig={"AdditionalVersionWeights": {"2": 0.5}})
    expect_error("ResourceConflictException", 409, lambda_client.delete_function, FunctionName=name, Qualifier="2")


def test_invokes_split_by_weight_and_report_the_executed_version(lambda_client):
    name = two_versions(lambda_client)
    lambda_client.create_alias(FunctionName=name, Name="canary", FunctionVersion="1",
                               RoutingConfig={"AdditionalVersionWeights": {"2": 0.3}})
    invokes = 400
    ran = {"1": 0, "2": 0}
    for _ in range(invokes):
        reply = lambda_client.invoke(FunctionName=name, Qualifier="canary", Payload=b"{}")
        version = json.loads(reply["Payload"].read())
        # The header names the version that ran, which the function itself reports.
        assert reply["ExecutedVersion"] == version
        ran[version] += 1
    assert ran["1"] + ran["2"] == invokes
    # Binomial(400, 0.3): mean 120, sd 9.17. 75..165 is +-4.9 sd: a correct
    # implementation falls outside less than once in 10^6 runs.
    sd = math.sqrt(invokes * 0.3 * 0.7)
    assert abs(ran["2"] - 120) <= 4.9 * sd, ran
    # The START line names the version too.
    reply = lambda_client.invoke(FunctionName=name, Qualifier="canary", LogType="Tail", Payload=b"{}")
    log = base64.b64decode(reply["LogResult"]).decode()
    assert f"Version: {reply['ExecutedVersion']}" in log, log


def test_weight_one_sends_every_invoke_to_the_additional_version(lambda_client):
    name = two_versions(lambda_client)
    lambda_client.create_alias(FunctionName=name, Name="all", FunctionVersion="1",
                               RoutingConfig={"AdditionalVersionWeights": {"2": 1.0}})
    for _ in range(10):
        assert lambda_client.invoke(FunctionName=name, Qualifier="all")["ExecutedVersion"] == "2"
    # Async invokes through the alias are accepted and run too.
    assert lambda_client.invoke(FunctionName=name, Qualifier="all", InvocationType="Event")["StatusCode"] == 202
