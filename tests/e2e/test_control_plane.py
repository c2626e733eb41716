"""The Lambda control plane through boto3 and raw HTTP: CRUD, TenancyConfig, versions,
aliases, concurrency, account settings, and every error case with its code."""

import base64
import hashlib
import io
import json
import uuid
import zipfile

import pytest
import requests
from botocore.exceptions import ClientError

from harness import ROLE, Server, make_zip

CODE = make_zip({"app.py": "def handler(event, context):\n    return event\n"})
PER_TENANT = {"TenantIsolationMode": "PER_TENANT"}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    server = Server(tmp_path_factory.mktemp("control")).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def client(server):
    return server.client()


@pytest.fixture(scope="module")
def unvalidated(server):
    return server.client(validate=False)


def name(prefix="fn"):
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def create(client, function_name=None, **overrides):
    args = dict(
        FunctionName=function_name or name(), Runtime="python3.12", Handler="app.handler",
        Role=ROLE, Code={"ZipFile": CODE},
    )
    args.update(overrides)
    return client.create_function(**args)


def error_of(call, *args, **kwargs):
    with pytest.raises(ClientError) as caught:
        call(*args, **kwargs)
    response = caught.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Message"]


def sha256_b64(data):
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


# --- CRUD ----------------------------------------------------------------------------


def test_create_returns_the_full_configuration(client):
    fn = name()
    created = create(
        client, fn, MemorySize=512, Timeout=30, Description="demo",
        Environment={"Variables": {"STAGE": "prod"}}, Architectures=["arm64"],
        EphemeralStorage={"Size": 1024},
    )
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert created["FunctionName"] == fn
    assert created["FunctionArn"] == f"arn:aws:lambda:us-east-1:000000000000:function:{fn}"
    assert created["CodeSha256"] == sha256_b64(CODE)
    assert created["CodeSize"] == len(CODE)
    assert (created["MemorySize"], created["Timeout"], created["Description"]) == (512, 30, "demo")
    assert created["Environment"] == {"Variables": {"STAGE": "prod"}}
    assert created["Architectures"] == ["arm64"]
    assert created["EphemeralStorage"] == {"Size": 1024}
    assert created["Version"] == "$LATEST"
    assert created["State"] == "Active" and created["LastUpdateStatus"] == "Successful"
    assert created["PackageType"] == "Zip"
    assert created["LastModified"].endswith("+0000")
    assert created["RevisionId"]
    assert "TenancyConfig" not in created


def test_defaults(client):
    created = create(client)
    assert (created["MemorySize"], created["Timeout"]) == (128, 3)
    assert created["Architectures"] == ["x86_64"]
    assert created["EphemeralStorage"] == {"Size": 512}


def test_get_list_and_code_download(client):
    fn = name()
    create(client, fn, TenancyConfig=PER_TENANT)
    got = client.get_function(FunctionName=fn)
    assert got["Configuration"]["TenancyConfig"] == PER_TENANT
    assert got["Code"]["RepositoryType"] == "S3"
    assert requests.get(got["Code"]["Location"], timeout=10).content == CODE
    config = client.get_function_configuration(FunctionName=fn)
    assert config == {**config, **got["Configuration"]}
    listed = [f for page in client.get_paginator("list_functions").paginate() for f in page["Functions"]]
    mine = [f for f in listed if f["FunctionName"] == fn]
    assert len(mine) == 1 and mine[0]["TenancyConfig"] == PER_TENANT


def test_function_name_forms(client):
    fn = name()
    create(client, fn)
    for form in [fn, f"arn:aws:lambda:us-east-1:000000000000:function:{fn}", f"000000000000:function:{fn}", f"{fn}:$LATEST"]:
        assert client.get_function_configuration(FunctionName=form)["FunctionName"] == fn


def test_region_comes_from_the_signature(server):
    eu = server.client(region="eu-west-1")
    created = create(eu)
    assert created["FunctionArn"].startswith("arn:aws:lambda:eu-west-1:000000000000:function:")


def test_list_paging(client):
    prefix = name("page")
    for i in range(7):
        create(client, f"{prefix}-{i}")
    seen, marker = [], None
    while True:
        kwargs = {"MaxItems": 3}
        if marker:
            kwargs["Marker"] = marker
        page = client.list_functions(**kwargs)
        assert len(page["Functions"]) <= 3
        seen += [f["FunctionName"] for f in page["Functions"]]
        marker = page.get("NextMarker")
        if not marker:
            break
    assert len(seen) == len(set(seen))
    assert [s for s in seen if s.startswith(prefix)] == [f"{prefix}-{i}" for i in range(7)]


