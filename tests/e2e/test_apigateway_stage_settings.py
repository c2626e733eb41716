"""Stage method settings end to end: UpdateStage with boto3 and the AWS CLI, GetStage's
`methodSettings` with API Gateway's defaults, its errors, and the stage throttle at the
stage URL (429 after the burst, the most specific setting winning, a raised limit letting
requests through again)."""

import pytest
import requests
from botocore.exceptions import ClientError

from test_apigateway import ECHO, add_route, create_function, stage_url, unique


@pytest.fixture(scope="module")
def apigw(server):
    return server.client("apigateway")


@pytest.fixture(scope="module")
def echo(lambda_client):
    return create_function(lambda_client, ECHO, tenancy=False)


@pytest.fixture
def api(apigw, echo):
    """An API with `GET /echo` and `GET /other`, deployed to `s`."""
    api_id = apigw.create_rest_api(name=unique("settings"))["id"]
    add_route(apigw, api_id, "/echo", "GET", echo)
    add_route(apigw, api_id, "/other", "GET", echo)
    apigw.create_deployment(restApiId=api_id, stageName="s")
    yield api_id
    apigw.delete_rest_api(restApiId=api_id)


def replace(path, value):
    return {"op": "replace", "path": path, "value": str(value)}


def error_of(call, **kwargs):
    with pytest.raises(ClientError) as error:
        call(**kwargs)
    response = error.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Message"]


def statuses(server, api_id, path, count):
    return [requests.get(stage_url(server, api_id, "s", path), timeout=60).status_code for _ in range(count)]


def test_update_stage_records_settings_with_api_gateways_defaults(apigw, api):
    assert apigw.get_stage(restApiId=api, stageName="s")["methodSettings"] == {}
    updated = apigw.update_stage(restApiId=api, stageName="s", patchOperations=[
        replace("/*/*/throttling/rateLimit", 7.5),
        replace("/*/*/metrics/enabled", "true"),
        replace("/*/*/logging/loglevel", "ERROR"),
        replace("/~1echo/GET/throttling/burstLimit", 3),
        replace("/description", "tuned"),
        {"op": "add", "path": "/variables/color", "value": "red"},
    ])
    assert updated["methodSettings"]["*/*"] == {
        "metricsEnabled": True, "loggingLevel": "ERROR", "dataTraceEnabled": False,
        "throttlingBurstLimit": 5000, "throttlingRateLimit": 7.5, "cachingEnabled": False,
        "cacheTtlInSeconds": 300, "cacheDataEncrypted": False, "requireAuthorizationForCacheControl": True,
        "unauthorizedCacheControlHeaderStrategy": "SUCCEED_WITH_RESPONSE_HEADER",
    }
    assert updated["methodSettings"]["/echo/GET"]["throttlingBurstLimit"] == 3
    assert (updated["description"], updated["variables"]) == ("tuned", {"color": "red"})
    got = apigw.get_stage(restApiId=api, stageName="s")
    assert got["methodSettings"] == updated["methodSettings"]
    assert apigw.get_stages(restApiId=api)["item"][0]["methodSettings"] == updated["methodSettings"]

    removed = apigw.update_stage(restApiId=api, stageName="s", patchOperations=[
        {"op": "remove", "path": "/~1echo/GET"}, {"op": "remove", "path": "/variables/color"}])
    assert list(removed["methodSettings"]) == ["*/*"] and "variables" not in removed

    # A new deployment moves the stage without losing its settings.
    deployment = apigw.create_deployment(restApiId=api)["id"]
    moved = apigw.update_stage(restApiId=api, stageName="s", patchOperations=[replace("/deploymentId", deployment)])
    assert moved["deploymentId"] == deployment and list(moved["methodSettings"]) == ["*/*"]


