"""Published versions (snapshots of $LATEST) and aliases (names for versions)."""

import concurrent.futures
import time

from botocore.exceptions import ClientError

from helpers import (
    PER_TENANT, body, create, distinct_zip, expect_error, function_arn, sha256_b64, status, unique,
    wait_updated, without_settling,
)


def versions_of(client, name, page_size=None):
    config = {"PageSize": page_size} if page_size else {}
    pages = client.get_paginator("list_versions_by_function").paginate(FunctionName=name, PaginationConfig=config)
    return [v for page in pages for v in page["Versions"]]


# --- PublishVersion --------------------------------------------------------------------------


def test_publish_numbers_versions(lambda_client):
    name = unique()
    code = distinct_zip()
    create(lambda_client, name, code)
    first = lambda_client.publish_version(FunctionName=name, Description="first")
    assert status(first) == 201
    assert first["Version"] == "1"
    assert first["FunctionArn"] == function_arn(name, qualifier="1")
    assert first["FunctionName"] == name
    assert first["Description"] == "first"
    assert first["CodeSha256"] == sha256_b64(code)
    # As AWS answers PublishVersion: the new version is Pending until it settles.
    assert (first["State"], first["StateReasonCode"]) == ("Pending", "Creating")
    lambda_client.update_function_configuration(FunctionName=name, MemorySize=256)
    wait_updated(lambda_client, name)
    second = lambda_client.publish_version(FunctionName=name)
    assert status(second) == 201
    assert second["Version"] == "2"
    assert second["MemorySize"] == 256
    lambda_client.update_function_code(FunctionName=name, ZipFile=distinct_zip())
    wait_updated(lambda_client, name)
    assert lambda_client.publish_version(FunctionName=name)["Version"] == "3"


def test_publishing_without_changes_returns_the_last_version(lambda_client):
    name = unique()
    create(lambda_client, name)
    first = lambda_client.publish_version(FunctionName=name)
    again = lambda_client.publish_version(FunctionName=name)
    assert again["Version"] == first["Version"] == "1"
    assert [v["Version"] for v in versions_of(lambda_client, name)] == ["$LATEST", "1"]
    lambda_client.update_function_configuration(FunctionName=name, Timeout=8)
    assert lambda_client.publish_version(FunctionName=name)["Version"] == "2"
    assert lambda_client.publish_version(FunctionName=name)["Version"] == "2"


def test_versions_are_snapshots(lambda_client, http):
    name = unique()
    code_1 = distinct_zip()
    create(lambda_client, name, code_1, Environment={"Variables": {"STAGE": "one"}}, Timeout=5, Description="v1 desc")
    v1 = body(lambda_client.publish_version(FunctionName=name))
    code_2 = distinct_zip()
    lambda_client.update_function_configuration(
        FunctionName=name, Timeout=50, MemorySize=512, Environment={"Variables": {"STAGE": "two"}},
        Handler="app.other", Description="latest desc",
    )
    wait_updated(lambda_client, name)
    lambda_client.update_function_code(FunctionName=name, ZipFile=code_2)
    wait_updated(lambda_client, name)
    got_1 = lambda_client.get_function(FunctionName=name, Qualifier="1")
    # The version settled (Active, new RevisionId) after PublishVersion answered Pending.
    assert without_settling(got_1["Configuration"]) == without_settling(v1)
    assert got_1["Configuration"]["State"] == "Active"
    v1 = body(lambda_client.get_function_configuration(FunctionName=name, Qualifier="1"))
    assert got_1["Configuration"]["Timeout"] == 5
    assert got_1["Configuration"]["MemorySize"] == 128
    assert got_1["Configuration"]["Environment"] == {"Variables": {"STAGE": "one"}}
    assert got_1["Configuration"]["Handler"] == "app.handler"
    assert got_1["Configuration"]["CodeSha256"] == sha256_b64(code_1)
    assert http.get(got_1["Code"]["Location"]).content == code_1
    latest = lambda_client.get_function(FunctionName=name)
    assert latest["Configuration"]["Timeout"] == 50
    assert http.get(latest["Code"]["Location"]).content == code_2
    v2 = lambda_client.publish_version(FunctionName=name)
    assert (v2["Version"], v2["Timeout"], v2["CodeSha256"]) == ("2", 50, sha256_b64(code_2))
    assert body(lambda_client.get_function_configuration(FunctionName=name, Qualifier="1")) == v1


