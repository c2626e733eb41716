"""API Gateway Lambda authorizers end to end: authorizers created through the control
plane (boto3) and by OpenAPI import, real authorizer functions in sandboxes, and stage
URLs driven by plain HTTP. The key property: with the tenant mapped from
`context.authorizer.tenantId`, a client's own `x-tenant-id` header cannot move it into
another tenant."""

import json
import uuid

import pytest
import requests
from botocore.exceptions import ClientError

from harness import ROLE, make_zip
from helpers import SEED_COUNTS

# A TOKEN authorizer whose answer the token chooses. `calls` counts its invocations in
# this environment, and comes back in the context, so a cached answer shows the count
# of the call that produced it.
TOKEN_AUTHORIZER = """let calls = 0;
const TENANTS = { 'token-blue': 'BlueTenant', 'token-green': 'GreenTenant' };
export const handler = async (event) => {
  calls++;
  const token = event.authorizationToken;
  if (token === 'bad') throw new Error('Unauthorized');
  if (token === 'explode') throw new Error('something else went wrong');
  if (token === 'garbage') return { hello: 'world' };
  // methodArn: arn:aws:execute-api:{region}:{account}:{api}/{stage}/{METHOD}/{path}
  const [api, stage] = event.methodArn.split('/');
  let resource = `${api}/${stage}/*`;
  if (token === 'post-only') resource = `${api}/${stage}/POST/*`;
  return {
    principalId: 'user-' + token,
    policyDocument: { Version: '2012-10-17', Statement: [
      { Action: 'execute-api:Invoke', Effect: token === 'deny' ? 'Deny' : 'Allow', Resource: resource },
    ] },
    context: { tenantId: TENANTS[token] || 'NoTenant', calls, admin: true, event: JSON.stringify(event) },
  };
};
"""

# A REQUEST authorizer keyed on the `x-team` header.
REQUEST_AUTHORIZER = """let calls = 0;
export const handler = async (event) => {
  calls++;
  const team = event.headers['x-team'];
  if (team === 'nobody') throw new Error('Unauthorized');
  return {
    principalId: 'team-' + team,
    policyDocument: { Version: '2012-10-17', Statement: [
      { Action: 'execute-api:Invoke', Effect: 'Allow', Resource: event.methodArn },
    ] },
    context: { tenantId: team + 'Tenant', calls, type: event.type,
               sawQuery: JSON.stringify(event.queryStringParameters), resource: event.resource },
  };
};
"""

ECHO = """export const handler = async (event, context) => ({
  statusCode: 200, headers: { 'Content-Type': 'application/json' },
  body: JSON.stringify({ event, tenantId: context.tenantId ?? null }),
});
"""

COUNTER = """let counter = 0;
export const handler = async (event, context) => ({
  statusCode: 200,
  body: JSON.stringify({ counter: counter++, tenantId: context.tenantId }),
});
"""


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def lambda_uri(function, region="us-east-1"):
    return (f"arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/"
            f"arn:aws:lambda:{region}:000000000000:function:{function}/invocations")


def node_function(client, code, per_tenant=False):
    name = unique("fn")
    args = dict(FunctionName=name, Runtime="nodejs22.x", Handler="index.handler", Role=ROLE,
                Code={"ZipFile": make_zip({"index.mjs": code})}, Timeout=10)
    if per_tenant:
        args["TenancyConfig"] = {"TenantIsolationMode": "PER_TENANT"}
    client.create_function(**args)
    client.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig={"Delay": 0.1})
    return name


@pytest.fixture(scope="module")
def apigw(server):
    return server.client("apigateway")


@pytest.fixture(scope="module")
def echo(lambda_client):
    return node_function(lambda_client, ECHO)


def stage_url(server, api_id, stage="test", path="/"):
    return f"{server.url}/restapis/{api_id}/{stage}/_user_request_{path}"


def route(apigw, api_id, path_part, function, authorizer_id=None, mapping=None, method="GET"):
    """A resource `/path_part` whose method uses the authorizer (CUSTOM) or none."""
    root = apigw.get_resources(restApiId=api_id)["items"][0]["id"]
    resource = apigw.create_resource(restApiId=api_id, parentId=root, pathPart=path_part)["id"]
    args = dict(restApiId=api_id, resourceId=resource, httpMethod=method, authorizationType="NONE")
    if authorizer_id:
        args.update(authorizationType="CUSTOM", authorizerId=authorizer_id)
    apigw.put_method(**args)
    apigw.put_integration(restApiId=api_id, resourceId=resource, httpMethod=method, type="AWS_PROXY",
                          integrationHttpMethod="POST", uri=lambda_uri(function),
                          requestParameters=mapping or {})
    return resource


