"""Reserved concurrency and account settings. Limits: 1000 for the account, and the
unreserved pool may not drop below 100."""

import concurrent.futures

import pytest
from botocore.exceptions import ClientError

from helpers import body, create, distinct_zip, expect_error, status, unique

ACCOUNT_LIMIT = 1000
UNRESERVED_MINIMUM = 100


@pytest.fixture
def fresh(server_factory):
    """A client on a server of its own, so account-wide numbers are exact."""
    return server_factory.start().client()


def unreserved(client):
    return client.get_account_settings()["AccountLimit"]["UnreservedConcurrentExecutions"]


def test_put_get_delete(lambda_client):
    name = unique()
    create(lambda_client, name)
    unset = lambda_client.get_function_concurrency(FunctionName=name)
    assert status(unset) == 200
    assert body(unset) == {}
    assert "Concurrency" not in lambda_client.get_function(FunctionName=name)
    put = lambda_client.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=25)
    assert status(put) == 200
    assert body(put) == {"ReservedConcurrentExecutions": 25}
    assert body(lambda_client.get_function_concurrency(FunctionName=name)) == {"ReservedConcurrentExecutions": 25}
    assert lambda_client.get_function(FunctionName=name)["Concurrency"] == {"ReservedConcurrentExecutions": 25}
    assert lambda_client.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=40)["ReservedConcurrentExecutions"] == 40
    assert lambda_client.get_function_concurrency(FunctionName=name)["ReservedConcurrentExecutions"] == 40
    deleted = lambda_client.delete_function_concurrency(FunctionName=name)
    assert status(deleted) == 204
    assert body(lambda_client.get_function_concurrency(FunctionName=name)) == {}
    assert "Concurrency" not in lambda_client.get_function(FunctionName=name)


def test_reservation_is_per_function_not_per_version(lambda_client):
    name = unique()
    create(lambda_client, name, Publish=True)
    lambda_client.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=3)
    assert lambda_client.get_function(FunctionName=name, Qualifier="1")["Concurrency"] == {"ReservedConcurrentExecutions": 3}
    assert lambda_client.get_function_concurrency(FunctionName=f"arn:aws:lambda:us-east-1:000000000000:function:{name}")["ReservedConcurrentExecutions"] == 3
    lambda_client.delete_function_concurrency(FunctionName=name)


def test_zero_is_a_valid_reservation(lambda_client):
    name = unique()
    create(lambda_client, name)
    assert lambda_client.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=0)["ReservedConcurrentExecutions"] == 0
    assert lambda_client.get_function_concurrency(FunctionName=name)["ReservedConcurrentExecutions"] == 0
    lambda_client.delete_function_concurrency(FunctionName=name)


def test_missing_function(lambda_client):
    missing = unique()
    expect_error("ResourceNotFoundException", 404, lambda_client.put_function_concurrency, FunctionName=missing, ReservedConcurrentExecutions=1)
    expect_error("ResourceNotFoundException", 404, lambda_client.get_function_concurrency, FunctionName=missing)
    expect_error("ResourceNotFoundException", 404, lambda_client.delete_function_concurrency, FunctionName=missing)


def test_negative_reservation(raw_client):
    name = unique()
    create(raw_client, name)
    message = expect_error("ValidationException", 400, raw_client.put_function_concurrency, FunctionName=name,
                           ReservedConcurrentExecutions=-1)
    assert message == ("1 validation error detected: Value '-1' at 'reservedConcurrentExecutions' failed to satisfy "
                       "constraint: Member must have value greater than or equal to 0")
    assert body(raw_client.get_function_concurrency(FunctionName=name)) == {}


