"""Outbound network per function: `alcove:network` tag = `none` (loopback only) or `egress`
(a user-space network stack). PER_TENANT functions default to none, others to egress.
Egress reaches the host's public addresses but never the host's loopback (control plane,
Runtime APIs), and no environment can reach another's listeners."""

import json
import os
import socket
import subprocess
import threading
import uuid

import pytest
from botocore.exceptions import ClientError

from harness import ROLE, descendants, host_processes, make_zip
from helpers import PER_TENANT, unique

HANDLER = r'''
import os, socket

def connect(host, port):
    s = socket.socket()
    s.settimeout(2)
    try:
        s.connect((host, port))
    except Exception as e:
        return {"ok": False, "error": type(e).__name__ + ": " + str(e)}
    try:
        s.settimeout(0.5)
        return {"ok": True, "banner": s.recv(64).decode()}
    except socket.timeout:
        return {"ok": True, "banner": ""}
    except Exception as e:
        return {"ok": False, "error": type(e).__name__ + ": " + str(e)}
    finally:
        s.close()

listener = None

def handler(event, context):
    global listener
    if event.get("listen"):
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("0.0.0.0", event["listen"]))
        listener.listen()
    return {
        "interfaces": sorted(name for _, name in socket.if_nameindex()),
        "targets": {f"{h}:{p}": connect(h, p) for h, p in event.get("targets", [])},
    }
'''
CODE = make_zip({"app.py": HANDLER})
BANNER = "hello-from-the-host"


def host_address():
    """A non-loopback address of this host (what egress may reach)."""
    out = subprocess.run(["ip", "-4", "-o", "addr", "show", "scope", "global"], capture_output=True, text=True).stdout
    for line in out.splitlines():
        return line.split()[3].split("/")[0]
    pytest.skip("this host has no non-loopback IPv4 address to reach")


@pytest.fixture(scope="module")
def outside():
    """A TCP service on all host addresses that greets whoever connects."""
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("0.0.0.0", 0))
    listener.listen(16)
    stop = threading.Event()

    def serve():
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            conn.sendall(BANNER.encode())
            conn.close()

    threading.Thread(target=serve, daemon=True).start()
    yield host_address(), listener.getsockname()[1]
    stop.set()
    listener.close()


def create(client, tenancy=True, tags=None):
    name = unique("net")
    extra = {"TenancyConfig": PER_TENANT} if tenancy else {}
    if tags:
        extra["Tags"] = tags
    client.create_function(FunctionName=name, Runtime="python3.12", Handler="app.handler", Role=ROLE,
                           Code={"ZipFile": CODE}, Timeout=15, **extra)
    return name


def probe(client, name, tenant=None, **event):
    extra = {"TenantId": tenant} if tenant else {}
    reply = client.invoke(FunctionName=name, Payload=json.dumps(event), **extra)
    result = json.loads(reply["Payload"].read())
    assert "FunctionError" not in reply, result
    return result


def test_per_tenant_functions_have_loopback_only_by_default(lambda_client, outside):
    name = create(lambda_client)
    host, port = outside
    result = probe(lambda_client, name, "BlueTenant", targets=[(host, port)])
    assert result["interfaces"] == ["lo"]
    assert not result["targets"][f"{host}:{port}"]["ok"]


def test_egress_reaches_out_but_not_the_host_loopback(server, lambda_client, outside):
    name = create(lambda_client, tags={"alcove:network": "egress"})
    host, port = outside
    control_plane = int(server.url.rsplit(":", 1)[1])
    result = probe(lambda_client, name, "BlueTenant",
                   targets=[(host, port), ("10.0.2.2", port), ("10.0.2.2", control_plane), ("127.0.0.1", control_plane)])
    assert "tap0" in result["interfaces"]
    targets = result["targets"]
    assert targets[f"{host}:{port}"] == {"ok": True, "banner": BANNER}
    # The gateway's address is the host's loopback, which stays out of reach, and the
    # environment's own loopback is its own.
    for blocked in (f"10.0.2.2:{port}", f"10.0.2.2:{control_plane}", f"127.0.0.1:{control_plane}"):
        assert not targets[blocked]["ok"], blocked


