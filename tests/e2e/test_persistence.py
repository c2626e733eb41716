"""Everything the control plane accepted survives a clean restart and a kill -9."""

import uuid

import pytest
import requests

from harness import ROLE, Server, make_zip


def snapshot(client, names):
    """Everything observable about the functions, minus per-request metadata."""
    state = {}
    for fn in names:
        got = client.get_function(FunctionName=fn)
        got.pop("ResponseMetadata")
        code = requests.get(got["Code"].pop("Location"), timeout=10).content
        versions = client.list_versions_by_function(FunctionName=fn)["Versions"]
        aliases = client.list_aliases(FunctionName=fn)["Aliases"]
        concurrency = client.get_function_concurrency(FunctionName=fn)
        concurrency.pop("ResponseMetadata")
        state[fn] = (got, code, versions, aliases, concurrency)
    settings = client.get_account_settings()
    settings.pop("ResponseMetadata")
    return state, settings


def populate(client):
    prefix = uuid.uuid4().hex[:8]
    tenant_fn, plain_fn = f"tenant-{prefix}", f"plain-{prefix}"
    client.create_function(
        FunctionName=tenant_fn, Runtime="nodejs22.x", Handler="index.handler", Role=ROLE,
        Code={"ZipFile": make_zip({"index.mjs": "export const handler = async () => 1;\n"})},
        TenancyConfig={"TenantIsolationMode": "PER_TENANT"}, Environment={"Variables": {"KEY": "v"}},
    )
    client.create_function(
        FunctionName=plain_fn, Runtime="python3.12", Handler="app.handler", Role=ROLE,
        Code={"ZipFile": make_zip({"app.py": "def handler(e, c):\n    return 1\n"})}, Publish=True,
    )
    client.update_function_configuration(FunctionName=tenant_fn, Timeout=20)
    client.publish_version(FunctionName=tenant_fn)
    client.create_alias(FunctionName=tenant_fn, Name="live", FunctionVersion="1")
    client.put_function_concurrency(FunctionName=plain_fn, ReservedConcurrentExecutions=7)
    # The last write before the crash.
    client.update_function_code(
        FunctionName=plain_fn, ZipFile=make_zip({"app.py": "def handler(e, c):\n    return 2\n"}),
    )
    return [tenant_fn, plain_fn]


@pytest.mark.parametrize("stop", ["sigterm", "kill9"])
def test_restart_loses_nothing(tmp_path, stop):
    server = Server(tmp_path / "data").start()
    try:
        client = server.client()
        names = populate(client)
        before = snapshot(client, names)
        if stop == "kill9":
            server.kill9()
            server.start()
        else:
            server.restart()
        after = snapshot(server.client(), names)
        assert after == before
        assert after[0][names[0]][0]["Configuration"]["TenancyConfig"] == {"TenantIsolationMode": "PER_TENANT"}
        # Still fully usable: the stored code runs.
        response = server.client().invoke(FunctionName=names[1])
        assert response["Payload"].read() == b"2"
    finally:
        server.stop()