def gateway_error(response, status, error_type, message):
    assert response.status_code == status, response.text
    assert response.headers.get("x-amzn-ErrorType") == error_type, dict(response.headers)
    assert response.json() == {"message": message}


@pytest.fixture(scope="module")
def token_api(server, apigw, lambda_client, echo):
    """An API with a TOKEN authorizer (cached 300 s), an uncached copy, and routes to echo."""
    authorizer_fn = node_function(lambda_client, TOKEN_AUTHORIZER)
    api_id = apigw.create_rest_api(name=unique("auth"))["id"]
    cached = apigw.create_authorizer(
        restApiId=api_id, name="cached", type="TOKEN", authorizerUri=lambda_uri(authorizer_fn),
        identitySource="method.request.header.Authorization",
        identityValidationExpression="[a-z-]+")
    uncached = apigw.create_authorizer(
        restApiId=api_id, name="uncached", type="TOKEN", authorizerUri=lambda_uri(authorizer_fn),
        identitySource="method.request.header.Authorization", authorizerResultTtlInSeconds=0)
    route(apigw, api_id, "cached", echo, cached["id"])
    route(apigw, api_id, "other", echo, cached["id"])
    route(apigw, api_id, "uncached", echo, uncached["id"])
    route(apigw, api_id, "open", echo)
    apigw.create_deployment(restApiId=api_id, stageName="test")
    return {"api": api_id, "cached": cached, "uncached": uncached}


def test_authorizer_control_plane(apigw, token_api, echo):
    api_id = token_api["api"]
    cached = token_api["cached"]
    assert cached["type"] == "TOKEN"
    assert cached["authorizerResultTtlInSeconds"] == 300
    assert cached["identityValidationExpression"] == "[a-z-]+"
    got = apigw.get_authorizer(restApiId=api_id, authorizerId=cached["id"])
    assert {k: got[k] for k in ("id", "name", "authorizerUri", "identitySource")} == \
        {k: cached[k] for k in ("id", "name", "authorizerUri", "identitySource")}
    names = sorted(a["name"] for a in apigw.get_authorizers(restApiId=api_id)["items"])
    assert names == ["cached", "uncached"]
    extra = apigw.create_authorizer(restApiId=api_id, name="extra", type="REQUEST",
                                    authorizerUri=cached["authorizerUri"],
                                    identitySource="method.request.header.x-team, method.request.querystring.q")
    updated = apigw.update_authorizer(restApiId=api_id, authorizerId=extra["id"], patchOperations=[
        {"op": "replace", "path": "/authorizerResultTtlInSeconds", "value": "60"},
        {"op": "replace", "path": "/name", "value": "renamed"}])
    assert (updated["authorizerResultTtlInSeconds"], updated["name"]) == (60, "renamed")
    apigw.delete_authorizer(restApiId=api_id, authorizerId=extra["id"])

    def code(call, **kwargs):
        with pytest.raises(ClientError) as failure:
            call(**kwargs)
        return failure.value.response["Error"]["Code"], failure.value.response["ResponseMetadata"]["HTTPStatusCode"]

    assert code(apigw.get_authorizer, restApiId=api_id, authorizerId=extra["id"]) == ("NotFoundException", 404)
    assert code(apigw.create_authorizer, restApiId=api_id, name="x", type="TOKEN",
                authorizerUri=cached["authorizerUri"]) == ("BadRequestException", 400)
    assert code(apigw.create_authorizer, restApiId=api_id, name="x", type="TOKEN", authorizerResultTtlInSeconds=3601,
                authorizerUri=cached["authorizerUri"], identitySource="method.request.header.A") == \
        ("BadRequestException", 400)
    # In use by a method: refused.
    assert code(apigw.delete_authorizer, restApiId=api_id, authorizerId=cached["id"])[1] in (400, 409)
    # CUSTOM needs an authorizer of this API.
    root = apigw.get_resources(restApiId=api_id)["items"][0]["id"]
    assert code(apigw.put_method, restApiId=api_id, resourceId=root, httpMethod="PATCH",
                authorizationType="CUSTOM") == ("BadRequestException", 400)
    assert code(apigw.put_method, restApiId=api_id, resourceId=root, httpMethod="PATCH",
                authorizationType="CUSTOM", authorizerId="nope00") == ("BadRequestException", 400)
    # UpdateMethod switches a method to CUSTOM and back.
    apigw.put_method(restApiId=api_id, resourceId=root, httpMethod="PATCH", authorizationType="NONE")
    method = apigw.update_method(restApiId=api_id, resourceId=root, httpMethod="PATCH", patchOperations=[
        {"op": "replace", "path": "/authorizationType", "value": "CUSTOM"},
        {"op": "replace", "path": "/authorizerId", "value": cached["id"]}])
    assert (method["authorizationType"], method["authorizerId"]) == ("CUSTOM", cached["id"])
    assert apigw.get_method(restApiId=api_id, resourceId=root, httpMethod="PATCH")["authorizerId"] == cached["id"]
    apigw.delete_method(restApiId=api_id, resourceId=root, httpMethod="PATCH")


