"""LoggingConfig and the other function settings, end to end: the JSON log format with
real runtime clients (awslambdaric, Alcove's Node bootstrap) inside PER_TENANT
environments, log-level filtering, Lambda's validation errors, settings that are stored
and returned exactly as given, the settings refused for tenant isolation, and the quota of
tenant execution environments per unit of concurrency."""

import base64
import json
import os

import pytest

from harness import ROLE, Server, make_zip
from helpers import PER_TENANT, create, error_of, expect_error, unique

PY_LOGGING = '''
import logging
logger = logging.getLogger()
def handler(event, context):
    logger.debug("debug-line %s", event["tag"])
    logger.info("info-line %s", event["tag"])
    logger.warning("warn-line %s", event["tag"])
    print("printed-line", event["tag"], flush=True)
    return {"requestId": context.aws_request_id, "tenant": context.tenant_id}
'''

NODE_LOGGING = '''
export const handler = async (event, context) => {
  console.debug("debug-line " + event.tag);
  console.log("log-line " + event.tag);
  console.warn("warn-line " + event.tag);
  return { requestId: context.awsRequestId, tenant: context.tenantId };
};
'''


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    server = Server(tmp_path_factory.mktemp("logging-config")).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def lam(server):
    return server.client()


def tail(response):
    return base64.b64decode(response["LogResult"]).decode().splitlines()


def invoke(lam, name, tenant, tag):
    response = lam.invoke(FunctionName=name, TenantId=tenant, LogType="Tail", Payload=json.dumps({"tag": tag}))
    assert "FunctionError" not in response, response["Payload"].read()
    result = json.loads(response["Payload"].read())
    assert result["tenant"] == tenant
    return result["requestId"], tail(response)


def json_lines(lines):
    """The lines that are JSON objects, parsed."""
    parsed = []
    for line in lines:
        try:
            doc = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(doc, dict):
            parsed.append(doc)
    return parsed


def platform_records(lines):
    return {d["type"]: d for d in json_lines(lines) if str(d.get("type", "")).startswith("platform.")}


def stream_texts(server, name):
    """The text of each of the function's log streams, read through the Logs API."""
    return list(server.log_streams(f"/aws/lambda/{name}").values())


def check_platform_records(lines, request_id, tenant):
    records = platform_records(lines)
    assert {"platform.start", "platform.runtimeDone", "platform.report"} <= set(records), lines
    for record in records.values():
        assert record["record"]["requestId"] == request_id, record
        assert record["record"]["tenantId"] == tenant, record
        assert record["time"].endswith("Z"), record
    assert records["platform.runtimeDone"]["record"]["status"] == "success"
    metrics = records["platform.report"]["record"]["metrics"]
    assert metrics["memorySizeMB"] == 128 and metrics["billedDurationMs"] >= 1, metrics
    assert "initDurationMs" in metrics, "the first invoke of a tenant is a cold start"
    assert not any(line.startswith(("START ", "END ", "REPORT ")) for line in lines), lines


# ---------------------------------------------------------------------------------------
# The JSON format with the official clients, two tenants
# ---------------------------------------------------------------------------------------


