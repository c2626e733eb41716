"""STS on the Query protocol: GetCallerIdentity through boto3, the AWS CLI and unsigned
form posts; AssumeRole issuing session credentials that Alcove's services then accept;
and STS's own XML errors for what it refuses or does not serve."""

import datetime
import xml.etree.ElementTree as ET

import boto3
import botocore.auth
import botocore.credentials
import pytest
import requests
from botocore.awsrequest import AWSRequest
from botocore.exceptions import ClientError

STS_NS = "{https://sts.amazonaws.com/doc/2011-06-15/}"


@pytest.fixture(scope="module")
def sts(server):
    return server.client("sts")


def signed_post(server, service, form, access_key="test"):
    """A form POST to `/` signed with SigV4 for `service`, sent as a client would."""
    request = AWSRequest(method="POST", url=server.url + "/", data=form,
                         headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    credentials = botocore.credentials.Credentials(access_key, "secret")
    botocore.auth.SigV4Auth(credentials, service, "us-east-1").add_auth(request)
    return requests.post(request.url, data=request.body, headers=dict(request.headers), timeout=30)


def test_boto3_reads_the_caller_identity(sts):
    identity = sts.get_caller_identity()
    assert identity["Account"] == "000000000000"
    assert identity["UserId"] == "test"
    assert identity["Arn"] == "arn:aws:iam::000000000000:root"
    assert identity["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert identity["ResponseMetadata"]["RequestId"]


def test_the_user_id_is_the_signing_access_key(server):
    reply = signed_post(server, "sts", {"Action": "GetCallerIdentity", "Version": "2011-06-15"},
                        access_key="AKIDALCOVEEXAMPLE")
    assert reply.status_code == 200, reply.text
    assert reply.headers["Content-Type"] == "text/xml"
    root = ET.fromstring(reply.text)
    assert root.tag == f"{STS_NS}GetCallerIdentityResponse"
    assert root.findtext(f"{STS_NS}GetCallerIdentityResult/{STS_NS}UserId") == "AKIDALCOVEEXAMPLE"
    request_id = root.findtext(f"{STS_NS}ResponseMetadata/{STS_NS}RequestId")
    assert request_id == reply.headers["x-amzn-RequestId"]


def test_the_cli_reads_the_caller_identity(server):
    rc, identity, err = server.aws("sts", "get-caller-identity")
    assert rc == 0, err
    assert identity == {"UserId": "test", "Account": "000000000000", "Arn": "arn:aws:iam::000000000000:root"}


def test_an_unsigned_form_post_is_answered_too(http):
    reply = http.post("/", data={"Action": "GetCallerIdentity", "Version": "2011-06-15"})
    assert reply.status_code == 200, reply.text
    root = ET.fromstring(reply.text)
    assert root.findtext(f"{STS_NS}GetCallerIdentityResult/{STS_NS}Account") == "000000000000"
    assert root.findtext(f"{STS_NS}GetCallerIdentityResult/{STS_NS}UserId") == "AKIAIOSFODNN7EXAMPLE"


def test_an_action_sts_does_not_serve_is_an_invalid_action(server, sts):
    reply = signed_post(server, "sts", {"Action": "AssumeRoleWithMagic", "Version": "2011-06-15"})
    assert reply.status_code == 400
    assert reply.headers["Content-Type"] == "text/xml"
    root = ET.fromstring(reply.text)
    assert root.tag == f"{STS_NS}ErrorResponse"
    assert root.findtext(f"{STS_NS}Error/{STS_NS}Type") == "Sender"
    assert root.findtext(f"{STS_NS}Error/{STS_NS}Code") == "InvalidAction"
    assert root.findtext(f"{STS_NS}Error/{STS_NS}Message") == \
        "The action AssumeRoleWithMagic is not valid for this web service."
    assert root.findtext(f"{STS_NS}RequestId") == reply.headers["x-amzn-RequestId"]
    # boto3 reads the same error shape: GetSessionToken is not served here.
    with pytest.raises(ClientError) as caught:
        sts.get_session_token()
    assert caught.value.response["Error"]["Code"] == "InvalidAction"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_a_request_without_an_action_is_refused(server):
    reply = signed_post(server, "sts", {"Version": "2011-06-15"})
    assert reply.status_code == 400
    root = ET.fromstring(reply.text)
    assert root.findtext(f"{STS_NS}Error/{STS_NS}Code") == "MissingAction"


def test_assume_role_issues_session_credentials_the_services_accept(server, sts):
    arn = "arn:aws:iam::000000000000:role/cdk-hnb659fds-deploy-role-000000000000-us-east-1"
    assumed = sts.assume_role(RoleArn=arn, RoleSessionName="aws-cdk-root", DurationSeconds=900)
    credentials = assumed["Credentials"]
    assert credentials["AccessKeyId"].startswith("ASIA") and len(credentials["AccessKeyId"]) == 20
    assert credentials["SecretAccessKey"] and credentials["SessionToken"]
    left = (credentials["Expiration"] - datetime.datetime.now(datetime.timezone.utc)).total_seconds()
    assert 880 < left <= 900, left
    user = assumed["AssumedRoleUser"]
    assert user["Arn"] == ("arn:aws:sts::000000000000:assumed-role/"
                           "cdk-hnb659fds-deploy-role-000000000000-us-east-1/aws-cdk-root")
    assert user["AssumedRoleId"].startswith("AROA") and user["AssumedRoleId"].endswith(":aws-cdk-root")
    # The session's credentials, token included, sign calls to every service.
    session = boto3.Session(aws_access_key_id=credentials["AccessKeyId"],
                            aws_secret_access_key=credentials["SecretAccessKey"],
                            aws_session_token=credentials["SessionToken"], region_name="us-east-1")
    lambda_client = session.client("lambda", endpoint_url=server.url)
    assert "Functions" in lambda_client.list_functions()
    identity = session.client("sts", endpoint_url=server.url).get_caller_identity()
    assert identity["Account"] == "000000000000"


def test_assume_role_refuses_malformed_requests_and_other_accounts_roles(sts):
    def refused(**request):
        with pytest.raises(ClientError) as caught:
            sts.assume_role(**request)
        error = caught.value.response["Error"]
        return caught.value.response["ResponseMetadata"]["HTTPStatusCode"], error["Code"], error["Message"]

    status, code, message = refused(RoleArn="arn:aws:iam::111122223333:role/theirs", RoleSessionName="s1")
    assert (status, code) == (403, "AccessDenied")
    assert message == ("User: arn:aws:iam::000000000000:root is not authorized to perform: sts:AssumeRole "
                       "on resource: arn:aws:iam::111122223333:role/theirs")
    status, code, message = refused(RoleArn="arn:aws:s3:::a-bucket-not-a-role", RoleSessionName="s1")
    assert (status, code, message) == (400, "ValidationError", "arn:aws:s3:::a-bucket-not-a-role is invalid")
    status, code, message = refused(RoleArn="arn:aws:iam::000000000000:role/r", RoleSessionName="s1",
                                    DurationSeconds=50_000)
    assert (status, code) == (400, "ValidationError")
    assert "at 'durationSeconds' failed to satisfy constraint" in message
