"""Availability under hostile output: functions that write without newlines, flood their
logs or find the disk nearly full must not take the server, its other tenants or its
disk with them. Every attack runs from inside a real PER_TENANT Python function against
the real binary; containment is measured on the server process (/proc/<pid>/stat and
status) and on the log files under the data directory."""

import base64
import concurrent.futures
import json
import os
import re
import statistics
import time
import uuid

import pytest

from harness import Server, create_per_tenant_python

MIB = 1 << 20
MAX_LINE = 256 * 1024

HANDLER = r'''
import os, time

def flood_no_newline(event, context):
    """Writes to stdout without a newline, as fast as the pipe takes it."""
    chunk = b"x" * 65536
    end = time.time() + event["seconds"]
    written = 0
    while time.time() < end:
        written += os.write(1, chunk)
    return {"written": written}

def flood_lines(event, context):
    """Writes 100-byte lines as fast as the pipe takes them."""
    block = (b"y" * 99 + b"\n") * 655
    end = time.time() + event["seconds"]
    written = 0
    while time.time() < end:
        written += os.write(1, block)
    return {"written": written}

def long_line(event, context):
    os.write(1, b"L" * event["bytes"] + b"\n")
    return "done"

def say(event, context):
    for i in range(event["lines"]):
        print(f"function line {i}", flush=True)
    return "said"

def echo(event, context):
    return event

def handler(event, context):
    return globals()[event["role"]](event, context)
'''


def create(client, prefix, memory=128, timeout=60):
    return create_per_tenant_python(client, f"{prefix}-{uuid.uuid4().hex[:8]}", HANDLER, memory, timeout)


def call(client, name, tenant, log_type=None, **event):
    extra = {"LogType": log_type} if log_type else {}
    response = client.invoke(FunctionName=name, TenantId=tenant, Payload=json.dumps(event), **extra)
    body = json.loads(response["Payload"].read())
    assert "FunctionError" not in response, body
    return response, body


def timed(client, name, tenant, **event):
    started = time.monotonic()
    call(client, name, tenant, **event)
    return time.monotonic() - started


