"""The unmodified SAM CLI against Alcove, deploying `examples/sam-tenant-counter`: `sam
build` (no Docker), `sam deploy --resolve-s3` (which first creates SAM's managed stack
with its source bucket, uploads the code and the template to it, then deploys the app
through a change set), the per-tenant counter through the stage URL, `sam logs`, a
redeploy of changed code uploaded with `--s3-bucket` (an update) and one without changes,
`sam list stack-outputs`, and `sam delete --no-prompts` taking the app's function, REST
API and stack (the managed stack and its bucket stay, as on AWS).

The SAM CLI lives in its own virtualenv (`.ci/run` installs it); the test finds it through
`ALCOVE_SAM` or the default location and skips, saying so, when it is absent."""

import os
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import pytest
import requests
from botocore.exceptions import ClientError

from harness import CREDENTIALS, REPO
from helpers import SEED_COUNTS, count_through_stage

DEFAULT_SAM = Path.home() / ".cache" / "alcove-tools" / "sam" / "bin" / "sam"

EXAMPLE = Path(REPO) / "examples" / "sam-tenant-counter"


@pytest.fixture(scope="module")
def sam():
    """The SAM CLI's path; the test skips, saying why, when it is not installed."""
    path = sam_binary()
    if path is None:
        pytest.skip(f"the SAM CLI is not installed (set ALCOVE_SAM or install it at {DEFAULT_SAM}, "
                    "as .ci/run does)")
    return path


def sam_binary():
    candidate = os.environ.get("ALCOVE_SAM") or str(DEFAULT_SAM)
    path = shutil.which(candidate)
    if path is None:
        return None
    try:
        subprocess.run([path, "--version"], capture_output=True, timeout=60, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return path


def run_sam(sam, server, project, *args):
    env = {**os.environ, **CREDENTIALS, "AWS_ENDPOINT_URL": server.url, "SAM_CLI_TELEMETRY": "0",
           "AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1"}
    env.pop("AWS_PROFILE", None)
    done = subprocess.run([sam, *args], cwd=project, capture_output=True, text=True, env=env, timeout=600)
    return done.returncode, done.stdout + done.stderr


def test_sam_deploy_counts_per_tenant_and_sam_delete_removes_the_app(sam, server, lambda_client, tmp_path):
    stack = f"samcli-{uuid.uuid4().hex[:8]}"
    project = tmp_path / "app"
    shutil.copytree(EXAMPLE, project, ignore=shutil.ignore_patterns(".aws-sam"))
    handler = project / "src" / "app.py"

    rc, out = run_sam(sam, server, project, "build")
    assert rc == 0, out
    deploy = ("deploy", "--resolve-s3", "--stack-name", stack, "--capabilities", "CAPABILITY_IAM",
              "--no-confirm-changeset", "--no-fail-on-empty-changeset", "--no-progressbar")
    rc, out = run_sam(sam, server, project, *deploy)
    assert rc == 0, out
    assert f"Successfully created/updated stack - {stack} in us-east-1" in out, out

    cfn = server.client("cloudformation")
    [managed] = cfn.describe_stacks(StackName="aws-sam-cli-managed-default")["Stacks"]
    assert managed["StackStatus"] == "CREATE_COMPLETE"
    assert {"Key": "ManagedStackSource", "Value": "AwsSamCli"} in managed["Tags"]
    bucket = {o["OutputKey"]: o["OutputValue"] for o in managed["Outputs"]}["SourceBucket"]

    [described] = cfn.describe_stacks(StackName=stack)["Stacks"]
    assert described["StackStatus"] == "CREATE_COMPLETE"
    outputs = {o["OutputKey"]: o["OutputValue"] for o in described["Outputs"]}
    api_id, function = outputs["ApiId"], outputs["FunctionName"]
    config = lambda_client.get_function(FunctionName=function)["Configuration"]
    assert config["TenancyConfig"] == {"TenantIsolationMode": "PER_TENANT"}

    url = f"{server.url}/restapis/{api_id}/prod/_user_request_/counter"
    assert [body["counter"] for body in count_through_stage(url)] == SEED_COUNTS

    # `sam logs` finds the function through the stack and reads its log group: each of the
    # six invokes reported, from one environment per tenant (two log streams).
    deadline = time.monotonic() + 30
    while True:
        rc, out = run_sam(sam, server, project, "logs", "--stack-name", stack)
        reports = [line for line in out.splitlines() if "REPORT RequestId:" in line]
        if rc != 0 or len(reports) >= 6 or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert rc == 0, out
    assert len(reports) == 6, out
    assert len({line.split()[0] for line in reports}) == 2, out

    # Changed code, uploaded to a bucket of the user's own (`--s3-bucket`): an update of
    # the same stack, served by the new code.
    own_bucket = f"samcli-own-{uuid.uuid4().hex[:8]}"
    s3 = server.client("s3")
    s3.create_bucket(Bucket=own_bucket)
    handler.write_text(handler.read_text().replace('"tenantId":', '"release": 2, "tenantId":'))
    rc, out = run_sam(sam, server, project, "build")
    assert rc == 0, out
    # (The example's samconfig.toml asks for --resolve-s3; the command line overrides it.)
    by_bucket = ("deploy", "--no-resolve-s3", "--s3-bucket", own_bucket, *deploy[2:])
    rc, out = run_sam(sam, server, project, *by_bucket)
    assert rc == 0, out
    assert s3.list_objects_v2(Bucket=own_bucket)["KeyCount"] >= 2, out
    assert f"Successfully created/updated stack - {stack} in us-east-1" in out, out
    assert cfn.describe_stacks(StackName=stack)["Stacks"][0]["StackStatus"] == "UPDATE_COMPLETE"
    response = requests.get(url, headers={"x-tenant-id": "BlueTenant"}, timeout=60)
    assert response.status_code == 200, response.text
    assert response.json()["release"] == 2

    # The same build again: an update whose change set is empty.
    rc, out = run_sam(sam, server, project, *by_bucket)
    assert rc == 0, out
    assert "No changes to deploy" in out, out

    rc, out = run_sam(sam, server, project, "list", "stack-outputs", "--stack-name", stack, "--output", "json")
    assert rc == 0, out
    assert api_id in out and function in out, out

    rc, out = run_sam(sam, server, project, "delete", "--no-prompts", "--stack-name", stack)
    assert rc == 0, out
    assert "Deleted successfully" in out, out

    with pytest.raises(ClientError) as error:
        cfn.describe_stacks(StackName=stack)
    assert error.value.response["Error"]["Message"] == f"Stack with id {stack} does not exist"
    with pytest.raises(ClientError) as error:
        lambda_client.get_function(FunctionName=function)
    assert error.value.response["Error"]["Code"] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as error:
        server.client("apigateway").get_rest_api(restApiId=api_id)
    assert error.value.response["Error"]["Code"] == "NotFoundException"
    # SAM deleted its artifacts; the managed stack and its bucket stay.
    [managed] = cfn.describe_stacks(StackName="aws-sam-cli-managed-default")["Stacks"]
    assert managed["StackStatus"] == "CREATE_COMPLETE"
    server.client("s3").head_bucket(Bucket=bucket)
