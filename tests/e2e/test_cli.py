"""The AWS CLI, exactly as a user types it."""

import json
import uuid

import pytest
import requests

from harness import ROLE, Server, make_zip
from helpers import PER_TENANT, distinct_zip, function_arn, sha256_b64, unique


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    server = Server(tmp_path_factory.mktemp("cli")).start()
    yield server
    server.stop()


def test_cli_walkthrough(server, tmp_path):
    zip_path = tmp_path / "function.zip"
    zip_path.write_bytes(make_zip({"index.mjs": "let counter = 0;\nexport const handler = async (event, context) => ({ counter: counter++, tenantId: context.tenantId });\n"}))
    fn = f"cli-{uuid.uuid4().hex[:8]}"
    rc, created, err = server.aws(
        "lambda", "create-function", "--function-name", fn, "--runtime", "nodejs22.x",
        "--handler", "index.handler", "--role", ROLE, "--zip-file", f"fileb://{zip_path}",
        "--tenancy-config", '{"TenantIsolationMode":"PER_TENANT"}',
    )
    assert rc == 0, err
    assert created["TenancyConfig"] == {"TenantIsolationMode": "PER_TENANT"}
    rc, config, err = server.aws("lambda", "get-function-configuration", "--function-name", fn)
    assert rc == 0, err
    assert config["TenancyConfig"] == {"TenantIsolationMode": "PER_TENANT"}
    rc, got, _ = server.aws("lambda", "get-function", "--function-name", fn)
    assert got["Configuration"]["FunctionName"] == fn
    rc, listed, _ = server.aws("lambda", "list-functions")
    assert fn in [f["FunctionName"] for f in listed["Functions"]]
    rc, version, _ = server.aws("lambda", "publish-version", "--function-name", fn)
    assert rc == 0 and version["Version"] == "1"
    rc, alias, _ = server.aws("lambda", "create-alias", "--function-name", fn, "--name", "live", "--function-version", "1")
    assert rc == 0 and alias["AliasArn"].endswith(f"{fn}:live")
    out = tmp_path / "out.json"
    rc, result, err = server.aws("lambda", "invoke", "--function-name", fn, "--qualifier", "live", "--tenant-id", "BlueTenant", str(out))
    assert rc == 0, err
    assert result["ExecutedVersion"] == "1"
    assert json.loads(out.read_text()) == {"counter": 0, "tenantId": "BlueTenant"}
    rc, _, err = server.aws("lambda", "invoke", "--function-name", fn, str(out))
    assert rc != 0 and "InvalidParameterValueException" in err
    rc, _, _ = server.aws("lambda", "delete-function", "--function-name", fn)
    assert rc == 0
    rc, _, err = server.aws("lambda", "get-function", "--function-name", fn)
    assert rc != 0 and "ResourceNotFoundException" in err


def test_cli_reports_validation_errors(server, tmp_path):
    zip_path = tmp_path / "bad.zip"
    zip_path.write_bytes(make_zip({"../escape.py": "x = 1\n"}))
    rc, _, err = server.aws(
        "lambda", "create-function", "--function-name", f"bad-{uuid.uuid4().hex[:6]}", "--runtime", "python3.12",
        "--handler", "app.handler", "--role", ROLE, "--zip-file", f"fileb://{zip_path}",
    )
    assert rc != 0
    assert "InvalidParameterValueException" in err and "'../escape.py'" in err


# --- The control plane, command by command ------------------------------------------------------


def ok(result):
    rc, out, err = result
    assert rc == 0, err
    return out


def fails_with(result, code):
    rc, _, err = result
    assert rc != 0
    assert code in err, err
    return err