def test_update_code_and_configuration(client):
    fn = name()
    created = create(client, fn)
    new_code = make_zip({"app.py": "def handler(e, c):\n    return 2\n"})
    updated = client.update_function_code(FunctionName=fn, ZipFile=new_code)
    assert updated["CodeSha256"] == sha256_b64(new_code) != created["CodeSha256"]
    assert requests.get(client.get_function(FunctionName=fn)["Code"]["Location"], timeout=10).content == new_code
    configured = client.update_function_configuration(
        FunctionName=fn, Timeout=60, MemorySize=1024, Description="changed",
        Environment={"Variables": {"A1": "x"}}, Handler="app.other", Runtime="python3.13",
    )
    assert (configured["Timeout"], configured["MemorySize"], configured["Description"]) == (60, 1024, "changed")
    assert configured["Handler"] == "app.other" and configured["Runtime"] == "python3.13"
    assert configured["CodeSha256"] == sha256_b64(new_code)
    assert configured["RevisionId"] != updated["RevisionId"]
    code, status, _ = error_of(client.update_function_configuration, FunctionName=fn, Timeout=5, RevisionId="stale")
    assert (code, status) == ("PreconditionFailedException", 412)
    ok = client.update_function_configuration(FunctionName=fn, Timeout=5, RevisionId=configured["RevisionId"])
    assert ok["Timeout"] == 5


