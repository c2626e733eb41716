"""API Gateway API keys and usage plans end to end: keys and plans made with boto3, a
method with `apiKeyRequired`, and the stage URL driven by plain HTTP: 403 `Forbidden`
for a missing, unknown, disabled or unplanned key, 429 `Too Many Requests` from the
plan's per-key throttle, 429 `Limit Exceeded` from its quota, which survives a restart."""

import uuid

import pytest
import requests
from botocore.exceptions import ClientError

from harness import ROLE, make_zip

ECHO = """export const handler = async (event) => ({
  statusCode: 200, headers: { 'Content-Type': 'application/json' },
  body: JSON.stringify({ identity: event.requestContext.identity }),
});
"""

# Allows everyone; hands back the key named by the `x-customer` header.
KEY_AUTHORIZER = """export const handler = async (event) => ({
  principalId: 'customer',
  policyDocument: { Version: '2012-10-17', Statement: [
    { Action: 'execute-api:Invoke', Effect: 'Allow', Resource: '*' } ] },
  usageIdentifierKey: event.headers['x-customer'],
});
"""


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def lambda_uri(function):
    return ("arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/"
            f"arn:aws:lambda:us-east-1:000000000000:function:{function}/invocations")


def node_function(client, code):
    name = unique("fn")
    client.create_function(FunctionName=name, Runtime="nodejs22.x", Handler="index.handler", Role=ROLE,
                           Code={"ZipFile": make_zip({"index.mjs": code})}, Timeout=10)
    client.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig={"Delay": 0.1})
    return name


def keyed_api(apigw, function, authorizer_fn=None):
    """An API whose GET /keyed requires an API key, deployed to `test`."""
    api_id = apigw.create_rest_api(name=unique("keys"))["id"]
    root = apigw.get_resources(restApiId=api_id)["items"][0]["id"]
    resource = apigw.create_resource(restApiId=api_id, parentId=root, pathPart="keyed")["id"]
    method = dict(restApiId=api_id, resourceId=resource, httpMethod="GET", authorizationType="NONE",
                  apiKeyRequired=True)
    if authorizer_fn:
        authorizer = apigw.create_authorizer(restApiId=api_id, name="keys", type="REQUEST",
                                             authorizerUri=lambda_uri(authorizer_fn),
                                             identitySource="method.request.header.x-customer")
        method.update(authorizationType="CUSTOM", authorizerId=authorizer["id"])
        apigw.update_rest_api(restApiId=api_id,
                              patchOperations=[{"op": "replace", "path": "/apiKeySource", "value": "AUTHORIZER"}])
    apigw.put_method(**method)
    apigw.put_integration(restApiId=api_id, resourceId=resource, httpMethod="GET", type="AWS_PROXY",
                          integrationHttpMethod="POST", uri=lambda_uri(function))
    apigw.create_deployment(restApiId=api_id, stageName="test")
    return api_id


def url_of(server, api_id):
    return f"{server.url}/restapis/{api_id}/test/_user_request_/keyed"


def planned_key(apigw, api_id, **plan):
    """A new enabled key in a new plan for the API's `test` stage."""
    key = apigw.create_api_key(name=unique("key"), enabled=True)
    plan = apigw.create_usage_plan(name=unique("plan"), apiStages=[{"apiId": api_id, "stage": "test"}], **plan)
    apigw.create_usage_plan_key(usagePlanId=plan["id"], keyId=key["id"], keyType="API_KEY")
    return key, plan


def gateway_error(response, status, error_type, message):
    assert response.status_code == status, response.text
    assert response.headers.get("x-amzn-ErrorType") == error_type, dict(response.headers)
    assert response.json() == {"message": message}


@pytest.fixture(scope="module")
def apigw(server):
    return server.client("apigateway")


@pytest.fixture(scope="module")
def echo(lambda_client):
    return node_function(lambda_client, ECHO)