def test_cli_functions_versions_aliases(aws, tmp_path):
    code = distinct_zip()
    package = tmp_path / "function.zip"
    package.write_bytes(code)
    plain, tenant = unique("cli-plain"), unique("cli-tenant")

    created = ok(aws(
        "create-function", "--function-name", plain, "--runtime", "python3.12", "--handler", "app.handler",
        "--role", ROLE, "--zip-file", f"fileb://{package}", "--timeout", "10", "--memory-size", "256",
        "--description", "from the cli", "--environment", "Variables={STAGE=dev,MODE=cli}",
    ))
    assert created["FunctionArn"] == function_arn(plain)
    assert created["CodeSha256"] == sha256_b64(code)
    assert created["CodeSize"] == len(code)
    assert (created["Timeout"], created["MemorySize"], created["Description"]) == (10, 256, "from the cli")
    assert created["Environment"] == {"Variables": {"STAGE": "dev", "MODE": "cli"}}
    assert created["Version"] == "$LATEST"
    assert "TenancyConfig" not in created

    created = ok(aws(
        "create-function", "--function-name", tenant, "--runtime", "nodejs22.x", "--handler", "index.handler",
        "--role", ROLE, "--zip-file", f"fileb://{package}", "--tenancy-config", '{"TenantIsolationMode":"PER_TENANT"}',
    ))
    assert created["TenancyConfig"] == PER_TENANT

    got = ok(aws("get-function", "--function-name", tenant))
    assert got["Configuration"]["TenancyConfig"] == PER_TENANT
    assert got["Configuration"]["FunctionArn"] == function_arn(tenant)
    assert got["Code"]["RepositoryType"] == "S3"
    assert requests.get(got["Code"]["Location"], timeout=10).content == code
    assert "TenancyConfig" not in ok(aws("get-function", "--function-name", plain))["Configuration"]

    listed = {f["FunctionName"]: f for f in ok(aws("list-functions"))["Functions"]}
    assert listed[tenant]["TenancyConfig"] == PER_TENANT
    assert "TenancyConfig" not in listed[plain]
    first = ok(aws("list-functions", "--max-items", "1"))
    assert len(first["Functions"]) == 1 and first["NextToken"]

    version = ok(aws("publish-version", "--function-name", tenant, "--description", "v1"))
    assert (version["Version"], version["Description"]) == ("1", "v1")
    assert version["TenancyConfig"] == PER_TENANT
    alias = ok(aws("create-alias", "--function-name", tenant, "--name", "live", "--function-version", "1"))
    assert alias["AliasArn"] == function_arn(tenant) + ":live"
    assert alias["FunctionVersion"] == "1"

    deleted = ok(aws("delete-function", "--function-name", tenant))
    assert deleted in (None, {"StatusCode": 204})
    fails_with(aws("get-function", "--function-name", tenant), "ResourceNotFoundException")


def test_cli_update_code_and_concurrency(aws, tmp_path):
    name = unique("cli-code")
    first, second = tmp_path / "one.zip", tmp_path / "two.zip"
    first.write_bytes(distinct_zip())
    second.write_bytes(distinct_zip())
    ok(aws("create-function", "--function-name", name, "--runtime", "python3.12", "--handler", "app.handler",
           "--role", ROLE, "--zip-file", f"fileb://{first}"))
    updated = ok(aws("update-function-code", "--function-name", name, "--zip-file", f"fileb://{second}", "--publish"))
    assert updated["CodeSha256"] == sha256_b64(second.read_bytes())
    assert updated["Version"] == "1"
    put = ok(aws("put-function-concurrency", "--function-name", name, "--reserved-concurrent-executions", "5"))
    assert put == {"ReservedConcurrentExecutions": 5}
    settings = ok(aws("get-account-settings"))
    assert settings["AccountLimit"]["ConcurrentExecutions"] == 1000
    assert settings["AccountLimit"]["UnreservedConcurrentExecutions"] <= 995


def corrupt_zip():
    """Opens as a zip (the CLI checks that much) but its entry cannot be inflated."""
    package = bytearray(make_zip({"app.py": "def handler(e, c):\n    return 1\n" * 50}))
    start = package.index(b"app.py") + len(b"app.py")
    for i in range(start + 5, start + 25):
        package[i] ^= 0xFF
    return bytes(package)


def test_cli_errors(aws, tmp_path):
    package = tmp_path / "function.zip"
    package.write_bytes(distinct_zip())
    missing = unique("cli-missing")
    err = fails_with(aws("get-function", "--function-name", missing), "ResourceNotFoundException")
    assert missing in err
    name = unique("cli-dup")
    create = ["create-function", "--function-name", name, "--runtime", "python3.12", "--handler", "app.handler",
              "--role", ROLE, "--zip-file", f"fileb://{package}"]
    ok(aws(*create))
    fails_with(aws(*create), "ResourceConflictException")
    err = fails_with(aws(*create[:2], unique("cli-bad"), *create[3:], "--tenancy-config",
                         '{"TenantIsolationMode":"SHARED"}'), "ValidationException")
    assert "Member must satisfy enum value set: [PER_TENANT]" in err
    bad_zip = tmp_path / "corrupt.zip"
    bad_zip.write_bytes(corrupt_zip())
    err = fails_with(aws(*create[:2], unique("cli-bad"), *create[3:-1], f"fileb://{bad_zip}"), "InvalidParameterValueException")
    assert "Could not unzip uploaded file" in err


def test_cli_region(aws, tmp_path):
    package = tmp_path / "function.zip"
    package.write_bytes(distinct_zip())
    name = unique("cli-eu")
    created = ok(aws("create-function", "--function-name", name, "--runtime", "python3.12", "--handler", "app.handler",
                     "--role", ROLE, "--zip-file", f"fileb://{package}", region="eu-west-1"))
    assert created["FunctionArn"] == function_arn(name, region="eu-west-1")
