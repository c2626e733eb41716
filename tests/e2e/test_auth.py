"""`--auth sigv4`: every AWS-shaped API verifies SigV4 signatures against the keys
`alcove keys` manages, and refuses as AWS does: unknown keys, wrong secrets, requests
signed 20 minutes ago, presigned URLs expired or tampered with. The keys command line,
its files, and rotation/deletion taking effect on a running server."""

import datetime
import os
import stat
import subprocess
import time

import boto3
import botocore.auth
from botocore.config import Config
import pytest
import requests
from botocore.exceptions import ClientError

from harness import Server, binary, create_key, signed_request

ACCOUNT = "000000000000"


@pytest.fixture(scope="module")
def admin(tmp_path_factory):
    """An administrator key, made before the server starts."""
    data_dir = tmp_path_factory.mktemp("auth")
    return str(data_dir), create_key(data_dir, name="admin")


@pytest.fixture(scope="module")
def server(admin):
    data_dir, _ = admin
    srv = Server(data_dir, "--auth", "sigv4").start()
    yield srv
    srv.stop()


def error_code(excinfo):
    return excinfo.value.response["Error"]["Code"]


def test_the_right_keys_work_on_every_service_and_sts_names_the_caller(server, admin):
    _, key = admin
    assert "Functions" in server.client("lambda", credentials=key).list_functions()
    identity = server.client("sts", credentials=key).get_caller_identity()
    assert identity["Arn"] == f"arn:aws:iam::{ACCOUNT}:user/admin"
    assert identity["UserId"] == key[0]
    server.client("s3", credentials=key).create_bucket(Bucket="authbucket")
    assert "logGroups" in server.client("logs", credentials=key).describe_log_groups()
    assert "items" in server.client("apigateway", credentials=key).get_rest_apis()
    server.client("ssm", credentials=key).put_parameter(Name="/auth/p", Value="v", Type="String")
    assert "StackSummaries" in server.client("cloudformation", credentials=key).list_stacks()
    code, out, err = server.aws("lambda", "list-functions", credentials=key)
    assert code == 0, err


@pytest.mark.parametrize("service, call, expected", [
    ("lambda", lambda c: c.list_functions(), "InvalidSignatureException"),
    ("sts", lambda c: c.get_caller_identity(), "SignatureDoesNotMatch"),
    ("s3", lambda c: c.list_buckets(), "SignatureDoesNotMatch"),
    ("logs", lambda c: c.describe_log_groups(), "InvalidSignatureException"),
    ("apigateway", lambda c: c.get_rest_apis(), "InvalidSignatureException"),
    ("cloudformation", lambda c: c.list_stacks(), "SignatureDoesNotMatch"),
])
def test_a_wrong_secret_is_refused_in_each_services_shape(server, admin, service, call, expected):
    _, (key_id, _) = admin
    client = server.client(service, credentials=(key_id, "wrong" * 8))
    with pytest.raises(ClientError) as excinfo:
        call(client)
    assert error_code(excinfo) == expected


@pytest.mark.parametrize("service, call, expected", [
    ("lambda", lambda c: c.list_functions(), "UnrecognizedClientException"),
    ("sts", lambda c: c.get_caller_identity(), "InvalidClientTokenId"),
    ("s3", lambda c: c.list_buckets(), "InvalidAccessKeyId"),
    ("ssm", lambda c: c.describe_parameters(), "UnrecognizedClientException"),
])
def test_an_unknown_key_is_refused(server, service, call, expected):
    client = server.client(service, credentials=("AKIAUNKNOWNUNKNOWN00", "secret"))
    with pytest.raises(ClientError) as excinfo:
        call(client)
    assert error_code(excinfo) == expected
    # The AWS CLI sees the same.
    code, _, err = server.aws("lambda", "list-functions", credentials=("test", "test"))
    assert code != 0 and "UnrecognizedClientException" in err


def test_a_request_signed_twenty_minutes_ago_has_expired(server, admin, monkeypatch):
    _, key = admin
    skewed = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=20)
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda *args, **kwargs: skewed.replace(tzinfo=None))
    with pytest.raises(ClientError) as excinfo:
        server.client("lambda", credentials=key).list_functions()
    assert error_code(excinfo) == "InvalidSignatureException"
    assert excinfo.value.response["Error"]["Message"].startswith("Signature expired: ")
    with pytest.raises(ClientError) as excinfo:
        server.client("s3", credentials=key).list_buckets()
    assert error_code(excinfo) == "RequestTimeTooSkewed"


