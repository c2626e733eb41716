"""Functions through boto3: create, read in every addressing form, list and page, update,
delete, and the TenancyConfig round trip."""

import concurrent.futures

import pytest
from botocore.exceptions import ClientError

from helpers import (
    LAST_MODIFIED, PER_TENANT, PY_CODE, ROLE, body, create, distinct_zip, expect_error,
    check_raw_error, function_arn, sha256_b64, status, unique, wait_updated, without_settling,
)


def download(http, get_function_response):
    reply = http.get(get_function_response["Code"]["Location"])
    assert reply.status_code == 200
    return reply.content


# --- CreateFunction ------------------------------------------------------------------------


def test_create_returns_every_member(lambda_client, zip_bytes):
    name = unique()
    code = zip_bytes({"app.py": "def handler(event, context):\n    return 1\n", "lib/data.txt": "x" * 100})
    created = create(
        lambda_client, name, code,
        Description="full example", MemorySize=1536, Timeout=45,
        Environment={"Variables": {"STAGE": "prod", "LOG_LEVEL": "debug"}},
        Architectures=["arm64"], EphemeralStorage={"Size": 2048}, TenancyConfig=PER_TENANT,
    )
    assert status(created) == 201
    assert created["FunctionName"] == name
    assert created["FunctionArn"] == function_arn(name)
    assert created["Runtime"] == "python3.12"
    assert created["Role"] == ROLE
    assert created["Handler"] == "app.handler"
    assert created["CodeSize"] == len(code)
    assert created["CodeSha256"] == sha256_b64(code)
    assert created["Description"] == "full example"
    assert created["Timeout"] == 45
    assert created["MemorySize"] == 1536
    assert LAST_MODIFIED.match(created["LastModified"]), created["LastModified"]
    assert created["Version"] == "$LATEST"
    # As AWS answers CreateFunction: Pending, with its reason, and no LastUpdateStatus yet.
    assert created["State"] == "Pending"
    assert (created["StateReason"], created["StateReasonCode"]) == ("The function is being created.", "Creating")
    assert "LastUpdateStatus" not in created
    assert created["PackageType"] == "Zip"
    assert created["Architectures"] == ["arm64"]
    assert created["EphemeralStorage"] == {"Size": 2048}
    assert isinstance(created["RevisionId"], str) and created["RevisionId"]
    assert created["Environment"] == {"Variables": {"STAGE": "prod", "LOG_LEVEL": "debug"}}
    assert created["TenancyConfig"] == PER_TENANT


def test_defaults_and_absent_members(lambda_client):
    created = create(lambda_client)
    assert created["MemorySize"] == 128
    assert created["Timeout"] == 3
    assert created["Architectures"] == ["x86_64"]
    assert created["EphemeralStorage"] == {"Size": 512}
    assert created.get("Description", "") == ""
    assert "TenancyConfig" not in created
    assert "Environment" not in created
    config = lambda_client.get_function_configuration(FunctionName=created["FunctionName"])
    assert "TenancyConfig" not in config
    assert "Environment" not in config


@pytest.mark.parametrize("overrides", [
    {"MemorySize": 128}, {"MemorySize": 10240}, {"Timeout": 1}, {"Timeout": 900},
    {"EphemeralStorage": {"Size": 512}}, {"EphemeralStorage": {"Size": 10240}},
    {"Architectures": ["x86_64"]}, {"Architectures": ["arm64"]},
], ids=lambda o: "-".join(f"{k}={v}" for k, v in o.items()))
def test_limits_are_inclusive(lambda_client, overrides):
    created = create(lambda_client, **overrides)
    for key, value in overrides.items():
        assert created[key] == value


@pytest.mark.parametrize("runtime,handler,files", [
    ("python3.12", "app.handler", {"app.py": "def handler(e, c):\n    return 1\n"}),
    ("python3.13", "app.handler", {"app.py": "def handler(e, c):\n    return 1\n"}),
    ("nodejs22.x", "index.handler", {"index.mjs": "export const handler = async () => 1;\n"}),
    ("nodejs20.x", "index.handler", {"index.js": "exports.handler = async () => 1;\n"}),
    ("provided.al2023", "bootstrap", {"bootstrap": (b"#!/bin/sh\nexit 0\n", 0o755)}),
    ("provided.al2", "bootstrap", {"bootstrap": (b"#!/bin/sh\nexit 0\n", 0o755)}),
    ("java21", "example.Handler::handleRequest", {"example/Handler.class": b"\xca\xfe\xba\xbe"}),
    ("ruby3.3", "function.handler", {"function.rb": "def handler(event:, context:) 1 end\n"}),
    ("dotnet8", "Assembly::Namespace.Class::Method", {"Assembly.dll": b"MZ"}),
])
def test_runtimes_are_accepted(lambda_client, zip_bytes, runtime, handler, files):
    code = zip_bytes(files)
    created = create(lambda_client, code=code, Runtime=runtime, Handler=handler)
    assert created["Runtime"] == runtime
    assert created["Handler"] == handler
    assert created["CodeSha256"] == sha256_b64(code)


