"""Everything the control plane accepted survives a clean restart and a kill -9."""

import signal
import uuid

import pytest
import requests

from harness import ROLE, Server, make_zip
from helpers import PER_TENANT, body, create, distinct_zip, expect_error, unique, without_settling


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


# --- Every read, before and after ---------------------------------------------------------------


def full_state(client, names, gone):
    """Every read of the given functions, with code as downloaded bytes (the download URL
    names the server's port, which changes on restart)."""
    state = {}
    for fn in names:
        versions = [v["Version"] for v in client.list_versions_by_function(FunctionName=fn)["Versions"]]
        aliases = client.list_aliases(FunctionName=fn)["Aliases"]
        qualifiers = versions + [a["Name"] for a in aliases]
        reads = {}
        for qualifier in qualifiers:
            got = body(client.get_function(FunctionName=fn, Qualifier=qualifier))
            got["Code"]["Location"] = requests.get(got["Code"]["Location"], timeout=10).content
            reads[qualifier] = {
                "get_function": got,
                "get_function_configuration": body(client.get_function_configuration(FunctionName=fn, Qualifier=qualifier)),
            }
        state[fn] = {
            "reads": reads,
            "versions": client.list_versions_by_function(FunctionName=fn)["Versions"],
            "aliases": {a["Name"]: body(client.get_alias(FunctionName=fn, Name=a["Name"])) for a in aliases},
            "alias_list": aliases,
            "concurrency": body(client.get_function_concurrency(FunctionName=fn)),
        }
    listed = [f for page in client.get_paginator("list_functions").paginate(FunctionVersion="ALL") for f in page["Functions"]]
    state["list_functions_all"] = sorted((f for f in listed if f["FunctionName"] in names), key=lambda f: (f["FunctionName"], f["Version"]))
    state["account"] = body(client.get_account_settings())
    for fn, qualifier in gone:
        kwargs = {"Qualifier": qualifier} if qualifier else {}
        expect_error("ResourceNotFoundException", 404, client.get_function, FunctionName=fn, **kwargs)
    return state


def build_state(client):
    """Functions, versions, aliases, a reservation, deletions; the last write is a create."""
    tenant_fn, plain_fn, doomed_fn, last_fn = (unique(p) for p in ("tenant", "plain", "doomed", "last"))
    create(client, tenant_fn, distinct_zip(), TenancyConfig=PER_TENANT, Runtime="nodejs22.x", Handler="index.handler",
           Environment={"Variables": {"STAGE": "one"}}, Description="isolated", MemorySize=256,
           Architectures=["arm64"], EphemeralStorage={"Size": 1024}, Timeout=15)
    client.publish_version(FunctionName=tenant_fn, Description="first")
    client.update_function_configuration(FunctionName=tenant_fn, Environment={"Variables": {"STAGE": "two"}}, Timeout=20)
    client.publish_version(FunctionName=tenant_fn)
    client.create_alias(FunctionName=tenant_fn, Name="live", FunctionVersion="1", Description="stable")
    client.create_alias(FunctionName=tenant_fn, Name="edge", FunctionVersion="$LATEST")

    create(client, plain_fn, distinct_zip(), Publish=True)
    client.update_function_code(FunctionName=plain_fn, ZipFile=distinct_zip())
    client.publish_version(FunctionName=plain_fn)
    client.update_function_code(FunctionName=plain_fn, ZipFile=distinct_zip())
    client.publish_version(FunctionName=plain_fn)
    client.delete_function(FunctionName=plain_fn, Qualifier="2")
    client.put_function_concurrency(FunctionName=plain_fn, ReservedConcurrentExecutions=7)

    create(client, doomed_fn, Publish=True)
    client.delete_function(FunctionName=doomed_fn)

    create(client, last_fn, distinct_zip(), TenancyConfig=PER_TENANT, Publish=True)
    names = [tenant_fn, plain_fn, last_fn]
    gone = [(doomed_fn, None), (plain_fn, "2")]
    return names, gone


@pytest.mark.parametrize("stop", ["sigterm", "kill9"])
def test_every_read_is_identical_after_restart(server_factory, stop):
    server = server_factory.start()
    client = server.client()
    names, gone = build_state(client)
    before = full_state(client, names, gone)
    if stop == "kill9":
        server.kill9()
        assert server.proc.returncode == -signal.SIGKILL
    else:
        server.stop()
        assert server.proc.returncode == 0, "SIGTERM is a clean shutdown"
    server.start()
    after = full_state(server.client(), names, gone)
    assert after == before
    tenant_fn, plain_fn, last_fn = names
    assert after[tenant_fn]["reads"]["$LATEST"]["get_function"]["Configuration"]["TenancyConfig"] == PER_TENANT
    assert after[tenant_fn]["reads"]["live"]["get_function"]["Configuration"]["Version"] == "1"
    assert after[tenant_fn]["reads"]["1"]["get_function"]["Configuration"]["Environment"] == {"Variables": {"STAGE": "one"}}
    assert after[plain_fn]["concurrency"] == {"ReservedConcurrentExecutions": 7}
    assert [v["Version"] for v in after[plain_fn]["versions"]] == ["$LATEST", "1", "3"]
    assert after[last_fn]["reads"]["1"]["get_function"]["Configuration"]["TenancyConfig"] == PER_TENANT
    server.restart()
    assert full_state(server.client(), names, gone) == before, "a second restart reads the same"


def test_kill9_right_after_create_returns(server_factory):
    server = server_factory.start()
    client = server.client()
    code = distinct_zip()
    name = unique("crash")
    created = body(create(client, name, code, TenancyConfig=PER_TENANT, Environment={"Variables": {"KEY": "v"}}))
    server.kill9()
    server.start()
    client = server.client()
    got = client.get_function(FunctionName=name)
    # Everything the create wrote is there; its state settled (Active) at the latest when
    # the server started again, with a new RevisionId, as on AWS.
    assert without_settling(got["Configuration"]) == without_settling(created)
    assert got["Configuration"]["State"] == "Active"
    assert requests.get(got["Code"]["Location"], timeout=10).content == code


def test_counters_and_names_carry_on_after_restart(server_factory):
    server = server_factory.start()
    client = server.client()
    name = unique()
    create(client, name, Publish=True)
    client.update_function_configuration(FunctionName=name, Timeout=5)
    client.publish_version(FunctionName=name)
    client.delete_function(FunctionName=name, Qualifier="2")
    server.kill9()
    server.start()
    client = server.client()
    expect_error("ResourceConflictException", 409, create, client=client, name=name)
    assert client.publish_version(FunctionName=name)["Version"] == "3", "version numbers are never reused"
    client.create_alias(FunctionName=name, Name="live", FunctionVersion="3")
    server.restart()
    client = server.client()
    assert client.get_alias(FunctionName=name, Name="live")["FunctionVersion"] == "3"
    expect_error("ResourceConflictException", 409, client.delete_function, FunctionName=name, Qualifier="3")
