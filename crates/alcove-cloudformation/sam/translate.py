"""Runs AWS's own SAM translator (the aws-sam-translator package) on one template.

Alcove's CloudFormation engine runs this script with the configured Python interpreter,
writes one JSON request on stdin and reads one JSON answer on stdout:

  request: {"template": {...}, "parameters": {"Name": "value"}, "region": "...",
            "account_id": "..."}
  answer:  {"template": {...}}                 the processed template
           {"error": "...", "causes": [...]}   the translator refused the template
           {"missing": "..."}                  the translator is not installed

Nothing here may reach the network: managed policy names resolve without IAM, feature
toggles are the translator's defaults (no AppConfig), the region comes from the request,
and what Alcove cannot serve (Serverless Application Repository applications,
CodeDeploy's DeploymentPreference) is refused before translating.
"""

import json
import os
import re
import sys

# boto3 reads the region from here; no credentials or metadata lookups are wanted.
request = json.load(sys.stdin)
os.environ["AWS_DEFAULT_REGION"] = request["region"]
os.environ["AWS_REGION"] = request["region"]
os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
os.environ.setdefault("AWS_ACCESS_KEY_ID", "alcove")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "alcove")


def answer(document):
    json.dump(document, sys.stdout)
    sys.stdout.flush()
    sys.exit(0)


try:
    from samtranslator.model.exceptions import InvalidDocumentException
    from samtranslator.translator.managed_policy_translator import ManagedPolicyLoader
    from samtranslator.translator.transform import transform
except ImportError as error:
    answer({"missing": str(error)})

PLAIN_NAME = re.compile(r"^[\w+=,.@-]+$")


class AwsManagedPolicies(dict):
    """Maps any plain policy name to its AWS managed policy ARN, as IAM would list it."""

    def __init__(self, partition):
        super().__init__()
        self.partition = partition

    def _plain(self, name):
        return isinstance(name, str) and PLAIN_NAME.match(name) is not None

    def __contains__(self, name):
        return self._plain(name)

    def get(self, name, default=None):
        return self[name] if self._plain(name) else default

    def __missing__(self, name):
        if not self._plain(name):
            raise KeyError(name)
        return f"arn:{self.partition}:iam::aws:policy/{name}"


class OfflinePolicyLoader(ManagedPolicyLoader):
    def __init__(self, partition):
        super().__init__(None)
        self._policy_map = AwsManagedPolicies(partition)

    def load(self):
        return self._policy_map


def partition_of(region):
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def refused(template):
    """SAM features Alcove cannot serve, refused as the translator refuses a resource."""
    resources = template.get("Resources") if isinstance(template, dict) else None
    if not isinstance(resources, dict):
        return []
    globals_ = template.get("Globals") if isinstance(template.get("Globals"), dict) else {}
    global_function = globals_.get("Function") if isinstance(globals_.get("Function"), dict) else {}
    causes = []
    for logical_id, resource in resources.items():
        if not isinstance(resource, dict):
            continue
        kind = resource.get("Type")
        properties = resource.get("Properties") if isinstance(resource.get("Properties"), dict) else {}
        if kind == "AWS::Serverless::Application":
            causes.append(
                f"Resource with id [{logical_id}] is invalid. AWS::Serverless::Application "
                "(Serverless Application Repository) is not supported by Alcove."
            )
        elif kind == "AWS::Serverless::Function" and (
            properties.get("DeploymentPreference") or global_function.get("DeploymentPreference")
        ):
            causes.append(
                f"Resource with id [{logical_id}] is invalid. DeploymentPreference is not supported by "
                "Alcove: it deploys through CodeDeploy, which Alcove does not serve."
            )
    return causes


def main():
    template = request["template"]
    causes = refused(template)
    if causes:
        answer(
            {
                "error": "Invalid Serverless Application Specification document. "
                f"Number of errors found: {len(causes)}.",
                "causes": causes,
            }
        )
    region = request["region"]
    parameters = dict(request.get("parameters") or {})
    parameters.setdefault("AWS::Region", region)
    parameters.setdefault("AWS::AccountId", request["account_id"])
    parameters.setdefault("AWS::Partition", partition_of(region))
    try:
        processed = transform(template, parameters, OfflinePolicyLoader(partition_of(region)))
    except InvalidDocumentException as error:
        answer({"error": error.message, "causes": [cause.message for cause in error.causes]})
    except Exception as error:  # the translator's own bugs surface as a refusal, not a crash
        answer({"error": f"{type(error).__name__}: {error}", "causes": []})
    answer({"template": processed})


main()
