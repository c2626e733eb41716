"""InvokeWithResponseStream, read by boto3's `invoke_with_response_stream` unmodified: a
Node handler wrapped in `awslambda.streamifyResponse` streams through the Runtime API's
streaming mode and its chunks reach the client while it still runs; a buffered Python
handler answers in one chunk; errors, mid-stream or not, end the stream in
`InvokeComplete`; tenants keep their own environments, as with Invoke."""

import base64
import json
import time

import pytest

from harness import ROLE, make_zip
from helpers import PER_TENANT, expect_error, unique

STREAMING_NODE = r"""
let invokes = 0;
export const handler = awslambda.streamifyResponse(async (event, responseStream, context) => {
  invokes++;
  console.log(`streaming for ${context.tenantId}`);
  responseStream.setContentType('text/plain');
  for (let i = 0; i < event.chunks; i++) {
    responseStream.write(`chunk ${i} for ${context.tenantId} in invoke ${invokes}\n`);
    await new Promise((resolve) => setTimeout(resolve, event.pauseMs));
  }
  if (event.fail) throw new Error(`failed after ${event.chunks} chunks`);
  responseStream.end();
});
"""

BUFFERED_PYTHON = """
def handler(event, context):
    if event.get("fail"):
        raise ValueError("asked to fail")
    return {"tenant": context.tenant_id, "echo": event}
"""


def create_function(client, runtime, handler, files, tenancy=True):
    name = unique("stream")
    extra = {"TenancyConfig": PER_TENANT} if tenancy else {}
    client.create_function(FunctionName=name, Runtime=runtime, Handler=handler, Role=ROLE,
                           Code={"ZipFile": make_zip(files)}, Timeout=60, **extra)
    return name


@pytest.fixture(scope="module")
def node_streaming(lambda_client):
    return create_function(lambda_client, "nodejs22.x", "index.handler", {"index.mjs": STREAMING_NODE})


@pytest.fixture(scope="module")
def python_buffered(lambda_client):
    return create_function(lambda_client, "python3.12", "app.handler", {"app.py": BUFFERED_PYTHON})


def read_events(response):
    """The stream's events in order, each as (monotonic arrival time, name, fields)."""
    events = []
    for event in response["EventStream"]:
        (name, fields), = event.items()
        events.append((time.monotonic(), name, fields))
    return events


def stream(client, name, payload, **kwargs):
    started = time.monotonic()
    response = client.invoke_with_response_stream(FunctionName=name, Payload=json.dumps(payload), **kwargs)
    return started, response, read_events(response)


def chunks_and_end(events):
    chunks = [fields["Payload"] for _, kind, fields in events if kind == "PayloadChunk"]
    assert [kind for _, kind, _ in events][-1] == "InvokeComplete", events
    assert all(kind == "PayloadChunk" for _, kind, _ in events[:-1]), events
    return chunks, events[-1][2]


def test_chunks_arrive_one_by_one_while_the_handler_runs(lambda_client, node_streaming):
    pause_ms = 1500
    _, response, events = stream(lambda_client, node_streaming, {"chunks": 3, "pauseMs": pause_ms},
                                 TenantId="blue")
    assert response["StatusCode"] == 200
    assert response["ExecutedVersion"] == "$LATEST"
    assert response["ResponseStreamContentType"] == "application/vnd.amazon.eventstream"
    chunks, complete = chunks_and_end(events)
    assert b"".join(chunks).decode() == "".join(f"chunk {i} for blue in invoke 1\n" for i in range(3))
    assert len(chunks) >= 3, chunks
    assert "ErrorCode" not in complete and "ErrorDetails" not in complete, complete
    first_arrival, last_arrival = events[0][0], events[-1][0]
    # The handler pauses after each chunk: streamed, the first chunk is read seconds before
    # the stream ends; buffered, everything would arrive at once.
    assert last_arrival - first_arrival >= 2 * pause_ms / 1000, (last_arrival - first_arrival)


def test_tenants_each_stream_from_their_own_environment(lambda_client, node_streaming):
    def text(tenant):
        _, _, events = stream(lambda_client, node_streaming, {"chunks": 2, "pauseMs": 10}, TenantId=tenant)
        chunks, complete = chunks_and_end(events)
        assert "ErrorCode" not in complete, complete
        return b"".join(chunks).decode()

    first_green = text("green")
    assert first_green == "chunk 0 for green in invoke 1\nchunk 1 for green in invoke 1\n"
    assert text("green").endswith("for green in invoke 2\n")
    assert text("red") == "chunk 0 for red in invoke 1\nchunk 1 for red in invoke 1\n", \
        "another tenant gets an environment of its own"