def test_publish_on_create_makes_version_1(lambda_client):
    name = unique()
    created = create(lambda_client, name, Publish=True)
    assert status(created) == 201
    assert created["Version"] == "1"
    version = lambda_client.get_function_configuration(FunctionName=name, Qualifier="1")
    assert version["Version"] == "1"
    assert version["FunctionArn"] == function_arn(name, qualifier="1")
    assert version["CodeSha256"] == sha256_b64(PY_CODE)
    latest = lambda_client.get_function_configuration(FunctionName=name)
    assert latest["Version"] == "$LATEST"


def test_region_comes_from_the_credential_scope(server):
    eu = server.client(region="eu-west-1")
    name = unique()
    created = create(eu, name)
    assert created["FunctionArn"] == function_arn(name, region="eu-west-1")
    assert eu.get_function(FunctionName=name)["Configuration"]["FunctionArn"] == function_arn(name, region="eu-west-1")
    assert eu.get_function_configuration(FunctionName=function_arn(name, region="eu-west-1"))["FunctionName"] == name
    ap = server.client(region="ap-southeast-2")
    assert ap.create_function(
        FunctionName=unique(), Runtime="python3.12", Handler="app.handler", Role=ROLE, Code={"ZipFile": PY_CODE},
    )["FunctionArn"].startswith("arn:aws:lambda:ap-southeast-2:000000000000:function:")


def test_concurrent_creates_of_one_name(server):
    name = unique("race")

    def attempt(_):
        try:
            return status(create(server.client(), name))
        except ClientError as error:
            return error.response["Error"]["Code"]

    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        outcomes = sorted(map(str, pool.map(attempt, range(16))))
    assert outcomes == ["201"] + ["ResourceConflictException"] * 15


def test_text_round_trips(lambda_client):
    name = unique()
    description = 'h\u00e9llo \u2603 "quoted" \\ back\nslash'
    variables = {"UNICODE": "\u2603=x;y&z", "EMPTY": "", "JSON": '{"a": [1, 2]}', "SPACES": "  padded  "}
    created = create(lambda_client, name, Description=description, Environment={"Variables": variables})
    for config in (created, lambda_client.get_function_configuration(FunctionName=name)):
        assert config["Description"] == description
        assert config["Environment"] == {"Variables": variables}


# --- GetFunction / GetFunctionConfiguration -------------------------------------------------


def test_get_function_and_code_download(lambda_client, http, zip_bytes):
    name = unique()
    code = zip_bytes({"app.py": "def handler(e, c):\n    return 'download me'\n", "bin/tool": (b"\x7fELF", 0o755)})
    created = create(lambda_client, name, code, Environment={"Variables": {"KEY": "v"}})
    got = lambda_client.get_function(FunctionName=name)
    assert status(got) == 200
    assert set(body(got)) >= {"Configuration", "Code"}
    assert "Concurrency" not in got, "no reservation, no Concurrency member"
    assert got["Code"]["RepositoryType"] == "S3"
    assert download(http, got) == code
    assert without_settling(got["Configuration"]) == without_settling(body(created))
    assert (got["Configuration"]["State"], got["Configuration"]["LastUpdateStatus"]) == ("Active", "Successful")
    config = lambda_client.get_function_configuration(FunctionName=name)
    assert status(config) == 200
    assert body(config) == got["Configuration"]


