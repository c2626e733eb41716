"""A runtime that dies during init: what it printed and the platform's INIT_REPORT line are
in the `LogType: Tail` log of the invoke that started it, and in the environment's log
stream, the runtime's lines before the report. Its standard output and standard error are
two pipes, read apart, so a line on one and a line on the other have no order between
them (as on AWS); only each before the report is asserted."""

import base64
import json

from harness import make_zip
from helpers import create, unique


def log_stream_text(server, function):
    """Every log stream of `function`, concatenated: the one place this suite reads logs."""
    return "".join(server.log_streams(f"/aws/lambda/{function}").values())


def in_order(text, *parts):
    """Asserts each of `parts` is in `text`, each after the one before it."""
    position = 0
    for part in parts:
        found = text.find(part, position)
        assert found >= 0, f"{part!r} missing after offset {position} in:\n{text}"
        position = found + len(part)


def written_then_reported(text, written, reported):
    """Asserts every line in `written` (on either stream, in any order) is in `text` before
    the platform's report, whose parts `reported` follow in order."""
    report = text.find(reported[0])
    assert report >= 0, f"{reported[0]!r} missing in:\n{text}"
    for part in written:
        found = text.find(part)
        assert 0 <= found < report, f"{part!r} missing before the report in:\n{text}"
    in_order(text[report:], *reported)


def invoke_with_tail(client, name):
    response = client.invoke(FunctionName=name, LogType="Tail", Payload=b"{}")
    assert response["FunctionError"] == "Unhandled"
    return json.loads(response["Payload"].read()), base64.b64decode(response["LogResult"]).decode()


def test_a_python_import_of_a_missing_module(server, lambda_client):
    name = unique("import-fails")
    code = make_zip({"app.py": "print('loading app', flush=True)\nimport no_such_module_xyz\n"
                               "def handler(event, context):\n    return 1\n"})
    create(lambda_client, name, code)
    error, tail = invoke_with_tail(lambda_client, name)
    assert error["errorType"] == "Runtime.ImportModuleError", error
    written = ("loading app", "No module named 'no_such_module_xyz'")
    reported = ("INIT_REPORT Init Duration:", "Phase: init Status: error Error Type: Runtime.ImportModuleError")
    written_then_reported(tail, written, reported)
    written_then_reported(log_stream_text(server, name), written, reported)


def test_a_bootstrap_with_a_shell_error(server, lambda_client):
    name = unique("shell-fails")
    bootstrap = b"#!/bin/sh\necho 'bootstrap starting'\nno_such_command_xyz --now\n"
    create(lambda_client, name, make_zip({"bootstrap": (bootstrap, 0o755)}),
           Runtime="provided.al2023", Handler="bootstrap")
    error, tail = invoke_with_tail(lambda_client, name)
    assert error["errorType"] == "Runtime.ExitError", error
    assert "exit status 127" in error["errorMessage"], error
    written = ("bootstrap starting", "no_such_command_xyz: not found")
    reported = ("INIT_REPORT Init Duration:", "Error Type: Runtime.ExitError")
    written_then_reported(tail, written, reported)
    written_then_reported(log_stream_text(server, name), written, reported)


def test_without_tail_nothing_is_captured_but_the_stream_has_it(server, lambda_client):
    name = unique("quiet-fail")
    create(lambda_client, name, make_zip({"app.py": "raise RuntimeError('broken at import')\n"}))
    response = lambda_client.invoke(FunctionName=name, Payload=b"{}")
    assert response["FunctionError"] == "Unhandled" and "LogResult" not in response
    in_order(log_stream_text(server, name), "broken at import", "INIT_REPORT Init Duration:")