def test_token_authorizer_answers(server, token_api):
    url = stage_url(server, token_api["api"], path="/cached")
    gateway_error(requests.get(url, timeout=60), 401, "UnauthorizedException", "Unauthorized")
    # Fails the validation expression: refused without calling the function.
    gateway_error(requests.get(url, headers={"Authorization": "Bearer X!"}, timeout=60),
                  401, "UnauthorizedException", "Unauthorized")
    gateway_error(requests.get(url, headers={"Authorization": "bad"}, timeout=60),
                  401, "UnauthorizedException", "Unauthorized")
    gateway_error(requests.get(url, headers={"Authorization": "deny"}, timeout=60), 403, "AccessDeniedException",
                  "User is not authorized to access this resource with an explicit deny")
    gateway_error(requests.get(url, headers={"Authorization": "post-only"}, timeout=60), 403,
                  "AccessDeniedException", "User is not authorized to access this resource")
    for token in ("explode", "garbage"):
        response = requests.get(url, headers={"Authorization": token}, timeout=60)
        assert response.status_code == 500, response.text
        assert response.headers["x-amzn-ErrorType"] == "AuthorizerConfigurationException"
        assert response.json() == {"message": None}
    allowed = requests.get(url, headers={"Authorization": "token-blue"}, timeout=60)
    assert allowed.status_code == 200, allowed.text
    authorizer = allowed.json()["event"]["requestContext"]["authorizer"]
    assert authorizer["principalId"] == "user-token-blue"
    assert authorizer["tenantId"] == "BlueTenant"
    assert authorizer["admin"] == "true"
    event = json.loads(authorizer["event"])
    assert event["type"] == "TOKEN" and event["authorizationToken"] == "token-blue"
    assert event["methodArn"] == \
        f"arn:aws:execute-api:us-east-1:000000000000:{token_api['api']}/test/GET/cached"
    # A method without an authorizer is open.
    assert requests.get(stage_url(server, token_api["api"], path="/open"), timeout=60).status_code == 200


def test_results_are_cached_per_identity(server, token_api):
    def calls(path, token):
        response = requests.get(stage_url(server, token_api["api"], path=path),
                                headers={"Authorization": token}, timeout=60)
        assert response.status_code == 200, response.text
        return int(response.json()["event"]["requestContext"]["authorizer"]["calls"])

    first = calls("/cached", "token-green")
    # Within the TTL the same token is not authorized again, even for another method.
    assert calls("/cached", "token-green") == first
    assert calls("/other", "token-green") == first
    # Another token is.
    second = calls("/cached", "cached-other")
    assert second > first
    assert calls("/cached", "cached-other") == second
    # TTL 0: every request calls the function.
    a = calls("/uncached", "token-green")
    b = calls("/uncached", "token-green")
    assert b > a


