"""Function URLs: the control plane compared field by field with botocore's model and
AWS's documented answers, and the URL itself invoked over HTTP by its host name and by
path, with Lambda's request event (payload format 2.0), response mapping, CORS and
permission rules."""

import json
import re
import urllib.parse

import pytest
import requests

from harness import make_zip
from helpers import PER_TENANT, body, create, expect_error, function_arn, status, unique

TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}\+0000$")
URL = re.compile(r"^http://([0-9a-z]{32})\.lambda-url\.us-east-1\.localhost:(\d+)/$")

ECHO = make_zip({"app.py": (
    "import json\n"
    "def handler(event, context):\n"
    "    if event.get('rawPath') == '/shaped':\n"
    "        return {'statusCode': 201, 'headers': {'content-type': 'text/plain', 'x-one': '1',\n"
    "                'access-control-allow-origin': 'https://evil.example'},\n"
    "                'cookies': ['a=1', 'b=2; Path=/'], 'body': 'made'}\n"
    "    if event.get('rawPath') == '/fail':\n"
    "        raise ValueError('boom')\n"
    "    return event\n"
)})


def public(client, name, qualifier=None):
    extra = {"Qualifier": qualifier} if qualifier else {}
    client.add_permission(FunctionName=name, StatementId="FunctionURLAllowPublicAccess",
                          Action="lambda:InvokeFunctionUrl", Principal="*", FunctionUrlAuthType="NONE", **extra)


def call_url(server, url, path="/", method="GET", by="host", **kwargs):
    """Calls a URL by its host name (sent to the server's address) or by the path form."""
    match = URL.match(url)
    assert match, url
    url_id, port = match.groups()
    kwargs.setdefault("timeout", 60)
    if by == "host":
        headers = {"Host": f"{url_id}.lambda-url.us-east-1.localhost:{port}", **kwargs.pop("headers", {})}
        return requests.request(method, f"http://127.0.0.1:{port}{path}", headers=headers, **kwargs)
    return requests.request(method, f"{server.url}/lambda-url/{url_id}{path}", **kwargs)


@pytest.fixture(scope="module")
def echo(lambda_client):
    name = unique("url")
    create(lambda_client, name, code=ECHO)
    return name


def test_create_get_update_list_delete_as_the_model_says(lambda_client, server, echo):
    created = lambda_client.create_function_url_config(
        FunctionName=echo, AuthType="NONE",
        Cors={"AllowOrigins": ["https://a.example"], "AllowMethods": ["GET", "POST"], "MaxAge": 300})
    assert status(created) == 201
    document = body(created)
    assert set(document) == {"FunctionUrl", "FunctionArn", "AuthType", "Cors", "CreationTime", "InvokeMode"}
    assert URL.match(document["FunctionUrl"]) and server.url.endswith(":" + URL.match(document["FunctionUrl"]).group(2))
    assert document["FunctionArn"] == function_arn(echo)
    assert (document["AuthType"], document["InvokeMode"]) == ("NONE", "BUFFERED")
    assert document["Cors"] == {"AllowOrigins": ["https://a.example"], "AllowMethods": ["GET", "POST"], "MaxAge": 300}
    assert TIMESTAMP.match(document["CreationTime"])

    got = body(lambda_client.get_function_url_config(FunctionName=echo))
    assert set(got) == set(document) | {"LastModifiedTime"}
    assert {k: got[k] for k in document} == document

    updated = body(lambda_client.update_function_url_config(FunctionName=echo, AuthType="AWS_IAM",
                                                             InvokeMode="RESPONSE_STREAM"))
    assert (updated["AuthType"], updated["InvokeMode"], updated["FunctionUrl"]) == (
        "AWS_IAM", "RESPONSE_STREAM", document["FunctionUrl"])
    assert updated["Cors"] == document["Cors"], "an update without Cors keeps it"
    assert updated["CreationTime"] == document["CreationTime"]
    lambda_client.update_function_url_config(FunctionName=echo, AuthType="NONE", InvokeMode="BUFFERED")

    listed = body(lambda_client.list_function_url_configs(FunctionName=echo))
    assert [c["FunctionArn"] for c in listed["FunctionUrlConfigs"]] == [function_arn(echo)]
    assert "NextMarker" not in listed

    # One URL per qualifier: AWS's conflict, word for word.
    message = expect_error("ResourceConflictException", 409, lambda_client.create_function_url_config,
                           FunctionName=echo, AuthType="NONE")
    assert message == (f"Failed to create function url config for [functionArn = {function_arn(echo)}]. "
                       "Error message:  FunctionUrlConfig exists for this Lambda function")


