"""AddPermission, GetPolicy and RemovePermission: resource policies stored and returned in
IAM's format, through the AWS CLI (as API Gateway tutorials call them) and boto3."""

import json

import pytest
from botocore.exceptions import ClientError

from helpers import create, unique


def test_cli_grants_api_gateway_and_reads_the_policy(server, aws):
    name = unique("policy")
    arn = create(server.client(), name)["FunctionArn"]
    source = "arn:aws:execute-api:us-east-1:000000000000:abc123/*/GET/"
    rc, added, err = aws("add-permission", "--function-name", name, "--statement-id", "apigw-invoke",
                         "--action", "lambda:InvokeFunction", "--principal", "apigateway.amazonaws.com",
                         "--source-arn", source)
    assert rc == 0, err
    statement = json.loads(added["Statement"])
    assert statement == {
        "Sid": "apigw-invoke", "Effect": "Allow", "Principal": {"Service": "apigateway.amazonaws.com"},
        "Action": "lambda:InvokeFunction", "Resource": arn,
        "Condition": {"ArnLike": {"AWS:SourceArn": source}},
    }
    rc, policy, err = aws("get-policy", "--function-name", name)
    assert rc == 0, err
    document = json.loads(policy["Policy"])
    assert document["Version"] == "2012-10-17" and document["Statement"] == [statement]
    rc, _, err = aws("add-permission", "--function-name", name, "--statement-id", "apigw-invoke",
                     "--action", "lambda:InvokeFunction", "--principal", "apigateway.amazonaws.com")
    assert rc != 0 and "ResourceConflictException" in err
    rc, _, err = aws("remove-permission", "--function-name", name, "--statement-id", "apigw-invoke")
    assert rc == 0, err
    rc, _, err = aws("get-policy", "--function-name", name)
    assert rc != 0 and "ResourceNotFoundException" in err


def test_policies_are_per_qualifier(lambda_client):
    name = unique("policy")
    create(lambda_client, name, Publish=True)
    lambda_client.create_alias(FunctionName=name, Name="live", FunctionVersion="1")
    added = lambda_client.add_permission(FunctionName=name, Qualifier="live", StatementId="account",
                                         Action="lambda:InvokeFunction", Principal="123456789012")
    assert json.loads(added["Statement"])["Principal"] == {"AWS": "arn:aws:iam::123456789012:root"}
    assert json.loads(added["Statement"])["Resource"].endswith(f":function:{name}:live")
    with pytest.raises(ClientError) as caught:
        lambda_client.get_policy(FunctionName=name)
    assert caught.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert len(json.loads(lambda_client.get_policy(FunctionName=name, Qualifier="live")["Policy"])["Statement"]) == 1


@pytest.mark.parametrize("change, code", [
    ({"FunctionName": "missing-function-xyz"}, "ResourceNotFoundException"),
    ({"StatementId": "has spaces"}, "ValidationException"),
    ({"Action": "s3:GetObject"}, "ValidationException"),
    ({"RevisionId": "stale"}, "PreconditionFailedException"),
])
def test_add_permission_errors(lambda_client, raw_client, change, code):
    name = unique("policy")
    create(lambda_client, name)
    arguments = {"FunctionName": name, "StatementId": "s1", "Action": "lambda:InvokeFunction", "Principal": "*", **change}
    with pytest.raises(ClientError) as caught:
        raw_client.add_permission(**arguments)
    assert caught.value.response["Error"]["Code"] == code
