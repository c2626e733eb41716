"""Every refusal, with its code and status as boto3 sees it and as raw HTTP carries it.
After each test the server must still be up and answering."""

import base64
import io
import json
import os
import struct
import zipfile
import zlib

import pytest
from botocore.exceptions import ClientError

from harness import ROLE
from helpers import (PY_CODE, body, check_raw_error, create, distinct_zip, error_message, error_of, expect_error,
                     unique)

UNZIPPED_LIMIT = 262144000
BODY_LIMIT = 70167211
MiB = 1 << 20


@pytest.fixture(autouse=True)
def server_survives(server, http):
    yield
    assert server.proc.poll() is None, f"server exited with {server.proc.returncode}"
    assert http.get("/2016-08-19/account-settings/").status_code == 200
    assert http.get("/2015-03-31/functions/").status_code == 200


def create_document(name=None, **overrides):
    document = {
        "FunctionName": name or unique(), "Runtime": "python3.12", "Handler": "app.handler", "Role": ROLE,
        "Code": {"ZipFile": base64.b64encode(PY_CODE).decode()},
    }
    document.update(overrides)
    return document


def raw_zip(entries, compression=zipfile.ZIP_STORED):
    """A zip written without ZipInfo sanitising, so entry names are kept as given."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, content in entries.items():
            archive.writestr(zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0)), content)
    return buffer.getvalue()


def zeros_zip(sizes):
    """Deflated entries of zeros with the given uncompressed sizes: tiny on the wire."""
    buffer = io.BytesIO()
    chunk = b"\0" * MiB
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for index, size in enumerate(sizes):
            with archive.open(f"zeros-{index}.bin", "w", force_zip64=True) as entry:
                left = size
                while left:
                    entry.write(chunk[:min(left, MiB)])
                    left -= min(left, MiB)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def zip_bombs():
    """One 260 MiB entry, and three 90 MiB entries (each under the limit, together over it)."""
    return {"single": zeros_zip([260 * MiB]), "split": zeros_zip([90 * MiB] * 3)}


# --- Not found, conflict -----------------------------------------------------------------------


def test_unknown_function_through_boto3(lambda_client):
    missing = unique("missing")
    for call, kwargs in [
        (lambda_client.get_function, {}),
        (lambda_client.get_function_configuration, {}),
        (lambda_client.delete_function, {}),
        (lambda_client.update_function_code, {"ZipFile": PY_CODE}),
        (lambda_client.update_function_configuration, {"Timeout": 5}),
        (lambda_client.publish_version, {}),
        (lambda_client.list_versions_by_function, {}),
        (lambda_client.list_aliases, {}),
        (lambda_client.get_alias, {"Name": "live"}),
        (lambda_client.get_function_concurrency, {}),
    ]:
        code, status, message = error_of(call, FunctionName=missing, **kwargs)
        assert (code, status) == ("ResourceNotFoundException", 404), (call.__name__, message)
        assert missing in message, message


def test_unknown_function_over_raw_http(http):
    missing = unique("missing")
    for method, path in [
        ("GET", f"/2015-03-31/functions/{missing}"),
        ("GET", f"/2015-03-31/functions/{missing}/configuration"),
        ("DELETE", f"/2015-03-31/functions/{missing}"),
        ("GET", f"/2015-03-31/functions/{missing}/versions"),
        ("GET", f"/2015-03-31/functions/{missing}/aliases/live"),
        ("GET", f"/2019-09-30/functions/{missing}/concurrency"),
    ]:
        reply = http.request(method, path)
        document = check_raw_error(reply, 404, "ResourceNotFoundException")
        assert missing in error_message(document), (method, path, document)


def test_duplicate_name(lambda_client, http):
    name = unique()
    create(lambda_client, name)
    expect_error("ResourceConflictException", 409, create, client=lambda_client, name=name)
    reply = http.post("/2015-03-31/functions", json=create_document(name))
    check_raw_error(reply, 409, "ResourceConflictException")
    # A conflicting create with other settings changes nothing.
    expect_error("ResourceConflictException", 409, create, client=lambda_client, name=name, MemorySize=512)
    assert lambda_client.get_function_configuration(FunctionName=name)["MemorySize"] == 128


# --- Invalid values ------------------------------------------------------------------------------


@pytest.mark.parametrize("function_name", ["bad name!", "x" * 200, "x" * 65, "semi;colon", "dots.in.name"],
                         ids=["space-bang", "200-chars", "65-chars", "semicolon", "dots"])
def test_invalid_function_names(raw_client, http, function_name):
    expect_error("InvalidParameterValueException", 400, create, client=raw_client, name=function_name)
    reply = http.post("/2015-03-31/functions", json=create_document(function_name))
    check_raw_error(reply, 400, "InvalidParameterValueException")


@pytest.mark.parametrize("function_name, code", [
    # Breaks the model's pattern: AWS's ValidationException.
    ("bad name!", "ValidationException"),
    ("x" * 200, "InvalidParameterValueException"),
])
def test_invalid_names_on_read(raw_client, function_name, code):
    expect_error(code, 400, raw_client.get_function, FunctionName=function_name)


INVALID_CREATE = {
    "memory-64": {"MemorySize": 64},
    "memory-127": {"MemorySize": 127},
    "memory-20000": {"MemorySize": 20000},
    "memory-10241": {"MemorySize": 10241},
    "timeout-0": {"Timeout": 0},
    "timeout-901": {"Timeout": 901},
    "timeout-1000": {"Timeout": 1000},
    "runtime-cobol": {"Runtime": "cobol1.0"},
    "role-notarole": {"Role": "notarole"},
    "role-not-iam": {"Role": "arn:aws:s3:::bucket"},
    "architecture-mips": {"Architectures": ["mips"]},
    "ephemeral-100": {"EphemeralStorage": {"Size": 100}},
    "ephemeral-511": {"EphemeralStorage": {"Size": 511}},
    "ephemeral-10241": {"EphemeralStorage": {"Size": 10241}},
    "env-AWS_REGION": {"Environment": {"Variables": {"AWS_REGION": "eu-west-1"}}},
    "env-AWS_LAMBDA_FUNCTION_NAME": {"Environment": {"Variables": {"AWS_LAMBDA_FUNCTION_NAME": "x"}}},
    "env-AWS_ACCESS_KEY_ID": {"Environment": {"Variables": {"AWS_ACCESS_KEY_ID": "x"}}},
    "env-over-4KB": {"Environment": {"Variables": {"BIG": "x" * 5000}}},
    "env-key-pattern": {"Environment": {"Variables": {"1BAD": "x"}}},
    "tenancy-SHARED": {"TenancyConfig": {"TenantIsolationMode": "SHARED"}},
    "tenancy-lowercase": {"TenancyConfig": {"TenantIsolationMode": "per_tenant"}},
    "tenancy-empty": {"TenancyConfig": {}},
}


# Values that break a constraint of botocore's model (range, pattern, enum, required): AWS
# answers those with a ValidationException; the others break a rule the model cannot state
# and stay InvalidParameterValueException.
MODEL_VIOLATIONS = {"memory-64", "memory-127", "timeout-0", "role-notarole", "role-not-iam", "architecture-mips",
                    "ephemeral-100", "ephemeral-511", "env-key-pattern", "tenancy-SHARED",
                    "tenancy-lowercase", "tenancy-empty"}


def expected_code(case):
    return "ValidationException" if case in MODEL_VIOLATIONS else "InvalidParameterValueException"


@pytest.mark.parametrize("case", list(INVALID_CREATE))
def test_invalid_create_values(raw_client, http, case):
    overrides = INVALID_CREATE[case]
    name = unique("invalid")
    expect_error(expected_code(case), 400, create, client=raw_client, name=name, **overrides)
    expect_error("ResourceNotFoundException", 404, raw_client.get_function, FunctionName=name)
    reply = http.post("/2015-03-31/functions", json=create_document(name, **overrides))
    check_raw_error(reply, 400, expected_code(case))
    expect_error("ResourceNotFoundException", 404, raw_client.get_function, FunctionName=name)


def test_reserved_environment_key_is_named(raw_client):
    message = expect_error("InvalidParameterValueException", 400, create, client=raw_client,
                           Environment={"Variables": {"FINE": "1", "AWS_REGION": "x"}})
    assert "AWS_REGION" in message


INVALID_UPDATE = {
    "memory-64": {"MemorySize": 64},
    "memory-20000": {"MemorySize": 20000},
    "timeout-0": {"Timeout": 0},
    "timeout-1000": {"Timeout": 1000},
    "runtime-cobol": {"Runtime": "cobol1.0"},
    "role-notarole": {"Role": "notarole"},
    "ephemeral-100": {"EphemeralStorage": {"Size": 100}},
    "env-AWS_REGION": {"Environment": {"Variables": {"AWS_REGION": "x"}}},
}


@pytest.mark.parametrize("case", list(INVALID_UPDATE))
def test_invalid_update_values_change_nothing(raw_client, case):
    overrides = INVALID_UPDATE[case]
    name = unique()
    create(raw_client, name)
    before = body(raw_client.get_function_configuration(FunctionName=name))
    expect_error(expected_code(case), 400, raw_client.update_function_configuration,
                 FunctionName=name, **overrides)
    assert body(raw_client.get_function_configuration(FunctionName=name)) == before


# --- Malformed requests --------------------------------------------------------------------------


def test_malformed_json(http, lambda_client):
    reply = http.post("/2015-03-31/functions", data=b"{not json", headers={"Content-Type": "application/json"})
    check_raw_error(reply, 400, "InvalidRequestContentException")
    name = unique()
    create(lambda_client, name)
    reply = http.put(f"/2015-03-31/functions/{name}/configuration", data=b"{not json")
    check_raw_error(reply, 400, "InvalidRequestContentException")
    reply = http.put(f"/2015-03-31/functions/{name}/code", data=b'{"ZipFile": ')
    check_raw_error(reply, 400, "InvalidRequestContentException")
    assert lambda_client.get_function_configuration(FunctionName=name)["Timeout"] == 3


def test_oversized_request_body(http):
    padding = BODY_LIMIT + 1_000_000
    document = b'{"FunctionName": "' + unique("big").encode() + b'", "Runtime": "python3.12", "Role": "' + ROLE.encode() + \
        b'", "Handler": "app.handler", "Code": {"ZipFile": "' + b"A" * padding + b'"}}'
    assert len(document) > 71_000_000
    reply = http.post("/2015-03-31/functions", data=document, timeout=120)
    assert reply.status_code == 413, reply.text[:300]
    assert reply.headers.get("x-amzn-ErrorType", "").split(":")[0] == "RequestEntityTooLargeException"
    check_raw_error(reply, 413, "RequestEntityTooLargeException")


# --- Bad packages --------------------------------------------------------------------------------


@pytest.mark.parametrize("package", [
    b"hello", PY_CODE[:-20], PY_CODE[: len(PY_CODE) // 2], b"PK\x03\x04" + b"\0" * 40,
], ids=["not-a-zip", "no-central-directory-end", "cut-in-half", "bare-local-header"])
def test_not_a_zip(lambda_client, package):
    message = expect_error("InvalidParameterValueException", 400, create, client=lambda_client, code=package)
    assert "Could not unzip uploaded file" in message
    name = unique()
    create(lambda_client, name)
    message = expect_error("InvalidParameterValueException", 400, lambda_client.update_function_code,
                           FunctionName=name, ZipFile=package)
    assert "Could not unzip uploaded file" in message


def test_corrupt_entry_data(lambda_client):
    package = bytearray(raw_zip({"app.py": b"def handler(e, c):\n    return 1\n" * 50}, zipfile.ZIP_DEFLATED))
    start = package.index(b"app.py") + len(b"app.py")
    for i in range(start + 5, start + 25):
        package[i] ^= 0xFF
    message = expect_error("InvalidParameterValueException", 400, create, client=lambda_client, code=bytes(package))
    assert "Could not unzip uploaded file" in message


@pytest.mark.parametrize("entry", ["../evil", "/etc/evil", "a/../../evil", "lib/../../../etc/passwd"])
def test_entries_may_not_leave_the_package(lambda_client, entry):
    package = raw_zip({"app.py": b"def handler(e, c):\n    return 1\n", entry: b"x"})
    assert entry in zipfile.ZipFile(io.BytesIO(package)).namelist()
    name = unique()
    expect_error("InvalidParameterValueException", 400, create, client=lambda_client, name=name, code=package)
    expect_error("ResourceNotFoundException", 404, lambda_client.get_function, FunctionName=name)
    create(lambda_client, name)
    expect_error("InvalidParameterValueException", 400, lambda_client.update_function_code, FunctionName=name, ZipFile=package)


def symlink_zip(links, files=()):
    """A package with symlink entries (name -> target) and then regular files, in that order."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", "def handler(e, c):\n    return 1\n")
        archive.writestr("lib/real.py", "x = 1\n")
        for name, target in links:
            info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
            info.external_attr = 0o120777 << 16
            archive.writestr(info, target)
        for name, content in files:
            archive.writestr(zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0)), content)
    return buffer.getvalue()


