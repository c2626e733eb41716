"""The escape suite: tenant B's code attacks tenant A's environment, the host and the
platform from inside its own sandbox. Every attempt must fail or be contained, A's
secret must never be seen, A must keep working and the server must stay healthy."""

import base64
import concurrent.futures
import json
import os
import uuid

import pytest
import requests

from harness import ROLE, Server, descendants, host_processes, make_zip

SECRET = "s3cr3t-" + uuid.uuid4().hex

HANDLER = r'''
import ctypes, errno, json, os, signal, socket, time, urllib.request
counter = 0

def victim(event, context):
    global counter, secret_in_memory
    secret_in_memory = event["secret"]
    os.environ["TENANT_SECRET"] = event["secret"]
    with open("/tmp/secret.txt", "w") as f:
        f.write(event["secret"])
    counter += 1
    with open("/tmp/secret.txt") as f:
        return {"counter": counter, "secret": f.read(), "env": os.environ.get("TENANT_SECRET")}

def attempt(fn):
    try:
        return {"ok": True, "value": fn()}
    except Exception as e:
        return {"ok": False, "error": type(e).__name__ + ": " + str(e)}

def read(path, mode="r"):
    with open(path, mode) as f:
        return f.read() if mode == "r" else f.read(4096).hex()

def proc_scan(secret):
    pids = [p for p in os.listdir("/proc") if p.isdigit()]
    leaked = []
    for pid in pids:
        for name in ("environ", "cmdline", "maps"):
            try:
                if secret in read(f"/proc/{pid}/{name}", "rb" if name != "maps" else "r"):
                    leaked.append((pid, name))
            except Exception:
                pass
    return {"pids": pids, "leaked": leaked}

def try_connect(port):
    s = socket.socket()
    s.settimeout(1)
    try:
        s.connect(("127.0.0.1", port))
        return "connected"
    finally:
        s.close()

def libc_call(name, *args):
    libc = ctypes.CDLL(None, use_errno=True)
    result = getattr(libc, name)(*args)
    return {"result": result, "errno": ctypes.get_errno()}

def fork_many(limit):
    children, failure = [], None
    for _ in range(limit):
        try:
            pid = os.fork()
        except OSError as e:
            failure = e.errno
            break
        if pid == 0:
            time.sleep(3)
            os._exit(0)
        children.append(pid)
    for pid in children:
        os.kill(pid, signal.SIGKILL)
    for pid in children:
        os.waitpid(pid, 0)
    return {"created": len(children), "failure": failure}

def attacker(event, context):
    secret = event["secret"]
    status = read("/proc/self/status")
    report = {
        "tmp": attempt(lambda: os.listdir("/tmp")),
        "secret_file": attempt(lambda: read("/tmp/secret.txt")),
        "proc": attempt(lambda: proc_scan(secret)),
        "env_has_secret": secret in json.dumps(dict(os.environ)),
        "ptrace": attempt(lambda: libc_call("ptrace", 16, 1, 0, 0)),
        "unshare_user": attempt(lambda: libc_call("unshare", 0x10000000)),
        "mount": attempt(lambda: libc_call("mount", b"none", b"/tmp", b"tmpfs", 0, None)),
        "data_dir": attempt(lambda: os.listdir(event["data_dir"])),
        "other_code": attempt(lambda: os.listdir(event["other_code"])),
        "shadow": attempt(lambda: read("/etc/shadow")),
        "root": attempt(lambda: os.listdir("/root")),
        "control_plane": attempt(lambda: try_connect(event["server_port"])),
        "steal_response": attempt(lambda: urllib.request.urlopen(urllib.request.Request(
            "http://127.0.0.1:9001/2018-06-01/runtime/invocation/" + event["victim_request"] + "/response",
            data=b'"stolen"', method="POST"), timeout=2).status),
        "uid": os.getuid(),
        "caps": {l.split(":")[0]: l.split()[1] for l in status.splitlines() if l.startswith("Cap")},
        # The code store and the activator are visible only until the sandbox is activated.
        "store": attempt(lambda: os.listdir("/.alcove/code")),
        "other_code_in_store": attempt(lambda: os.listdir("/.alcove/code/" + event["other_sha"])),
        "activator": attempt(lambda: os.path.getsize("/.alcove/alcove")),
        "userns_limit": read("/proc/sys/user/max_user_namespaces").strip(),
        "raise_userns_limit": attempt(lambda: open("/proc/sys/user/max_user_namespaces", "w").write("10")),
        "remount_code_rw": attempt(lambda: libc_call("mount", None, b"/var/task", None, 0x20 | 0x1000, None)),
        "unmount_code": attempt(lambda: libc_call("umount2", b"/var/task", 2)),
        "no_new_privs": [l.split()[1] for l in status.splitlines() if l.startswith("NoNewPrivs")][0],
        "seccomp": [l.split()[1] for l in status.splitlines() if l.startswith("Seccomp:")][0],
        "fork": attempt(lambda: fork_many(2000)),
    }
    return report

def fill_tmp(event, context):
    written = 0
    chunk = b"x" * (1 << 20)
    try:
        with open("/tmp/fill", "wb") as f:
            while written < event["limit_mb"] << 20:
                f.write(chunk)
                f.flush()
                written += len(chunk)
        error = None
    except OSError as e:
        error = errno.errorcode.get(e.errno)
    os.unlink("/tmp/fill")
    return {"written_mb": written >> 20, "error": error}

def hog_memory(event, context):
    blocks = []
    while True:
        blocks.append(bytearray(16 << 20))

def spin(event, context):
    end = time.time() + event["seconds"]
    while time.time() < end:
        pass
    return "done"

def own_tmp(event, context):
    mine = "/tmp/" + context.aws_request_id
    with open(mine, "w") as f:
        f.write("x")
    time.sleep(event["sleep"])
    return sorted(os.listdir("/tmp"))

def syscall(number, *args):
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    result = libc.syscall(ctypes.c_long(number), *[ctypes.c_long(a) for a in args])
    return {"result": result, "errno": ctypes.get_errno()}

def status_of(pid):
    with open(f"/proc/{pid}/status") as f:
        return {k: v.strip() for k, v in (line.split(":", 1) for line in f if ":" in line)}

def processes(event, context):
    """Every process of the sandbox, an orphan among them, as the kernel describes it."""
    # An orphaned grandchild, reparented to pid 1 (the red-team's way to an unfiltered
    # process was to make pid 1 run code of its choosing).
    if os.fork() == 0:
        if os.fork() == 0:
            time.sleep(5)
            os._exit(0)
        os._exit(0)
    os.wait()
    time.sleep(0.2)
    seen = {}
    for pid in (p for p in os.listdir("/proc") if p.isdigit()):
        try:
            s = status_of(pid)
            seen[pid] = {"name": s["Name"], "ppid": s["PPid"], "seccomp": s["Seccomp"], "no_new_privs": s["NoNewPrivs"],
                         "cap_eff": s["CapEff"]}
        except OSError:
            pass
    def open_mem():
        with open("/proc/1/mem", "r+b") as f:
            return "opened"
    return {
        "processes": seen,
        "pid1_mem": attempt(open_mem),
        "pid1_environ": attempt(lambda: read("/proc/1/environ", "rb")),
        "kill_pid1": attempt(lambda: os.kill(1, signal.SIGKILL)),
        "pid1_alive_after": os.path.exists("/proc/1/status"),
    }

def denied_calls(event, context):
    """System calls that reach past the sandbox, each tried for real."""
    x86 = {"keyctl": 250, "add_key": 248, "request_key": 249, "userfaultfd": 323, "io_uring_setup": 425,
           "io_uring_enter": 426, "io_uring_register": 427, "pidfd_getfd": 438, "process_madvise": 440,
           "process_mrelease": 448, "bpf": 321, "perf_event_open": 298}
    params = ctypes.create_string_buffer(120)
    args = {"keyctl": (0, 0), "add_key": (0, 0, 0, 0, 0), "request_key": (0, 0, 0, 0), "userfaultfd": (0,),
            "io_uring_setup": (8, ctypes.addressof(params)), "io_uring_enter": (0, 0, 0, 0, 0, 0),
            "io_uring_register": (0, 0, 0, 0), "pidfd_getfd": (0, 0, 0), "process_madvise": (0, 0, 0, 0, 0),
            "process_mrelease": (0, 0), "bpf": (0, 0, 0), "perf_event_open": (0, 0, -1, -1, 0)}
    return {name: syscall(number, *args[name]) for name, number in x86.items()}

def limits(event, context):
    import resource
    def write(path):
        with open(path, "w") as f:
            f.write("x")
        return "written"
    def fill_shm():
        written = 0
        try:
            with open("/dev/shm/fill", "wb") as f:
                while written < 256 << 20:
                    f.write(b"x" * (1 << 20))
                    f.flush()
                    written += 1 << 20
        except OSError as e:
            return {"mb": written >> 20, "error": errno.errorcode.get(e.errno)}
        finally:
            os.unlink("/dev/shm/fill")
        return {"mb": written >> 20, "error": None}
    return {
        "nofile": resource.getrlimit(resource.RLIMIT_NOFILE),
        "raise_nofile": attempt(lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (65536, 65536))),
        "write_root": attempt(lambda: write("/evil")),
        "write_etc": attempt(lambda: write("/etc/ld.so.preload")),
        "write_dev": attempt(lambda: write("/dev/evil")),
        "shm": fill_shm(),
        "cmdline": read("/proc/cmdline"),
        "sched_debug": attempt(lambda: read("/proc/sched_debug")),
        "timer_list": attempt(lambda: read("/proc/timer_list")),
    }

def handler(event, context):
    return globals()[event["role"]](event, context)
'''


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    server = Server(tmp_path_factory.mktemp("escape")).start()
    yield server
    server.stop()