def test_json_python_function_logs_per_tenant(server, lam):
    name = unique("json-py")
    create(lam, name, code=make_zip({"app.py": PY_LOGGING}), TenancyConfig=PER_TENANT,
           LoggingConfig={"LogFormat": "JSON"})
    config = lam.get_function_configuration(FunctionName=name)["LoggingConfig"]
    assert config == {"LogFormat": "JSON", "ApplicationLogLevel": "INFO", "SystemLogLevel": "INFO",
                      "LogGroup": f"/aws/lambda/{name}"}
    seen = {}
    for tenant in ("blue-tenant", "green-tenant"):
        request_id, lines = invoke(lam, name, tenant, tenant)
        seen[tenant] = (request_id, lines)
        check_platform_records(lines, request_id, tenant)
        app = [d for d in json_lines(lines) if "type" not in d]
        messages = {d["message"]: d for d in app}
        # awslambdaric writes its records as JSON with requestId and tenantId.
        for message, level in ((f"info-line {tenant}", "INFO"), (f"warn-line {tenant}", "WARNING")):
            assert message in messages, lines
            assert messages[message]["level"] == level
            assert messages[message]["requestId"] == request_id
            assert messages[message]["tenantId"] == tenant
        assert f"debug-line {tenant}" not in messages, "INFO is the default application level"
        # Lambda does not wrap print output in JSON: it stays a plain line.
        assert f"printed-line {tenant}" in lines, lines
    for tenant, other in (("blue-tenant", "green-tenant"), ("green-tenant", "blue-tenant")):
        assert not any(other in line for line in seen[tenant][1]), seen[tenant][1]
    # Each environment's stream holds one tenant, from its platform.initStart on.
    streams = stream_texts(server, name)
    assert len(streams) == 2
    for text in streams:
        tenant = "blue-tenant" if "blue-tenant" in text else "green-tenant"
        other = "green-tenant" if tenant == "blue-tenant" else "blue-tenant"
        assert other not in text, text
        first = json.loads(text.splitlines()[0])
        assert first["type"] == "platform.initStart", text
        assert first["record"]["tenantId"] == tenant
        assert first["record"]["functionName"] == name


def test_json_node_function_logs_per_tenant(lam):
    name = unique("json-node")
    lam.create_function(
        FunctionName=name, Runtime="nodejs22.x", Handler="index.handler", Role=ROLE,
        Code={"ZipFile": make_zip({"index.mjs": NODE_LOGGING})}, TenancyConfig=PER_TENANT,
        LoggingConfig={"LogFormat": "JSON", "ApplicationLogLevel": "DEBUG"},
    )
    for tenant in ("tenant-one", "tenant-two"):
        request_id, lines = invoke(lam, name, tenant, tenant)
        check_platform_records(lines, request_id, tenant)
        app = {d["message"]: d for d in json_lines(lines) if "type" not in d}
        for message, level in ((f"debug-line {tenant}", "DEBUG"), (f"log-line {tenant}", "INFO"),
                               (f"warn-line {tenant}", "WARN")):
            assert message in app, lines
            assert (app[message]["level"], app[message]["requestId"], app[message]["tenantId"]) == \
                (level, request_id, tenant)
        # console.* output is JSON through and through: every line is a JSON object.
        assert len(json_lines(lines)) == len(lines), lines
        other = "tenant-two" if tenant == "tenant-one" else "tenant-one"
        assert not any(other in line for line in lines)


def test_application_log_level_warn_drops_info_and_plain_lines(lam):
    name = unique("warn-py")
    create(lam, name, code=make_zip({"app.py": PY_LOGGING}), TenancyConfig=PER_TENANT,
           LoggingConfig={"LogFormat": "JSON", "ApplicationLogLevel": "WARN"})
    request_id, lines = invoke(lam, name, "quiet", "quiet")
    text = "\n".join(lines)
    assert "warn-line quiet" in text
    assert "info-line quiet" not in text and "debug-line quiet" not in text, text
    # A line without a level is INFO to Lambda, so WARN filters it out too.
    assert "printed-line quiet" not in text, text
    check_platform_records(lines, request_id, "quiet")


def test_system_log_level_warn_leaves_out_platform_records(lam):
    name = unique("sys-warn")
    create(lam, name, code=make_zip({"app.py": PY_LOGGING}), TenancyConfig=PER_TENANT,
           LoggingConfig={"LogFormat": "JSON", "SystemLogLevel": "WARN"})
    _, lines = invoke(lam, name, "t", "t")
    assert platform_records(lines) == {}, lines
    assert "warn-line t" in "\n".join(lines)


def test_text_format_keeps_start_end_report(lam):
    name = unique("text-py")
    create(lam, name, code=make_zip({"app.py": PY_LOGGING}), TenancyConfig=PER_TENANT)
    request_id, lines = invoke(lam, name, "plain", "plain")
    assert lines[0] == f"START RequestId: {request_id} Version: $LATEST", lines
    assert f"END RequestId: {request_id}" in lines
    assert lines[-1].startswith(f"REPORT RequestId: {request_id}\tDuration: "), lines
    assert platform_records(lines) == {}
    assert any(line.startswith("[WARNING]") and "warn-line plain" in line for line in lines), lines