def test_symlinks_inside_the_package_are_kept(lambda_client, http):
    package = symlink_zip([("alias.py", "lib/real.py"), ("lib/up", ".."), ("lib/self", ".")])
    created = create(lambda_client, code=package)
    got = lambda_client.get_function(FunctionName=created["FunctionName"])
    assert http.get(got["Code"]["Location"]).content == package


@pytest.mark.parametrize("links", [
    [("link", "/etc/passwd")],
    [("link", "..")],
    [("lib/link", "../../etc")],
    # Each link is inside the package on its own; followed one through the other they lead out.
    [("here", "."), ("out", "here/..")],
    [("lib/root", ".."), ("out", "lib/root/..")],
], ids=["absolute", "parent", "nested-parent", "chain-through-dot", "chain-through-parent"])
def test_symlinks_leaving_the_package_are_refused(lambda_client, links):
    message = expect_error("InvalidParameterValueException", 400, create, client=lambda_client, code=symlink_zip(links))
    assert "Could not unzip uploaded file" in message or "symbolic link" in message or "symlink" in message


MARKER = "alcove-written-outside-the-package"


@pytest.mark.filterwarnings("ignore:Duplicate name")
@pytest.mark.parametrize("variant", ["file-under-chained-link", "file-replaced-by-chained-link"])
def test_no_write_outside_the_package_through_symlinks(server_factory, tmp_path, variant):
    """The package is unpacked under <data dir>/code/...; three chained links, each harmless
    alone, lead three levels up. Entries written through them would land outside the data
    directory, on the host, as the server's user."""
    data_dir = tmp_path / "data"
    server = server_factory.start(data_dir)
    client = server.client()
    chain = [("d", "."), ("up1", "d/.."), ("up2", "up1/.."), ("up3", "up2/..")]
    if variant == "file-under-chained-link":
        package = symlink_zip(chain, [(f"up1/{MARKER}", "1"), (f"up2/{MARKER}", "2"), (f"up3/{MARKER}", "3")])
    else:
        package = symlink_zip(chain + [("target", f"up3/{MARKER}")], [("target", "overwritten")])
    name = unique("slip")
    try:
        create(client, name, package)
        outcome = "accepted"
    except ClientError as error:
        outcome = (error.response["Error"]["Code"], error.response["ResponseMetadata"]["HTTPStatusCode"])
    written = sorted(
        os.path.relpath(os.path.join(root, f), tmp_path)
        for root, _, files in os.walk(tmp_path) for f in files if f == MARKER
    )
    assert written == [], f"CreateFunction {outcome}; the server wrote outside the package: {written}"
    assert outcome == ("InvalidParameterValueException", 400)
    expect_error("ResourceNotFoundException", 404, client.get_function, FunctionName=name)