def test_qualifiers_must_be_aliases(lambda_client, raw_client):
    name = unique("url")
    create(lambda_client, name, Publish=True)
    lambda_client.create_alias(FunctionName=name, Name="live", FunctionVersion="1")
    # $LATEST named explicitly and version numbers are refused with the model's pattern.
    for qualifier, pattern in [("$LATEST", "((?!^\\d+$)^[0-9a-zA-Z-_]+$)"),
                               ("1", "(^\\$LATEST$)|((?!^[0-9]+$)([a-zA-Z0-9-_]+))")]:
        message = expect_error("ValidationException", 400, raw_client.create_function_url_config,
                               FunctionName=name, Qualifier=qualifier, AuthType="NONE")
        assert message == (f"1 validation error detected: Value '{qualifier}' at 'qualifier' failed to satisfy "
                           f"constraint: Member must satisfy regular expression pattern: {pattern}")
    expect_error("ResourceNotFoundException", 404, lambda_client.create_function_url_config,
                 FunctionName=name, Qualifier="nosuch", AuthType="NONE")
    on_alias = body(lambda_client.create_function_url_config(FunctionName=name, Qualifier="live", AuthType="NONE"))
    assert on_alias["FunctionArn"] == function_arn(name, qualifier="live")
    assert body(lambda_client.get_function_url_config(FunctionName=f"{name}:live"))["FunctionUrl"] == \
        on_alias["FunctionUrl"]
    # No URL on $LATEST yet.
    expect_error("ResourceNotFoundException", 404, lambda_client.get_function_url_config, FunctionName=name)
    # Deleting the alias takes its URL with it.
    lambda_client.delete_alias(FunctionName=name, Name="live")
    assert lambda_client.list_function_url_configs(FunctionName=name)["FunctionUrlConfigs"] == []


def test_missing_urls_and_functions(lambda_client, raw_client):
    name = unique("url")
    create(lambda_client, name)
    for call in (lambda_client.get_function_url_config, lambda_client.delete_function_url_config):
        message = expect_error("ResourceNotFoundException", 404, call, FunctionName=name)
        assert message == "The resource you requested does not exist."
    expect_error("ResourceNotFoundException", 404, lambda_client.create_function_url_config,
                 FunctionName=unique("absent"), AuthType="NONE")
    expect_error("ValidationException", 400, raw_client.create_function_url_config,
                 FunctionName=name, AuthType="PUBLIC")
    expect_error("ValidationException", 400, raw_client.create_function_url_config,
                 FunctionName=name, AuthType="NONE", Cors={"MaxAge": 86401})


def test_per_tenant_functions_get_no_url(lambda_client):
    name = unique("url")
    create(lambda_client, name, TenancyConfig=PER_TENANT)
    expect_error("InvalidParameterValueException", 400, lambda_client.create_function_url_config,
                 FunctionName=name, AuthType="NONE")
    expect_error("ResourceNotFoundException", 404, lambda_client.get_function_url_config, FunctionName=name)


