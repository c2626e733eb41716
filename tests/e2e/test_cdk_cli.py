"""The unmodified AWS CDK CLI against Alcove, deploying `examples/cdk-tenant-counter` (a
`PER_TENANT` Node.js function from a file asset behind a `RestApi` mapping `x-tenant-id`
to `X-Amz-Tenant-Id`) with the modern bootstrap: `cdk bootstrap` (the CDKToolkit stack:
its asset bucket, its version parameter in SSM, its roles and repository recorded), `cdk
deploy` (STS AssumeRole of the bootstrap roles, the asset and template uploaded to
Alcove's S3, the stack's `BootstrapVersion` parameter resolved from SSM and its rule
checked), the per-tenant counter through the stage URL, `cdk diff` of changed code, a
redeploy, `cdk diff` without changes, and `cdk destroy`, which leaves no function, API or
stack behind.

The CDK (the `aws-cdk` CLI with `aws-cdk-lib`) is installed by `.ci/run` from the
example's package.json; the test finds it through `ALCOVE_CDK_HOME` or the default
location and skips, saying so, when it is absent."""

import os
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest
import requests
from botocore.exceptions import ClientError

from harness import CREDENTIALS, REPO
from helpers import SEED_COUNTS, count_through_stage

DEFAULT_CDK_HOME = Path.home() / ".cache" / "alcove-tools" / "cdk"
EXAMPLE = Path(REPO) / "examples" / "cdk-tenant-counter"
ASSETS_BUCKET = "cdk-hnb659fds-assets-000000000000-us-east-1"


@pytest.fixture(scope="module")
def cdk_home():
    """Where the CDK's node_modules are; the test skips, saying why, when they are not."""
    home = Path(os.environ.get("ALCOVE_CDK_HOME") or DEFAULT_CDK_HOME)
    cli = home / "node_modules" / ".bin" / "cdk"
    if not cli.exists() or not (home / "node_modules" / "aws-cdk-lib").is_dir():
        pytest.skip(f"the AWS CDK is not installed (set ALCOVE_CDK_HOME or install it at {home}, "
                    "as .ci/run does)")
    return home


def run_cdk(cdk_home, server, app, stack, *args):
    # CDK_HOME keeps the CLI's caches (it remembers the account of an access key) apart
    # from the user's.
    env = {**os.environ, **CREDENTIALS, "AWS_ENDPOINT_URL": server.url, "AWS_REGION": "us-east-1",
           "AWS_DEFAULT_REGION": "us-east-1", "CDK_DISABLE_CLI_TELEMETRY": "1", "CI": "true",
           "NODE_PATH": str(cdk_home / "node_modules"), "COUNTER_STACK": stack,
           "CDK_HOME": str(app.parent / "cdk-home")}
    env.pop("AWS_PROFILE", None)
    cli = str(cdk_home / "node_modules" / ".bin" / "cdk")
    done = subprocess.run([cli, *args, "--no-notices"], cwd=app, capture_output=True, text=True, env=env,
                          timeout=600)
    return done.returncode, done.stdout + done.stderr


def test_cdk_deploy_counts_per_tenant_and_cdk_destroy_removes_the_app(cdk_home, server, lambda_client, tmp_path):
    stack = f"CdkCounter{uuid.uuid4().hex[:8]}"
    app = tmp_path / "app"
    shutil.copytree(EXAMPLE, app, ignore=shutil.ignore_patterns("node_modules", "cdk.out"))
    cfn = server.client("cloudformation")

    rc, out = run_cdk(cdk_home, server, app, stack, "bootstrap")
    assert rc == 0, out
    [toolkit] = cfn.describe_stacks(StackName="CDKToolkit")["Stacks"]
    assert toolkit["StackStatus"] == "CREATE_COMPLETE", toolkit
    outputs = {o["OutputKey"]: o["OutputValue"] for o in toolkit["Outputs"]}
    assert outputs["BucketName"] == ASSETS_BUCKET
    version = server.client("ssm").get_parameter(Name="/cdk-bootstrap/hnb659fds/version")["Parameter"]
    assert version["Value"] == outputs["BootstrapVersion"]

    rc, out = run_cdk(cdk_home, server, app, stack, "deploy", "--require-approval", "never")
    assert rc == 0, out
    assert "could not be used to assume" not in out, out
    [described] = cfn.describe_stacks(StackName=stack)["Stacks"]
    assert described["StackStatus"] == "CREATE_COMPLETE"
    [bootstrap_version] = [p for p in described["Parameters"] if p["ParameterKey"] == "BootstrapVersion"]
    assert bootstrap_version["ParameterValue"] == "/cdk-bootstrap/hnb659fds/version"
    assert bootstrap_version["ResolvedValue"] == version["Value"]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in described["Outputs"]}
    function = outputs["FunctionName"]
    config = lambda_client.get_function(FunctionName=function)["Configuration"]
    assert config["TenancyConfig"] == {"TenantIsolationMode": "PER_TENANT"}
    # The function's code and the stack's template went through the bootstrap bucket.
    keys = [o["Key"] for o in server.client("s3").list_objects_v2(Bucket=ASSETS_BUCKET)["Contents"]]
    assert any(k.endswith(".zip") for k in keys) and any(k.endswith(".json") for k in keys), keys

    url = outputs["CounterUrl"]
    assert url.startswith(f"{server.url}/restapis/"), url
    assert [body["counter"] for body in count_through_stage(url)] == SEED_COUNTS

    # Changed code: `cdk diff` names the function, a redeploy updates it in place.
    handler = app / "function" / "index.mjs"
    handler.write_text(handler.read_text().replace("counter: counter++,", "counter: counter++, release: 2,"))
    rc, out = run_cdk(cdk_home, server, app, stack, "diff")
    assert rc == 0, out
    assert "AWS::Lambda::Function" in out and "Counter" in out, out
    rc, out = run_cdk(cdk_home, server, app, stack, "deploy", "--require-approval", "never")
    assert rc == 0, out
    assert cfn.describe_stacks(StackName=stack)["Stacks"][0]["StackStatus"] == "UPDATE_COMPLETE"
    response = requests.get(url, headers={"x-tenant-id": "BlueTenant"}, timeout=60)
    assert response.status_code == 200, response.text
    assert response.json()["release"] == 2
    rc, out = run_cdk(cdk_home, server, app, stack, "diff")
    assert rc == 0, out
    assert "There were no differences" in out, out

    rc, out = run_cdk(cdk_home, server, app, stack, "destroy", "--force")
    assert rc == 0, out
    with pytest.raises(ClientError) as error:
        cfn.describe_stacks(StackName=stack)
    assert error.value.response["Error"]["Message"] == f"Stack with id {stack} does not exist"
    with pytest.raises(ClientError) as error:
        lambda_client.get_function(FunctionName=function)
    assert error.value.response["Error"]["Code"] == "ResourceNotFoundException"
    api_id = url.split("/restapis/")[1].split("/")[0]
    with pytest.raises(ClientError) as error:
        server.client("apigateway").get_rest_api(restApiId=api_id)
    assert error.value.response["Error"]["Code"] == "NotFoundException"
    # The bootstrap stack stays, as on AWS.
    assert cfn.describe_stacks(StackName="CDKToolkit")["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"