def test_delete(client):
    fn = name()
    create(client, fn)
    deleted = client.delete_function(FunctionName=fn)
    assert deleted["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert error_of(client.get_function, FunctionName=fn)[:2] == ("ResourceNotFoundException", 404)
    assert error_of(client.delete_function, FunctionName=fn)[:2] == ("ResourceNotFoundException", 404)


# --- Tenancy ---------------------------------------------------------------------------


def test_tenancy_config_is_immutable(client, server):
    fn = name()
    create(client, fn, TenancyConfig=PER_TENANT)
    before = client.get_function_configuration(FunctionName=fn)
    reply = requests.put(
        f"{server.url}/2015-03-31/functions/{fn}/configuration",
        json={"TenancyConfig": {"TenantIsolationMode": "PER_TENANT"}, "Timeout": 9}, timeout=10,
    )
    assert reply.status_code == 400
    assert reply.headers["x-amzn-ErrorType"] == "InvalidParameterValueException"
    assert "TenancyConfig" in reply.json()["message"]
    after = client.get_function_configuration(FunctionName=fn)
    for config in (before, after):
        config.pop("ResponseMetadata")
    assert after == before, "a refused update changes nothing"
    # Other updates keep the mode; versions inherit it.
    client.update_function_configuration(FunctionName=fn, Timeout=9)
    version = client.publish_version(FunctionName=fn)
    assert version["TenancyConfig"] == PER_TENANT
    assert client.get_function(FunctionName=fn, Qualifier=version["Version"])["Configuration"]["TenancyConfig"] == PER_TENANT


def test_invalid_tenancy_mode(unvalidated):
    for mode in ["SHARED", "per_tenant", ""]:
        code, status, _ = error_of(create, unvalidated, TenancyConfig={"TenantIsolationMode": mode})
        assert (code, status) == ("InvalidParameterValueException", 400), mode
    code, _, _ = error_of(create, unvalidated, TenancyConfig={})
    assert code == "InvalidParameterValueException"


# --- Versions and aliases --------------------------------------------------------------


def test_versions(client):
    fn = name()
    create(client, fn, TenancyConfig=PER_TENANT, Publish=True)
    v1 = client.get_function_configuration(FunctionName=fn, Qualifier="1")
    assert v1["Version"] == "1"
    assert v1["FunctionArn"].endswith(f"function:{fn}:1")
    assert client.publish_version(FunctionName=fn)["Version"] == "1", "nothing changed since version 1"
    client.update_function_configuration(FunctionName=fn, Timeout=42)
    v2 = client.publish_version(FunctionName=fn, Description="second")
    assert v2["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert (v2["Version"], v2["Timeout"], v2["Description"]) == ("2", 42, "second")
    assert client.get_function_configuration(FunctionName=fn, Qualifier="1")["Timeout"] == 3
    code, _, _ = error_of(client.publish_version, FunctionName=fn, CodeSha256="wrong")
    assert code == "InvalidParameterValueException"
    code, status, _ = error_of(client.publish_version, FunctionName=fn, RevisionId="stale")
    assert (code, status) == ("PreconditionFailedException", 412)
    versions = [v["Version"] for page in client.get_paginator("list_versions_by_function").paginate(FunctionName=fn, PaginationConfig={"PageSize": 1}) for v in page["Versions"]]
    assert versions == ["$LATEST", "1", "2"]
    # Deleting one version leaves the rest; numbers are never reused.
    client.delete_function(FunctionName=fn, Qualifier="2")
    assert error_of(client.get_function, FunctionName=fn, Qualifier="2")[0] == "ResourceNotFoundException"
    client.update_function_configuration(FunctionName=fn, Timeout=43)
    assert client.publish_version(FunctionName=fn)["Version"] == "3"
    code, _, _ = error_of(client.delete_function, FunctionName=fn, Qualifier="$LATEST")
    assert code == "InvalidParameterValueException"
    listed = client.list_functions(FunctionVersion="ALL")["Functions"]
    assert sorted(f["Version"] for f in listed if f["FunctionName"] == fn) == ["$LATEST", "1", "3"]


def test_aliases(client):
    fn = name()
    create(client, fn, Publish=True)
    alias = client.create_alias(FunctionName=fn, Name="live", FunctionVersion="1", Description="prod")
    assert alias["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert alias["AliasArn"] == f"arn:aws:lambda:us-east-1:000000000000:function:{fn}:live"
    assert client.get_alias(FunctionName=fn, Name="live")["FunctionVersion"] == "1"
    assert client.get_function_configuration(FunctionName=fn, Qualifier="live")["Version"] == "1"
    assert client.get_function_configuration(FunctionName=f"{fn}:live")["Version"] == "1"
    assert error_of(client.create_alias, FunctionName=fn, Name="live", FunctionVersion="1")[:2] == ("ResourceConflictException", 409)
    assert error_of(client.create_alias, FunctionName=fn, Name="next", FunctionVersion="9")[:2] == ("ResourceNotFoundException", 404)
    assert error_of(client.get_alias, FunctionName=fn, Name="nope")[:2] == ("ResourceNotFoundException", 404)
    code, status, _ = error_of(client.delete_function, FunctionName=fn, Qualifier="1")
    assert (code, status) == ("ResourceConflictException", 409), "version 1 is in use by an alias"
    client.create_alias(FunctionName=fn, Name="edge", FunctionVersion="$LATEST")
    assert [a["Name"] for a in client.list_aliases(FunctionName=fn)["Aliases"]] == ["edge", "live"]
    assert [a["Name"] for a in client.list_aliases(FunctionName=fn, FunctionVersion="1")["Aliases"]] == ["live"]
    moved = client.update_alias(FunctionName=fn, Name="live", FunctionVersion="$LATEST", RevisionId=alias["RevisionId"])
    assert moved["FunctionVersion"] == "$LATEST"
    assert error_of(client.update_alias, FunctionName=fn, Name="live", RevisionId=alias["RevisionId"])[0] == "PreconditionFailedException"
    assert client.delete_alias(FunctionName=fn, Name="edge")["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert [a["Name"] for a in client.list_aliases(FunctionName=fn)["Aliases"]] == ["live"]


# --- Concurrency and account -----------------------------------------------------------


def test_concurrency_and_account_settings(client):
    fn = name()
    create(client, fn)
    assert "ReservedConcurrentExecutions" not in client.get_function_concurrency(FunctionName=fn)
    before = client.get_account_settings()
    assert before["AccountLimit"]["ConcurrentExecutions"] == 1000
    assert before["AccountLimit"]["CodeSizeZipped"] == 52428800
    assert before["AccountLimit"]["CodeSizeUnzipped"] == 262144000
    assert before["AccountUsage"]["FunctionCount"] >= 1
    assert client.put_function_concurrency(FunctionName=fn, ReservedConcurrentExecutions=50)["ReservedConcurrentExecutions"] == 50
    assert client.get_function_concurrency(FunctionName=fn)["ReservedConcurrentExecutions"] == 50
    assert client.get_function(FunctionName=fn)["Concurrency"] == {"ReservedConcurrentExecutions": 50}
    after = client.get_account_settings()
    assert after["AccountLimit"]["UnreservedConcurrentExecutions"] == before["AccountLimit"]["UnreservedConcurrentExecutions"] - 50
    code, _, message = error_of(client.put_function_concurrency, FunctionName=fn, ReservedConcurrentExecutions=951)
    assert code == "InvalidParameterValueException" and "100" in message
    assert client.delete_function_concurrency(FunctionName=fn)["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert "ReservedConcurrentExecutions" not in client.get_function_concurrency(FunctionName=fn)
    assert error_of(client.put_function_concurrency, FunctionName=name(), ReservedConcurrentExecutions=1)[0] == "ResourceNotFoundException"


# --- Errors ------------------------------------------------------------------------------


@pytest.mark.parametrize("overrides", [
    {"FunctionName": "bad name!"},
    {"FunctionName": "x" * 65},
    {"MemorySize": 64},
    {"MemorySize": 20000},
    {"Timeout": 0},
    {"Timeout": 1000},
    {"Runtime": "cobol1.0"},
    {"Runtime": "python2.7"},
    {"Role": "notarole"},
    {"Architectures": ["mips"]},
    {"EphemeralStorage": {"Size": 100}},
    {"Environment": {"Variables": {"AWS_REGION": "x"}}},
    {"Environment": {"Variables": {"1BAD": "x"}}},
    {"Handler": "has space"},
    {"Code": {"ZipFile": b"hello"}},
    {"Code": {"ZipFile": CODE[:-20]}},
    {"Code": {"S3Bucket": "b", "S3Key": "k"}},
])
def test_invalid_create(unvalidated, server, overrides):
    code, status, message = error_of(create, unvalidated, **overrides)
    assert (code, status) == ("InvalidParameterValueException", 400), message
    if "Code" in overrides and "ZipFile" in overrides["Code"]:
        assert "Could not unzip uploaded file" in message
    assert requests.get(f"{server.url}/2016-08-19/account-settings/", timeout=10).status_code == 200


@pytest.mark.parametrize("entry", ["../evil", "/etc/evil", "a/../../evil"])
def test_zip_entries_may_not_escape(client, entry):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(entry, "x")
    code, status, message = error_of(create, client, Code={"ZipFile": buffer.getvalue()})
    assert (code, status) == ("InvalidParameterValueException", 400), message


@pytest.fixture(scope="module")
def zip_bomb():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        with archive.open("zeros.bin", "w", force_zip64=True) as entry:
            chunk = b"\0" * (1 << 20)
            for _ in range(251):
                entry.write(chunk)
    return buffer.getvalue()


def test_unzipped_size_limit(client, zip_bomb):
    assert len(zip_bomb) < 2 * 1024 * 1024
    code, status, message = error_of(create, client, Code={"ZipFile": zip_bomb})
    assert (code, status) == ("InvalidParameterValueException", 400)
    assert "Unzipped size must be smaller than 262144000 bytes" in message


def test_oversized_body(server):
    body = b'{"FunctionName": "big", "Code": {"ZipFile": "' + b"A" * 71_000_000 + b'"}}'
    reply = requests.post(f"{server.url}/2015-03-31/functions", data=body, timeout=60)
    assert reply.status_code == 413
    assert reply.headers["x-amzn-ErrorType"] == "RequestEntityTooLargeException"


def test_malformed_json_and_unknown_things(server, client):
    reply = requests.post(f"{server.url}/2015-03-31/functions", data=b"{not json", timeout=10)
    assert reply.status_code == 400
    assert reply.headers["x-amzn-ErrorType"] == "InvalidRequestContentException"
    assert reply.json()["Type"] == "User" and reply.json()["message"]
    assert reply.headers["x-amzn-RequestId"]
    reply = requests.get(f"{server.url}/2015-03-31/functions/{name()}", timeout=10)
    assert reply.status_code == 404 and reply.headers["x-amzn-ErrorType"] == "ResourceNotFoundException"
    assert "Function not found: arn:aws:lambda:" in reply.json()["message"]
    assert requests.get(f"{server.url}/no/such/path", timeout=10).status_code == 404


def test_duplicate_name(client):
    fn = name()
    create(client, fn)
    assert error_of(create, client, fn)[:2] == ("ResourceConflictException", 409)


def test_invalid_names_and_qualifiers(unvalidated):
    for bad in ["bad name!", "arn:aws:lambda:us-east-1:12:function:f", "a:b:c:d"]:
        assert error_of(unvalidated.get_function, FunctionName=bad)[:2] == ("InvalidParameterValueException", 400), bad
    fn = name()
    create(unvalidated, fn)
    code, _, _ = error_of(unvalidated.get_function, FunctionName=f"{fn}:1", Qualifier="2")
    assert code == "InvalidParameterValueException"
    assert error_of(unvalidated.list_functions, MaxItems=0)[0] == "InvalidParameterValueException"