def test_plain_functions_default_to_egress_and_tags_switch_it(lambda_client, outside):
    host, port = outside
    target = f"{host}:{port}"
    name = create(lambda_client, tenancy=False)
    assert probe(lambda_client, name, targets=[(host, port)])["targets"][target]["ok"]

    arn = lambda_client.get_function(FunctionName=name)["Configuration"]["FunctionArn"]
    lambda_client.tag_resource(Resource=arn, Tags={"alcove:network": "none", "team": "blue"})
    assert lambda_client.list_tags(Resource=arn)["Tags"] == {"alcove:network": "none", "team": "blue"}
    assert lambda_client.get_function(FunctionName=name)["Tags"] == {"alcove:network": "none", "team": "blue"}
    # The warm environment had egress; the change retires it, the next one has none.
    result = probe(lambda_client, name, targets=[(host, port)])
    assert result["interfaces"] == ["lo"] and not result["targets"][target]["ok"]

    lambda_client.untag_resource(Resource=arn, TagKeys=["alcove:network"])
    assert lambda_client.list_tags(Resource=arn)["Tags"] == {"team": "blue"}
    assert probe(lambda_client, name, targets=[(host, port)])["targets"][target]["ok"]


def test_tags_reach_published_versions(lambda_client, outside):
    host, port = outside
    name = create(lambda_client)
    version = lambda_client.publish_version(FunctionName=name)["Version"]
    arn = lambda_client.get_function(FunctionName=name)["Configuration"]["FunctionArn"]
    lambda_client.tag_resource(Resource=arn, Tags={"alcove:network": "egress"})
    result = probe(lambda_client, f"{name}:{version}", "GreenTenant", targets=[(host, port)])
    assert result["targets"][f"{host}:{port}"]["ok"]


def test_no_network_path_between_environments(lambda_client):
    """Tenant A's environment listens; tenant B, with egress too, finds nothing there:
    10.0.2.100 is every environment's own address, and nothing forwards into one."""
    name = create(lambda_client, tags={"alcove:network": "egress"})
    port = 7000 + uuid.uuid4().int % 1000
    own = probe(lambda_client, name, "TenantA", listen=port, targets=[("127.0.0.1", port)])
    assert own["targets"][f"127.0.0.1:{port}"] == {"ok": True, "banner": ""}
    attacker = probe(lambda_client, name, "TenantB", targets=[("10.0.2.100", port), ("127.0.0.1", port), (host_address(), port)])
    for target, outcome in attacker["targets"].items():
        assert not outcome["ok"], target


# A key over the model's 128 characters is AWS's ValidationException; the rules the model
# cannot state are invalid parameter values.
@pytest.mark.parametrize("tags, message, code", [
    ({"alcove:network": "open"}, "must be 'none' or 'egress'", "InvalidParameterValueException"),
    ({"aws:reserved": "x"}, "reserved prefix", "InvalidParameterValueException"),
    ({"k" * 129: "x"}, "Member must have length less than or equal to 128", "ValidationException"),
])
def test_invalid_tags_are_refused(raw_client, lambda_client, tags, message, code):
    with pytest.raises(ClientError) as caught:
        create(raw_client, tags=tags)
    assert caught.value.response["Error"]["Code"] == code
    assert message in caught.value.response["Error"]["Message"]

    name = create(lambda_client)
    arn = lambda_client.get_function(FunctionName=name)["Configuration"]["FunctionArn"]
    with pytest.raises(ClientError) as caught:
        raw_client.tag_resource(Resource=arn, Tags=tags)
    assert caught.value.response["Error"]["Code"] == code
    assert lambda_client.list_tags(Resource=arn)["Tags"] == {}


