"""Accepted Event invocations survive a kill -9 of the server and run after the restart."""

import json
import time
import uuid

from harness import ROLE, Server, make_zip

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
        for n in range(40):
            response = client.invoke(
                FunctionName=name, TenantId=f"tenant-{n % 3}", InvocationType="Event",
                Payload=json.dumps({"n": n, "sleep": 0.5}),
            )
            assert response["StatusCode"] == 202
            accepted[n] = response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"]
        server.kill9()
        before_restart = {line["n"] for line in server.function_output("DELIVERED")}
        assert len(before_restart) < 40, "the kill must interrupt the queue for this test to mean anything"

        server.start()
        deadline = time.time() + 120
        while time.time() < deadline and {line["n"] for line in server.function_output("DELIVERED")} != set(range(40)):
            time.sleep(0.25)
        lines = server.function_output("DELIVERED")
        assert {line["n"] for line in lines} == set(range(40)), server.log()[-3000:]
        for line in lines:
            assert line["tenant"] == f"tenant-{line['n'] % 3}"
            assert line["id"] == accepted[line["n"]]
    finally:
        server.stop()