def test_keys_and_plans_control_plane(apigw, echo):
    api_id = keyed_api(apigw, echo)
    key = apigw.create_api_key(name=unique("k"), description="d", enabled=True, customerId="c1",
                               value="a-value-of-twenty-or-more-characters")
    assert key["value"] == "a-value-of-twenty-or-more-characters" and key["enabled"] is True
    assert "value" not in apigw.get_api_key(apiKey=key["id"])
    assert apigw.get_api_key(apiKey=key["id"], includeValue=True)["value"] == key["value"]
    listed = apigw.get_api_keys(includeValues=True, customerId="c1")["items"]
    assert [k["id"] for k in listed] == [key["id"]] and listed[0]["value"] == key["value"]
    generated = apigw.create_api_key(name=unique("gen"))
    assert len(generated["value"]) == 40 and generated["enabled"] is False
    disabled = apigw.update_api_key(apiKey=generated["id"],
                                    patchOperations=[{"op": "replace", "path": "/enabled", "value": "true"}])
    assert disabled["enabled"] is True

    plan = apigw.create_usage_plan(name=unique("p"), apiStages=[{"apiId": api_id, "stage": "test"}],
                                   throttle={"rateLimit": 10.0, "burstLimit": 5},
                                   quota={"limit": 100, "period": "MONTH", "offset": 0})
    assert plan["throttle"] == {"rateLimit": 10.0, "burstLimit": 5}
    assert plan["quota"] == {"limit": 100, "offset": 0, "period": "MONTH"}
    assert plan["apiStages"] == [{"apiId": api_id, "stage": "test"}]
    plan_key = apigw.create_usage_plan_key(usagePlanId=plan["id"], keyId=key["id"], keyType="API_KEY")
    assert plan_key == {**plan_key, "id": key["id"], "type": "API_KEY", "value": key["value"]}
    assert [k["id"] for k in apigw.get_usage_plan_keys(usagePlanId=plan["id"])["items"]] == [key["id"]]
    assert [p["id"] for p in apigw.get_usage_plans(keyId=key["id"])["items"]] == [plan["id"]]
    updated = apigw.update_usage_plan(usagePlanId=plan["id"], patchOperations=[
        {"op": "replace", "path": "/throttle/rateLimit", "value": "20"},
        {"op": "replace", "path": "/quota/period", "value": "DAY"}])
    assert updated["throttle"]["rateLimit"] == 20.0 and updated["quota"]["period"] == "DAY"

    def code(call, **kwargs):
        with pytest.raises(ClientError) as failure:
            call(**kwargs)
        return failure.value.response["Error"]["Code"]

    assert code(apigw.create_api_key, value="short") == "BadRequestException"
    assert code(apigw.create_api_key, value=key["value"]) == "ConflictException"
    assert code(apigw.get_api_key, apiKey="nope") == "NotFoundException"
    assert code(apigw.create_usage_plan, name="x", apiStages=[{"apiId": api_id, "stage": "nostage"}]) == \
        "BadRequestException"
    assert code(apigw.create_usage_plan, name="x", quota={"limit": 1, "period": "YEAR"}) == "BadRequestException"
    assert code(apigw.create_usage_plan_key, usagePlanId=plan["id"], keyId=key["id"], keyType="API_KEY") == \
        "ConflictException"
    assert code(apigw.create_usage_plan_key, usagePlanId=plan["id"], keyId="nope", keyType="API_KEY") == \
        "NotFoundException"
    apigw.delete_usage_plan_key(usagePlanId=plan["id"], keyId=key["id"])
    assert apigw.get_usage_plan_keys(usagePlanId=plan["id"])["items"] == []
    apigw.delete_usage_plan(usagePlanId=plan["id"])
    assert code(apigw.get_usage_plan, usagePlanId=plan["id"]) == "NotFoundException"
    apigw.delete_api_key(apiKey=key["id"])
    assert code(apigw.get_api_key, apiKey=key["id"]) == "NotFoundException"


