"""CloudFormation's Query-protocol edge: requests signed for `cloudformation` (or unsigned
form posts) reach it and are answered in XML, with CloudFormation's own errors, while
requests signed for Lambda keep Lambda's REST-JSON. What the engine decides (a stack
that does not exist) is asserted as AWS answers it."""

import xml.etree.ElementTree as ET

import pytest
from botocore.exceptions import ClientError

from test_sts import signed_post

CFN_NS = "{http://cloudformation.amazonaws.com/doc/2010-05-15/}"
TEMPLATE = """AWSTemplateFormatVersion: '2010-09-09'
Resources:
  Function:
    Type: AWS::Lambda::Function
"""


@pytest.fixture(scope="module")
def cfn(server):
    return server.client("cloudformation")


@pytest.fixture(scope="module")
def raw_cfn(server):
    """No client-side validation: for requests botocore would refuse before sending."""
    return server.client("cloudformation", validate=False)


def error_of(call, **kwargs):
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    response = caught.value.response
    return response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Code"], response["Error"]["Message"]


def rename_action(client, operation, action):
    """Makes `client`'s `operation` go out as `Action=<action>` (still signed)."""
    def rewrite(request, **_):
        request.data = {**request.data, "Action": action} if isinstance(request.data, dict) else \
            request.data.replace(f"Action={operation}", f"Action={action}")
    client.meta.events.register_first(f"before-sign.cloudformation.{operation}", rewrite)


def test_an_unknown_action_is_an_invalid_action(server):
    client = server.client("cloudformation")
    rename_action(client, "ListExports", "FrobnicateStacks")
    assert error_of(client.list_exports) == (
        400, "InvalidAction", "The action FrobnicateStacks is not valid for this web service.")


def test_errors_are_error_responses_in_xml(server):
    reply = signed_post(server, "cloudformation", {"Action": "FrobnicateStacks", "Version": "2010-05-15"})
    assert reply.status_code == 400
    assert reply.headers["Content-Type"] == "text/xml"
    assert reply.headers["x-amzn-ErrorType"] == "InvalidAction"
    root = ET.fromstring(reply.text)
    assert root.tag == f"{CFN_NS}ErrorResponse"
    assert root.findtext(f"{CFN_NS}Error/{CFN_NS}Type") == "Sender"
    assert root.findtext(f"{CFN_NS}Error/{CFN_NS}Code") == "InvalidAction"
    assert root.findtext(f"{CFN_NS}RequestId") == reply.headers["x-amzn-RequestId"]

    reply = signed_post(server, "cloudformation", {"Version": "2010-05-15"})
    assert reply.status_code == 400
    assert ET.fromstring(reply.text).findtext(f"{CFN_NS}Error/{CFN_NS}Code") == "MissingAction"


def test_an_unsigned_form_post_is_a_cloudformation_call(http):
    reply = http.post("/", data={"Action": "FrobnicateStacks", "Version": "2010-05-15"})
    assert reply.status_code == 400
    assert ET.fromstring(reply.text).findtext(f"{CFN_NS}Error/{CFN_NS}Code") == "InvalidAction"


def test_a_lambda_signed_request_still_answers_lambda_json(server, lambda_client):
    with pytest.raises(ClientError) as caught:
        lambda_client.get_function(FunctionName="no-such-function-anywhere")
    assert caught.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert caught.value.response["ResponseMetadata"]["HTTPHeaders"]["content-type"] == "application/json"
    assert "Functions" in lambda_client.list_functions()
    # A form post signed for Lambda is not taken for a Query-protocol call.
    reply = signed_post(server, "lambda", {"Action": "ListExports", "Version": "2010-05-15"})
    assert not reply.headers.get("Content-Type", "").startswith("text/xml"), reply.text
    assert "ErrorResponse" not in reply.text


def test_a_missing_required_member_is_named_as_aws_names_it(raw_cfn):
    assert error_of(raw_cfn.describe_stack_events) == (
        400, "ValidationError",
        "1 validation error detected: Value null at 'stackName' failed to satisfy constraint: "
        "Member must not be null")
    assert error_of(raw_cfn.describe_stack_resource, StackName="s") == (
        400, "ValidationError",
        "1 validation error detected: Value null at 'logicalResourceId' failed to satisfy constraint: "
        "Member must not be null")


def test_a_template_comes_from_exactly_one_place(cfn):
    assert error_of(cfn.validate_template) == (
        400, "ValidationError", "Either Template URL or Template Body must be specified.")
    assert error_of(cfn.create_stack, StackName="both", TemplateBody=TEMPLATE,
                    TemplateURL="https://s3.amazonaws.com/b/t.yaml") == (
        400, "ValidationError", "You cannot specify both Template URL and Template Body.")
    assert error_of(cfn.create_stack, StackName="neither") == (
        400, "ValidationError", "Either Template URL or Template Body must be specified.")


def test_a_template_url_must_name_an_object_this_server_holds(server, cfn):
    assert error_of(cfn.validate_template, TemplateURL="https://example.com/b/t.yaml") == (
        400, "ValidationError", "TemplateURL must be a supported URL.")
    for url in [f"{server.url}/no-such-bucket/t.yaml",
                "https://no-such-bucket.s3.amazonaws.com/t.yaml",
                "https://s3.us-east-1.amazonaws.com/no-such-bucket/t.yaml"]:
        assert error_of(cfn.validate_template, TemplateURL=url) == (
            400, "ValidationError", "TemplateURL must reference a valid S3 object to which you have access."), url


def test_a_new_stack_name_must_match_the_pattern(cfn):
    assert error_of(cfn.create_stack, StackName="my_stack", TemplateBody=TEMPLATE) == (
        400, "ValidationError",
        "1 validation error detected: Value 'my_stack' at 'stackName' failed to satisfy constraint: "
        "Member must satisfy regular expression pattern: [a-zA-Z][-a-zA-Z0-9]*")


# Needs the engine: the skeleton answers every operation with "not implemented yet".
def test_a_stack_that_does_not_exist_is_a_validation_error(server, cfn):
    assert error_of(cfn.describe_stacks, StackName="no-such-stack") == (
        400, "ValidationError", "Stack with id no-such-stack does not exist")
    rc, _, err = server.aws("cloudformation", "describe-stacks", "--stack-name", "no-such-stack")
    assert rc == 255, err
    assert "An error occurred (ValidationError) when calling the DescribeStacks operation: " \
           "Stack with id no-such-stack does not exist" in err
    # Deleting a stack that does not exist succeeds, as on AWS.
    assert cfn.delete_stack(StackName="no-such-stack")["ResponseMetadata"]["HTTPStatusCode"] == 200

