"""The Lambda API's errors and limits, field by field as AWS answers them.

Expected answers are written from the API reference and botocore's Lambda model (version
1.44.5, the one SPEC.md names), and, where neither says, from answers recorded against AWS
by other projects' test suites (cited next to each case) — never from Alcove's output:

- a request breaking the model's constraints is a `ValidationException` listing every
  violation: `N validation error(s) detected: Value '...' at 'member' failed to satisfy
  constraint: ...; ...`; semantic checks stay `InvalidParameterValueException`;
- an error body has exactly the members of its shape in the model (`Type` and `Message`
  or `message`); `ValidationException`, which the model does not list, only `message`;
- Invoke's payload limits at their exact byte boundaries, the `Tail` log's `REPORT` line
  byte for byte, and the not-found messages naming the qualified ARN.
"""

import base64
import json
import re

import botocore.session
import pytest
from botocore.exceptions import ClientError

from harness import ROLE, make_zip
from helpers import create, function_arn, unique

# Patterns and limits as botocore 1.44.5's Lambda model states them.
FUNCTION_NAME_PATTERN = (
    r"(arn:(aws[a-zA-Z-]*)?:lambda:)?((eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:)?(\d{12}:)?"
    r"(function:)?([a-zA-Z0-9-_]+)(:(\$LATEST|[a-zA-Z0-9-_]+))?"
)
ENV_NAME_PATTERN = "[a-zA-Z]([a-zA-Z0-9_])+"
MiB = 1024 * 1024

ECHO_SIZED = make_zip({"app.py": (
    "def handler(event, context):\n"
    "    if isinstance(event, dict) and 'size' in event:\n"
    "        return 'a' * event['size']\n"
    "    return event\n"
)})

MODEL = botocore.session.get_session().get_service_model("lambda")


def raw_error(reply):
    """(status, x-amzn-ErrorType, JSON body) of a raw HTTP error reply."""
    return reply.status_code, reply.headers.get("x-amzn-ErrorType", "").split(":")[0], reply.json()


def caught(call, **kwargs):
    with pytest.raises(ClientError) as error:
        call(**kwargs)
    return error.value.response


@pytest.fixture(scope="module")
def echo(lambda_client):
    name = unique("echo")
    create(lambda_client, name, code=ECHO_SIZED, MemorySize=1024, Timeout=30)
    return name


# --- Constraint violations ---------------------------------------------------------------------


def test_every_violation_is_listed_in_one_validation_exception(raw_client):
    response = caught(raw_client.create_function, FunctionName="bad name!", Runtime="python3.12", Role=ROLE,
                      Handler="app.handler", Code={"ZipFile": b"x"}, Timeout=0, MemorySize=40000)
    assert response["Error"]["Code"] == "ValidationException"
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 400
    # Members in the model's order (FunctionName, ..., Timeout, MemorySize).
    assert response["Error"]["Message"] == (
        "3 validation errors detected: "
        f"Value 'bad name!' at 'functionName' failed to satisfy constraint: Member must satisfy regular "
        f"expression pattern: {FUNCTION_NAME_PATTERN}; "
        "Value '0' at 'timeout' failed to satisfy constraint: Member must have value greater than or equal to 1; "
        "Value '40000' at 'memorySize' failed to satisfy constraint: Member must have value less than or equal "
        "to 32768"
    )


def test_validation_exception_is_caught_by_the_class_boto3_maps_its_code_to(raw_client, lambda_client):
    # botocore's Lambda model does not list ValidationException, so boto3 has no class of
    # its own for it: the class its code maps to is ClientError, and code must tell it apart.
    assert "ValidationException" not in MODEL.error_shapes and not hasattr(raw_client.exceptions,
                                                                             "ValidationException")
    validation_class = raw_client.exceptions.from_code("ValidationException")
    with pytest.raises(validation_class) as error:
        raw_client.list_functions(MaxItems=0)
    assert error.value.response["Error"] == {
        "Code": "ValidationException",
        "Message": "1 validation error detected: Value '0' at 'maxItems' failed to satisfy constraint: "
                   "Member must have value greater than or equal to 1",
    }
    # Modelled errors are caught by their own class.
    with pytest.raises(lambda_client.exceptions.ResourceNotFoundException):
        lambda_client.get_function(FunctionName=unique("missing"))


def test_missing_required_members_are_null(raw_client):
    response = caught(raw_client.create_function, FunctionName=unique("f"), Runtime="python3.12")
    assert response["Error"]["Code"] == "ValidationException"
    assert response["Error"]["Message"] == (
        "2 validation errors detected: "
        "Value null at 'role' failed to satisfy constraint: Member must not be null; "
        "Value null at 'code' failed to satisfy constraint: Member must not be null"
    )