@pytest.mark.parametrize("kind", ["single", "split"])
def test_unzipped_size_limit(lambda_client, zip_bombs, kind):
    package = zip_bombs[kind]
    assert len(package) < 2 * MiB
    assert sum(i.file_size for i in zipfile.ZipFile(io.BytesIO(package)).infolist()) > UNZIPPED_LIMIT
    name = unique("bomb")
    message = expect_error("InvalidParameterValueException", 400, create, client=lambda_client, name=name, code=package)
    assert "Unzipped size must be smaller than 262144000 bytes" in message
    expect_error("ResourceNotFoundException", 404, lambda_client.get_function, FunctionName=name)
    create(lambda_client, name)
    message = expect_error("InvalidParameterValueException", 400, lambda_client.update_function_code,
                           FunctionName=name, ZipFile=package)
    assert "Unzipped size must be smaller than 262144000 bytes" in message


def test_unzipped_size_is_measured_not_declared(lambda_client):
    """A zip whose headers declare 1000 bytes for an entry that inflates to 260 MiB."""
    deflate = zlib.compressobj(6, zlib.DEFLATED, -15)
    data = b"".join(deflate.compress(b"\0" * MiB) for _ in range(260)) + deflate.flush()
    name, declared, crc = b"zeros.bin", 1000, zlib.crc32(b"\0" * 1000)
    local = struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, 8, 0, 0x21, crc, len(data), declared, len(name), 0) + name + data
    central = struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, 0, 8, 0, 0x21, crc, len(data), declared,
                          len(name), 0, 0, 0, 0, 0o100644 << 16, 0) + name
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, 1, 1, len(central), len(local), 0)
    package = local + central + end
    assert zipfile.ZipFile(io.BytesIO(package)).infolist()[0].file_size == declared
    message = expect_error("InvalidParameterValueException", 400, create, client=lambda_client, code=package)
    assert "Unzipped size must be smaller than 262144000 bytes" in message or "Could not unzip uploaded file" in message


def test_unzipped_size_just_under_the_limit_is_fine(lambda_client):
    package = zeros_zip([UNZIPPED_LIMIT - MiB])
    created = create(lambda_client, code=package)
    assert created["CodeSize"] == len(package)


def test_error_body_shape(http):
    reply = http.post("/2015-03-31/functions", json=create_document(MemorySize=64))
    # Below the model's minimum: AWS's ValidationException, whose body is only its message.
    document = check_raw_error(reply, 400, "ValidationException")
    assert reply.headers["Content-Type"].startswith("application/")
    assert json.loads(reply.content) == document == {
        "message": "1 validation error detected: Value '64' at 'memorySize' failed to satisfy constraint: "
                   "Member must have value greater than or equal to 128"}