def test_cached_policy_is_evaluated_per_method(server, apigw, lambda_client, echo):
    """A cached policy that allows only GET /a still denies GET /b with the same token."""
    code = TOKEN_AUTHORIZER.replace("let resource = `${api}/${stage}/*`;",
                                    "let resource = `${api}/${stage}/GET/a`;")
    assert code != TOKEN_AUTHORIZER
    authorizer_fn = node_function(lambda_client, code)
    api_id = apigw.create_rest_api(name=unique("permethod"))["id"]
    authorizer = apigw.create_authorizer(restApiId=api_id, name="a", type="TOKEN",
                                         authorizerUri=lambda_uri(authorizer_fn),
                                         identitySource="method.request.header.Authorization")
    route(apigw, api_id, "a", echo, authorizer["id"])
    route(apigw, api_id, "b", echo, authorizer["id"])
    apigw.create_deployment(restApiId=api_id, stageName="test")
    headers = {"Authorization": "token-blue"}
    assert requests.get(stage_url(server, api_id, path="/a"), headers=headers, timeout=60).status_code == 200
    gateway_error(requests.get(stage_url(server, api_id, path="/b"), headers=headers, timeout=60), 403,
                  "AccessDeniedException", "User is not authorized to access this resource")


def test_request_authorizer_keyed_on_a_header(server, apigw, lambda_client, echo):
    authorizer_fn = node_function(lambda_client, REQUEST_AUTHORIZER)
    api_id = apigw.create_rest_api(name=unique("req"))["id"]
    authorizer = apigw.create_authorizer(restApiId=api_id, name="team", type="REQUEST",
                                         authorizerUri=lambda_uri(authorizer_fn),
                                         identitySource="method.request.header.x-team")
    route(apigw, api_id, "r", echo, authorizer["id"])
    apigw.create_deployment(restApiId=api_id, stageName="test")
    url = stage_url(server, api_id, path="/r")
    gateway_error(requests.get(url, timeout=60), 401, "UnauthorizedException", "Unauthorized")
    gateway_error(requests.get(url, headers={"x-team": "nobody"}, timeout=60), 401,
                  "UnauthorizedException", "Unauthorized")
    response = requests.get(url + "?q=1", headers={"x-team": "Red"}, timeout=60)
    assert response.status_code == 200, response.text
    context = response.json()["event"]["requestContext"]["authorizer"]
    assert (context["principalId"], context["tenantId"], context["type"]) == ("team-Red", "RedTenant", "REQUEST")
    assert json.loads(context["sawQuery"]) == {"q": "1"}
    assert context["resource"] == "/r"
    # Cached per header value: same team, same call; another team, a new one.
    again = requests.get(url, headers={"x-team": "Red"}, timeout=60).json()["event"]["requestContext"]["authorizer"]
    assert again["calls"] == context["calls"]
    other = requests.get(url, headers={"x-team": "Teal"}, timeout=60).json()["event"]["requestContext"]["authorizer"]
    assert int(other["calls"]) > int(context["calls"])


def test_tenant_comes_from_the_authorizer_not_the_client(server, apigw, lambda_client):
    """The issue's key test: the seed's PER_TENANT counter behind a TOKEN authorizer, the
    tenant mapped from `context.authorizer.tenantId`. Each client also sends the *other*
    tenant's id as `x-tenant-id`; the counters show every request landed in the tenant
    its token stands for."""
    counter = node_function(lambda_client, COUNTER, per_tenant=True)
    authorizer_fn = node_function(lambda_client, TOKEN_AUTHORIZER)
    api_id = apigw.create_rest_api(name=unique("secure"))["id"]
    authorizer = apigw.create_authorizer(restApiId=api_id, name="tok", type="TOKEN",
                                         authorizerUri=lambda_uri(authorizer_fn),
                                         identitySource="method.request.header.Authorization")
    route(apigw, api_id, "counter", counter, authorizer["id"],
          mapping={"integration.request.header.X-Amz-Tenant-Id": "context.authorizer.tenantId"})
    apigw.create_deployment(restApiId=api_id, stageName="test")
    url = stage_url(server, api_id, path="/counter")
    tokens = {"BlueTenant": "token-blue", "GreenTenant": "token-green"}
    liar = {"BlueTenant": "GreenTenant", "GreenTenant": "BlueTenant"}
    sequence = ["BlueTenant"] * 3 + ["GreenTenant"] * 2 + ["BlueTenant"]
    counts = []
    for tenant in sequence:
        response = requests.get(url, headers={"Authorization": tokens[tenant], "x-tenant-id": liar[tenant]},
                                timeout=60)
        assert response.status_code == 200, response.text
        assert response.json()["tenantId"] == tenant
        counts.append(response.json()["counter"])
    assert counts == SEED_COUNTS
    # Without a token there is no tenant to land in.
    gateway_error(requests.get(url, headers={"x-tenant-id": "BlueTenant"}, timeout=60),
                  401, "UnauthorizedException", "Unauthorized")


