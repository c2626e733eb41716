"""Accepted Event invocations survive a kill -9 of the server and run after the restart."""

import json
import os
import time
import uuid

from harness import ROLE, Server, make_zip

HANDLER = '''
import json, time
def handler(event, context):
    time.sleep(event["sleep"])
    with open(event["out"], "a") as f:
        f.write(json.dumps({"n": event["n"], "tenant": context.tenant_id, "id": context.aws_request_id}) + "\\n")
    return "ok"
'''


def read_lines(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


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
        out = str(tmp_path / "delivered.jsonl")
        accepted = {}
        for n in range(40):
            response = client.invoke(
                FunctionName=name, TenantId=f"tenant-{n % 3}", InvocationType="Event",
                Payload=json.dumps({"n": n, "out": out, "sleep": 0.5}),
            )
            assert response["StatusCode"] == 202
            accepted[n] = response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"]
        server.kill9()
        before_restart = {line["n"] for line in read_lines(out)}
        assert len(before_restart) < 40, "the kill must interrupt the queue for this test to mean anything"

        server.start()
        deadline = time.time() + 120
        while time.time() < deadline and {line["n"] for line in read_lines(out)} != set(range(40)):
            time.sleep(0.25)
        lines = read_lines(out)
        assert {line["n"] for line in lines} == set(range(40)), server.log()[-3000:]
        for line in lines:
            assert line["tenant"] == f"tenant-{line['n'] % 3}"
            assert line["id"] == accepted[line["n"]]
    finally:
        server.stop()
