"""API Gateway REST APIs end to end: the control plane driven by the AWS CLI and boto3,
stage URLs driven by plain HTTP, real functions behind Lambda proxy integrations, and the
tenant header mapped into X-Amz-Tenant-Id."""

import base64
import http.client
import json
import urllib.parse
import uuid

import pytest
import requests
from botocore.exceptions import ClientError

from harness import ROLE, Server, make_zip

COUNTER = """let counter = 0;
export const handler = async (event, context) => ({
  statusCode: 200,
  body: JSON.stringify({ counter: counter++, tenantId: context.tenantId }),
});
"""

# Answers with the event it received, or misbehaves as the query string asks.
ECHO = """export const handler = async (event, context) => {
  const q = event.queryStringParameters || {};
  if (q.mode === 'binary') {
    return { statusCode: 200, headers: { 'Content-Type': 'application/octet-stream' },
             body: Buffer.from([0, 255, 1, 254, 128]).toString('base64'), isBase64Encoded: true };
  }
  if (q.mode === 'malformed') return { statusCode: 200, body: { not: 'a string' } };
  if (q.mode === 'throw') throw new Error('asked to fail');
  if (q.mode === 'sleep') await new Promise((resolve) => setTimeout(resolve, Number(q.ms)));
  if (q.mode === 'status') {
    return { statusCode: 418, headers: { 'X-Custom': 'yes' },
             multiValueHeaders: { 'Set-Cookie': ['a=1', 'b=2'] }, body: 'teapot' };
  }
  return { statusCode: 200, headers: { 'Content-Type': 'application/json' },
           body: JSON.stringify({ event, tenantId: context.tenantId ?? null }) };
};
"""

TENANT_MAPPING = {"integration.request.header.X-Amz-Tenant-Id": "method.request.header.x-tenant-id"}


@pytest.fixture(scope="module")
def apigw(server):
    return server.client("apigateway")


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def proxy_uri(function, region="us-east-1"):
    return (f"arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/"
            f"arn:aws:lambda:{region}:000000000000:function:{function}/invocations")


def create_function(client, code, tenancy, timeout=10):
    name = unique("fn")
    args = dict(FunctionName=name, Runtime="nodejs22.x", Handler="index.handler", Role=ROLE,
                Code={"ZipFile": make_zip({"index.mjs": code})}, Timeout=timeout)
    if tenancy:
        args["TenancyConfig"] = {"TenantIsolationMode": "PER_TENANT"}
    client.create_function(**args)
    return name


@pytest.fixture(scope="module")
def echo(lambda_client):
    """A function without tenant isolation that returns its event."""
    return create_function(lambda_client, ECHO, tenancy=False)


@pytest.fixture(scope="module")
def counter(lambda_client):
    """The seed's PER_TENANT counter."""
    return create_function(lambda_client, COUNTER, tenancy=True)


def resource_for(apigw, api_id, path):
    """The id of the resource at `path`, creating it and its parents."""
    by_path = {r["path"]: r["id"] for r in apigw.get_resources(restApiId=api_id, limit=500)["items"]}
    current = "/"
    for part in [p for p in path.split("/") if p]:
        child = current.rstrip("/") + "/" + part
        if child not in by_path:
            by_path[child] = apigw.create_resource(restApiId=api_id, parentId=by_path[current], pathPart=part)["id"]
        current = child
    return by_path[current]


def add_route(apigw, api_id, path, method, function, parameters=None, mapping=None, timeout_ms=None):
    resource_id = resource_for(apigw, api_id, path)
    apigw.put_method(restApiId=api_id, resourceId=resource_id, httpMethod=method, authorizationType="NONE",
                     requestParameters=parameters or {})
    integration = dict(restApiId=api_id, resourceId=resource_id, httpMethod=method, type="AWS_PROXY",
                       integrationHttpMethod="POST", uri=proxy_uri(function), requestParameters=mapping or {})
    if timeout_ms:
        integration["timeoutInMillis"] = timeout_ms
    apigw.put_integration(**integration)
    return resource_id


def stage_url(server, api_id, stage, path="/"):
    return f"{server.url}/restapis/{api_id}/{stage}/_user_request_{path}"