def test_unsigned_requests_are_refused_but_the_stage_data_plane_stays_public(server):
    response = requests.get(server.url + "/2015-03-31/functions/", timeout=30)
    assert response.status_code == 403
    assert response.headers["x-amzn-ErrorType"] == "MissingAuthenticationTokenException"
    # A stage URL of an API that does not exist: API Gateway's own answer, not an auth refusal.
    response = requests.get(server.url + "/restapis/nosuchapi/prod/_user_request_/x", timeout=30)
    assert response.headers.get("x-amzn-ErrorType") != "MissingAuthenticationTokenException"


def test_presigned_urls_work_until_they_expire_and_not_when_tampered(server, admin):
    _, key = admin
    # SigV4 presigning (botocore presigns S3 with SigV2 unless told; Alcove verifies SigV4 only).
    s3 = boto3.client("s3", endpoint_url=server.url, region_name="us-east-1", aws_access_key_id=key[0],
                      aws_secret_access_key=key[1], config=Config(signature_version="s3v4"))
    s3.create_bucket(Bucket="presign")
    s3.put_object(Bucket="presign", Key="a.txt", Body=b"hello")
    s3.put_object(Bucket="presign", Key="b.txt", Body=b"other")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": "presign", "Key": "a.txt"}, ExpiresIn=300)
    response = requests.get(url, timeout=30)
    assert (response.status_code, response.content) == (200, b"hello")
    tampered = requests.get(url.replace("a.txt", "b.txt"), timeout=30)
    assert tampered.status_code == 403 and b"<Code>SignatureDoesNotMatch</Code>" in tampered.content
    short = s3.generate_presigned_url("get_object", Params={"Bucket": "presign", "Key": "a.txt"}, ExpiresIn=1)
    time.sleep(2.5)
    expired = requests.get(short, timeout=30)
    assert expired.status_code == 403
    assert b"<Code>AccessDenied</Code>" in expired.content and b"Request has expired" in expired.content


def test_the_aws_cli_uploads_a_large_file_with_chunked_signing(server, admin, tmp_path):
    _, key = admin
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(9 * 1024 * 1024))
    code, _, err = server.aws("s3", "mb", "s3://cli-bucket", credentials=key)
    assert code == 0, err
    code, _, err = server.aws("s3", "cp", str(big), "s3://cli-bucket/big.bin", credentials=key)
    assert code == 0, err
    back = tmp_path / "back.bin"
    code, _, err = server.aws("s3", "cp", "s3://cli-bucket/big.bin", str(back), credentials=key)
    assert code == 0, err
    assert back.read_bytes() == big.read_bytes()
    code, _, err = server.aws("s3", "cp", str(big), "s3://cli-bucket/big2.bin",
                              credentials=(key[0], "wrong" * 8))
    assert code != 0