def test_account_settings_on_a_fresh_server(fresh):
    settings = fresh.get_account_settings()
    assert status(settings) == 200
    limit, usage = settings["AccountLimit"], settings["AccountUsage"]
    assert limit["ConcurrentExecutions"] == ACCOUNT_LIMIT
    assert limit["UnreservedConcurrentExecutions"] == ACCOUNT_LIMIT
    assert limit["CodeSizeZipped"] == 52428800
    assert limit["CodeSizeUnzipped"] == 262144000
    assert isinstance(limit["TotalCodeSize"], int) and limit["TotalCodeSize"] > 0
    assert usage["FunctionCount"] == 0
    assert usage["TotalCodeSize"] == 0

    codes = [distinct_zip() for _ in range(3)]
    names = [create(fresh, code=code)["FunctionName"] for code in codes]
    usage = fresh.get_account_settings()["AccountUsage"]
    assert usage["FunctionCount"] == 3
    assert usage["TotalCodeSize"] == sum(map(len, codes))
    fresh.delete_function(FunctionName=names[0])
    usage = fresh.get_account_settings()["AccountUsage"]
    assert usage["FunctionCount"] == 2
    assert usage["TotalCodeSize"] == sum(map(len, codes[1:]))


def test_versions_do_not_count_as_functions(fresh):
    name = unique()
    create(fresh, name, Publish=True)
    fresh.update_function_configuration(FunctionName=name, Timeout=5)
    fresh.publish_version(FunctionName=name)
    assert fresh.get_account_settings()["AccountUsage"]["FunctionCount"] == 1


def test_unreserved_pool_arithmetic_and_minimum(fresh):
    a, b, c = (create(fresh)["FunctionName"] for _ in range(3))
    message = expect_error("InvalidParameterValueException", 400, fresh.put_function_concurrency,
                           FunctionName=a, ReservedConcurrentExecutions=ACCOUNT_LIMIT - UNRESERVED_MINIMUM + 1)
    assert message
    assert body(fresh.get_function_concurrency(FunctionName=a)) == {}
    assert unreserved(fresh) == ACCOUNT_LIMIT

    fresh.put_function_concurrency(FunctionName=a, ReservedConcurrentExecutions=300)
    fresh.put_function_concurrency(FunctionName=b, ReservedConcurrentExecutions=200)
    assert unreserved(fresh) == ACCOUNT_LIMIT - 500
    # Changing a reservation replaces it: a's 300 becomes 700, leaving exactly 100.
    fresh.put_function_concurrency(FunctionName=a, ReservedConcurrentExecutions=700)
    assert unreserved(fresh) == UNRESERVED_MINIMUM
    expect_error("InvalidParameterValueException", 400, fresh.put_function_concurrency, FunctionName=c, ReservedConcurrentExecutions=1)
    expect_error("InvalidParameterValueException", 400, fresh.put_function_concurrency, FunctionName=b, ReservedConcurrentExecutions=201)
    assert fresh.get_function_concurrency(FunctionName=b)["ReservedConcurrentExecutions"] == 200
    assert unreserved(fresh) == UNRESERVED_MINIMUM

    fresh.delete_function_concurrency(FunctionName=b)
    assert unreserved(fresh) == ACCOUNT_LIMIT - 700
    # Deleting a function gives its reservation back.
    fresh.delete_function(FunctionName=a)
    assert unreserved(fresh) == ACCOUNT_LIMIT
    assert fresh.put_function_concurrency(FunctionName=c, ReservedConcurrentExecutions=900)["ReservedConcurrentExecutions"] == 900
    assert unreserved(fresh) == UNRESERVED_MINIMUM


def test_reserving_901_of_1000_is_refused(fresh):
    name = create(fresh)["FunctionName"]
    expect_error("InvalidParameterValueException", 400, fresh.put_function_concurrency, FunctionName=name, ReservedConcurrentExecutions=901)
    expect_error("InvalidParameterValueException", 400, fresh.put_function_concurrency, FunctionName=name, ReservedConcurrentExecutions=1000)
    assert fresh.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=900)["ReservedConcurrentExecutions"] == 900


def test_concurrent_reservations_respect_the_minimum(server_factory):
    server = server_factory.start()
    client = server.client()
    names = [create(client)["FunctionName"] for _ in range(6)]

    def reserve(name):
        try:
            server.client().put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=400)
            return "ok"
        except ClientError as error:
            return error.response["Error"]["Code"]

    with concurrent.futures.ThreadPoolExecutor(6) as pool:
        outcomes = list(pool.map(reserve, names))
    assert sorted(outcomes) == ["InvalidParameterValueException"] * 4 + ["ok"] * 2
    assert unreserved(client) == ACCOUNT_LIMIT - 800