def test_per_tenant_authorizer_is_a_configuration_error(server, apigw, lambda_client, echo):
    authorizer_fn = node_function(lambda_client, TOKEN_AUTHORIZER, per_tenant=True)
    api_id = apigw.create_rest_api(name=unique("pt"))["id"]
    authorizer = apigw.create_authorizer(restApiId=api_id, name="pt", type="TOKEN",
                                         authorizerUri=lambda_uri(authorizer_fn),
                                         identitySource="method.request.header.Authorization")
    route(apigw, api_id, "x", echo, authorizer["id"])
    apigw.create_deployment(restApiId=api_id, stageName="test")
    response = requests.get(stage_url(server, api_id, path="/x"), headers={"Authorization": "token-blue"}, timeout=60)
    assert response.status_code == 500
    assert response.headers["x-amzn-ErrorType"] == "AuthorizerConfigurationException"
    assert "a PER_TENANT function cannot be an authorizer" in server.log()


def test_openapi_import_with_a_lambda_authorizer(server, apigw, lambda_client):
    counter = node_function(lambda_client, COUNTER, per_tenant=True)
    authorizer_fn = node_function(lambda_client, TOKEN_AUTHORIZER)
    definition = {
        "openapi": "3.0.1",
        "info": {"title": unique("imported"), "version": "1"},
        "components": {"securitySchemes": {"tokens": {
            "type": "apiKey", "name": "Authorization", "in": "header",
            "x-amazon-apigateway-authtype": "custom",
            "x-amazon-apigateway-authorizer": {"type": "token", "authorizerUri": lambda_uri(authorizer_fn),
                                               "authorizerResultTtlInSeconds": 300}}}},
        "paths": {"/counter": {"get": {
            "security": [{"tokens": []}],
            "x-amazon-apigateway-integration": {
                "type": "aws_proxy", "httpMethod": "POST", "uri": lambda_uri(counter),
                "requestParameters": {"integration.request.header.X-Amz-Tenant-Id": "context.authorizer.tenantId"}}}}},
    }
    api = apigw.import_rest_api(body=json.dumps(definition).encode())
    assert "warnings" not in api or not api["warnings"], api.get("warnings")
    authorizers = apigw.get_authorizers(restApiId=api["id"])["items"]
    assert [(a["name"], a["type"], a["identitySource"]) for a in authorizers] == \
        [("tokens", "TOKEN", "method.request.header.Authorization")]
    resource = next(r for r in apigw.get_resources(restApiId=api["id"])["items"] if r["path"] == "/counter")
    method = apigw.get_method(restApiId=api["id"], resourceId=resource["id"], httpMethod="GET")
    assert (method["authorizationType"], method["authorizerId"]) == ("CUSTOM", authorizers[0]["id"])
    apigw.create_deployment(restApiId=api["id"], stageName="test")
    url = stage_url(server, api["id"], path="/counter")
    gateway_error(requests.get(url, timeout=60), 401, "UnauthorizedException", "Unauthorized")
    response = requests.get(url, headers={"Authorization": "token-green", "x-tenant-id": "BlueTenant"}, timeout=60)
    assert response.status_code == 200, response.text
    assert response.json() == {"counter": 0, "tenantId": "GreenTenant"}