def test_tags_on_unknown_functions(lambda_client):
    arn = "arn:aws:lambda:us-east-1:000000000000:function:" + unique("missing")
    for call in (lambda: lambda_client.list_tags(Resource=arn),
                 lambda: lambda_client.tag_resource(Resource=arn, Tags={"a": "b"}),
                 lambda: lambda_client.untag_resource(Resource=arn, TagKeys=["a"])):
        with pytest.raises(ClientError) as caught:
            call()
        assert caught.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_cli_tags_at_creation(server, tmp_path, outside):
    package = tmp_path / "function.zip"
    package.write_bytes(CODE)
    name = unique("net-cli")
    rc, created, err = server.aws(
        "lambda", "create-function", "--function-name", name, "--runtime", "python3.12", "--handler", "app.handler",
        "--role", ROLE, "--zip-file", f"fileb://{package}", "--tenancy-config", '{"TenantIsolationMode":"PER_TENANT"}',
        "--tags", "alcove:network=egress,team=green",
    )
    assert rc == 0, err
    rc, tags, err = server.aws("lambda", "list-tags", "--resource", created["FunctionArn"])
    assert rc == 0, err
    assert tags["Tags"] == {"alcove:network": "egress", "team": "green"}


def as_uid(uid, action):
    """Runs `action` in a child process with the host credentials of `uid`; returns what
    it raised or returned, as text."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        try:
            os.setgroups([])
            os.setresgid(uid, uid, uid)
            os.setresuid(uid, uid, uid)
            outcome = f"ok: {action()}"
        except Exception as e:
            outcome = f"{type(e).__name__}: {e}"
        os.write(write, outcome.encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        outcome = pipe.read()
    os.waitpid(pid, 0)
    return outcome


def test_egress_stack_runs_as_the_environment_without_the_staging_area(server, lambda_client, outside):
    """A network stack parses what the function sends: it runs as its environment's
    unprivileged uid, filtered, and sees neither the code store nor the `/etc` every
    sandbox shares; with its credentials nothing another environment reads can be
    changed, and the staging area is read-only even to the server's root."""
    name = create(lambda_client, tags={"alcove:network": "egress"})
    host, port = outside
    assert probe(lambda_client, name, "BlueTenant", targets=[(host, port)])["targets"][f"{host}:{port}"]["ok"]
    table = host_processes()
    stacks = [pid for pid in descendants(table, server.proc.pid) if table[pid]["name"] == "slirp4netns"]
    assert stacks, "the environment's network stack runs under the server"
    sandbox_uids = {table[pid]["uid"] for pid in descendants(table, server.proc.pid) if table[pid]["name"] != "slirp4netns"}
    for stack in stacks:
        uid, seccomp = table[stack]["uid"], table[stack]["seccomp"]
        assert uid >= 3_000_000, f"slirp4netns runs as host uid {uid}"
        assert uid in sandbox_uids, "as the uid of the environment it serves"
        assert seccomp == "2"
        root = f"/proc/{stack}/root"
        assert sorted(os.listdir(root)) == ["etc", "run"]
        staging = f"{root}/run/alcove-staging"
        assert not os.path.isdir(staging) or os.listdir(staging) == [], os.listdir(staging)
        # With the stack's credentials: nothing it sees can be written.
        for target in (f"{root}/etc/ld.so.preload", f"{root}/run/alcove-staging/etc/ld.so.preload", f"{root}/run/x"):
            outcome = as_uid(uid, lambda: open(target, "w").write("/tmp/evil.so"))
            assert not outcome.startswith("ok"), (target, outcome)
    # Even the server's own root cannot change what the sandboxes share.
    staged = subprocess.run(["nsenter", "-t", str(server.proc.pid), "-m", "touch", "/run/alcove-staging/etc/ld.so.preload"],
                            capture_output=True, text=True)
    assert staged.returncode != 0 and "Read-only file system" in staged.stderr, staged