@pytest.fixture(scope="module")
def echo_api(server, apigw, echo, counter):
    """One API with every route the data-plane tests use, deployed to `test`."""
    api_id = apigw.create_rest_api(name=unique("echo"), binaryMediaTypes=["image/png"])["id"]
    add_route(apigw, api_id, "/items/{id}", "GET", echo)
    add_route(apigw, api_id, "/items/special", "GET", echo)
    add_route(apigw, api_id, "/files/{proxy+}", "ANY", echo)
    add_route(apigw, api_id, "/echo", "ANY", echo)
    add_route(apigw, api_id, "/slow", "GET", echo, timeout_ms=1000)
    add_route(apigw, api_id, "/tenants/{tenant}/counter", "GET", counter,
              mapping={"integration.request.header.X-Amz-Tenant-Id": "method.request.path.tenant"})
    add_route(apigw, api_id, "/counter", "GET", counter,
              parameters={"method.request.header.x-tenant-id": True}, mapping=TENANT_MAPPING)
    apigw.create_deployment(restApiId=api_id, stageName="test", variables={"color": "blue"})
    return api_id


def echoed(response):
    assert response.status_code == 200, response.text
    return response.json()["event"]


def test_seed_walkthrough_with_the_cli(server, tmp_path):
    zip_path = tmp_path / "function.zip"
    zip_path.write_bytes(make_zip({"index.mjs": COUNTER}))
    fn = unique("counter")
    rc, created, err = server.aws(
        "lambda", "create-function", "--function-name", fn, "--runtime", "nodejs22.x",
        "--handler", "index.handler", "--role", ROLE, "--zip-file", f"fileb://{zip_path}",
        "--tenancy-config", '{"TenantIsolationMode":"PER_TENANT"}',
    )
    assert rc == 0, err
    rc, api, err = server.aws("apigateway", "create-rest-api", "--name", "tenants")
    assert rc == 0, err
    api_id = api["id"]
    rc, resources, err = server.aws("apigateway", "get-resources", "--rest-api-id", api_id)
    assert rc == 0, err
    [root] = resources["items"]
    assert root["path"] == "/" and root["id"] == api["rootResourceId"]
    rc, method, err = server.aws(
        "apigateway", "put-method", "--rest-api-id", api_id, "--resource-id", root["id"], "--http-method", "GET",
        "--authorization-type", "NONE", "--request-parameters", "method.request.header.x-tenant-id=true",
    )
    assert rc == 0, err
    assert method["requestParameters"] == {"method.request.header.x-tenant-id": True}
    rc, integration, err = server.aws(
        "apigateway", "put-integration", "--rest-api-id", api_id, "--resource-id", root["id"],
        "--http-method", "GET", "--type", "AWS_PROXY", "--integration-http-method", "POST",
        "--uri", proxy_uri(fn),
        "--request-parameters", "integration.request.header.X-Amz-Tenant-Id=method.request.header.x-tenant-id",
    )
    assert rc == 0, err
    assert integration["type"] == "AWS_PROXY" and integration["requestParameters"] == TENANT_MAPPING
    rc, deployment, err = server.aws("apigateway", "create-deployment", "--rest-api-id", api_id, "--stage-name", "prod")
    assert rc == 0, err
    rc, stages, err = server.aws("apigateway", "get-stages", "--rest-api-id", api_id)
    assert rc == 0, err
    assert [(s["stageName"], s["deploymentId"]) for s in stages["item"]] == [("prod", deployment["id"])]
    rc, got, err = server.aws("apigateway", "get-method", "--rest-api-id", api_id, "--resource-id", root["id"],
                              "--http-method", "GET")
    assert rc == 0 and got["methodIntegration"]["uri"] == proxy_uri(fn), err

    url = stage_url(server, api_id, "prod")
    observed = []
    for tenant in ["BlueTenant"] * 3 + ["GreenTenant"] * 2 + ["BlueTenant"]:
        response = requests.get(url, headers={"x-tenant-id": tenant}, timeout=60)
        assert response.status_code == 200, response.text
        assert response.headers["Content-Type"] == "application/json"
        body = response.json()
        assert body["tenantId"] == tenant
        observed.append(body["counter"])
    assert observed == [0, 1, 2, 0, 1, 3]

    response = requests.get(url, timeout=60)
    assert response.status_code == 400
    assert response.json() == {"message": "Missing required request parameters: [x-tenant-id]"}
    assert response.headers["x-amzn-ErrorType"] == "BadRequestException"