def test_update_stage_refuses_bad_paths_values_and_caching(apigw, api):
    def refused(*ops):
        return error_of(apigw.update_stage, restApiId=api, stageName="s", patchOperations=list(ops))

    code, status, message = refused(replace("/x", 1))
    assert (code, status) == ("BadRequestException", 400)
    assert message.startswith("Invalid method setting path: /x. Must be one of: [")
    assert refused(replace("/*/*/throttling/speed", 1))[:2] == ("BadRequestException", 400)
    assert refused(replace("/*/*/logging/loglevel", "DEBUG"))[:2] == ("BadRequestException", 400)
    assert refused(replace("/*/*/throttling/rateLimit", "fast"))[:2] == ("BadRequestException", 400)
    assert refused(replace("/deploymentId", "nosuch")) == ("BadRequestException", 400, "Deployment id does not exist")
    code, _, message = refused(replace("/*/*/caching/enabled", "true"))
    assert code == "BadRequestException" and "Caching is not supported" in message
    assert refused({"op": "remove", "path": "/*/*"}) == (
        "BadRequestException", 400,
        "Cannot remove method setting */* because there is no method setting for this method ")
    # All or nothing: a failing operation leaves the earlier ones unapplied.
    assert refused(replace("/description", "half"), replace("/x", 1))[0] == "BadRequestException"
    stage = apigw.get_stage(restApiId=api, stageName="s")
    assert "description" not in stage and stage["methodSettings"] == {}
    assert error_of(apigw.update_stage, restApiId=api, stageName="none", patchOperations=[])[:2] == \
        ("NotFoundException", 404)


def test_the_stage_throttle_answers_429_and_the_most_specific_setting_wins(server, apigw, api):
    assert statuses(server, api, "/echo", 3) == [200] * 3
    apigw.update_stage(restApiId=api, stageName="s", patchOperations=[
        replace("/*/*/throttling/burstLimit", 2), replace("/*/*/throttling/rateLimit", 0.01)])
    assert statuses(server, api, "/echo", 3) == [200, 200, 429]
    response = requests.get(stage_url(server, api, "s", "/echo"), timeout=60)
    assert response.status_code == 429
    assert response.json() == {"message": "Too Many Requests"}
    assert response.headers["x-amzn-ErrorType"] == "TooManyRequestsException"
    # `/other GET` shares the `*/*` bucket until it has a setting of its own.
    assert statuses(server, api, "/other", 1) == [429]
    apigw.update_stage(restApiId=api, stageName="s", patchOperations=[
        replace("/~1other/GET/throttling/burstLimit", 4), replace("/~1other/GET/throttling/rateLimit", 0.01)])
    assert statuses(server, api, "/other", 5) == [200] * 4 + [429]
    assert statuses(server, api, "/echo", 1) == [429]

    # A raised limit lets requests through again; removing the setting lifts it.
    apigw.update_stage(restApiId=api, stageName="s", patchOperations=[replace("/*/*/throttling/burstLimit", 6)])
    assert statuses(server, api, "/echo", 7) == [200] * 6 + [429]
    apigw.update_stage(restApiId=api, stageName="s", patchOperations=[{"op": "remove", "path": "/*/*"}])
    assert statuses(server, api, "/echo", 8) == [200] * 8


def test_update_stage_with_the_cli(server, api):
    rc, stage, err = server.aws(
        "apigateway", "update-stage", "--rest-api-id", api, "--stage-name", "s", "--patch-operations",
        "op=replace,path=/*/*/throttling/burstLimit,value=1", "op=replace,path=/*/*/throttling/rateLimit,value=0",
    )
    assert rc == 0, err
    assert (stage["methodSettings"]["*/*"]["throttlingBurstLimit"],
            stage["methodSettings"]["*/*"]["throttlingRateLimit"]) == (1, 0.0)
    assert statuses(server, api, "/echo", 2) == [200, 429]
    rc, _, err = server.aws("apigateway", "update-stage", "--rest-api-id", api, "--stage-name", "s",
                            "--patch-operations", "op=replace,path=/nope,value=1")
    assert rc != 0 and "BadRequestException" in err and "Invalid method setting path: /nope" in err
