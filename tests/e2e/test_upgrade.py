"""Upgrading Alcove keeps the data directory: the server starts on a database written by
the store before schema versions and serves everything in it; it refuses, with a clear
message and without writing to it, a database written by a newer Alcove.

The old database is the store's fixture `crates/alcove-store/tests/fixtures/unversioned.db`
(its README lists what it holds). Its functions' code packages are not in the data
directory, so nothing here invokes them; the server must nevertheless start, and its
async dispatcher must not take it down when it finds the queued events."""

import os
import shutil
import sqlite3
import subprocess
import time

import requests

import pytest

from harness import REPO, STORE_BACKEND, Server, binary

# These tests build and inspect SQLite files of earlier releases.
pytestmark = pytest.mark.skipif(STORE_BACKEND != "sqlite", reason="upgrades of the embedded SQLite store")

FIXTURE = os.path.join(REPO, "crates", "alcove-store", "tests", "fixtures", "unversioned.db")


def old_data_dir(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(FIXTURE, data / "alcove.db")
    return data


# The schema version this Alcove writes: one per numbered migration file.
LATEST_SCHEMA = len([f for f in os.listdir(os.path.join(REPO, "crates", "alcove-store", "migrations", "sqlite"))
                     if f.endswith(".sql")])


def user_version(path):
    with sqlite3.connect(path) as conn:
        return conn.execute("PRAGMA user_version").fetchone()[0]


def test_a_data_directory_from_before_schema_versions_is_served(tmp_path):
    data = old_data_dir(tmp_path)
    assert user_version(data / "alcove.db") == 0
    server = Server(data).start()
    try:
        client = server.client()
        names = sorted(f["FunctionName"] for f in client.list_functions()["Functions"])
        assert names == ["orders", "reports"]
        versions = client.list_versions_by_function(FunctionName="orders")["Versions"]
        assert [(v["Version"], v["Timeout"]) for v in versions] == [("$LATEST", 30), ("1", 3), ("2", 30)]
        got = client.get_function(FunctionName="orders", Qualifier="1")
        assert got["Configuration"]["TenancyConfig"] == {"TenantIsolationMode": "PER_TENANT"}
        assert got["Tags"] == {"team": "blue"}
        aliases = client.list_aliases(FunctionName="orders")["Aliases"]
        assert [(a["Name"], a["FunctionVersion"]) for a in aliases] == [("canary", "2"), ("live", "1")]
        assert client.get_function_concurrency(FunctionName="orders")["ReservedConcurrentExecutions"] == 50
        limits = requests.get(f"{server.url}/alcove/v1/functions/orders/tenant-limits", timeout=10)
        assert limits.json() == {"DefaultMaxConcurrency": 5, "Tenants": {"BlueTenant": 20}}
        config = client.get_function_event_invoke_config(FunctionName="orders", Qualifier="live")
        assert config["MaximumRetryAttempts"] == 1
        assert '"Sid":"apigw"' in client.get_policy(FunctionName="orders")["Policy"].replace(" ", "")
        apis = server.client("apigateway").get_rest_apis()["items"]
        assert [(a["id"], a["name"]) for a in apis] == [("api1", "shop")]
        # Still writable: a new version continues the old numbering.
        client.update_function_configuration(FunctionName="orders", Timeout=45)
        assert client.publish_version(FunctionName="orders")["Version"] == "3"
        # The dispatcher has had time to find the two queued events; the server is still up.
        time.sleep(2)
        assert server.proc.poll() is None
        assert client.get_function(FunctionName="reports")["Configuration"]["FunctionName"] == "reports"
    finally:
        server.stop()
    assert user_version(data / "alcove.db") == LATEST_SCHEMA, "adopted as version 1, then migrated to the latest"
    # And it starts again on the now-versioned database.
    server = Server(data).start()
    try:
        versions = server.client().list_versions_by_function(FunctionName="orders")["Versions"]
        assert [v["Version"] for v in versions] == ["$LATEST", "1", "2", "3"]
    finally:
        server.stop()


def test_a_database_from_a_newer_alcove_is_refused(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    database = data / "alcove.db"
    with sqlite3.connect(database) as conn:
        conn.executescript("CREATE TABLE functions (name TEXT PRIMARY KEY, future BLOB);"
                           "INSERT INTO functions VALUES ('orders', x'00');"
                           "PRAGMA user_version = 1000;")
    before = database.read_bytes()
    done = subprocess.run(
        [binary(), "serve", "--listen", "127.0.0.1:0", "--data-dir", str(data)],
        capture_output=True, text=True, timeout=60,
    )
    assert done.returncode != 0
    assert "schema version 1000" in done.stderr and "newer Alcove" in done.stderr, done.stderr
    assert database.read_bytes() == before
    assert not (data / "alcove.db-wal").exists()