CFN_TEMPLATE = """AWSTemplateFormatVersion: '2010-09-09'
Resources:
  Role:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Version: '2012-10-17'
        Statement:
          - Effect: Allow
            Principal: {Service: lambda.amazonaws.com}
            Action: sts:AssumeRole
  Counter:
    Type: AWS::Lambda::Function
    Properties:
      Runtime: python3.12
      Handler: index.handler
      Role: !GetAtt Role.Arn
      TenancyConfig:
        TenantIsolationMode: PER_TENANT
      Code:
        ZipFile: |
          import json
          counter = 0
          def handler(event, context):
              global counter
              body = {"counter": counter, "tenantId": context.tenant_id}
              counter += 1
              return {"statusCode": 200, "body": json.dumps(body)}
  AuthorizerFunction:
    Type: AWS::Lambda::Function
    Properties:
      Runtime: python3.12
      Handler: index.handler
      Role: !GetAtt Role.Arn
      Code:
        ZipFile: |
          TENANTS = {"token-blue": "BlueTenant", "token-green": "GreenTenant"}
          def handler(event, context):
              token = event["authorizationToken"]
              if token not in TENANTS:
                  raise Exception("Unauthorized")
              return {"principalId": token, "context": {"tenantId": TENANTS[token]},
                      "policyDocument": {"Version": "2012-10-17", "Statement": [
                          {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": "*"}]}}
  Api:
    Type: AWS::ApiGateway::RestApi
    Properties:
      Name: !Sub "${AWS::StackName}-secure"
  Tokens:
    Type: AWS::ApiGateway::Authorizer
    Properties:
      RestApiId: !Ref Api
      Name: tokens
      Type: TOKEN
      IdentitySource: method.request.header.Authorization
      AuthorizerResultTtlInSeconds: 300
      AuthorizerUri: !Sub "arn:aws:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${AuthorizerFunction.Arn}/invocations"
  CounterPath:
    Type: AWS::ApiGateway::Resource
    Properties:
      RestApiId: !Ref Api
      ParentId: !GetAtt Api.RootResourceId
      PathPart: counter
  CounterGet:
    Type: AWS::ApiGateway::Method
    Properties:
      RestApiId: !Ref Api
      ResourceId: !Ref CounterPath
      HttpMethod: GET
      AuthorizationType: CUSTOM
      AuthorizerId: !Ref Tokens
      ApiKeyRequired: true
      Integration:
        Type: AWS_PROXY
        IntegrationHttpMethod: POST
        Uri: !Sub "arn:aws:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${Counter.Arn}/invocations"
        RequestParameters:
          integration.request.header.X-Amz-Tenant-Id: context.authorizer.tenantId
  Deployment:
    Type: AWS::ApiGateway::Deployment
    DependsOn: CounterGet
    Properties:
      RestApiId: !Ref Api
      StageName: prod
  Key:
    Type: AWS::ApiGateway::ApiKey
    Properties:
      Enabled: true
      Value: cloudformation-key-value-0001
  Plan:
    Type: AWS::ApiGateway::UsagePlan
    DependsOn: Deployment
    Properties:
      ApiStages:
        - ApiId: !Ref Api
          Stage: prod
      Quota: {Limit: 1000, Period: MONTH}
      Throttle: {BurstLimit: 100, RateLimit: 50}
  PlanKey:
    Type: AWS::ApiGateway::UsagePlanKey
    Properties:
      KeyId: !Ref Key
      KeyType: API_KEY
      UsagePlanId: !Ref Plan
Outputs:
  ApiId:
    Value: !Ref Api
"""


def test_cloudformation_stack_with_an_authorizer_and_a_usage_plan(server, apigw, tmp_path):
    template = tmp_path / "template.yaml"
    template.write_text(CFN_TEMPLATE)
    stack = unique("secure")
    rc, out, err = server.aws("cloudformation", "deploy", "--template-file", str(template), "--stack-name", stack,
                              "--capabilities", "CAPABILITY_IAM")
    assert rc == 0, err
    cfn = server.client("cloudformation")
    [described] = cfn.describe_stacks(StackName=stack)["Stacks"]
    api_id = {o["OutputKey"]: o["OutputValue"] for o in described["Outputs"]}["ApiId"]
    [authorizer] = apigw.get_authorizers(restApiId=api_id)["items"]
    assert (authorizer["name"], authorizer["type"]) == ("tokens", "TOKEN")
    url = stage_url(server, api_id, "prod", "/counter")
    key = {"x-api-key": "cloudformation-key-value-0001"}
    gateway_error(requests.get(url, headers={"Authorization": "nope", **key}, timeout=60),
                  401, "UnauthorizedException", "Unauthorized")
    gateway_error(requests.get(url, headers={"Authorization": "token-blue"}, timeout=60),
                  403, "ForbiddenException", "Forbidden")
    for expected in range(2):
        response = requests.get(url, headers={"Authorization": "token-blue", "x-tenant-id": "GreenTenant", **key},
                                timeout=60)
        assert response.status_code == 200, response.text
        assert response.json() == {"counter": expected, "tenantId": "BlueTenant"}
    rc, _, err = server.aws("cloudformation", "delete-stack", "--stack-name", stack)
    assert rc == 0, err
    rc, _, err = server.aws("cloudformation", "wait", "stack-delete-complete", "--stack-name", stack)
    assert rc == 0, err
    assert not [k for k in apigw.get_api_keys(includeValues=True)["items"]
                if k.get("value") == "cloudformation-key-value-0001"]