def test_function_name_and_qualifier_forms(lambda_client):
    name = unique()
    create(lambda_client, name, Publish=True)
    lambda_client.update_function_configuration(FunctionName=name, Timeout=10)
    lambda_client.create_alias(FunctionName=name, Name="live", FunctionVersion="1")
    full, partial = function_arn(name), f"000000000000:function:{name}"

    def expected_arn(kwargs):
        # AWS qualifies FunctionArn by the qualifier the request named, as written.
        qualifier = kwargs.get("Qualifier") or (kwargs["FunctionName"].split(":")[-1]
                                                 if kwargs["FunctionName"].count(":") in (1, 3, 7) else None)
        return function_arn(name, qualifier=qualifier)
    latest = [
        dict(FunctionName=name), dict(FunctionName=full), dict(FunctionName=partial),
        dict(FunctionName=name, Qualifier="$LATEST"), dict(FunctionName=f"{name}:$LATEST"),
        dict(FunctionName=f"{full}:$LATEST"), dict(FunctionName=full, Qualifier="$LATEST"),
    ]
    version_1 = [
        dict(FunctionName=name, Qualifier="1"), dict(FunctionName=f"{name}:1"), dict(FunctionName=f"{full}:1"),
        dict(FunctionName=f"{partial}:1"), dict(FunctionName=name, Qualifier="live"),
        dict(FunctionName=f"{name}:live"), dict(FunctionName=f"{full}:live"), dict(FunctionName=partial, Qualifier="live"),
    ]
    for call in (lambda_client.get_function_configuration, lambda_client.get_function):
        for kwargs in latest:
            got = call(**kwargs)
            config = got.get("Configuration", got)
            assert (config["FunctionName"], config["Version"], config["Timeout"]) == (name, "$LATEST", 10), kwargs
            assert config["FunctionArn"] == expected_arn(kwargs), kwargs
        for kwargs in version_1:
            got = call(**kwargs)
            config = got.get("Configuration", got)
            assert (config["FunctionName"], config["Version"], config["Timeout"]) == (name, "1", 3), kwargs
            assert config["FunctionArn"] == expected_arn(kwargs), kwargs


def test_unknown_qualifiers_are_not_found(lambda_client):
    name = unique()
    create(lambda_client, name)
    expect_error("ResourceNotFoundException", 404, lambda_client.get_function, FunctionName=name, Qualifier="7")
    expect_error("ResourceNotFoundException", 404, lambda_client.get_function_configuration, FunctionName=name, Qualifier="nosuchalias")
    expect_error("ResourceNotFoundException", 404, lambda_client.get_function, FunctionName=f"{name}:nosuchalias")


# --- ListFunctions -------------------------------------------------------------------------


def listed_names(pages, prefix):
    return [f["FunctionName"] for page in pages for f in page["Functions"] if f["FunctionName"].startswith(prefix)]


def test_list_with_marker_paging(lambda_client):
    prefix = unique("page")
    names = [f"{prefix}-{i}" for i in range(7)]
    for name in names:
        create(lambda_client, name)
    pages, marker = [], None
    while True:
        kwargs = {"MaxItems": 2}
        if marker:
            kwargs["Marker"] = marker
        page = lambda_client.list_functions(**kwargs)
        assert status(page) == 200
        assert len(page["Functions"]) <= 2
        pages.append(page)
        marker = page.get("NextMarker")
        if not marker:
            break
        assert len(page["Functions"]) == 2, "only the last page may be short"
        assert len(pages) < 1000
    everything = [f["FunctionName"] for page in pages for f in page["Functions"]]
    assert len(everything) == len(set(everything)), "no function appears on two pages"
    assert sorted(listed_names(pages, prefix)) == names
    assert all(f["Version"] == "$LATEST" for page in pages for f in page["Functions"])


def test_list_last_page_has_no_marker(lambda_client):
    total = len([f for page in lambda_client.get_paginator("list_functions").paginate() for f in page["Functions"]])
    page = lambda_client.list_functions(MaxItems=total + 5)
    assert len(page["Functions"]) == total
    assert "NextMarker" not in page or not page["NextMarker"]


def test_list_paginator_and_tenancy(lambda_client):
    prefix = unique("pgn")
    create(lambda_client, f"{prefix}-plain")
    create(lambda_client, f"{prefix}-tenant", TenancyConfig=PER_TENANT)
    pages = list(lambda_client.get_paginator("list_functions").paginate(PaginationConfig={"PageSize": 1}))
    assert len(pages) >= 2
    found = {f["FunctionName"]: f for page in pages for f in page["Functions"] if f["FunctionName"].startswith(prefix)}
    assert set(found) == {f"{prefix}-plain", f"{prefix}-tenant"}
    assert found[f"{prefix}-tenant"]["TenancyConfig"] == PER_TENANT
    assert "TenancyConfig" not in found[f"{prefix}-plain"]
    config = body(lambda_client.get_function_configuration(FunctionName=f"{prefix}-tenant"))
    # List entries carry no lifecycle members and no RuntimeVersionConfig, as on AWS.
    for member in ("State", "LastUpdateStatus", "RuntimeVersionConfig"):
        assert member not in found[f"{prefix}-tenant"], member
        config.pop(member)
    assert found[f"{prefix}-tenant"] == config


