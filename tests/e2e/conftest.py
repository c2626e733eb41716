"""Fixtures shared by the end-to-end suites.

`server` is one `alcove serve` per test module (tests use unique function names, so they
can share it); `server_factory` starts private servers for tests that stop, kill or
restart them. Modules that define their own `server` fixture override this one. When a
test fails, the tail of every server log it used is attached to the report. `postgres` is
a throwaway PostgreSQL cluster shared by the session (tests needing it skip without
PostgreSQL installed)."""

import os

import pytest
import requests

from harness import Server, make_zip
from postgres import ThrowawayPostgres, find_bindir

LOG_TAIL_BYTES = 20_000


class Http:
    """Raw HTTP against the server: paths starting with / are relative to its URL."""

    def __init__(self, server):
        self.server = server

    def request(self, method, path, **kwargs):
        kwargs.setdefault("timeout", 30)
        url = self.server.url + path if path.startswith("/") else path
        return requests.request(method, url, **kwargs)

    def get(self, path, **kwargs):
        return self.request("GET", path, **kwargs)

    def post(self, path, **kwargs):
        return self.request("POST", path, **kwargs)

    def put(self, path, **kwargs):
        return self.request("PUT", path, **kwargs)

    def delete(self, path, **kwargs):
        return self.request("DELETE", path, **kwargs)


class ServerFactory:
    """Starts servers on data directories of the caller's choosing; stops them all at teardown."""

    def __init__(self, base):
        self.base = base
        self.servers = []

    def start(self, data_dir=None, *extra_args):
        data_dir = data_dir or self.base / f"data-{len(self.servers)}"
        server = Server(data_dir, *extra_args).start()
        self.servers.append(server)
        return server

    def close(self):
        for server in self.servers:
            try:
                server.stop()
            except Exception:
                server.kill9()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    server = Server(tmp_path_factory.mktemp("alcove")).start()
    yield server
    server.stop()


@pytest.fixture
def server_factory(tmp_path):
    factory = ServerFactory(tmp_path)
    yield factory
    factory.close()


@pytest.fixture(scope="session")
def postgres():
    """A started ThrowawayPostgres: `create_database(name)` gives each test its own database."""
    if find_bindir() is None:
        pytest.skip("PostgreSQL is not installed (no initdb/postgres under /usr/lib/postgresql/*/bin, "
                    "`pg_config --bindir` or PATH)")
    with ThrowawayPostgres() as cluster:
        yield cluster


@pytest.fixture(scope="module")
def lambda_client(server):
    return server.client()


@pytest.fixture(scope="module")
def raw_client(server):
    """No client-side validation: for values botocore would refuse before sending."""
    return server.client(validate=False)


@pytest.fixture(scope="module")
def aws(server):
    def call(*args, region="us-east-1"):
        return server.aws("lambda", *args, region=region)
    return call


@pytest.fixture(scope="session")
def zip_bytes():
    """zip_bytes({name: text | bytes | (bytes, unix mode)}) -> the zip's bytes."""
    return make_zip


@pytest.fixture(scope="module")
def http(server):
    return Http(server)


def _servers_used_by(item):
    found = []
    for value in getattr(item, "funcargs", {}).values():
        if isinstance(value, Server):
            found.append(value)
        elif isinstance(value, ServerFactory):
            found.extend(value.servers)
    return found


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if not report.failed:
        return
    for server in _servers_used_by(item):
        try:
            with open(server.log_path, "rb") as f:
                f.seek(0, os.SEEK_END)
                f.seek(max(0, f.tell() - LOG_TAIL_BYTES))
                tail = f.read().decode(errors="replace")
        except OSError as error:
            tail = f"(no log: {error})"
        state = "running" if server.proc and server.proc.poll() is None else f"exited {server.proc.returncode if server.proc else None}"
        report.sections.append((f"alcove stderr ({server.url}, {state})", tail))
