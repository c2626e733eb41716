"""Accepted Event invocations survive kill -9 of the server at any moment: 1,000 events,
the server killed while they are being accepted and run, and again while it drains them
after a restart; every event runs at least once, with its tenant and request id."""

import json
import time
import uuid

import requests

from harness import ROLE, Server, make_zip

EVENTS = 1000

HANDLER = '''
import json, time
def handler(event, context):
    time.sleep(event["sleep"])
    print("DELIVERED", json.dumps({"n": event["n"], "tenant": context.tenant_id, "id": context.aws_request_id}), flush=True)
    return "ok"
'''


def test_queued_events_survive_kill_9(tmp_path):
    server = Server(tmp_path / "data").start()
    try:
        client = server.client()
        name = f"durable-{uuid.uuid4().hex[:8]}"
        client.create_function(
            FunctionName=name, Runtime="python3.12", Handler="app.handler", Role=ROLE,
            Code={"ZipFile": make_zip({"app.py": HANDLER})}, Timeout=30,
            TenancyConfig={"TenantIsolationMode": "PER_TENANT"},
        )
        accepted = {}
        for n in range(EVENTS):
            response = client.invoke(
                FunctionName=name, TenantId=f"tenant-{n % 10}", InvocationType="Event",
                Payload=json.dumps({"n": n, "sleep": 0.01}),
            )
            assert response["StatusCode"] == 202
            accepted[n] = response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"]
        server.kill9()
        delivered = lambda: {line["n"] for line in server.function_output("DELIVERED")}
        assert len(delivered()) < EVENTS, "the kill must interrupt the queue for this test to mean anything"

        # Killed again while draining, then left to finish.
        server.start()
        deadline = time.time() + 60
        while time.time() < deadline and len(delivered()) < EVENTS // 2:
            time.sleep(0.1)
        server.kill9()
        assert len(delivered()) < EVENTS, "the second kill must interrupt the queue too"
        server.start()
        deadline = time.time() + 180
        while time.time() < deadline and delivered() != set(range(EVENTS)):
            time.sleep(0.25)
        lines = server.function_output("DELIVERED")
        assert delivered() == set(range(EVENTS)), server.log()[-3000:]
        for line in lines:
            assert line["tenant"] == f"tenant-{line['n'] % 10}"
            assert line["id"] == accepted[line["n"]]
        pending = lambda: requests.get(f"{server.url}/metrics", timeout=10).text.count("alcove_async_events_pending 0\n")
        deadline = time.time() + 30
        while time.time() < deadline and not pending():
            time.sleep(0.1)
        assert pending(), "the queue drains once every event has run"
    finally:
        server.stop()