def test_a_configured_log_group_receives_the_functions_streams(server, lam):
    name = unique("own-group")
    group = f"/custom/{name}"
    create(lam, name, code=make_zip({"app.py": PY_LOGGING}), TenancyConfig=PER_TENANT,
           LoggingConfig={"LogFormat": "Text", "LogGroup": group})
    request_id, _ = invoke(lam, name, "grouped", "grouped")
    [text] = server.log_streams(group).values()
    assert f"START RequestId: {request_id}" in text and "printed-line grouped" in text, text
    assert server.log_streams(f"/aws/lambda/{name}") == {}, "the default group is not written"


def test_switching_to_json_changes_the_runtime_environment(lam):
    name = unique("switch")
    source = 'import os\ndef handler(e, c):\n    return {k: os.environ.get(k) for k in ("AWS_LAMBDA_LOG_FORMAT", "AWS_LAMBDA_LOG_LEVEL", "AWS_LAMBDA_LOG_GROUP_NAME")}\n'
    create(lam, name, code=make_zip({"app.py": source}))
    env = json.loads(lam.invoke(FunctionName=name)["Payload"].read())
    assert env == {"AWS_LAMBDA_LOG_FORMAT": None, "AWS_LAMBDA_LOG_LEVEL": None,
                   "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{name}"}
    lam.update_function_configuration(
        FunctionName=name, LoggingConfig={"LogFormat": "JSON", "ApplicationLogLevel": "ERROR", "LogGroup": "/team/app"})
    lam.get_waiter("function_updated_v2").wait(FunctionName=name)
    env = json.loads(lam.invoke(FunctionName=name)["Payload"].read())
    assert env == {"AWS_LAMBDA_LOG_FORMAT": "JSON", "AWS_LAMBDA_LOG_LEVEL": "ERROR", "AWS_LAMBDA_LOG_GROUP_NAME": "/team/app"}


# ---------------------------------------------------------------------------------------
# Validation, round trips, refusals
# ---------------------------------------------------------------------------------------


# Values that break a constraint of botocore's model are AWS's ValidationException; rules the
# model cannot state stay InvalidParameterValueException.
@pytest.mark.parametrize("settings, expected, code", [
    ({"LoggingConfig": {"LogFormat": "XML"}},
     "1 validation error detected: Value 'XML' at 'loggingConfig.logFormat' failed to satisfy constraint: "
     "Member must satisfy enum value set: [JSON, Text]", "ValidationException"),
    ({"LoggingConfig": {"LogFormat": "JSON", "ApplicationLogLevel": "VERBOSE"}}, "loggingConfig.applicationLogLevel", "ValidationException"),
    ({"LoggingConfig": {"LogFormat": "JSON", "SystemLogLevel": "ERROR"}}, "[DEBUG, INFO, WARN]", "ValidationException"),
    ({"LoggingConfig": {"ApplicationLogLevel": "WARN"}},
     'LogLevel is not supported when LogFormat is set to "Text". Remove LogLevel from your request or change the '
     'LogFormat to "Json" and try again.', "InvalidParameterValueException"),
    ({"LoggingConfig": {"LogGroup": "has spaces"}}, "loggingConfig.logGroup", "ValidationException"),
    ({"TracingConfig": {"Mode": "Always"}}, "Member must satisfy enum value set: [Active, PassThrough]", "ValidationException"),
    ({"SnapStart": {"ApplyOn": "Always"}}, "Member must satisfy enum value set: [PublishedVersions, None]", "ValidationException"),
    ({"SnapStart": {"ApplyOn": "PublishedVersions"}, "Runtime": "nodejs22.x"},
     "nodejs22.x is not supported for SnapStart enabled functions.", "InvalidParameterValueException"),
    ({"SnapStart": {"ApplyOn": "PublishedVersions"}, "TenancyConfig": PER_TENANT}, "tenant isolation", "InvalidParameterValueException"),
    ({"KMSKeyArn": "not-an-arn"}, "kMSKeyArn", "ValidationException"),
    ({"FileSystemConfigs": [{"Arn": "arn:aws:elasticfilesystem:us-east-1:000000000000:access-point/fsap-0123456789abcdef0",
                             "LocalMountPath": "/mnt/x"}]}, "FileSystemConfigs", "InvalidParameterValueException"),
    ({"Layers": ["arn:aws:lambda:us-east-1:000000000000:layer:l:1"]}, "Layers", "InvalidParameterValueException"),
    ({"ImageConfig": {"Command": ["app.handler"]}}, "ImageConfig", "InvalidParameterValueException"),
])
def test_create_refuses_with_lambdas_error(lam, settings, expected, code):
    name = unique("bad")
    message = expect_error(code, 400, create, client=lam, name=name, **settings)
    assert expected in message, message
    expect_error("ResourceNotFoundException", 404, lam.get_function, FunctionName=name)


