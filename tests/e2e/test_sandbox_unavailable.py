"""On a host that cannot sandbox, PER_TENANT functions are refused with a reason, unless
the server runs with --insecure-no-sandbox."""

import json
import os
import shutil
import sys
import uuid

from botocore.exceptions import ClientError
import pytest

from harness import ROLE, Server, make_zip
from helpers import wait_active

HANDLER = "def handler(event, context):\n    return context.tenant_id\n"


def start_without_bwrap(tmp_path, *extra):
    """A server whose PATH has no bwrap: interpreters are given by absolute path."""
    old_path = os.environ["PATH"]
    os.environ["PATH"] = str(tmp_path)
    try:
        return Server(tmp_path / "data", "--python", sys.executable, "--node", shutil.which("node", path=old_path), *extra).start()
    finally:
        os.environ["PATH"] = old_path


def create(client, tenancy):
    name = f"nosandbox-{uuid.uuid4().hex[:8]}"
    args = dict(FunctionName=name, Runtime="python3.12", Handler="app.handler", Role=ROLE,
                Code={"ZipFile": make_zip({"app.py": HANDLER})})
    if tenancy:
        args["TenancyConfig"] = {"TenantIsolationMode": "PER_TENANT"}
    client.create_function(**args)
    wait_active(client, name)
    return name


def test_per_tenant_functions_are_refused_without_a_sandbox(tmp_path):
    server = start_without_bwrap(tmp_path)
    try:
        assert "cannot sandbox" in server.log()
        client = server.client()
        isolated = create(client, tenancy=True)
        with pytest.raises(ClientError) as refused:
            client.invoke(FunctionName=isolated, TenantId="BlueTenant")
        error = refused.value.response["Error"]
        assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
        assert error["Code"] == "ServiceException"
        assert "bwrap" in error["Message"] and "--insecure-no-sandbox" in error["Message"]
        plain = create(client, tenancy=False)
        assert json.loads(client.invoke(FunctionName=plain)["Payload"].read()) is None
    finally:
        server.stop()


def test_insecure_flag_runs_them_as_host_processes(tmp_path):
    server = start_without_bwrap(tmp_path, "--insecure-no-sandbox")
    try:
        assert "insecure-no-sandbox" in server.log()
        client = server.client()
        isolated = create(client, tenancy=True)
        response = client.invoke(FunctionName=isolated, TenantId="BlueTenant")
        assert json.loads(response["Payload"].read()) == "BlueTenant"
    finally:
        server.stop()