def test_keys_are_checked(server, apigw, echo):
    api_id = keyed_api(apigw, echo)
    url = url_of(server, api_id)
    key, _ = planned_key(apigw, api_id)
    forbidden = ("ForbiddenException", "Forbidden")
    gateway_error(requests.get(url, timeout=60), 403, *forbidden)
    gateway_error(requests.get(url, headers={"x-api-key": "not-a-key-anyone-has-made"}, timeout=60), 403, *forbidden)
    # A key no plan of this stage admits.
    stray = apigw.create_api_key(name=unique("stray"), enabled=True)
    gateway_error(requests.get(url, headers={"x-api-key": stray["value"]}, timeout=60), 403, *forbidden)
    response = requests.get(url, headers={"x-api-key": key["value"]}, timeout=60)
    assert response.status_code == 200, response.text
    assert response.json()["identity"]["apiKeyId"] == key["id"]
    assert response.json()["identity"]["apiKey"] == key["value"]
    apigw.update_api_key(apiKey=key["id"], patchOperations=[{"op": "replace", "path": "/enabled", "value": "false"}])
    gateway_error(requests.get(url, headers={"x-api-key": key["value"]}, timeout=60), 403, *forbidden)


def test_plan_throttle_is_per_key(server, apigw, echo):
    api_id = keyed_api(apigw, echo)
    url = url_of(server, api_id)
    # Two requests at once, refilled once in ~17 minutes: the third is throttled.
    noisy, _ = planned_key(apigw, api_id, throttle={"rateLimit": 0.001, "burstLimit": 2})
    quiet, _ = planned_key(apigw, api_id, throttle={"rateLimit": 0.001, "burstLimit": 2})
    for _ in range(2):
        assert requests.get(url, headers={"x-api-key": noisy["value"]}, timeout=60).status_code == 200
    gateway_error(requests.get(url, headers={"x-api-key": noisy["value"]}, timeout=60), 429,
                  "TooManyRequestsException", "Too Many Requests")
    # The noisy tenant's limit is its own.
    assert requests.get(url, headers={"x-api-key": quiet["value"]}, timeout=60).status_code == 200


def test_quota_is_enforced_and_survives_a_restart(server_factory, tmp_path):
    server = server_factory.start(tmp_path / "data")
    apigw = server.client("apigateway")
    function = node_function(server.client(), ECHO)
    api_id = keyed_api(apigw, function)
    url = url_of(server, api_id)
    key, plan = planned_key(apigw, api_id, quota={"limit": 3, "period": "DAY"})
    for _ in range(3):
        assert requests.get(url, headers={"x-api-key": key["value"]}, timeout=60).status_code == 200
    gateway_error(requests.get(url, headers={"x-api-key": key["value"]}, timeout=60), 429,
                  "LimitExceededException", "Limit Exceeded")
    usage = apigw.get_usage(usagePlanId=plan["id"], startDate="2026-01-01", endDate="2030-01-01")
    assert usage["items"][key["id"]] == [[3, 0]]
    server.restart()
    apigw = server.client("apigateway")
    url = url_of(server, api_id)
    gateway_error(requests.get(url, headers={"x-api-key": key["value"]}, timeout=60), 429,
                  "LimitExceededException", "Limit Exceeded")
    # Raising the limit lets the key in again.
    apigw.update_usage_plan(usagePlanId=plan["id"],
                            patchOperations=[{"op": "replace", "path": "/quota/limit", "value": "4"}])
    assert requests.get(url, headers={"x-api-key": key["value"]}, timeout=60).status_code == 200


def test_key_from_the_authorizer(server, apigw, lambda_client, echo):
    """`apiKeySource` AUTHORIZER: the key is the authorizer's `usageIdentifierKey`, and a
    client's own `x-api-key` header counts for nothing."""
    authorizer_fn = node_function(lambda_client, KEY_AUTHORIZER)
    api_id = keyed_api(apigw, echo, authorizer_fn=authorizer_fn)
    assert apigw.get_rest_api(restApiId=api_id)["apiKeySource"] == "AUTHORIZER"
    url = url_of(server, api_id)
    key, _ = planned_key(apigw, api_id)
    other, _ = planned_key(apigw, api_id)
    response = requests.get(url, headers={"x-customer": key["value"], "x-api-key": other["value"]}, timeout=60)
    assert response.status_code == 200, response.text
    assert response.json()["identity"]["apiKeyId"] == key["id"]
    gateway_error(requests.get(url, headers={"x-customer": "unknown-key-value-123456", "x-api-key": other["value"]},
                               timeout=60), 403, "ForbiddenException", "Forbidden")
