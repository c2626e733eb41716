"""Code signing configurations and recursion settings, compared field by field with
botocore's model and AWS's documented answers. Signatures are not verified (docs/API.md)."""

import re

from helpers import body, create, expect_error, function_arn, status, unique

ARN = re.compile(r"^arn:aws:lambda:us-east-1:000000000000:code-signing-config:(csc-[a-z0-9]{17})$")
TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}\+0000$")
PROFILE = "arn:aws:signer:us-east-1:123456789012:/signing-profiles/MyProfile/abcdef1234"


def new_config(client, **extra):
    return client.create_code_signing_config(AllowedPublishers={"SigningProfileVersionArns": [PROFILE]}, **extra)


def test_configurations_round_trip(lambda_client):
    created = new_config(lambda_client, Description="ours")
    assert status(created) == 201
    config = created["CodeSigningConfig"]
    assert set(config) == {"CodeSigningConfigId", "CodeSigningConfigArn", "Description", "AllowedPublishers",
                           "CodeSigningPolicies", "LastModified"}
    assert ARN.match(config["CodeSigningConfigArn"]).group(1) == config["CodeSigningConfigId"]
    assert config["AllowedPublishers"] == {"SigningProfileVersionArns": [PROFILE]}
    assert config["CodeSigningPolicies"] == {"UntrustedArtifactOnDeployment": "Warn"}
    assert (config["Description"], bool(TIMESTAMP.match(config["LastModified"]))) == ("ours", True)
    arn = config["CodeSigningConfigArn"]
    assert body(lambda_client.get_code_signing_config(CodeSigningConfigArn=arn)) == {"CodeSigningConfig": config}

    updated = lambda_client.update_code_signing_config(
        CodeSigningConfigArn=arn, CodeSigningPolicies={"UntrustedArtifactOnDeployment": "Enforce"})["CodeSigningConfig"]
    assert updated["CodeSigningPolicies"] == {"UntrustedArtifactOnDeployment": "Enforce"}
    assert (updated["Description"], updated["AllowedPublishers"]) == ("ours", config["AllowedPublishers"])
    listed = [c["CodeSigningConfigArn"] for c in lambda_client.list_code_signing_configs()["CodeSigningConfigs"]]
    assert arn in listed

    assert status(lambda_client.delete_code_signing_config(CodeSigningConfigArn=arn)) == 204
    message = expect_error("ResourceNotFoundException", 404, lambda_client.get_code_signing_config,
                           CodeSigningConfigArn=arn)
    assert message == f"The Lambda code signing configuration {arn} can not be found."
    expect_error("ResourceNotFoundException", 404, lambda_client.delete_code_signing_config, CodeSigningConfigArn=arn)


def test_bad_input_is_refused(raw_client):
    expect_error("ValidationException", 400, raw_client.create_code_signing_config,
                 AllowedPublishers={"SigningProfileVersionArns": []})
    expect_error("ValidationException", 400, raw_client.create_code_signing_config,
                 AllowedPublishers={"SigningProfileVersionArns": [PROFILE]},
                 CodeSigningPolicies={"UntrustedArtifactOnDeployment": "Block"})
    expect_error("ValidationException", 400, raw_client.get_code_signing_config, CodeSigningConfigArn="csc-1")


def test_functions_use_configurations(lambda_client):
    arn = new_config(lambda_client)["CodeSigningConfig"]["CodeSigningConfigArn"]
    missing = arn[:-17] + "0" * 17
    # CreateFunction with a configuration that does not exist: AWS's own exception class.
    name = unique("csc")
    expect_error("CodeSigningConfigNotFoundException", 404, lambda **code: create(lambda_client, name, **code),
                 CodeSigningConfigArn=missing)
    expect_error("ResourceNotFoundException", 404, lambda_client.get_function, FunctionName=name)

    create(lambda_client, name, CodeSigningConfigArn=arn)
    assert body(lambda_client.get_function_code_signing_config(FunctionName=name)) == {
        "CodeSigningConfigArn": arn, "FunctionName": name}
    assert lambda_client.list_functions_by_code_signing_config(CodeSigningConfigArn=arn)["FunctionArns"] == [
        function_arn(name)]
    # A configuration in use cannot be deleted.
    expect_error("ResourceConflictException", 409, lambda_client.delete_code_signing_config, CodeSigningConfigArn=arn)

    other = unique("csc")
    create(lambda_client, other)
    assert body(lambda_client.get_function_code_signing_config(FunctionName=other)) == {
        "CodeSigningConfigArn": "", "FunctionName": other}
    put = body(lambda_client.put_function_code_signing_config(FunctionName=other, CodeSigningConfigArn=arn))
    assert put == {"CodeSigningConfigArn": arn, "FunctionName": other}
    expect_error("CodeSigningConfigNotFoundException", 404, lambda_client.put_function_code_signing_config,
                 FunctionName=other, CodeSigningConfigArn=missing)
    expect_error("ResourceNotFoundException", 404, lambda_client.put_function_code_signing_config,
                 FunctionName=unique("absent"), CodeSigningConfigArn=arn)

    for fn in (name, other):
        assert status(lambda_client.delete_function_code_signing_config(FunctionName=fn)) == 204
    assert lambda_client.list_functions_by_code_signing_config(CodeSigningConfigArn=arn)["FunctionArns"] == []
    lambda_client.delete_code_signing_config(CodeSigningConfigArn=arn)


def test_recursion_config(lambda_client, raw_client):
    name = unique("rec")
    create(lambda_client, name)
    assert body(lambda_client.get_function_recursion_config(FunctionName=name)) == {"RecursiveLoop": "Terminate"}
    put = lambda_client.put_function_recursion_config(FunctionName=name, RecursiveLoop="Allow")
    assert body(put) == {"RecursiveLoop": "Allow"}
    assert body(lambda_client.get_function_recursion_config(FunctionName=function_arn(name))) == {
        "RecursiveLoop": "Allow"}
    expect_error("ValidationException", 400, raw_client.put_function_recursion_config,
                 FunctionName=name, RecursiveLoop="Sometimes")
    message = expect_error("ResourceNotFoundException", 404, lambda_client.get_function_recursion_config,
                           FunctionName=unique("absent"))
    assert message.startswith("Function not found: arn:aws:lambda:us-east-1:000000000000:function:")