def test_versions_keep_tenancy_config(lambda_client):
    name = unique()
    create(lambda_client, name, TenancyConfig=PER_TENANT, Publish=True)
    lambda_client.update_function_configuration(FunctionName=name, Timeout=20)
    v2 = lambda_client.publish_version(FunctionName=name)
    assert v2["TenancyConfig"] == PER_TENANT
    for qualifier in ("1", "2", "$LATEST"):
        assert lambda_client.get_function_configuration(FunctionName=name, Qualifier=qualifier)["TenancyConfig"] == PER_TENANT
        assert lambda_client.get_function(FunctionName=name, Qualifier=qualifier)["Configuration"]["TenancyConfig"] == PER_TENANT
    assert all(v["TenancyConfig"] == PER_TENANT for v in versions_of(lambda_client, name))
    every = [f for page in lambda_client.get_paginator("list_functions").paginate(FunctionVersion="ALL")
             for f in page["Functions"] if f["FunctionName"] == name]
    assert len(every) == 3 and all(f["TenancyConfig"] == PER_TENANT for f in every)
    plain = unique()
    create(lambda_client, plain, Publish=True)
    assert all("TenancyConfig" not in v for v in versions_of(lambda_client, plain))


def retrying_conflicts(call):
    """Runs `call` until Lambda stops answering ResourceConflictException: as on AWS, a
    change refused while another one is still being applied is retried by the client."""
    while True:
        try:
            return call()
        except ClientError as e:
            if e.response["Error"]["Code"] != "ResourceConflictException":
                raise
            time.sleep(0.05)


def test_concurrent_publishes(server, lambda_client):
    name = unique()
    create(lambda_client, name)
    with concurrent.futures.ThreadPoolExecutor(12) as pool:
        published = list(pool.map(
            lambda _: retrying_conflicts(lambda: server.client().publish_version(FunctionName=name)["Version"]),
            range(12)))
    assert published == ["1"] * 12, "one snapshot of an unchanged $LATEST"

    def change_and_publish(timeout):
        client = server.client()
        retrying_conflicts(lambda: client.update_function_configuration(FunctionName=name, Timeout=timeout))
        return retrying_conflicts(lambda: client.publish_version(FunctionName=name)["Version"])

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        published = list(pool.map(change_and_publish, range(10, 18)))
    versions = lambda_client.list_versions_by_function(FunctionName=name)["Versions"]
    numbers = [v["Version"] for v in versions]
    assert numbers == ["$LATEST"] + [str(n) for n in range(1, len(numbers))], "no number skipped or doubled"
    assert set(published) <= set(numbers[1:])
    timeouts = [v["Timeout"] for v in versions[2:]]
    assert len(timeouts) == len(set(timeouts)), "each version is a distinct snapshot"
    assert set(timeouts) <= set(range(10, 18))


def test_list_versions_order_and_paging(lambda_client):
    name = unique()
    create(lambda_client, name)
    for timeout in range(4, 9):
        lambda_client.update_function_configuration(FunctionName=name, Timeout=timeout)
        lambda_client.publish_version(FunctionName=name)
    expected = ["$LATEST", "1", "2", "3", "4", "5"]
    listed = lambda_client.list_versions_by_function(FunctionName=name)
    assert status(listed) == 200
    assert [v["Version"] for v in listed["Versions"]] == expected
    assert [v["Timeout"] for v in listed["Versions"][1:]] == [4, 5, 6, 7, 8]
    assert listed["Versions"][0]["FunctionArn"] == function_arn(name, qualifier="$LATEST") or \
        listed["Versions"][0]["FunctionArn"] == function_arn(name)
    # Marker paging by hand.
    seen, marker = [], None
    while True:
        kwargs = {"FunctionName": name, "MaxItems": 2}
        if marker:
            kwargs["Marker"] = marker
        page = lambda_client.list_versions_by_function(**kwargs)
        assert len(page["Versions"]) <= 2
        seen += [v["Version"] for v in page["Versions"]]
        marker = page.get("NextMarker")
        if not marker:
            break
        assert len(seen) < 100
    assert seen == expected
    assert [v["Version"] for v in versions_of(lambda_client, name, page_size=1)] == expected
    expect_error("ResourceNotFoundException", 404, lambda_client.list_versions_by_function, FunctionName=unique())