def cpu_seconds(pid):
    """utime + stime of the server process (all its threads)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def log_text(server, function):
    return server.log_text(function)


def logged_bytes(server, function):
    return len(server.log_text(function).encode())


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    server = Server(tmp_path_factory.mktemp("availability-logs")).start()
    yield server
    server.stop()


def test_output_without_newlines_does_not_take_the_server(server):
    """Four 128 MB functions write to stdout without a newline, flat out, for 10 s. The
    copier's work must stay linear in the bytes read and its memory bounded, so another
    tenant's warm invokes stay fast, a cold start of another function stays normal and the
    server uses a fraction of a core."""
    client = server.client()
    attackers = [create(client, "nonl") for _ in range(4)]
    victim = create(client, "victim")
    cold = create(client, "cold")
    for name in attackers:
        call(client, name, "warmup", role="echo")
    call(client, victim, "victim", role="echo")
    baseline = statistics.median(timed(client, victim, "victim", role="echo") for _ in range(5))
    pid = server.proc.pid
    rss_before = rss_mib(pid)
    cpu_before, wall_before = cpu_seconds(pid), time.monotonic()

    seconds = 10
    attack_ends = wall_before + seconds
    warm, peak = [], [rss_before]
    cold_start = []

    def measure_warm():
        victim_client = server.client()
        time.sleep(2)  # the attack is under way
        while time.monotonic() < attack_ends - 1:
            warm.append(timed(victim_client, victim, "victim", role="echo"))
            peak.append(rss_mib(pid))
            time.sleep(0.1)

    def measure_cold():
        time.sleep(3)
        cold_start.append(timed(server.client(), cold, "newcomer", role="echo"))

    with concurrent.futures.ThreadPoolExecutor(len(attackers) + 2) as pool:
        floods = [pool.submit(call, server.client(), name, f"attacker-{i}", role="flood_no_newline", seconds=seconds)
                  for i, name in enumerate(attackers)]
        measurers = [pool.submit(measure_warm), pool.submit(measure_cold)]
        written = [f.result()[1]["written"] for f in floods]
        cpu = cpu_seconds(pid) - cpu_before
        wall = time.monotonic() - wall_before
        peak.append(rss_mib(pid))
        for measurer in measurers:
            measurer.result()
    peak_rss = max(peak)
    cold_start = cold_start[0]

    report = (f"flooded {sum(written) / MIB:.0f} MiB; victim warm invokes baseline {baseline * 1000:.0f} ms, "
              f"during the attack median {statistics.median(warm) * 1000:.0f} ms max {max(warm) * 1000:.0f} ms "
              f"({len(warm)} invokes); cold start {cold_start:.2f} s; server CPU {cpu:.2f} s in {wall:.1f} s; "
              f"RSS {rss_before:.0f} -> {peak_rss:.0f} MiB")
    print(report)
    assert max(warm) < 1.0, report
    assert statistics.median(warm) < 0.3, report
    assert cold_start < 3.0, report
    assert cpu < 0.25 * wall, "the server used less than a quarter of a core: " + report
    assert peak_rss - rss_before < 16, "the copiers hold at most a 256 KB line per pipe: " + report
    assert sum(written) > 100 * MIB, "the attack really wrote: " + report
    # What was written is in the logs as 256 KB lines, as far as the budget let it.
    lines = [len(line) for line in log_text(server, attackers[0]).split("\n") if line.startswith("xxx")]
    assert lines and all(length == MAX_LINE for length in lines), lines[:5]


def test_a_log_flood_stays_within_the_budget(server):
    """One invoke writes lines flat out for 5 s. The log files get at most the
    environment's burst (4 MiB) plus its rate (1 MiB/s) for the invoke's duration, a
    marker says what was dropped, the platform lines are all there and LogType: Tail
    still works."""
    client = server.client()
    name = create(client, "flood")
    started = time.monotonic()
    response, body = call(client, name, "flooder", log_type="Tail", role="flood_lines", seconds=5)
    elapsed = time.monotonic() - started
    written = logged_bytes(server, name)
    budget = 4 * MIB + elapsed * MIB
    report = f"the function wrote {body['written'] / MIB:.0f} MiB in {elapsed:.1f} s; the log holds {written / MIB:.2f} MiB"
    print(report)
    assert body["written"] > 20 * MIB, report
    # Slack: the platform's lines and the last marker.
    assert 4 * MIB <= written <= budget + 128 * 1024, report

    text = log_text(server, name)
    request_id = response["ResponseMetadata"]["RequestId"]
    lines = text.split("\n")
    markers = [line for line in lines if line.startswith("alcove: dropped ")]
    pattern = re.compile(r"^alcove: dropped (\d+) bytes \((\d+) lines\) of log output: "
                         r"the environment's log rate limit \(1 MiB/s\) was exceeded$")
    assert markers and all(pattern.match(m) for m in markers), markers
    dropped = sum(int(pattern.match(m).group(1)) for m in markers)
    kept = sum(len(line) + 1 for line in lines if line.startswith("yyy"))
    assert dropped + kept == body["written"], "every byte is logged or counted as dropped"
    assert [line for line in lines if line.startswith("START ")] == [f"START RequestId: {request_id} Version: $LATEST"]
    end = lines.index(f"END RequestId: {request_id}")
    assert lines.index(markers[-1]) < end, "the markers come before END"
    assert lines[end + 1].startswith(f"REPORT RequestId: {request_id}\t")

    tail = base64.b64decode(response["LogResult"]).decode()
    assert markers[-1] in tail and f"END RequestId: {request_id}" in tail and "REPORT RequestId" in tail, tail[-500:]


def test_lines_longer_than_256_kb_are_cut(server):
    client = server.client()
    name = create(client, "long")
    call(client, name, "t", role="long_line", bytes=600 * 1024)
    pieces = [len(line) for line in log_text(server, name).split("\n") if line.startswith("L")]
    assert pieces == [MAX_LINE, MAX_LINE, 600 * 1024 - 2 * MAX_LINE]


def test_function_budget_is_shared_by_its_tenants(server_factory):
    """Six tenants of one function flood at once; together they get the function's budget,
    not six environments' worth."""
    server = server_factory.start(None, "--log-rate-per-function", "1", "--log-burst-per-function", "2")
    client = server.client()
    name = create(client, "shared")
    for i in range(6):
        call(client, name, f"tenant-{i}", role="echo")
    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(6) as pool:
        floods = [pool.submit(call, client, name, f"tenant-{i}", role="flood_lines", seconds=4) for i in range(6)]
        written = sum(f.result()[1]["written"] for f in floods)
    elapsed = time.monotonic() - started
    logged = logged_bytes(server, name)
    report = f"six tenants wrote {written / MIB:.0f} MiB in {elapsed:.1f} s; the log holds {logged / MIB:.2f} MiB"
    print(report)
    # 2 MiB of burst and 1 MiB/s; slack for the platform's lines and the last markers.
    assert 2 * MIB <= logged <= 2 * MIB + elapsed * MIB + 256 * 1024, report
    assert "the function's log rate limit (1 MiB/s, shared by all its environments) was exceeded" in log_text(server, name)


def test_below_the_disk_watermark_function_output_is_refused(server_factory, tmp_path):
    """With the watermark above the data directory's free space, function output is
    dropped (with a marker), the platform's lines are still written and the control plane,
    which writes SQLite, keeps working."""
    data_dir = tmp_path / "full"
    data_dir.mkdir()
    stats = os.statvfs(data_dir)
    free_mib = stats.f_bavail * stats.f_frsize // MIB
    server = server_factory.start(data_dir, "--log-disk-reserve", str(free_mib + 100 * 1024))
    client = server.client()
    name = create(client, "full")
    response, body = call(client, name, "t", log_type="Tail", role="say", lines=50)
    assert body == "said"
    request_id = response["ResponseMetadata"]["RequestId"]
    text = log_text(server, name)
    assert "function line" not in text, text[:2000]
    lines = text.split("\n")
    assert f"START RequestId: {request_id} Version: $LATEST" in lines
    end = lines.index(f"END RequestId: {request_id}")
    assert re.match(r"^alcove: dropped \d+ bytes \(50 lines\) of log output: the data directory's free space "
                    r"is below the log watermark \(.+\)$", lines[end - 1]), lines[end - 1]
    assert lines[end + 1].startswith(f"REPORT RequestId: {request_id}\t")
    tail = base64.b64decode(response["LogResult"]).decode()
    assert "function line" not in tail and "below the log watermark" in tail
    # The control plane still works: a new function is stored and runs.
    other = create(client, "after")
    assert call(client, other, "t", role="echo", value=1)[1] == {"role": "echo", "value": 1}
    assert other in [f["FunctionName"] for f in client.list_functions()["Functions"]]