def test_update_refuses_and_keeps_the_configuration(lam):
    name = unique("upd")
    create(lam, name, LoggingConfig={"LogFormat": "JSON", "ApplicationLogLevel": "WARN"})
    before = lam.get_function_configuration(FunctionName=name)
    for settings, code in (({"LoggingConfig": {"LogFormat": "XML"}}, "ValidationException"),
                           ({"TracingConfig": {"Mode": "On"}}, "ValidationException"),
                           ({"LoggingConfig": {"LogFormat": "Text", "SystemLogLevel": "INFO"}},
                            "InvalidParameterValueException")):
        expect_error(code, 400, lam.update_function_configuration, FunctionName=name, **settings)
    after = lam.get_function_configuration(FunctionName=name)
    assert after["RevisionId"] == before["RevisionId"]
    assert after["LoggingConfig"] == before["LoggingConfig"]
    # A partial LoggingConfig keeps the rest; Text clears the levels.
    updated = lam.update_function_configuration(FunctionName=name, LoggingConfig={"SystemLogLevel": "DEBUG"})
    assert updated["LoggingConfig"] == {"LogFormat": "JSON", "ApplicationLogLevel": "WARN", "SystemLogLevel": "DEBUG",
                                        "LogGroup": f"/aws/lambda/{name}"}
    lam.get_waiter("function_updated_v2").wait(FunctionName=name)
    text = lam.update_function_configuration(FunctionName=name, LoggingConfig={"LogFormat": "Text"})
    assert text["LoggingConfig"] == {"LogFormat": "Text", "LogGroup": f"/aws/lambda/{name}"}


def test_snap_start_is_refused_on_update_of_a_per_tenant_function(lam):
    name = unique("snap-tenant")
    create(lam, name, TenancyConfig=PER_TENANT)
    message = expect_error("InvalidParameterValueException", 400, lam.update_function_configuration,
                           FunctionName=name, SnapStart={"ApplyOn": "PublishedVersions"})
    assert "tenant isolation" in message
    assert lam.get_function_configuration(FunctionName=name)["SnapStart"] == {"ApplyOn": "None",
                                                                              "OptimizationStatus": "Off"}


