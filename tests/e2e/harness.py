"""Starting the real `alcove` binary and talking to it with real clients.

Shared by the end-to-end suites: a server on an ephemeral port with its own data
directory, boto3 clients and the AWS CLI pointed at it, and zip building."""

import atexit
import hashlib
import io
import json
import os
import signal
import sqlite3
import subprocess
import threading
import zipfile

import boto3
from botocore.config import Config

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ROLE = "arn:aws:iam::123456789012:role/lambda-role"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_PAGER": ""}


# `ALCOVE_TEST_STORE=postgres` runs every server on a PostgreSQL store: one throwaway
# PostgreSQL server for the whole run, one database per data directory (a server restarted
# on the same data directory finds its state again, as with the SQLite default).
STORE_BACKEND = os.environ.get("ALCOVE_TEST_STORE", "sqlite")
_postgres = None


def store_args(data_dir):
    """The `--store` arguments for a server on `data_dir` under the chosen backend."""
    global _postgres
    if STORE_BACKEND == "sqlite":
        return []
    if STORE_BACKEND != "postgres":
        raise RuntimeError(f"ALCOVE_TEST_STORE must be sqlite or postgres, not {STORE_BACKEND!r}")
    from postgres import ThrowawayPostgres
    if _postgres is None:
        _postgres = ThrowawayPostgres().start()
        atexit.register(_postgres.stop)
    name = "store_" + hashlib.sha256(os.path.abspath(data_dir).encode()).hexdigest()[:24]
    exists = _postgres.psql("-Atc", f"SELECT 1 FROM pg_database WHERE datname = '{name}'").strip()
    if exists != "1":
        _postgres.create_database(name)
    return ["--store", _postgres.database_url(name)]


def binary(name="alcove"):
    """The binary under test: $ALCOVE_BIN, else the release build, else the debug build."""
    if name == "alcove" and os.environ.get("ALCOVE_BIN"):
        return os.environ["ALCOVE_BIN"]
    for profile in ("release", "debug"):
        path = os.path.join(REPO, "target", profile, name)
        if os.path.exists(path):
            return path
    raise RuntimeError(f"build {name} first (cargo build --release)")


def fixture_bootstrap():
    """The `lambda_runtime` test function's binary (tests/fixtures/lambda-counter)."""
    with open(binary("bootstrap"), "rb") as f:
        return f.read()