def test_path_parameters_and_greedy_paths(server, echo_api):
    event = echoed(requests.get(stage_url(server, echo_api, "test", "/items/42"), timeout=60))
    assert event["resource"] == "/items/{id}"
    assert event["path"] == "/items/42"
    assert event["httpMethod"] == "GET"
    assert event["pathParameters"] == {"id": "42"}
    assert event["stageVariables"] == {"color": "blue"}
    assert event["requestContext"]["stage"] == "test"
    assert event["requestContext"]["resourcePath"] == "/items/{id}"
    assert event["requestContext"]["apiId"] == echo_api
    assert event["requestContext"]["path"] == "/test/items/42"
    assert event["requestContext"]["identity"]["sourceIp"] == "127.0.0.1"
    assert event["body"] is None and event["isBase64Encoded"] is False
    # A literal path part wins over {id}.
    event = echoed(requests.get(stage_url(server, echo_api, "test", "/items/special"), timeout=60))
    assert event["resource"] == "/items/special" and event["pathParameters"] is None
    # {proxy+} takes the rest of the path, and ANY takes every method.
    event = echoed(requests.delete(stage_url(server, echo_api, "test", "/files/a/b/c.txt"), timeout=60))
    assert event["resource"] == "/files/{proxy+}"
    assert event["pathParameters"] == {"proxy": "a/b/c.txt"}
    assert event["httpMethod"] == "DELETE"
    event = echoed(requests.get(stage_url(server, echo_api, "test", "/items/a%20b"), timeout=60))
    assert event["pathParameters"] == {"id": "a b"}


def test_tenant_from_a_path_parameter(server, echo_api):
    counts = []
    for tenant in ["Blue", "Blue", "Green", "Blue"]:
        response = requests.get(stage_url(server, echo_api, "test", f"/tenants/{tenant}/counter"), timeout=60)
        assert response.status_code == 200, response.text
        assert response.json()["tenantId"] == tenant
        counts.append(response.json()["counter"])
    assert counts == [0, 1, 0, 2]


def test_stage_variables_name_the_function_and_the_query_names_the_tenant(server, apigw, counter):
    api_id = apigw.create_rest_api(name=unique("staged"))["id"]
    resource_id = resource_for(apigw, api_id, "/count")
    apigw.put_method(restApiId=api_id, resourceId=resource_id, httpMethod="GET", authorizationType="NONE",
                     requestParameters={"method.request.querystring.tenant": True})
    uri = ("arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/"
           "arn:aws:lambda:us-east-1:000000000000:function:${stageVariables.fn}/invocations")
    apigw.put_integration(restApiId=api_id, resourceId=resource_id, httpMethod="GET", type="AWS_PROXY",
                          integrationHttpMethod="POST", uri=uri,
                          requestParameters={"integration.request.header.X-Amz-Tenant-Id": "method.request.querystring.tenant"})
    apigw.create_deployment(restApiId=api_id, stageName="good", variables={"fn": counter})
    apigw.create_deployment(restApiId=api_id, stageName="bad", variables={"fn": "no-such-function"})
    url = stage_url(server, api_id, "good", "/count")
    response = requests.get(url + "?tenant=QueryTenant", timeout=60)
    assert response.status_code == 200, response.text
    assert response.json() == {"counter": 0, "tenantId": "QueryTenant"}
    response = requests.get(url, timeout=60)
    assert response.status_code == 400
    assert response.json() == {"message": "Missing required request parameters: [tenant]"}
    # A stage whose variable names no function: Lambda refuses the invoke.
    response = requests.get(stage_url(server, api_id, "bad", "/count") + "?tenant=T", timeout=60)
    assert response.status_code == 500 and response.json() == {"message": "Internal server error"}


def test_query_strings_and_headers(server, echo_api):
    url = stage_url(server, echo_api, "test", "/echo") + "?a=1&b=x%20y&a=2&empty="
    event = echoed(requests.get(url, headers={"X-Single": "one"}, timeout=60))
    assert event["queryStringParameters"] == {"a": "2", "b": "x y", "empty": ""}
    assert event["multiValueQueryStringParameters"] == {"a": ["1", "2"], "b": ["x y"], "empty": [""]}
    assert event["headers"]["x-single"] == "one"
    assert event["multiValueHeaders"]["x-single"] == ["one"]
    # No query string at all: both maps are null.
    event = echoed(requests.get(stage_url(server, echo_api, "test", "/echo"), timeout=60))
    assert event["queryStringParameters"] is None and event["multiValueQueryStringParameters"] is None
    # A header sent twice.
    host, port = urllib.parse.urlparse(server.url).netloc.split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=60)
    connection.putrequest("GET", f"/restapis/{echo_api}/test/_user_request_/echo")
    connection.putheader("X-Multi", "first")
    connection.putheader("X-Multi", "second")
    connection.endheaders()
    answer = connection.getresponse()
    event = json.loads(answer.read())["event"]
    connection.close()
    assert event["headers"]["x-multi"] == "second"
    assert event["multiValueHeaders"]["x-multi"] == ["first", "second"]