def test_cli_settings_round_trip_exactly(server):
    name = unique("cli-settings")
    zip_path = os.path.join(server.data_dir, f"{name}.zip")
    with open(zip_path, "wb") as f:
        f.write(make_zip({"app.py": "def handler(e, c):\n    return 1\n"}))
    kms = "arn:aws:kms:us-east-1:000000000000:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    dlq = "arn:aws:sqs:us-east-1:000000000000:dead-letters"
    code, created, err = server.aws(
        "lambda", "create-function", "--function-name", name, "--runtime", "python3.12",
        "--handler", "app.handler", "--role", ROLE, "--zip-file", f"fileb://{zip_path}",
        "--logging-config", "LogFormat=JSON,ApplicationLogLevel=WARN,SystemLogLevel=DEBUG,LogGroup=/team/orders",
        "--tracing-config", "Mode=Active", "--snap-start", "ApplyOn=PublishedVersions",
        "--kms-key-arn", kms, "--dead-letter-config", f"TargetArn={dlq}",
    )
    assert code == 0, err
    expected = {
        "LoggingConfig": {"LogFormat": "JSON", "ApplicationLogLevel": "WARN", "SystemLogLevel": "DEBUG",
                          "LogGroup": "/team/orders"},
        "TracingConfig": {"Mode": "Active"},
        "SnapStart": {"ApplyOn": "PublishedVersions", "OptimizationStatus": "Off"},
        "KMSKeyArn": kms,
        "DeadLetterConfig": {"TargetArn": dlq},
    }
    for doc in (created, server.aws("lambda", "get-function-configuration", "--function-name", name)[1]):
        assert {k: doc.get(k) for k in expected} == expected, doc
    # Lambda snapshots published versions: they report the optimization on.
    code, version, err = server.aws("lambda", "publish-version", "--function-name", name)
    assert code == 0, err
    assert version["SnapStart"] == {"ApplyOn": "PublishedVersions", "OptimizationStatus": "On"}
    assert version["TracingConfig"] == {"Mode": "Active"}
    # Invalid values through the CLI: Lambda's error, nothing stored.
    code, _, err = server.aws("lambda", "update-function-configuration", "--function-name", name,
                              "--logging-config", "LogFormat=XML")
    assert code != 0 and "ValidationException" in err and "[JSON, Text]" in err, err
    # An empty VPC configuration (how templates say "no VPC") is accepted; clearing works.
    code, updated, err = server.aws(
        "lambda", "update-function-configuration", "--function-name", name,
        "--vpc-config", "SubnetIds=[],SecurityGroupIds=[]", "--tracing-config", "Mode=PassThrough",
        "--kms-key-arn", "", "--dead-letter-config", "TargetArn=")
    assert code == 0, err
    assert updated["TracingConfig"] == {"Mode": "PassThrough"}
    assert "KMSKeyArn" not in updated and "DeadLetterConfig" not in updated, updated
    assert updated["LoggingConfig"] == expected["LoggingConfig"]


# ---------------------------------------------------------------------------------------
# The tenant execution environment quota
# ---------------------------------------------------------------------------------------


def test_tenant_environments_are_capped_by_concurrency(lam):
    name = unique("env-quota")
    create(lam, name, TenancyConfig=PER_TENANT)
    # Reserved concurrency 1: 2,500 per 1,000 is 2.5, rounded down to 2 environments.
    lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=1)
    for tenant in ("first", "second"):
        assert lam.invoke(FunctionName=name, TenantId=tenant, Payload=b"{}")["StatusCode"] == 200
    # Both environments are idle now, and still count: a third tenant is throttled.
    code, http_status, message = error_of(lam.invoke, FunctionName=name, TenantId="third", Payload=b"{}")
    assert (code, http_status) == ("TooManyRequestsException", 429), message
    assert message.startswith("Rate exceeded"), message
    # The tenants that have an environment keep being served by it.
    assert lam.invoke(FunctionName=name, TenantId="first", Payload=b"{}")["StatusCode"] == 200
    # Raising the concurrency raises the quota.
    lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=2)
    assert lam.invoke(FunctionName=name, TenantId="third", Payload=b"{}")["StatusCode"] == 200


def test_failed_init_writes_platform_init_report(server, lam):
    name = unique("json-init-fail")
    create(lam, name, code=make_zip({"app.py": "raise RuntimeError('broken at import')\n"}),
           TenancyConfig=PER_TENANT, LoggingConfig={"LogFormat": "JSON"})
    response = lam.invoke(FunctionName=name, TenantId="doomed", Payload=b"{}")
    assert response.get("FunctionError") == "Unhandled"
    [text] = stream_texts(server, name)
    records = platform_records(text.splitlines())
    report = records["platform.initReport"]["record"]
    assert report["status"] == "error" and report["tenantId"] == "doomed", report
    assert report["errorType"] == json.loads(response["Payload"].read())["errorType"]
    assert records["platform.initStart"]["record"]["tenantId"] == "doomed"