def test_nested_members_and_sensitive_maps(raw_client, lambda_client):
    name = unique("nested")
    create(lambda_client, name)
    response = caught(raw_client.update_function_configuration, FunctionName=name,
                      Environment={"Variables": {"1BAD": "secret"}}, EphemeralStorage={"Size": 100})
    # Environment variables are sensitive in the model: AWS does not echo them.
    assert response["Error"]["Code"] == "ValidationException"
    assert response["Error"]["Message"] == (
        "2 validation errors detected: "
        "Value at 'environment.variables' failed to satisfy constraint: Map keys must satisfy constraint: "
        f"[Member must satisfy regular expression pattern: {ENV_NAME_PATTERN}]; "
        "Value '100' at 'ephemeralStorage.size' failed to satisfy constraint: Member must have value greater "
        "than or equal to 512"
    )
    assert "secret" not in response["Error"]["Message"]


def test_enums_in_headers_and_lists(raw_client, echo):
    response = caught(raw_client.invoke, FunctionName=echo, InvocationType="Sometimes")
    assert response["Error"] == {
        "Code": "ValidationException",
        "Message": "1 validation error detected: Value 'Sometimes' at 'invocationType' failed to satisfy "
                   "constraint: Member must satisfy enum value set: [Event, RequestResponse, DryRun]",
    }
    response = caught(raw_client.update_function_code, FunctionName=echo, ZipFile=ECHO_SIZED,
                      Architectures=["sparc"])
    assert response["Error"] == {
        "Code": "ValidationException",
        "Message": "1 validation error detected: Value '[sparc]' at 'architectures' failed to satisfy "
                   "constraint: Member must satisfy constraint: [Member must satisfy enum value set: "
                   "[x86_64, arm64]]",
    }


def test_path_members_are_validated(http):
    name = "f" * 257
    status, code, document = raw_error(http.get(f"/2015-03-31/functions/{name}"))
    assert (status, code) == (400, "ValidationException")
    assert document == {"message": f"1 validation error detected: Value '{name}' at 'functionName' failed to "
                                   "satisfy constraint: Member must have length less than or equal to 256"}


def test_semantic_checks_stay_invalid_parameter(lambda_client):
    # A bare name over 64 characters: the model allows 140, the API reference 64 for a
    # bare name; AWS answers InvalidParameterValueException in its validation wording
    # (recorded against AWS in LocalStack's Lambda API tests).
    name = "f" * 65
    response = caught(create, client=lambda_client, name=name)
    assert response["Error"] == {
        "Code": "InvalidParameterValueException",
        "Message": f"1 validation error detected: Value '{name}' at 'functionName' failed to satisfy "
                   "constraint: Member must have length less than or equal to 64",
    }
    # An unknown runtime: not the model's enum but the runtimes still supported, "or be a
    # valid ARN", the value unquoted (recorded against AWS in LocalStack's tests).
    response = caught(create, client=lambda_client, Runtime="cobol85")
    assert response["Error"]["Code"] == "InvalidParameterValueException"
    assert response["Error"]["Message"].startswith(
        "Value cobol85 at 'runtime' failed to satisfy constraint: Member must satisfy enum value set: [")
    assert response["Error"]["Message"].endswith("] or be a valid ARN")


# --- Error bodies ----------------------------------------------------------------------------


def test_error_bodies_have_the_members_of_their_shape(http, lambda_client, raw_client):
    missing = unique("missing")
    status, code, document = raw_error(http.get(f"/2015-03-31/functions/{missing}"))
    assert (status, code) == (404, "ResourceNotFoundException")
    assert sorted(MODEL.shape_for("ResourceNotFoundException").members) == ["Message", "Type"]
    assert document == {"Type": "User", "Message": f"Function not found: {function_arn(missing)}"}
    # botocore fills Error.Message and the shape's own members from that body.
    response = caught(lambda_client.get_function, FunctionName=missing)
    assert response["Error"] == {"Code": "ResourceNotFoundException",
                                 "Message": f"Function not found: {function_arn(missing)}"}
    assert (response["Type"], response["Message"]) == ("User", f"Function not found: {function_arn(missing)}")

    status, code, document = raw_error(http.get("/2015-03-31/functions", params={"MaxItems": "0"}))
    assert (status, code) == (400, "ValidationException")
    assert list(document) == ["message"]

    name = unique("conflict")
    create(lambda_client, name)
    reply = http.post("/2015-03-31/functions", json={
        "FunctionName": name, "Runtime": "python3.12", "Role": ROLE, "Handler": "app.handler",
        "Code": {"ZipFile": base64.b64encode(ECHO_SIZED).decode()}})
    status, code, document = raw_error(reply)
    assert (status, code) == (409, "ResourceConflictException")
    assert sorted(MODEL.shape_for("ResourceConflictException").members) == ["Type", "message"]
    # AWS names the function, not its ARN (recorded by moto's and LocalStack's tests).
    assert document == {"Type": "User", "message": f"Function already exist: {name}"}

    status, code, document = raw_error(http.put(f"/2015-03-31/functions/{name}/configuration",
                                                json={"MemorySize": 20000}))
    assert (status, code) == (400, "InvalidParameterValueException")
    assert sorted(document) == sorted(MODEL.shape_for("InvalidParameterValueException").members)