def test_function_response_status_and_headers(server, echo_api):
    response = requests.get(stage_url(server, echo_api, "test", "/echo") + "?mode=status", timeout=60)
    assert response.status_code == 418
    assert response.text == "teapot"
    assert response.headers["X-Custom"] == "yes"
    assert response.raw.headers.getlist("Set-Cookie") == ["a=1", "b=2"]


def test_binary_bodies_both_ways(server, echo_api):
    url = stage_url(server, echo_api, "test", "/echo")
    # Not UTF-8: the function gets base64.
    raw = bytes([0, 255, 254, 10, 200])
    event = echoed(requests.post(url, data=raw, headers={"Content-Type": "application/octet-stream"}, timeout=60))
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == raw
    # Text, but of a type the API declares binary.
    event = echoed(requests.post(url, data=b"PNGDATA", headers={"Content-Type": "image/png"}, timeout=60))
    assert event["isBase64Encoded"] is True and base64.b64decode(event["body"]) == b"PNGDATA"
    # Plain text stays text.
    event = echoed(requests.post(url, data="héllo", headers={"Content-Type": "text/plain; charset=utf-8"}, timeout=60))
    assert event["isBase64Encoded"] is False and event["body"] == "héllo"
    # The function's base64 body reaches the client decoded.
    response = requests.get(url + "?mode=binary", timeout=60)
    assert response.status_code == 200
    assert response.content == bytes([0, 255, 1, 254, 128])
    assert response.headers["Content-Type"] == "application/octet-stream"


def test_host_based_url(server, echo_api):
    host = f"{echo_api}.execute-api.localhost:9000"
    response = requests.get(f"{server.url}/test/items/7", headers={"Host": host}, timeout=60)
    event = echoed(response)
    assert event["pathParameters"] == {"id": "7"}
    assert event["requestContext"]["domainName"] == host
    response = requests.get(f"{server.url}/test/nowhere", headers={"Host": host}, timeout=60)
    assert response.status_code == 403 and response.json() == {"message": "Missing Authentication Token"}


def test_malformed_response_is_a_502(server, echo_api):
    response = requests.get(stage_url(server, echo_api, "test", "/echo") + "?mode=malformed", timeout=60)
    assert response.status_code == 502
    assert response.json() == {"message": "Internal server error"}
    assert "Malformed Lambda proxy response: body must be a string" in server.log()


def test_function_error_is_a_502(server, echo_api):
    response = requests.get(stage_url(server, echo_api, "test", "/echo") + "?mode=throw", timeout=60)
    assert response.status_code == 502
    assert response.json() == {"message": "Internal server error"}
    assert "asked to fail" in server.log()


def test_integration_timeout_is_a_504(server, echo_api):
    # The route's integration times out after 1 s; the function would answer after 3 s.
    response = requests.get(stage_url(server, echo_api, "test", "/slow") + "?mode=sleep&ms=3000", timeout=60)
    assert response.status_code == 504
    assert response.json() == {"message": "Endpoint request timed out"}
    # The same route answers when the function is quick.
    response = requests.get(stage_url(server, echo_api, "test", "/slow") + "?mode=sleep&ms=10", timeout=60)
    assert response.status_code == 200


def test_function_timeout_is_a_502(server, apigw, lambda_client):
    # Lambda stops the function after its own 1 s timeout: a function error to API Gateway.
    fn = create_function(lambda_client, ECHO, tenancy=False, timeout=1)
    api_id = apigw.create_rest_api(name=unique("timeout"))["id"]
    add_route(apigw, api_id, "/", "GET", fn)
    apigw.create_deployment(restApiId=api_id, stageName="s")
    response = requests.get(stage_url(server, api_id, "s") + "?mode=sleep&ms=3000", timeout=60)
    assert response.status_code == 502
    assert response.json() == {"message": "Internal server error"}