def test_a_server_on_all_interfaces_refuses_to_start_without_auth(tmp_path):
    done = subprocess.run([binary(), "serve", "--listen", "0.0.0.0:0", "--data-dir", str(tmp_path)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "refusing to listen on 0.0.0.0:0 without authentication" in done.stderr
    assert "--auth sigv4" in done.stderr


def test_the_keys_command_shows_a_secret_once_and_stores_it_sealed(server):
    key_id, secret = server.create_key(name="reader")
    listing = subprocess.run([binary(), "keys", "list", "--data-dir", server.data_dir],
                             capture_output=True, text=True, check=True).stdout
    assert key_id in listing and "reader" in listing and secret not in listing
    auth_dir = os.path.join(server.data_dir, "auth")
    for name in ("keys.db", "server.key"):
        assert stat.S_IMODE(os.stat(os.path.join(auth_dir, name)).st_mode) == 0o600
    for name in os.listdir(auth_dir):
        with open(os.path.join(auth_dir, name), "rb") as f:
            assert secret.encode() not in f.read()


def eventually(check, seconds=10):
    deadline = time.time() + seconds
    while True:
        try:
            return check()
        except AssertionError:
            if time.time() > deadline:
                raise
            time.sleep(0.3)


def test_rotate_and_delete_take_effect_on_the_running_server(server):
    old = server.create_key(name="rotating")
    server.client("lambda", credentials=old).list_functions()
    out = subprocess.run([binary(), "keys", "rotate", old[0], "--data-dir", server.data_dir],
                         capture_output=True, text=True, check=True).stdout
    fields = dict(line.split(":", 1) for line in out.splitlines() if line.startswith(("AccessKeyId:", "SecretAccessKey:")))
    new = (fields["AccessKeyId"].strip(), fields["SecretAccessKey"].strip())
    assert new[0] != old[0]
    assert server.client("sts", credentials=new).get_caller_identity()["Arn"].endswith(":user/rotating")

    def old_refused():
        try:
            server.client("lambda", credentials=old).list_functions()
        except ClientError as error:
            assert error.response["Error"]["Code"] == "UnrecognizedClientException"
        else:
            raise AssertionError("the key still works")
    eventually(old_refused)
    subprocess.run([binary(), "keys", "delete", new[0], "--data-dir", server.data_dir], check=True,
                   capture_output=True)

    def new_refused():
        try:
            server.client("lambda", credentials=new).list_functions()
        except ClientError as error:
            assert error.response["Error"]["Code"] == "UnrecognizedClientException"
        else:
            raise AssertionError("the key still works")
    eventually(new_refused)


def test_assumed_role_sessions_act_by_the_roles_policy(server, admin):
    _, key = admin
    role = f"arn:aws:iam::{ACCOUNT}:role/lister"
    subprocess.run([binary(), "roles", "put-policy", role,
                    '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "lambda:ListFunctions", "Resource": "*"}]}',
                    "--data-dir", server.data_dir], check=True, capture_output=True)
    creds = server.client("sts", credentials=key).assume_role(RoleArn=role, RoleSessionName="s1")["Credentials"]
    session = (creds["AccessKeyId"], creds["SecretAccessKey"])
    lam = server.client("lambda", credentials=session, session_token=creds["SessionToken"])
    assert "Functions" in lam.list_functions()
    with pytest.raises(ClientError) as excinfo:
        lam.get_account_settings()
    assert error_code(excinfo) == "AccessDeniedException"
    who = server.client("sts", credentials=session, session_token=creds["SessionToken"]).get_caller_identity()
    assert who["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/lister/s1"
    # A forged token is not accepted; a role without a policy may do nothing.
    forged = server.client("lambda", credentials=session, session_token=creds["SessionToken"][:-8] + "AAAAAAA=")
    with pytest.raises(ClientError) as excinfo:
        forged.list_functions()
    assert error_code(excinfo) == "UnrecognizedClientException"
    other = server.client("sts", credentials=key).assume_role(
        RoleArn=f"arn:aws:iam::{ACCOUNT}:role/nothing", RoleSessionName="s2")["Credentials"]
    with pytest.raises(ClientError) as excinfo:
        server.client("lambda", credentials=(other["AccessKeyId"], other["SecretAccessKey"]),
                      session_token=other["SessionToken"]).list_functions()
    assert error_code(excinfo) == "AccessDeniedException"


def test_alcove_native_api_needs_a_signature(server, admin):
    _, key = admin
    assert requests.get(server.url + "/alcove/v1/environments", timeout=30).status_code == 403
    response = signed_request(server.url, "GET", "/alcove/v1/environments", key)
    assert response.status_code == 200, response.text


def test_cloudformation_reaches_the_services_in_process_without_a_signature(server, admin):
    _, key = admin
    cfn = server.client("cloudformation", credentials=key)
    template = {"Resources": {"P": {"Type": "AWS::SSM::Parameter",
                                    "Properties": {"Type": "String", "Value": "from-stack", "Name": "/cfn/p"}}}}
    import json
    cfn.create_stack(StackName="authstack", TemplateBody=json.dumps(template))
    cfn.get_waiter("stack_create_complete").wait(StackName="authstack", WaiterConfig={"Delay": 1})
    value = server.client("ssm", credentials=key).get_parameter(Name="/cfn/p")["Parameter"]["Value"]
    assert value == "from-stack"