def test_delete_one_version(lambda_client, http):
    name = unique()
    code = distinct_zip()
    create(lambda_client, name, code, Publish=True)
    lambda_client.update_function_configuration(FunctionName=name, Timeout=9)
    lambda_client.publish_version(FunctionName=name)
    lambda_client.update_function_configuration(FunctionName=name, Timeout=10)
    lambda_client.publish_version(FunctionName=name)
    assert status(lambda_client.delete_function(FunctionName=name, Qualifier="2")) == 204
    expect_error("ResourceNotFoundException", 404, lambda_client.get_function, FunctionName=name, Qualifier="2")
    assert [v["Version"] for v in versions_of(lambda_client, name)] == ["$LATEST", "1", "3"]
    assert lambda_client.get_function_configuration(FunctionName=name, Qualifier="1")["Timeout"] == 3
    assert lambda_client.get_function_configuration(FunctionName=name)["Timeout"] == 10
    assert http.get(lambda_client.get_function(FunctionName=name, Qualifier="1")["Code"]["Location"]).content == code
    expect_error("ResourceNotFoundException", 404, lambda_client.delete_function, FunctionName=name, Qualifier="2")
    expect_error("ResourceNotFoundException", 404, lambda_client.delete_function, FunctionName=name, Qualifier="42")
    # Numbers are never reused.
    lambda_client.update_function_configuration(FunctionName=name, Timeout=11)
    assert lambda_client.publish_version(FunctionName=name)["Version"] == "4"
    # Deleting by name:version works too.
    assert status(lambda_client.delete_function(FunctionName=f"{name}:1")) == 204
    assert [v["Version"] for v in versions_of(lambda_client, name)] == ["$LATEST", "3", "4"]


def test_latest_cannot_be_deleted_by_qualifier(lambda_client):
    name = unique()
    create(lambda_client, name, Publish=True)
    expect_error("InvalidParameterValueException", 400, lambda_client.delete_function, FunctionName=name, Qualifier="$LATEST")
    assert lambda_client.get_function_configuration(FunctionName=name)["Version"] == "$LATEST"
    assert [v["Version"] for v in versions_of(lambda_client, name)] == ["$LATEST", "1"]


def test_publish_on_missing_function(lambda_client):
    expect_error("ResourceNotFoundException", 404, lambda_client.publish_version, FunctionName=unique())


# --- Aliases ---------------------------------------------------------------------------------


def test_alias_lifecycle(lambda_client):
    name = unique()
    create(lambda_client, name, Publish=True)
    lambda_client.update_function_configuration(FunctionName=name, Timeout=30)
    lambda_client.publish_version(FunctionName=name)
    created = lambda_client.create_alias(FunctionName=name, Name="live", FunctionVersion="1", Description="production")
    assert status(created) == 201
    assert created["AliasArn"] == function_arn(name) + ":live"
    assert created["Name"] == "live"
    assert created["FunctionVersion"] == "1"
    assert created["Description"] == "production"
    assert created["RevisionId"]
    got = lambda_client.get_alias(FunctionName=name, Name="live")
    assert status(got) == 200
    assert body(got) == body(created)
    assert lambda_client.get_function_configuration(FunctionName=name, Qualifier="live")["Timeout"] == 3
    updated = lambda_client.update_alias(FunctionName=name, Name="live", FunctionVersion="2", Description="moved")
    assert status(updated) == 200
    assert (updated["FunctionVersion"], updated["Description"]) == ("2", "moved")
    assert updated["AliasArn"] == created["AliasArn"]
    assert updated["RevisionId"] != created["RevisionId"]
    assert body(lambda_client.get_alias(FunctionName=name, Name="live")) == body(updated)
    assert lambda_client.get_function_configuration(FunctionName=name, Qualifier="live")["Timeout"] == 30
    assert lambda_client.get_function(FunctionName=f"{name}:live")["Configuration"]["Version"] == "2"
    deleted = lambda_client.delete_alias(FunctionName=name, Name="live")
    assert status(deleted) == 204
    expect_error("ResourceNotFoundException", 404, lambda_client.get_alias, FunctionName=name, Name="live")
    expect_error("ResourceNotFoundException", 404, lambda_client.get_function, FunctionName=name, Qualifier="live")
    assert lambda_client.list_aliases(FunctionName=name)["Aliases"] == []


def test_alias_to_latest_follows_updates(lambda_client):
    name = unique()
    create(lambda_client, name)
    alias = lambda_client.create_alias(FunctionName=name, Name="edge", FunctionVersion="$LATEST")
    assert alias["FunctionVersion"] == "$LATEST"
    lambda_client.update_function_configuration(FunctionName=name, Timeout=33)
    assert lambda_client.get_function_configuration(FunctionName=name, Qualifier="edge")["Timeout"] == 33