def test_list_all_versions(lambda_client):
    name = unique()
    create(lambda_client, name, Publish=True)
    lambda_client.update_function_configuration(FunctionName=name, Timeout=11)
    lambda_client.publish_version(FunctionName=name)
    default = [f for page in lambda_client.get_paginator("list_functions").paginate() for f in page["Functions"] if f["FunctionName"] == name]
    assert [f["Version"] for f in default] == ["$LATEST"]
    every = [f for page in lambda_client.get_paginator("list_functions").paginate(FunctionVersion="ALL") for f in page["Functions"] if f["FunctionName"] == name]
    by_version = {f["Version"]: f for f in every}
    assert sorted(by_version) == ["$LATEST", "1", "2"]
    assert by_version["1"]["FunctionArn"] == function_arn(name, qualifier="1")
    assert (by_version["1"]["Timeout"], by_version["2"]["Timeout"]) == (3, 11)
    paged = [f for page in lambda_client.get_paginator("list_functions").paginate(FunctionVersion="ALL", PaginationConfig={"PageSize": 1}) for f in page["Functions"]]
    assert len(paged) == len({(f["FunctionName"], f["Version"]) for f in paged})
    assert sorted(f["Version"] for f in paged if f["FunctionName"] == name) == ["$LATEST", "1", "2"]


# --- Updates ---------------------------------------------------------------------------------


def test_update_code(lambda_client, http):
    name = unique()
    created = create(lambda_client, name)
    new_code = distinct_zip()
    updated = lambda_client.update_function_code(FunctionName=name, ZipFile=new_code)
    assert status(updated) == 200
    assert updated["CodeSha256"] == sha256_b64(new_code) != created["CodeSha256"]
    assert updated["CodeSize"] == len(new_code)
    assert updated["Version"] == "$LATEST"
    assert updated["RevisionId"] != created["RevisionId"]
    assert LAST_MODIFIED.match(updated["LastModified"])
    got = lambda_client.get_function(FunctionName=name)
    assert got["Configuration"]["CodeSha256"] == sha256_b64(new_code)
    assert download(http, got) == new_code
    expect_error("ResourceNotFoundException", 404, lambda_client.get_function_configuration, FunctionName=name, Qualifier="1")


def test_update_code_with_publish(lambda_client, http):
    name = unique()
    create(lambda_client, name)
    new_code = distinct_zip()
    updated = lambda_client.update_function_code(FunctionName=name, ZipFile=new_code, Publish=True)
    assert updated["Version"] == "1"
    assert updated["CodeSha256"] == sha256_b64(new_code)
    version = lambda_client.get_function(FunctionName=name, Qualifier="1")
    assert download(http, version) == new_code
    newer = distinct_zip()
    assert lambda_client.update_function_code(FunctionName=name, ZipFile=newer, Publish=True)["Version"] == "2"
    assert download(http, lambda_client.get_function(FunctionName=name, Qualifier="1")) == new_code
    assert download(http, lambda_client.get_function(FunctionName=name)) == newer


def test_update_configuration(lambda_client):
    name = unique()
    created = create(lambda_client, name, Environment={"Variables": {"OLD": "1"}}, Description="before")
    updated = lambda_client.update_function_configuration(
        FunctionName=name, Timeout=120, MemorySize=2048, Description="after",
        Environment={"Variables": {"NEW": "2", "OTHER": "3"}}, Handler="app.other", Runtime="python3.13",
        EphemeralStorage={"Size": 4096},
    )
    assert status(updated) == 200
    assert updated["Timeout"] == 120
    assert updated["MemorySize"] == 2048
    assert updated["Description"] == "after"
    assert updated["Environment"] == {"Variables": {"NEW": "2", "OTHER": "3"}}
    assert updated["Handler"] == "app.other"
    assert updated["Runtime"] == "python3.13"
    assert updated["EphemeralStorage"] == {"Size": 4096}
    assert updated["RevisionId"] != created["RevisionId"]
    for unchanged in ("FunctionArn", "CodeSha256", "CodeSize", "Role", "Architectures", "Version", "PackageType"):
        assert updated[unchanged] == created[unchanged], unchanged
    assert updated["LastUpdateStatus"] == "InProgress"
    wait_updated(lambda_client, name)
    assert without_settling(body(lambda_client.get_function_configuration(FunctionName=name))) == \
        without_settling(body(updated))
    # Members not sent are left alone.
    again = lambda_client.update_function_configuration(FunctionName=name, Timeout=7)
    assert again["Timeout"] == 7
    assert (again["MemorySize"], again["Handler"], again["Description"]) == (2048, "app.other", "after")
    assert again["Environment"] == {"Variables": {"NEW": "2", "OTHER": "3"}}