def test_the_url_invokes_with_a_format_2_0_event(lambda_client, server):
    name = unique("url")
    create(lambda_client, name, code=ECHO)
    url = lambda_client.create_function_url_config(FunctionName=name, AuthType="NONE")["FunctionUrl"]
    # Without a resource policy that admits anyone, an unauthenticated URL is forbidden.
    refused = call_url(server, url, "/x")
    assert (refused.status_code, refused.json()) == (403, {"Message": "Forbidden"})
    public(lambda_client, name)
    policy = json.loads(lambda_client.get_policy(FunctionName=name)["Policy"])
    assert policy["Statement"][0]["Condition"] == {"StringEquals": {"lambda:FunctionUrlAuthType": "NONE"}}

    for by in ("host", "path"):
        reply = call_url(server, url, "/p/q?a=1&a=2&b=x%20y", method="POST", by=by,
                         headers={"Cookie": "c1=v1; c2=v2", "X-Multi": "m", "Content-Type": "application/json"},
                         data=b'{"k": 1}')
        assert reply.status_code == 200, reply.text
        assert reply.headers["content-type"] == "application/json"
        event = reply.json()
        assert event["version"] == "2.0" and event["routeKey"] == "$default"
        assert (event["rawPath"], event["rawQueryString"]) == ("/p/q", "a=1&a=2&b=x%20y")
        assert event["queryStringParameters"] == {"a": "1,2", "b": "x y"}
        assert event["cookies"] == ["c1=v1", "c2=v2"]
        assert event["headers"]["x-multi"] == "m" and "cookie" not in event["headers"]
        assert (event["body"], event["isBase64Encoded"]) == ('{"k": 1}', False)
        context = event["requestContext"]
        assert context["http"]["method"] == "POST" and context["http"]["path"] == "/p/q"
        assert context["apiId"] == context["domainPrefix"] == URL.match(url).group(1)
        assert (context["stage"], context["routeKey"], context["accountId"]) == ("$default", "$default", "anonymous")
        assert isinstance(context["timeEpoch"], int) and context["requestId"]

    binary = call_url(server, url, "/bin", method="PUT", data=b"\xff\x00",
                      headers={"Content-Type": "application/octet-stream"}).json()
    assert (binary["body"], binary["isBase64Encoded"]) == ("/wA=", True)


def test_response_mapping_errors_and_cors(lambda_client, server):
    name = unique("url")
    create(lambda_client, name, code=ECHO)
    url = lambda_client.create_function_url_config(
        FunctionName=name, AuthType="NONE",
        Cors={"AllowOrigins": ["https://a.example"], "AllowMethods": ["POST"], "AllowHeaders": ["x-custom"],
              "ExposeHeaders": ["x-one"], "MaxAge": 600})["FunctionUrl"]
    public(lambda_client, name)
    shaped = call_url(server, url, "/shaped", headers={"Origin": "https://a.example"})
    assert (shaped.status_code, shaped.text, shaped.headers["content-type"]) == (201, "made", "text/plain")
    assert shaped.headers["x-one"] == "1"
    assert shaped.raw.headers.getlist("set-cookie") == ["a=1", "b=2; Path=/"]
    # The URL's CORS settings replace the function's own.
    assert shaped.headers["access-control-allow-origin"] == "https://a.example"
    assert shaped.headers["access-control-expose-headers"] == "x-one"

    failed = call_url(server, url, "/fail")
    assert failed.status_code == 502

    preflight = call_url(server, url, "/any", method="OPTIONS",
                         headers={"Origin": "https://a.example", "Access-Control-Request-Method": "POST"})
    assert preflight.status_code == 200 and preflight.text == ""
    assert preflight.headers["access-control-allow-origin"] == "https://a.example"
    assert preflight.headers["access-control-allow-methods"] == "POST"
    assert preflight.headers["access-control-allow-headers"] == "x-custom"
    assert preflight.headers["access-control-max-age"] == "600"
    other = call_url(server, url, "/any", method="OPTIONS",
                     headers={"Origin": "https://b.example", "Access-Control-Request-Method": "POST"})
    assert "access-control-allow-origin" not in other.headers


def test_iam_urls_need_a_signature_and_deleted_urls_are_gone(lambda_client, server):
    name = unique("url")
    create(lambda_client, name, code=ECHO)
    url = lambda_client.create_function_url_config(FunctionName=name, AuthType="AWS_IAM")["FunctionUrl"]
    assert call_url(server, url, "/").status_code == 403
    auth = ("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/lambda/aws4_request, "
            "SignedHeaders=host, Signature=0")
    event = call_url(server, url, "/", headers={"Authorization": auth}).json()
    assert event["requestContext"]["authorizer"]["iam"]["accessKey"] == "AKIDEXAMPLE"
    lambda_client.delete_function_url_config(FunctionName=name)
    assert call_url(server, url, "/", headers={"Authorization": auth}).status_code == 404