def test_tenant_rules_hold_behind_the_gateway(server, echo_api, apigw, echo):
    url = stage_url(server, echo_api, "test", "/counter")
    # An id Invoke would refuse is refused the same way: Lambda rejects the invocation, a 500.
    response = requests.get(url, headers={"x-tenant-id": "bad#tenant"}, timeout=60)
    assert response.status_code == 500
    assert response.json() == {"message": "Internal server error"}
    assert "TenantId contains the character '#'" in server.log()
    # A function without tenant isolation refuses a mapped tenant id, as Invoke does.
    api_id = apigw.create_rest_api(name=unique("plain"))["id"]
    add_route(apigw, api_id, "/", "GET", echo, parameters={"method.request.header.x-tenant-id": False},
              mapping=TENANT_MAPPING)
    apigw.create_deployment(restApiId=api_id, stageName="s")
    response = requests.get(stage_url(server, api_id, "s"), headers={"x-tenant-id": "Blue"}, timeout=60)
    assert response.status_code == 500
    # Without the header the plain function runs.
    assert requests.get(stage_url(server, api_id, "s"), timeout=60).status_code == 200


def test_unknown_routes(server, echo_api):
    missing_token = {"message": "Missing Authentication Token"}
    for method, path in [("GET", "/nowhere"), ("POST", "/items/42"), ("GET", "/files"), ("GET", "/")]:
        response = requests.request(method, stage_url(server, echo_api, "test", path), timeout=60)
        assert response.status_code == 403, (method, path)
        assert response.json() == missing_token
        assert response.headers["x-amzn-ErrorType"] == "MissingAuthenticationTokenException"
    response = requests.get(stage_url(server, echo_api, "nostage", "/echo"), timeout=60)
    assert response.status_code == 403 and response.json() == {"message": "Forbidden"}
    response = requests.get(stage_url(server, "doesnotexist", "test", "/echo"), timeout=60)
    assert response.status_code == 404


def test_deployments_are_snapshots(server, apigw, echo):
    api_id = apigw.create_rest_api(name=unique("snapshot"))["id"]
    add_route(apigw, api_id, "/one", "GET", echo)
    first = apigw.create_deployment(restApiId=api_id, stageName="live")["id"]
    add_route(apigw, api_id, "/two", "GET", echo)
    assert requests.get(stage_url(server, api_id, "live", "/one"), timeout=60).status_code == 200
    # Not deployed yet.
    assert requests.get(stage_url(server, api_id, "live", "/two"), timeout=60).status_code == 403
    second = apigw.create_deployment(restApiId=api_id, stageName="live")["id"]
    assert requests.get(stage_url(server, api_id, "live", "/two"), timeout=60).status_code == 200
    assert apigw.get_stage(restApiId=api_id, stageName="live")["deploymentId"] == second
    assert {d["id"] for d in apigw.get_deployments(restApiId=api_id)["items"]} == {first, second}
    # A second stage on the old deployment still serves the old API.
    apigw.create_stage(restApiId=api_id, stageName="old", deploymentId=first)
    assert requests.get(stage_url(server, api_id, "old", "/two"), timeout=60).status_code == 403
    assert requests.get(stage_url(server, api_id, "old", "/one"), timeout=60).status_code == 200


