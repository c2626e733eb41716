"""`alcove serve --store`: where the control plane's state lives.

By default a SQLite file in the data directory; with a `postgres://` URL, a PostgreSQL
database (the shared store of a cluster). These tests run a server on a throwaway
PostgreSQL server and check that the state is there and not in the data directory, and
that a store Alcove cannot use is refused at start with a clear message that never shows
a password."""

import json
import os
import subprocess

from harness import ROLE, Server, binary, make_zip
from helpers import PER_TENANT, unique

COUNTER = make_zip({"index.mjs": """
let counter = 0;
export const handler = async (event, context) => ({ counter: counter++, tenantId: context.tenantId });
"""})


def invoke(client, name, tenant):
    reply = client.invoke(FunctionName=name, TenantId=tenant, Payload=b"{}")
    assert "FunctionError" not in reply
    return json.loads(reply["Payload"].read())["counter"]


def test_a_postgres_store_holds_the_state_across_restarts(postgres, tmp_path):
    url = postgres.create_database("store_restart")
    data_dir = tmp_path / "data"
    name = unique("pgstore")
    server = Server(data_dir, "--store", url).start()
    try:
        client = server.client()
        client.create_function(FunctionName=name, Runtime="nodejs20.x", Handler="index.handler", Role=ROLE,
                               Code={"ZipFile": COUNTER}, TenancyConfig=PER_TENANT)
        client.get_waiter("function_active_v2").wait(FunctionName=name)
        client.publish_version(FunctionName=name)
        client.tag_resource(Resource=client.get_function(FunctionName=name)["Configuration"]["FunctionArn"],
                            Tags={"team": "blue"})
        assert [invoke(client, name, "BlueTenant") for _ in range(3)] == [0, 1, 2]
        assert [invoke(client, name, "GreenTenant") for _ in range(2)] == [0, 1]
        assert invoke(client, name, "BlueTenant") == 3
    finally:
        server.stop()

    # The records are in PostgreSQL, in the store's schema; the data directory has no database.
    rows = postgres.psql("-c", f"SELECT name, last_version FROM lambda.functions WHERE name = '{name}'",
                         database="store_restart")
    assert rows.split() == [f"{name}|1"]
    assert not os.path.exists(data_dir / "alcove.db")

    server = Server(data_dir, "--store", url).start()
    try:
        client = server.client()
        function = client.get_function(FunctionName=name)
        assert function["Configuration"]["TenancyConfig"] == PER_TENANT
        assert function["Tags"] == {"team": "blue"}
        assert [v["Version"] for v in client.list_versions_by_function(FunctionName=name)["Versions"]] == ["$LATEST", "1"]
        # A restarted server starts every tenant's environment afresh.
        assert invoke(client, name, "BlueTenant") == 0
    finally:
        server.stop()


def serve_with_store(tmp_path, store):
    return subprocess.run([binary(), "serve", "--listen", "127.0.0.1:0", "--data-dir", str(tmp_path / "data"),
                           "--store", store], capture_output=True, text=True, timeout=60)


def test_an_unknown_store_is_refused(tmp_path):
    result = serve_with_store(tmp_path, "mysql://root@127.0.0.1/alcove")
    assert result.returncode != 0
    assert "expected postgres://user@host/database or sqlite:DIRECTORY" in result.stderr, result.stderr


def test_an_unreachable_postgres_is_refused_without_showing_its_password(tmp_path):
    result = serve_with_store(tmp_path, "postgres://alcove:hunter2@127.0.0.1:1/alcove")
    assert result.returncode != 0
    assert "PostgreSQL at postgres://alcove:***@127.0.0.1:1/alcove" in result.stderr, result.stderr
    assert "hunter2" not in result.stderr


def test_a_sqlite_store_can_live_outside_the_data_directory(tmp_path):
    store_dir = tmp_path / "elsewhere"
    store_dir.mkdir()
    server = Server(tmp_path / "data", "--store", f"sqlite:{store_dir}").start()
    try:
        server.client().create_function(FunctionName=unique("sqlitestore"), Runtime="python3.12",
                                        Handler="app.handler", Role=ROLE,
                                        Code={"ZipFile": make_zip({"app.py": "def handler(e, c):\n    return 1\n"})})
    finally:
        server.stop()
    assert os.path.exists(store_dir / "alcove.db")
    assert not os.path.exists(tmp_path / "data" / "alcove.db")
