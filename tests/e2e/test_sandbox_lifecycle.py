"""How sandboxes are started and ended: ahead of need by the starter process, activated
per function, reaped by the server. Driven through the real binary with boto3."""

import json
import os
import signal
import time

from harness import ROLE, Server, fixture_bootstrap, make_zip

NATIVE = make_zip({"bootstrap": (fixture_bootstrap(), 0o755)})


def children(pid):
    """(pid, state, command line) of every process whose parent is `pid`."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmdline = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        # The command name may hold spaces: the fields after it are what we read.
        state, ppid = stat.rsplit(")", 1)[1].split()[:2]
        if int(ppid) == pid:
            found.append((int(entry), state, cmdline))
    return found


def starter_of(server):
    # A sandbox the starter has just forked shows the starter's command line until it
    # executes bwrap, for a few microseconds: look again until one is left.
    for _ in range(100):
        starters = [pid for pid, _, cmd in children(server.proc.pid) if "__sandbox-starter" in cmd]
        if len(starters) == 1:
            return starters[0]
        time.sleep(0.02)
    raise AssertionError(children(server.proc.pid))


def create_counter(client, name):
    client.create_function(
        FunctionName=name, Runtime="provided.al2023", Role=ROLE, Handler="bootstrap",
        Code={"ZipFile": NATIVE}, TenancyConfig={"TenantIsolationMode": "PER_TENANT"},
    )


def invoke(client, name, tenant):
    response = client.invoke(FunctionName=name, TenantId=tenant, Payload=b"{}")
    assert "FunctionError" not in response, response["Payload"].read()
    return json.loads(response["Payload"].read())


def test_a_starter_that_dies_is_replaced(tmp_path):
    server = Server(tmp_path / "data").start()
    try:
        client = server.client()
        create_counter(client, "counter")
        invoke(client, "counter", "before")
        first = starter_of(server)
        os.kill(first, signal.SIGKILL)
        # More new tenants than sandboxes kept ready: the next ones need the starter.
        for i in range(12):
            invoke(client, "counter", f"after-{i}")
        assert starter_of(server) != first
        assert invoke(client, "counter", "before")["counter"] == 1, "warm state survived"
    finally:
        server.stop()


def test_ended_environments_leave_no_zombies(tmp_path):
    server = Server(tmp_path / "data", "--max-environments", "2").start()
    try:
        client = server.client()
        create_counter(client, "counter")
        # Every new tenant past the second evicts an environment.
        for i in range(12):
            invoke(client, "counter", f"tenant-{i}")
        deadline = time.time() + 5
        while True:
            zombies = [c for c in children(server.proc.pid) if c[1] == "Z"]
            if not zombies or time.time() > deadline:
                break
            time.sleep(0.1)
        assert zombies == []
        bwraps = [c for c in children(server.proc.pid) if "bwrap" in c[2]]
        # Two environments and the sandboxes kept ready; nothing left of the evicted ten.
        assert 2 <= len(bwraps) <= 2 + 4 + 1, bwraps
    finally:
        server.stop()


def descendants(pid):
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    parents[int(entry)] = int(f.read().rsplit(")", 1)[1].split()[1])
            except OSError:
                pass
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_frozen_environments_of_a_killed_server_are_swept(tmp_path):
    """A server killed with SIGKILL cannot stop its idle environments, and a frozen
    process does not act on the SIGKILL its sandbox sends when the server dies (cgroup
    v1): the next server to start removes them."""
    first = Server(tmp_path / "first").start()
    client = first.client()
    create_counter(client, "counter")
    for tenant in ("blue", "green"):
        invoke(client, "counter", tenant)
    time.sleep(0.2)  # idle long enough to be frozen
    left = descendants(first.proc.pid)
    assert left
    first.kill9()
    second = Server(tmp_path / "second").start()
    try:
        deadline = time.time() + 10
        while any(alive(pid) for pid in left) and time.time() < deadline:
            time.sleep(0.1)
        assert not [pid for pid in left if alive(pid)]
        # The new server works, in fresh cgroups.
        create_counter(second.client(), "counter")
        assert invoke(second.client(), "counter", "blue")["counter"] == 0
    finally:
        second.stop()
