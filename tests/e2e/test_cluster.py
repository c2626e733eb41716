"""Three `alcove serve` nodes on one PostgreSQL store, on loopback ports.

Any node takes any call; a tenant's invokes run on the node rendezvous hashing ranks
first for its (function version, tenant), so its warm environment is found again
whichever node a request reaches. A killed owner is skipped, and a change made on one
node reaches the others."""

import concurrent.futures
import json
import subprocess
import time

import pytest
import requests

from harness import ROLE, Server, binary, make_zip
from helpers import PER_TENANT, unique

COUNTER = make_zip({"index.mjs": """
let counter = 0;
export const handler = async (event, context) => ({ counter: counter++, tenantId: context.tenantId });
"""})

# Each node renews its lease and reads the others this often (serve's heartbeat).
HEARTBEAT_S = 2


def cluster_status(url):
    result = subprocess.run([binary(), "cluster", "status", "--store", url, "--format", "json"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def start_cluster(postgres, tmp_path, *extra):
    url = postgres.create_database(unique("cluster").replace("-", "_"))
    nodes = [Server(tmp_path / f"node-{i}", "--store", url, "--node-id", f"node-{i}", *extra).start()
             for i in range(3)]
    # Every node has read the others (and taken its share of the account's concurrency)
    # once a heartbeat has passed since the last joined.
    live = [n["NodeId"] for n in cluster_status(url)["Nodes"] if n["State"] == "live"]
    assert sorted(live) == ["node-0", "node-1", "node-2"]
    time.sleep(HEARTBEAT_S + 1)
    return url, nodes


def stop_cluster(nodes):
    for node in nodes:
        try:
            node.stop()
        except Exception:
            node.kill9()


@pytest.fixture
def cluster(postgres, tmp_path):
    url, nodes = start_cluster(postgres, tmp_path)
    yield url, nodes
    stop_cluster(nodes)


def invoke(node, name, tenant):
    reply = node.client().invoke(FunctionName=name, TenantId=tenant, Payload=b"{}")
    body = json.loads(reply["Payload"].read())
    assert "FunctionError" not in reply, body
    assert body["tenantId"] == tenant
    return body["counter"]


def environments(node, name):
    reply = requests.get(f"{node.url}/alcove/v1/environments", params={"function": name}, timeout=10)
    assert reply.status_code == 200, reply.text
    return reply.json()["Environments"]


def create_counter(node):
    name = unique("cluster")
    client = node.client()
    client.create_function(FunctionName=name, Runtime="nodejs20.x", Handler="index.handler", Role=ROLE,
                           Code={"ZipFile": COUNTER}, TenancyConfig=PER_TENANT)
    client.get_waiter("function_active_v2").wait(FunctionName=name)
    return name


def test_the_seed_experiment_round_robin_over_three_nodes(cluster):
    _, nodes = cluster
    name = create_counter(nodes[0])
    turn = iter(range(100))

    def next_node():
        return nodes[next(turn) % len(nodes)]

    assert [invoke(next_node(), name, "BlueTenant") for _ in range(3)] == [0, 1, 2]
    assert [invoke(next_node(), name, "GreenTenant") for _ in range(2)] == [0, 1]
    assert invoke(next_node(), name, "BlueTenant") == 3

    # Each tenant's environment lives on exactly one node, whichever nodes the requests hit.
    held = {tenant: [i for i, node in enumerate(nodes)
                     if any(e["TenantId"] == tenant for e in environments(node, name))]
            for tenant in ("BlueTenant", "GreenTenant")}
    assert [len(on) for on in held.values()] == [1, 1], held


def test_a_killed_owner_is_skipped_and_the_others_keep_answering(cluster):
    _, nodes = cluster
    name = create_counter(nodes[0])
    assert [invoke(nodes[i % 3], name, "BlueTenant") for i in range(3)] == [0, 1, 2]
    [owner] = [i for i, node in enumerate(nodes) if environments(node, name)]
    nodes[owner].kill9()
    survivors = [node for i, node in enumerate(nodes) if i != owner]
    # The next owner starts the tenant afresh, and keeps it: from either survivor.
    assert invoke(survivors[0], name, "BlueTenant") == 0
    assert invoke(survivors[1], name, "BlueTenant") == 1
    for node in survivors:
        assert name in [f["FunctionName"] for f in node.client().list_functions()["Functions"]]
    # Once its lease lapses, the killed node is out of every ranking; the tenant stays put.
    time.sleep(10 + HEARTBEAT_S + 1)
    assert [invoke(node, name, "BlueTenant") for node in survivors] == [2, 3]


def test_a_change_on_one_node_reaches_the_others(cluster):
    _, nodes = cluster
    name = create_counter(nodes[0])
    for node in nodes:
        assert invoke(node, name, "GreenTenant") in (0, 1, 2)
        # Read (and cached) on every node.
        node.client().get_function(FunctionName=name)
    nodes[1].client().delete_function(FunctionName=name)
    deadline = time.monotonic() + 2
    for node in nodes:
        while True:
            try:
                node.client().get_function(FunctionName=name)
            except node.client().exceptions.ResourceNotFoundException:
                break
            assert time.monotonic() < deadline, "the delete did not reach every node within 2 s"
            time.sleep(0.05)
        with pytest.raises(node.client().exceptions.ResourceNotFoundException):
            node.client().invoke(FunctionName=name, TenantId="GreenTenant", Payload=b"{}")


def test_forwarded_work_needs_the_cluster_secret(cluster):
    _, nodes = cluster
    reply = requests.post(f"{nodes[0].url}/alcove/cluster/v1/invoke", data=b"{}", timeout=10,
                          headers={"x-alcove-cluster-secret": "guess"})
    assert reply.status_code == 403
    reply = requests.post(f"{nodes[0].url}/alcove/cluster/v1/invoke", data=b"{}", timeout=10)
    assert reply.status_code == 403


RECORDER = make_zip({"app.py": """
import json

def handler(event, context):
    print("DELIVERED " + json.dumps({"i": event["i"], "tenant": context.tenant_id}))
    return event["i"]
"""})


def test_async_events_survive_a_killed_node(cluster):
    _, nodes = cluster
    name = unique("cluster-async")
    client = nodes[0].client()
    client.create_function(FunctionName=name, Runtime="python3.12", Handler="app.handler", Role=ROLE,
                           Code={"ZipFile": RECORDER}, TenancyConfig=PER_TENANT)
    client.get_waiter("function_active_v2").wait(FunctionName=name)
    total, victim = 1000, nodes[1]
    clients = [node.client() for node in nodes]

    def send(i):
        # Round robin; a client whose node is gone sends to the next one, as a caller would.
        for attempt in range(len(nodes)):
            target = (i + attempt) % len(nodes)
            if nodes[target] is victim and victim.proc.poll() is not None:
                continue
            try:
                reply = clients[target].invoke(FunctionName=name, InvocationType="Event",
                                               TenantId=f"tenant-{i % 5}", Payload=json.dumps({"i": i}))
                assert reply["StatusCode"] == 202
                return
            except Exception:
                if nodes[target] is not victim:
                    raise
        raise AssertionError(f"event {i} was accepted by no node")

    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        list(pool.map(send, range(total // 2)))
        victim.kill9()
        list(pool.map(send, range(total // 2, total)))

    # Every event is delivered, with its tenant, by some node (at least once): the victim's
    # own deliveries are read from its log store, the events it held are taken over by
    # the others once its lease lapses.
    deadline = time.monotonic() + 180
    while True:
        delivered = [record for node in nodes for record in node.function_output("DELIVERED")]
        missing = set(range(total)) - {record["i"] for record in delivered}
        if not missing or time.monotonic() > deadline:
            break
        time.sleep(2)
    assert not missing, f"{len(missing)} events never delivered, e.g. {sorted(missing)[:10]}"
    assert all(record["tenant"] == f"tenant-{record['i'] % 5}" for record in delivered)


SPANNER = make_zip({"app.py": """
import json, time

def handler(event, context):
    started = time.time()
    time.sleep(1)
    print("SPAN " + json.dumps({"start": started, "end": time.time(), "tenant": context.tenant_id}))
    return 1
"""})


def test_a_burst_never_runs_more_than_the_account_limit_across_the_cluster(postgres, tmp_path):
    limit = 6
    url, nodes = start_cluster(postgres, tmp_path, "--account-concurrency", str(limit))
    try:
        name = unique("cluster-burst")
        client = nodes[0].client()
        client.create_function(FunctionName=name, Runtime="python3.12", Handler="app.handler", Role=ROLE,
                               Code={"ZipFile": SPANNER}, TenancyConfig=PER_TENANT, Timeout=30)
        client.get_waiter("function_active_v2").wait(FunctionName=name)
        clients = [node.client() for node in nodes]

        def call(i):
            try:
                clients[i % 3].invoke(FunctionName=name, TenantId=f"tenant-{i % 10}", Payload=b"{}")
                return "ran"
            except clients[i % 3].exceptions.TooManyRequestsException:
                return "throttled"

        with concurrent.futures.ThreadPoolExecutor(30) as pool:
            outcomes = list(pool.map(call, range(30)))
        spans = [span for node in nodes for span in node.function_output("SPAN")]
        assert len(spans) == outcomes.count("ran")
        # The most invocations running at any instant, over every node.
        edges = sorted([(s["start"], 1) for s in spans] + [(s["end"], -1) for s in spans])
        running = peak = 0
        for _, step in edges:
            running += step
            peak = max(peak, running)
        assert peak <= limit, f"{peak} invocations ran at once under an account limit of {limit}"
        # Saturated nodes spilled to the others: more ran at once than one node's share.
        assert peak > limit // 3, f"only {peak} ran at once"
        assert outcomes.count("throttled") > 0
    finally:
        stop_cluster(nodes)


def test_a_drained_node_hands_its_tenants_over(cluster):
    url, nodes = cluster
    name = create_counter(nodes[0])
    assert [invoke(nodes[i % 3], name, "BlueTenant") for i in range(2)] == [0, 1]
    [owner] = [i for i, node in enumerate(nodes) if environments(node, name)]
    result = subprocess.run([binary(), "cluster", "drain", f"node-{owner}", "--store", url],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert [n["State"] for n in cluster_status(url)["Nodes"] if n["NodeId"] == f"node-{owner}"] == ["draining"]
    time.sleep(HEARTBEAT_S + 1)
    # The tenant moved (a fresh environment on its next node), from every node, the
    # drained one included; the drained node still answers the API.
    assert [invoke(node, name, "BlueTenant") for node in nodes] == [0, 1, 2]
    assert len(environments(nodes[owner], name)) == 1, "the drained node started an environment"
    undo = subprocess.run([binary(), "cluster", "drain", f"node-{owner}", "--store", url, "--undo"],
                          capture_output=True, text=True, timeout=60)
    assert undo.returncode == 0, undo.stderr
    missing = subprocess.run([binary(), "cluster", "drain", "no-such-node", "--store", url],
                             capture_output=True, text=True, timeout=60)
    assert missing.returncode != 0 and "no node no-such-node" in missing.stderr