def make_zip(files):
    """files: name -> text, bytes, or (bytes, unix mode)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            mode = 0o644
            if isinstance(content, tuple):
                content, mode = content
            if isinstance(content, str):
                content = content.encode()
            info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
            info.external_attr = (0o100000 | mode) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, content)
    return buffer.getvalue()


def create_per_tenant_python(client, name, handler_source, memory=128, timeout=60, **extra):
    """CreateFunction of a PER_TENANT python3.12 function whose `app.py` is
    `handler_source` (entry point `app.handler`); returns `name`."""
    client.create_function(
        FunctionName=name, Runtime="python3.12", Handler="app.handler", Role=ROLE,
        Code={"ZipFile": make_zip({"app.py": handler_source})}, MemorySize=memory, Timeout=timeout,
        TenancyConfig={"TenantIsolationMode": "PER_TENANT"}, **extra,
    )
    # As AWS users do: invoke once the function has left `Pending`.
    client.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig={"Delay": 0.1})
    return name


def host_processes():
    """pid -> {ppid, name, uid (real), seccomp (mode)} of every process on the host."""
    table = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status") as f:
                fields = dict(line.split(":", 1) for line in f if ":" in line)
        except OSError:
            continue
        table[int(entry)] = {"ppid": int(fields["PPid"]), "name": fields["Name"].strip(),
                             "uid": int(fields["Uid"].split()[0]), "seccomp": fields["Seccomp"].strip()}
    return table


def descendants(table, root):
    """The pids in `table` (from host_processes) that descend from `root`."""
    found = set()
    for pid in table:
        ancestor = pid
        while ancestor in table and ancestor != root:
            ancestor = table[ancestor]["ppid"]
        if ancestor == root and pid != root:
            found.add(pid)
    return found


def create_key(data_dir, name=None, policy=None):
    """`alcove keys create` in `data_dir`; returns (access key id, secret)."""
    args = [binary(), "keys", "create", "--data-dir", str(data_dir)]
    if name:
        args += ["--name", name]
    if policy is not None:
        args += ["--policy", policy if isinstance(policy, str) else json.dumps(policy)]
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    fields = dict(line.split(":", 1) for line in out.splitlines() if line.startswith(("AccessKeyId:", "SecretAccessKey:")))
    return fields["AccessKeyId"].strip(), fields["SecretAccessKey"].strip()


def signed_request(url, method, path, credentials, service="lambda", region="us-east-1", body=b"", headers=None):
    """An HTTP request signed with SigV4 by botocore's signer (for Alcove's own API)."""
    import requests
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    request = AWSRequest(method=method, url=url + path, data=body, headers=dict(headers or {}))
    SigV4Auth(Credentials(*credentials), service, region).add_auth(request)
    return requests.request(method, url + path, data=body, headers=dict(request.headers), timeout=60)


class Server:
    """One `alcove serve` process on an ephemeral port."""

    def __init__(self, data_dir, *extra_args):
        self.data_dir = str(data_dir)
        self.extra_args = list(extra_args)
        self.proc = None
        self.url = None
        self.log_path = os.path.join(self.data_dir, "server.log")

    def start(self):
        os.makedirs(self.data_dir, exist_ok=True)
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [binary(), "serve", "--listen", "127.0.0.1:0", "--data-dir", self.data_dir,
             *([] if "--store" in self.extra_args else store_args(self.data_dir)), *self.extra_args],
            stdout=subprocess.PIPE, stderr=log, env={**os.environ, "ALCOVE_LOG": "info"},
        )
        log.close()
        line = self._read_line(timeout=30)
        prefix = "alcove listening on "
        if not line.startswith(prefix):
            raise RuntimeError(f"unexpected first line {line!r}; log:\n{self.log()}")
        self.url = line[len(prefix):].strip()
        return self

    def _read_line(self, timeout):
        result = []
        reader = threading.Thread(target=lambda: result.append(self.proc.stdout.readline().decode()))
        reader.daemon = True
        reader.start()
        reader.join(timeout)
        if not result:
            self.kill9()
            raise RuntimeError(f"server did not start within {timeout}s; log:\n{self.log()}")
        return result[0]

    def log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def function_output(self, marker):
        """JSON documents printed by functions as `<marker> <json>` lines, read from every
        environment's log stream: how tests observe functions that cannot write outside
        their sandbox. Through the CloudWatch Logs API while the server runs; while it is
        down (killed), from the log store's database, which is what it serves once
        restarted."""
        if self.proc is not None and self.proc.poll() is None:
            logs = self.client("logs")
            groups = [g["logGroupName"] for page in logs.get_paginator("describe_log_groups").paginate()
                      for g in page["logGroups"]]
            messages = [event["message"] for group in groups for event in self.log_events(group)]
        else:
            messages = self.stored_messages()
        return [json.loads(m[len(marker) + 1:]) for m in messages if m.startswith(marker + " ")]

    def stored_messages(self):
        """Every stored log event's message, read-only from `logs/logs.db`."""
        path = os.path.join(self.data_dir, "logs", "logs.db")
        if not os.path.exists(path):
            return []
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            return [row[0] for row in connection.execute("SELECT message FROM log_events ORDER BY ts, id")]
        finally:
            connection.close()

    def log_events(self, group, **filters):
        """Every event of a log group (FilterLogEvents, all pages), in time order; none
        when the group does not exist yet."""
        logs = self.client("logs")
        try:
            pages = logs.get_paginator("filter_log_events").paginate(logGroupName=group, **filters)
            return [event for page in pages for event in page["events"]]
        except logs.exceptions.ResourceNotFoundException:
            return []

    def log_streams(self, group):
        """`{stream name: its events' messages, joined in order}` for every stream of a log
        group (DescribeLogStreams, then GetLogEvents from the head until the forward token
        stops moving); empty when the group does not exist yet."""
        logs = self.client("logs")
        try:
            names = [stream["logStreamName"]
                     for page in logs.get_paginator("describe_log_streams").paginate(logGroupName=group)
                     for stream in page["logStreams"]]
        except logs.exceptions.ResourceNotFoundException:
            return {}
        texts = {}
        for name in names:
            events, token = [], None
            while True:
                extra = {"nextToken": token} if token else {}
                page = logs.get_log_events(logGroupName=group, logStreamName=name, startFromHead=True, **extra)
                events += page["events"]
                if page["nextForwardToken"] == token:
                    break
                token = page["nextForwardToken"]
            texts[name] = "".join(event["message"] for event in events)
        return texts

    def log_text(self, function):
        """A function's log: its events' messages (each a line with its newline) in time
        order, as its environments wrote them."""
        return "".join(event["message"] for event in self.log_events(f"/aws/lambda/{function}"))

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=30)

    def kill9(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=30)

    def restart(self):
        self.stop()
        return self.start()

    def create_key(self, name=None, policy=None):
        """`alcove keys create` on this server's data directory (the server may be running
        or not); returns (access key id, secret)."""
        return create_key(self.data_dir, name, policy)

    def client(self, service="lambda", region="us-east-1", validate=True, credentials=("test", "test"),
               session_token=None):
        """A boto3 client; `credentials` (key id, secret) for servers started `--auth sigv4`."""
        return boto3.client(
            service, endpoint_url=self.url, region_name=region,
            aws_access_key_id=credentials[0], aws_secret_access_key=credentials[1],
            aws_session_token=session_token,
            config=Config(retries={"total_max_attempts": 1}, parameter_validation=validate, read_timeout=120),
        )

    def aws(self, *args, region="us-east-1", credentials=None):
        """Runs the AWS CLI; returns (exit code, parsed JSON output or text, stderr).

        `AWS_ENDPOINT_URL` points every client the CLI makes at this server, as users
        configure it: commands that build a second client (`cloudformation deploy
        --s3-bucket` and `package` upload to S3) do not pass `--endpoint-url` on to it."""
        env = {**os.environ, **CREDENTIALS, "AWS_ENDPOINT_URL": self.url}
        if credentials:
            env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"] = credentials
        env.pop("AWS_PROFILE", None)
        done = subprocess.run(
            ["aws", "--endpoint-url", self.url, "--region", region, "--output", "json", *map(str, args)],
            capture_output=True, text=True, env=env, timeout=120,
        )
        try:
            out = json.loads(done.stdout) if done.stdout.strip() else None
        except json.JSONDecodeError:
            out = done.stdout
        return done.returncode, out, done.stderr
