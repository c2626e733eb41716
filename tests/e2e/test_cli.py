"""The AWS CLI, exactly as a user types it."""

import json
import uuid

import pytest

from harness import ROLE, Server, make_zip


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