def test_update_keeps_tenancy(lambda_client):
    name = unique()
    create(lambda_client, name, TenancyConfig=PER_TENANT)
    assert lambda_client.update_function_configuration(FunctionName=name, MemorySize=256)["TenancyConfig"] == PER_TENANT
    wait_updated(lambda_client, name)
    assert lambda_client.update_function_code(FunctionName=name, ZipFile=distinct_zip())["TenancyConfig"] == PER_TENANT
    assert lambda_client.get_function(FunctionName=name)["Configuration"]["TenancyConfig"] == PER_TENANT


@pytest.mark.parametrize("tenancy", [True, False], ids=["per-tenant", "plain"])
def test_tenancy_config_cannot_be_updated(lambda_client, http, tenancy):
    name = unique()
    create(lambda_client, name, **({"TenancyConfig": PER_TENANT} if tenancy else {}))
    before = body(lambda_client.get_function_configuration(FunctionName=name))
    for document in ({"TenancyConfig": {"TenantIsolationMode": "PER_TENANT"}},
                     {"TenancyConfig": {"TenantIsolationMode": "PER_TENANT"}, "Timeout": 30, "Description": "sneaky"}):
        reply = http.put(f"/2015-03-31/functions/{name}/configuration", json=document)
        error = check_raw_error(reply, 400, "InvalidParameterValueException")
        assert "TenancyConfig" in error["message"]
    after = body(lambda_client.get_function_configuration(FunctionName=name))
    assert after == before, "a refused update changes nothing"


def test_revision_id_mismatch(lambda_client):
    name = unique()
    created = create(lambda_client, name)
    expect_error("PreconditionFailedException", 412, lambda_client.update_function_configuration,
                 FunctionName=name, Timeout=9, RevisionId="00000000-0000-0000-0000-000000000000")
    expect_error("PreconditionFailedException", 412, lambda_client.update_function_code,
                 FunctionName=name, ZipFile=distinct_zip(), RevisionId="00000000-0000-0000-0000-000000000000")
    current = lambda_client.get_function_configuration(FunctionName=name)
    assert current["Timeout"] == 3
    # AWS mints a new RevisionId when the creation settles: CreateFunction's is stale.
    assert current["RevisionId"] != created["RevisionId"]
    expect_error("PreconditionFailedException", 412, lambda_client.update_function_configuration,
                 FunctionName=name, Timeout=9, RevisionId=created["RevisionId"])
    ok = lambda_client.update_function_configuration(FunctionName=name, Timeout=9, RevisionId=current["RevisionId"])
    assert ok["Timeout"] == 9
    wait_updated(lambda_client, name)
    expect_error("PreconditionFailedException", 412, lambda_client.update_function_configuration,
                 FunctionName=name, Timeout=10, RevisionId=current["RevisionId"])
    settled = lambda_client.get_function_configuration(FunctionName=name)["RevisionId"]
    code = lambda_client.update_function_code(FunctionName=name, ZipFile=distinct_zip(), RevisionId=settled)
    assert code["RevisionId"] != settled


# --- DeleteFunction --------------------------------------------------------------------------


def test_delete_function(lambda_client):
    name = unique()
    create(lambda_client, name, Publish=True)
    lambda_client.create_alias(FunctionName=name, Name="live", FunctionVersion="1")
    deleted = lambda_client.delete_function(FunctionName=name)
    assert status(deleted) == 204
    expect_error("ResourceNotFoundException", 404, lambda_client.get_function, FunctionName=name)
    expect_error("ResourceNotFoundException", 404, lambda_client.get_function_configuration, FunctionName=name, Qualifier="1")
    expect_error("ResourceNotFoundException", 404, lambda_client.get_alias, FunctionName=name, Name="live")
    expect_error("ResourceNotFoundException", 404, lambda_client.delete_function, FunctionName=name)
    listed = [f["FunctionName"] for page in lambda_client.get_paginator("list_functions").paginate(FunctionVersion="ALL") for f in page["Functions"]]
    assert name not in listed


def test_delete_by_arn_and_recreate(lambda_client):
    name = unique()
    create(lambda_client, name, Publish=True, TenancyConfig=PER_TENANT)
    assert status(lambda_client.delete_function(FunctionName=function_arn(name))) == 204
    expect_error("ResourceNotFoundException", 404, lambda_client.get_function, FunctionName=name)
    again = create(lambda_client, name)
    assert again["FunctionName"] == name and "TenancyConfig" not in again
    versions = lambda_client.list_versions_by_function(FunctionName=name)["Versions"]
    assert [v["Version"] for v in versions] == ["$LATEST"]
    assert lambda_client.list_aliases(FunctionName=name)["Aliases"] == []