def openapi_document(title, function):
    return {
        "openapi": "3.0.1",
        "info": {"title": title, "version": "1.0"},
        "paths": {
            "/": {
                "get": {
                    "parameters": [{"name": "x-tenant-id", "in": "header", "required": True, "schema": {"type": "string"}}],
                    "x-amazon-apigateway-integration": {
                        "type": "aws_proxy", "httpMethod": "POST", "uri": proxy_uri(function),
                        "requestParameters": TENANT_MAPPING,
                    },
                }
            },
            "/hello/{name}": {
                "x-amazon-apigateway-any-method": {
                    "parameters": [{"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}],
                    "x-amazon-apigateway-integration": {"type": "aws_proxy", "httpMethod": "POST", "uri": proxy_uri(function)},
                }
            },
        },
    }


def test_openapi_import(server, apigw, counter):
    title = unique("imported")
    api = apigw.import_rest_api(body=json.dumps(openapi_document(title, counter)).encode())
    assert api["name"] == title and api["version"] == "1.0"
    api_id = api["id"]
    resources = {r["path"]: r for r in apigw.get_resources(restApiId=api_id, embed=["methods"])["items"]}
    assert set(resources) == {"/", "/hello", "/hello/{name}"}
    root_get = resources["/"]["resourceMethods"]["GET"]
    assert root_get["requestParameters"] == {"method.request.header.x-tenant-id": True}
    assert root_get["methodIntegration"]["requestParameters"] == TENANT_MAPPING
    assert set(resources["/hello/{name}"]["resourceMethods"]) == {"ANY"}
    apigw.create_deployment(restApiId=api_id, stageName="v1")
    url = stage_url(server, api_id, "v1")
    assert [requests.get(url, headers={"x-tenant-id": t}, timeout=60).json()["counter"] for t in ["A", "A", "B"]] == [0, 1, 0]
    assert requests.get(url, timeout=60).status_code == 400

    # PutRestApi merge adds a path; overwrite replaces everything.
    extra = {"openapi": "3.0.1", "info": {"title": title}, "paths": {"/extra": {"get": {
        "x-amazon-apigateway-integration": {"type": "aws_proxy", "httpMethod": "POST", "uri": proxy_uri(counter)}}}}}
    apigw.put_rest_api(restApiId=api_id, mode="merge", body=json.dumps(extra).encode())
    paths = {r["path"] for r in apigw.get_resources(restApiId=api_id)["items"]}
    assert paths == {"/", "/hello", "/hello/{name}", "/extra"}
    apigw.put_rest_api(restApiId=api_id, mode="overwrite", body=json.dumps(extra).encode())
    assert {r["path"] for r in apigw.get_resources(restApiId=api_id)["items"]} == {"/", "/extra"}

    # A definition the server cannot build is refused whole.
    bad = openapi_document(unique("bad"), counter)
    bad["paths"]["/"]["get"]["x-amazon-apigateway-integration"]["requestParameters"] = {
        "integration.request.header.X-Amz-Tenant-Id": "method.request.header.undeclared"}
    with pytest.raises(ClientError) as error:
        apigw.import_rest_api(body=json.dumps(bad).encode())
    assert error.value.response["Error"]["Code"] == "BadRequestException"
    with pytest.raises(ClientError) as error:
        apigw.import_rest_api(body=b"not json")
    assert error.value.response["Error"]["Code"] == "BadRequestException"
    # Warnings fail the import when asked to.
    no_integration = {"openapi": "3.0.1", "info": {"title": "w"}, "paths": {"/": {"get": {}}}}
    with pytest.raises(ClientError) as error:
        apigw.import_rest_api(body=json.dumps(no_integration).encode(), failOnWarnings=True)
    assert "No integration defined for method" in error.value.response["Error"]["Message"]


def error_of(call, **kwargs):
    with pytest.raises(ClientError) as error:
        call(**kwargs)
    return error.value.response["Error"]["Code"], error.value.response["ResponseMetadata"]["HTTPStatusCode"], \
        error.value.response["Error"]["Message"]


def test_control_plane_errors(apigw, echo):
    assert error_of(apigw.get_rest_api, restApiId="nope1234") == \
        ("NotFoundException", 404, "Invalid API identifier specified 000000000000:nope1234")
    assert error_of(apigw.get_resources, restApiId="nope1234")[0] == "NotFoundException"
    api = apigw.create_rest_api(name=unique("errors"))
    api_id, root = api["id"], api["rootResourceId"]
    assert error_of(apigw.create_deployment, restApiId=api_id, stageName="s") == \
        ("BadRequestException", 400, "The REST API doesn't contain any methods")
    apigw.create_resource(restApiId=api_id, parentId=root, pathPart="users")
    assert error_of(apigw.create_resource, restApiId=api_id, parentId=root, pathPart="users")[:2] == ("ConflictException", 409)
    apigw.create_resource(restApiId=api_id, parentId=root, pathPart="{id}")
    assert error_of(apigw.create_resource, restApiId=api_id, parentId=root, pathPart="{other}")[0] == "BadRequestException"
    assert error_of(apigw.create_resource, restApiId=api_id, parentId="nosuchres", pathPart="x")[0] == "NotFoundException"
    assert error_of(apigw.create_resource, restApiId=api_id, parentId=root, pathPart="bad part")[0] == "BadRequestException"
    apigw.put_method(restApiId=api_id, resourceId=root, httpMethod="GET", authorizationType="NONE")
    assert error_of(apigw.put_method, restApiId=api_id, resourceId=root, httpMethod="GET",
                    authorizationType="NONE")[:2] == ("ConflictException", 409)
    assert error_of(apigw.get_method, restApiId=api_id, resourceId=root, httpMethod="POST")[0] == "NotFoundException"
    assert error_of(apigw.get_integration, restApiId=api_id, resourceId=root, httpMethod="GET") == \
        ("NotFoundException", 404, "No integration defined for method")
    assert error_of(apigw.create_deployment, restApiId=api_id, stageName="s")[2] == "No integration defined for method"
    assert error_of(apigw.put_integration, restApiId=api_id, resourceId=root, httpMethod="GET", type="AWS_PROXY",
                    integrationHttpMethod="POST", uri="arn:aws:apigateway:us-east-1:s3:path/bucket/key")[0] == "BadRequestException"
    assert error_of(apigw.put_integration, restApiId=api_id, resourceId=root, httpMethod="GET", type="HTTP_PROXY",
                    integrationHttpMethod="GET", uri="https://example.com")[0] == "BadRequestException"
    code, _, message = error_of(apigw.put_integration, restApiId=api_id, resourceId=root, httpMethod="GET",
                                type="AWS_PROXY", integrationHttpMethod="POST", uri=proxy_uri(echo),
                                requestParameters=TENANT_MAPPING)
    assert code == "BadRequestException" and "method.request.header.x-tenant-id" in message
    apigw.put_integration(restApiId=api_id, resourceId=root, httpMethod="GET", type="AWS_PROXY",
                          integrationHttpMethod="POST", uri=proxy_uri(echo))
    assert error_of(apigw.create_deployment, restApiId=api_id, stageName="bad-name") == \
        ("BadRequestException", 400, "Stage name only allows a-zA-Z0-9_")
    assert error_of(apigw.get_stage, restApiId=api_id, stageName="none")[0] == "NotFoundException"
    apigw.create_deployment(restApiId=api_id, stageName="s")
    assert [s["stageName"] for s in apigw.get_stages(restApiId=api_id)["item"]] == ["s"]
    assert api_id in [a["id"] for a in apigw.get_rest_apis(limit=500)["items"]]
    apigw.delete_rest_api(restApiId=api_id)
    assert error_of(apigw.get_rest_api, restApiId=api_id)[0] == "NotFoundException"
    assert error_of(apigw.delete_rest_api, restApiId=api_id)[0] == "NotFoundException"


@pytest.mark.parametrize("stop", ["sigterm", "kill9"])
def test_api_survives_a_restart(tmp_path, stop):
    server = Server(tmp_path / "data").start()
    try:
        lambda_client, apigw = server.client(), server.client("apigateway")
        fn = create_function(lambda_client, COUNTER, tenancy=True)
        api_id = apigw.create_rest_api(name=unique("durable"), description="kept")["id"]
        add_route(apigw, api_id, "/count/{x}", "GET", fn, parameters={"method.request.header.x-tenant-id": True},
                  mapping=TENANT_MAPPING)
        apigw.create_deployment(restApiId=api_id, stageName="prod", variables={"k": "v"})

        def snapshot():
            api = apigw.get_rest_api(restApiId=api_id)
            resources = apigw.get_resources(restApiId=api_id, embed=["methods"])["items"]
            stages = apigw.get_stages(restApiId=api_id)["item"]
            for item in (api,):
                item.pop("ResponseMetadata")
            return api, sorted(resources, key=lambda r: r["path"]), stages

        before = snapshot()
        url = stage_url(server, api_id, "prod", "/count/1")
        assert requests.get(url, headers={"x-tenant-id": "Blue"}, timeout=60).json() == {"counter": 0, "tenantId": "Blue"}
        if stop == "kill9":
            server.kill9()
            server.start()
        else:
            server.restart()
        apigw = server.client("apigateway")
        assert snapshot() == before
        url = stage_url(server, api_id, "prod", "/count/1")
        # A new process: the environment starts afresh, the route is still there.
        assert requests.get(url, headers={"x-tenant-id": "Blue"}, timeout=60).json() == {"counter": 0, "tenantId": "Blue"}
        assert requests.get(url, timeout=60).status_code == 400
    finally:
        server.stop()