def create(client, memory=256, storage=512, timeout=30, extra_files=None):
    name = f"escape-{uuid.uuid4().hex[:8]}"
    created = client.create_function(
        FunctionName=name, Runtime="python3.12", Handler="app.handler", Role=ROLE,
        Code={"ZipFile": make_zip({"app.py": HANDLER, **(extra_files or {})})}, MemorySize=memory, Timeout=timeout,
        EphemeralStorage={"Size": storage}, TenancyConfig={"TenantIsolationMode": "PER_TENANT"},
    )
    return name, created


def call(client, name, tenant, **event):
    response = client.invoke(FunctionName=name, TenantId=tenant, Payload=json.dumps(event))
    body = json.loads(response["Payload"].read())
    return response, body


def test_tenant_b_cannot_reach_tenant_a(server):
    client = server.client()
    # Memory enough that a thousand forked Python processes hit the process limit first.
    name, created = create(client, memory=3008)
    # Another function, with a code package of its own.
    other, other_created = create(client, extra_files={"private.txt": "another function's file"})
    other_sha = base64.b64decode(other_created["CodeSha256"]).hex()
    assert other_sha != base64.b64decode(created["CodeSha256"]).hex()
    victim_response, victim = call(client, name, "tenant-A", role="victim", secret=SECRET)
    assert victim == {"counter": 1, "secret": SECRET, "env": SECRET}
    port = int(server.url.rsplit(":", 1)[1])
    code_dir = f"{server.data_dir}/code/{other_sha}"
    assert os.path.exists(f"{code_dir}/private.txt")
    response, report = call(
        client, name, "tenant-B", role="attacker", secret=SECRET, data_dir=server.data_dir,
        other_code=code_dir, other_sha=other_sha, server_port=port,
        victim_request=victim_response["ResponseMetadata"]["RequestId"],
    )
    assert "FunctionError" not in response, report
    assert "secret.txt" not in report["tmp"]["value"]
    assert not report["secret_file"]["ok"]
    assert report["proc"]["value"]["leaked"] == []
    assert len(report["proc"]["value"]["pids"]) <= 3, "only the sandbox's own processes are visible"
    assert not report["env_has_secret"]
    assert report["ptrace"]["value"]["result"] == -1
    assert report["unshare_user"]["value"]["result"] == -1
    assert report["mount"]["value"]["result"] == -1
    for attack in ("data_dir", "other_code", "shadow", "control_plane", "steal_response"):
        assert not report[attack]["ok"], (attack, report[attack])
    assert not {".cargo", ".bashrc", ".profile"} & set(report["root"].get("value", []))
    assert report["caps"] == {cap: "0000000000000000" for cap in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")}
    assert report["store"].get("value", []) == [] and not report["other_code_in_store"]["ok"]
    assert report["activator"].get("value", 0) == 0, "the activator's executable is detached"
    assert report["userns_limit"] == "0" and not report["raise_userns_limit"]["ok"]
    assert report["remount_code_rw"]["value"]["result"] == -1
    assert report["unmount_code"]["value"]["result"] == -1
    assert report["no_new_privs"] == "1"
    assert report["seccomp"] == "2"
    fork = report["fork"]["value"]
    assert fork["created"] < 1100 and fork["failure"] is not None, fork
    # A is intact and still warm, its secret still private.
    _, again = call(client, name, "tenant-A", role="victim", secret=SECRET)
    assert again == {"counter": 2, "secret": SECRET, "env": SECRET}
    assert requests.get(f"{server.url}/2016-08-19/account-settings/", timeout=5).status_code == 200


def test_every_process_in_the_sandbox_is_filtered(server):
    """pid 1 of the sandbox is Alcove's init, which installs the seccomp filter before it
    forks the runtime: every process, orphans included, is filtered, and pid 1 is not
    dumpable, so its memory cannot be written to run code outside the filter."""
    client = server.client()
    name, _ = create(client)
    response, report = call(client, name, "prober", role="processes")
    assert "FunctionError" not in response, report
    processes = report["processes"]
    assert "1" in processes and len(processes) >= 3, processes
    for pid, process in processes.items():
        assert process["seccomp"] == "2", (pid, process)
        assert process["no_new_privs"] == "1", (pid, process)
        assert process["cap_eff"] == "0000000000000000", (pid, process)
    orphans = [p for pid, p in processes.items() if p["ppid"] == "1" and pid not in ("1",)]
    assert len(orphans) >= 2, processes  # the runtime and the orphaned grandchild
    assert not report["pid1_mem"]["ok"], report["pid1_mem"]
    assert "Permission denied" in report["pid1_mem"]["error"], report["pid1_mem"]
    assert not report["pid1_environ"]["ok"], report["pid1_environ"]
    assert report["pid1_alive_after"]
    # The environment survived the attempt on its init and is still warm.
    _, again = call(client, name, "prober", role="victim", secret="x")
    assert again["counter"] == 1


def test_system_calls_past_the_sandbox_are_denied(server):
    client = server.client()
    name, _ = create(client)
    response, report = call(client, name, "caller", role="denied_calls")
    assert "FunctionError" not in response, report
    for call_name, outcome in report.items():
        assert outcome == {"result": -1, "errno": 1}, (call_name, outcome)  # EPERM


def test_files_and_limits_are_lambdas(server):
    """Lambda's open-file limit, a read-only root and /dev, a bounded /dev/shm, and no
    host-wide kernel or scheduler detail in /proc."""
    client = server.client()
    name, _ = create(client, memory=512)
    response, report = call(client, name, "limited", role="limits")
    assert "FunctionError" not in response, report
    assert report["nofile"] == [1024, 1024]
    assert not report["raise_nofile"]["ok"]
    for path in ("write_root", "write_etc", "write_dev"):
        assert not report[path]["ok"] and "Read-only file system" in report[path]["error"], (path, report[path])
    assert report["shm"]["error"] == "ENOSPC" and 60 <= report["shm"]["mb"] <= 64, report["shm"]
    assert report["cmdline"] == ""
    for path in ("sched_debug", "timer_list"):
        assert report[path].get("value", "") == "", (path, report[path])


def test_tmp_is_private_and_bounded(server):
    client = server.client()
    name, _ = create(client, memory=1024, storage=512)
    _, filled = call(client, name, "filler", role="fill_tmp", limit_mb=700)
    assert filled["error"] == "ENOSPC" and 500 <= filled["written_mb"] <= 512, filled
    # Two environments of the same tenant do not share /tmp either.
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        listings = list(pool.map(lambda _: call(client, name, "same-tenant", role="own_tmp", sleep=1)[1], range(2)))
    assert all(len(listing) == 1 for listing in listings), listings
    assert listings[0] != listings[1]


def test_memory_exhaustion_is_contained(server):
    client = server.client()
    name, _ = create(client, memory=128)
    _, bystander = call(client, name, "quiet", role="victim", secret=SECRET)
    response, body = call(client, name, "greedy", role="hog_memory")
    assert response["FunctionError"] == "Unhandled"
    assert body["errorType"] == "Runtime.OutOfMemory", body
    _, after = call(client, name, "quiet", role="victim", secret=SECRET)
    assert after["counter"] == bystander["counter"] + 1, "the other tenant's environment survived"
    _, fresh = call(client, name, "greedy", role="victim", secret="x")
    assert fresh["counter"] == 1, "the greedy tenant gets a new environment"


def test_cpu_spinning_does_not_block_others(server):
    client = server.client()
    name, _ = create(client)
    call(client, name, "calm", role="victim", secret=SECRET)
    with concurrent.futures.ThreadPoolExecutor(3) as pool:
        spinners = [pool.submit(call, client, name, f"spinner-{i}", role="spin", seconds=3) for i in range(2)]
        _, calm = call(client, name, "calm", role="victim", secret=SECRET)
        assert calm["counter"] == 2
        assert all(s.result()[1] == "done" for s in spinners)


def host_uids_under(pid):
    """Real uids of the sandboxed processes (uid ≥ 3,000,000) descending from `pid`."""
    table = host_processes()
    return {table[child]["uid"] for child in descendants(table, pid) if table[child]["uid"] >= 3_000_000}


def test_servers_side_by_side_never_share_a_host_uid(tmp_path):
    """Two servers on one host each give their environments distinct host uids: a uid
    held by one server's environment (or by a sandbox it keeps waiting) is never handed
    out by the other."""
    servers = [Server(tmp_path / f"server-{i}").start() for i in range(2)]
    try:
        for server in servers:
            client = server.client()
            name, _ = create(client)
            for tenant in ("tenant-A", "tenant-B"):
                call(client, name, tenant, role="victim", secret=SECRET)
        first, second = (host_uids_under(server.proc.pid) for server in servers)
        # Two environments each, plus the sandboxes each server keeps started ahead.
        assert len(first) >= 2 and len(second) >= 2, (first, second)
        assert not first & second, (first, second)
    finally:
        for server in servers:
            server.stop()