def test_a_mid_stream_error_ends_in_invoke_complete(lambda_client, node_streaming):
    _, response, events = stream(lambda_client, node_streaming, {"chunks": 2, "pauseMs": 10, "fail": True},
                                 TenantId="blue")
    assert response["StatusCode"] == 200
    chunks, complete = chunks_and_end(events)
    assert b"".join(chunks).decode().startswith("chunk 0 for blue"), chunks
    assert complete["ErrorCode"] == "Error", complete
    assert complete["ErrorDetails"] == "failed after 2 chunks", complete
    # The environment survived: the next invoke of the tenant streams again.
    _, _, events = stream(lambda_client, node_streaming, {"chunks": 1, "pauseMs": 10}, TenantId="blue")
    chunks, complete = chunks_and_end(events)
    assert "ErrorCode" not in complete and b"".join(chunks).startswith(b"chunk 0 for blue"), events


def test_log_tail_is_in_invoke_complete(lambda_client, node_streaming):
    _, _, events = stream(lambda_client, node_streaming, {"chunks": 1, "pauseMs": 10}, TenantId="tail",
                          LogType="Tail")
    _, complete = chunks_and_end(events)
    log = base64.b64decode(complete["LogResult"]).decode()
    start, printed, end = log.index("START RequestId:"), log.index("streaming for tail"), log.index("END RequestId:")
    assert start < printed < end < log.index("REPORT RequestId:"), log


def test_a_buffered_handler_answers_in_one_chunk(lambda_client, python_buffered):
    _, response, events = stream(lambda_client, python_buffered, {"n": 1}, TenantId="blue")
    assert response["StatusCode"] == 200
    chunks, complete = chunks_and_end(events)
    assert len(chunks) == 1, chunks
    assert json.loads(chunks[0]) == {"tenant": "blue", "echo": {"n": 1}}
    assert "ErrorCode" not in complete, complete

    _, _, events = stream(lambda_client, python_buffered, {"fail": True}, TenantId="blue")
    chunks, complete = chunks_and_end(events)
    assert chunks == [], "a failed buffered invoke sends no payload"
    # awslambdaric reports a handler's exception with the error type `Unhandled`.
    assert complete["ErrorCode"] == "Unhandled" and complete["ErrorDetails"] == "asked to fail", complete


def test_plain_invoke_of_a_streaming_handler_gets_the_whole_body(lambda_client, node_streaming):
    response = lambda_client.invoke(FunctionName=node_streaming, TenantId="plain",
                                    Payload=json.dumps({"chunks": 3, "pauseMs": 10}))
    assert "FunctionError" not in response
    assert response["Payload"].read().decode() == "".join(
        f"chunk {i} for plain in invoke 1\n" for i in range(3))


def test_tenancy_rules_and_invocation_types_are_invokes(lambda_client, raw_client, node_streaming):
    message = expect_error("InvalidParameterValueException", 400, lambda_client.invoke_with_response_stream,
                           FunctionName=node_streaming, Payload=b"{}")
    assert "tenant" in message.lower()
    plain = create_function(lambda_client, "python3.12", "app.handler", {"app.py": BUFFERED_PYTHON},
                            tenancy=False)
    expect_error("InvalidParameterValueException", 400, lambda_client.invoke_with_response_stream,
                 FunctionName=plain, Payload=b"{}", TenantId="blue")
    _, _, events = stream(lambda_client, plain, {"n": 2})
    chunks, _ = chunks_and_end(events)
    assert json.loads(b"".join(chunks)) == {"tenant": None, "echo": {"n": 2}}

    dry = lambda_client.invoke_with_response_stream(FunctionName=node_streaming, TenantId="blue",
                                                    InvocationType="DryRun", Payload=b"{}")
    assert dry["StatusCode"] == 204
    message = expect_error("ValidationException", 400, raw_client.invoke_with_response_stream,
                           FunctionName=node_streaming, TenantId="blue", InvocationType="Event", Payload=b"{}")
    assert message == ("1 validation error detected: Value 'Event' at 'invocationType' failed to satisfy "
                       "constraint: Member must satisfy enum value set: [RequestResponse, DryRun]")
    expect_error("ResourceNotFoundException", 404, lambda_client.invoke_with_response_stream,
                 FunctionName=unique("missing"), Payload=b"{}")