def test_not_found_messages_name_the_qualified_arn(lambda_client, echo):
    arn = function_arn(echo)
    response = caught(lambda_client.get_function, FunctionName=echo, Qualifier="42")
    assert response["Error"] == {"Code": "ResourceNotFoundException", "Message": f"Function not found: {arn}:42"}
    response = caught(lambda_client.invoke, FunctionName=echo, Qualifier="42")
    assert response["Error"] == {"Code": "ResourceNotFoundException", "Message": f"Function not found: {arn}:42"}
    response = caught(lambda_client.get_alias, FunctionName=echo, Name="nope")
    assert response["Error"] == {"Code": "ResourceNotFoundException",
                                 "Message": f"Cannot find alias arn: {arn}:nope"}
    response = caught(lambda_client.get_function_event_invoke_config, FunctionName=echo)
    assert response["Error"] == {"Code": "ResourceNotFoundException",
                                 "Message": f"The function {arn}:$LATEST doesn't have an EventInvokeConfig"}


# --- Byte-exact details ---------------------------------------------------------------------


def test_request_payload_limit_is_six_mib_exactly(http, echo):
    at_limit = b'"' + b"a" * (6 * MiB - 2) + b'"'
    assert len(at_limit) == 6 * MiB
    reply = http.post(f"/2015-03-31/functions/{echo}/invocations", data=at_limit, timeout=120)
    assert reply.status_code == 200 and "x-amz-function-error" not in reply.headers, reply.text[:300]
    assert reply.content == at_limit
    over = at_limit + b" "
    status, code, document = raw_error(http.post(f"/2015-03-31/functions/{echo}/invocations", data=over,
                                                 timeout=120))
    assert (status, code) == (413, "RequestEntityTooLargeException")
    assert document == {"Message": "Request must be smaller than 6291456 bytes for the InvokeFunction operation"}


def test_event_payload_limit_is_one_mib(http, echo):
    event = b'"' + b"a" * (MiB - 1) + b'"'
    reply = http.post(f"/2015-03-31/functions/{echo}/invocations", data=event,
                      headers={"X-Amz-Invocation-Type": "Event"})
    assert len(event) == MiB + 1
    status, code, document = raw_error(reply)
    assert (status, code) == (413, "RequestTooLargeException")
    assert document == {"Type": "User",
                        "message": f"{MiB + 1} byte payload is too large for the Event invocation type "
                                   f"(limit {MiB} bytes)"}
    reply = http.post(f"/2015-03-31/functions/{echo}/invocations", data=event[:-2] + b'"',
                      headers={"X-Amz-Invocation-Type": "Event"})
    assert reply.status_code == 202, reply.text[:300]


def test_a_six_mib_string_response_is_accepted(lambda_client, echo):
    # 6 MiB of text is 6 MiB + 2 bytes of JSON: within AWS's 6291556-byte response limit.
    response = lambda_client.invoke(FunctionName=echo, Payload=json.dumps({"size": 6 * MiB}))
    assert "FunctionError" not in response
    assert len(response["Payload"].read()) == 6 * MiB + 2
    exact = 6 * MiB + 100 - 2
    response = lambda_client.invoke(FunctionName=echo, Payload=json.dumps({"size": exact}))
    assert "FunctionError" not in response and len(response["Payload"].read()) == 6 * MiB + 100
    response = lambda_client.invoke(FunctionName=echo, Payload=json.dumps({"size": exact + 1}))
    assert response["FunctionError"] == "Unhandled"
    assert json.loads(response["Payload"].read()) == {
        "errorMessage": "Response payload size exceeded maximum allowed payload size (6291556 bytes).",
        "errorType": "Function.ResponseSizeTooLarge",
    }


def test_invalid_json_payload(lambda_client, echo):
    response = caught(lambda_client.invoke, FunctionName=echo, Payload=b"{nope")
    assert response["Error"]["Code"] == "InvalidRequestContentException"
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert response["Error"]["Message"].startswith(
        "Could not parse request body into json: Could not parse payload into json: ")
    assert response["Type"] == "User"


def test_tail_report_line_is_byte_exact(lambda_client, echo):
    response = lambda_client.invoke(FunctionName=echo, Payload=b"{}", LogType="Tail")
    request_id = response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"]
    tail = base64.b64decode(response["LogResult"]).decode()
    report = re.search(r"REPORT RequestId: [^\n]*\n", tail)
    assert report, tail
    # Each field is followed by a tab, the last one too, then the newline (AWS's line).
    assert re.fullmatch(
        rf"REPORT RequestId: {request_id}\tDuration: \d+\.\d\d ms\tBilled Duration: \d+ ms\t"
        r"Memory Size: 1024 MB\tMax Memory Used: \d+ MB\t(Init Duration: \d+\.\d\d ms\t)?\n",
        report.group(0),
    ), repr(report.group(0))