def test_list_aliases(lambda_client):
    name = unique()
    create(lambda_client, name, Publish=True)
    lambda_client.update_function_configuration(FunctionName=name, Timeout=4)
    lambda_client.publish_version(FunctionName=name)
    made = {
        "alpha": lambda_client.create_alias(FunctionName=name, Name="alpha", FunctionVersion="1"),
        "beta": lambda_client.create_alias(FunctionName=name, Name="beta", FunctionVersion="2"),
        "gamma": lambda_client.create_alias(FunctionName=name, Name="gamma", FunctionVersion="1"),
        "delta": lambda_client.create_alias(FunctionName=name, Name="delta", FunctionVersion="$LATEST"),
    }
    listed = lambda_client.list_aliases(FunctionName=name)
    assert status(listed) == 200
    assert {a["Name"]: a for a in listed["Aliases"]} == {k: body(v) for k, v in made.items()}
    assert sorted(a["Name"] for a in lambda_client.list_aliases(FunctionName=name, FunctionVersion="1")["Aliases"]) == ["alpha", "gamma"]
    assert [a["Name"] for a in lambda_client.list_aliases(FunctionName=name, FunctionVersion="2")["Aliases"]] == ["beta"]
    pages = list(lambda_client.get_paginator("list_aliases").paginate(FunctionName=name, PaginationConfig={"PageSize": 1}))
    paged = [a["Name"] for page in pages for a in page["Aliases"]]
    assert sorted(paged) == ["alpha", "beta", "delta", "gamma"]
    assert len(pages) >= 4
    expect_error("ResourceNotFoundException", 404, lambda_client.list_aliases, FunctionName=unique())


def test_alias_errors(lambda_client):
    name = unique()
    create(lambda_client, name, Publish=True)
    alias = lambda_client.create_alias(FunctionName=name, Name="live", FunctionVersion="1")
    expect_error("ResourceConflictException", 409, lambda_client.create_alias, FunctionName=name, Name="live", FunctionVersion="1")
    expect_error("ResourceNotFoundException", 404, lambda_client.create_alias, FunctionName=name, Name="next", FunctionVersion="9")
    expect_error("ResourceNotFoundException", 404, lambda_client.get_alias, FunctionName=name, Name="nope")
    expect_error("ResourceNotFoundException", 404, lambda_client.update_alias, FunctionName=name, Name="nope", FunctionVersion="1")
    expect_error("ResourceNotFoundException", 404, lambda_client.update_alias, FunctionName=name, Name="live", FunctionVersion="9")
    expect_error("ResourceNotFoundException", 404, lambda_client.create_alias, FunctionName=unique(), Name="live", FunctionVersion="1")
    expect_error("PreconditionFailedException", 412, lambda_client.update_alias,
                 FunctionName=name, Name="live", FunctionVersion="1", RevisionId="00000000-0000-0000-0000-000000000000")
    assert lambda_client.update_alias(FunctionName=name, Name="live", Description="ok", RevisionId=alias["RevisionId"])["Description"] == "ok"
    assert body(lambda_client.get_alias(FunctionName=name, Name="live"))["FunctionVersion"] == "1"


def test_version_used_by_alias_cannot_be_deleted(lambda_client):
    name = unique()
    create(lambda_client, name, Publish=True)
    lambda_client.create_alias(FunctionName=name, Name="live", FunctionVersion="1")
    expect_error("ResourceConflictException", 409, lambda_client.delete_function, FunctionName=name, Qualifier="1")
    assert lambda_client.get_function_configuration(FunctionName=name, Qualifier="1")["Version"] == "1"
    lambda_client.delete_alias(FunctionName=name, Name="live")
    assert status(lambda_client.delete_function(FunctionName=name, Qualifier="1")) == 204
    expect_error("ResourceNotFoundException", 404, lambda_client.get_function, FunctionName=name, Qualifier="1")


def test_alias_arn_follows_the_region(server):
    eu = server.client(region="eu-west-1")
    name = unique()
    create(eu, name, Publish=True)
    alias = eu.create_alias(FunctionName=name, Name="live", FunctionVersion="1")
    assert alias["AliasArn"] == function_arn(name, region="eu-west-1") + ":live"
