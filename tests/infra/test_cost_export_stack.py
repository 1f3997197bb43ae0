"""The hub's Athena pieces for the FOCUS export (config `cost_export`), on the single-account synth that sets it:
the Glue table, the workgroup and its results bucket, and what the readers' managed policy allows — evaluated for
the FinOps role it is meant for and for a data scientist in a member account."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from aws_cdk.assertions import Annotations, Match, Template

from mlgov.domain.iam_eval import RequestContext, evaluate, resource_policy_allows
from stacks.parts.cost_export import FOCUS_COLUMNS, READERS_POLICY_NAME, WORKGROUP_NAME
from tests.infra.conftest import COST_EXPORT
from tests.infra.template_helpers import only, rendered

HUB = "222222222222"
REGION = "eu-west-1"  # cdk.json's hub_region
RESULTS_BUCKET = {
    "LoggingConfiguration": {"LogFilePrefix": "athena-results/", "DestinationBucketName": Match.any_value()}
}
FINOPS = f"arn:aws:iam::{HUB}:role/finops"
DATA_SCIENTIST = "arn:aws:iam::333333333333:role/made-by-a-data-scientist"


@pytest.fixture(scope="module")
def hub(single_account) -> Template:
    stacks, _ = single_account
    return Template.from_stack(stacks["hub"])


def _concrete(document: dict, hub: Template) -> dict:
    """The document as AWS evaluates it: partition and account filled in, the results bucket's ARN by a name."""
    results_id, _ = only(hub, "AWS::S3::Bucket", RESULTS_BUCKET)
    text = json.dumps(rendered(document)).replace("${AWS::Partition}", "aws").replace("${AWS::AccountId}", HUB)
    text = text.replace("${GetAtt:" + results_id + ".Arn}", "arn:aws:s3:::results-bucket")
    assert not re.search(r"\$\{(AWS::|GetAtt:|Ref:)", text), text
    return json.loads(text)


def _readers_policy(hub: Template) -> dict:
    _, policy = only(hub, "AWS::IAM::ManagedPolicy", {"ManagedPolicyName": READERS_POLICY_NAME})
    return _concrete(policy["Properties"]["PolicyDocument"], hub)


def test_the_table_reads_the_export_by_billing_period_with_the_focus_columns(hub):
    _, table = only(hub, "AWS::Glue::Table")
    table_input = table["Properties"]["TableInput"]
    location = f"s3://{COST_EXPORT['bucket']}/{COST_EXPORT['prefix']}"

    assert table_input["StorageDescriptor"]["Location"] == location
    assert {c["Name"]: c["Type"] for c in table_input["StorageDescriptor"]["Columns"]} == FOCUS_COLUMNS
    assert table_input["Parameters"]["storage.location.template"] == f"{location}BILLING_PERIOD=${{billing_period}}/"
    assert table_input["Parameters"]["projection.enabled"] == "true"
    assert table_input["Name"] == "focus" and table["Properties"]["DatabaseName"] == "mlgov_costs"


def test_the_workgroup_enforces_its_encrypted_expiring_results_location_and_a_scan_cutoff(hub):
    _, workgroup = only(hub, "AWS::Athena::WorkGroup", {"Name": WORKGROUP_NAME})
    configuration = workgroup["Properties"]["WorkGroupConfiguration"]
    bucket_id, bucket = only(hub, "AWS::S3::Bucket", RESULTS_BUCKET)

    assert configuration["EnforceWorkGroupConfiguration"] is True
    assert configuration["BytesScannedCutoffPerQuery"] == 200 * 1024**3
    assert configuration["ResultConfiguration"]["EncryptionConfiguration"] == {"EncryptionOption": "SSE_S3"}
    assert bucket_id in str(configuration["ResultConfiguration"]["OutputLocation"])
    assert bucket["Properties"]["LifecycleConfiguration"]["Rules"][0]["ExpirationInDays"] == 7
    assert bucket["Properties"]["PublicAccessBlockConfiguration"]["RestrictPublicBuckets"] is True


def _allowed(policy: dict, action: str, resource: str, principal: str = FINOPS, **context) -> bool:
    return evaluate(
        {READERS_POLICY_NAME: policy},
        RequestContext(action, principal_arn=principal, resource=resource, context=context),
        full_aws_access=False,
    ).allowed


def test_the_readers_policy_runs_mlgov_costs_and_reads_only_the_export(hub):
    policy = _readers_policy(hub)
    export = f"arn:aws:s3:::{COST_EXPORT['bucket']}"
    workgroup = f"arn:aws:athena:{REGION}:{HUB}:workgroup/{WORKGROUP_NAME}"

    assert _allowed(policy, "athena:StartQueryExecution", workgroup)
    assert _allowed(policy, "athena:GetQueryResults", workgroup)
    assert _allowed(policy, "glue:GetTable", f"arn:aws:glue:{REGION}:{HUB}:table/mlgov_costs/focus")
    assert _allowed(policy, "s3:GetObject", f"{export}/{COST_EXPORT['prefix']}BILLING_PERIOD=2026-11/part-0.parquet")
    assert _allowed(policy, "s3:ListBucket", export, **{"s3:prefix": COST_EXPORT["prefix"] + "BILLING_PERIOD=2026-11/"})
    assert _allowed(
        policy, "kms:Decrypt", COST_EXPORT["kms_key_arn"], **{"kms:ViaService": f"s3.{REGION}.amazonaws.com"}
    )
    # and nothing beside it
    assert not _allowed(policy, "athena:StartQueryExecution", f"arn:aws:athena:{REGION}:{HUB}:workgroup/primary")
    assert not _allowed(policy, "s3:GetObject", f"{export}/other-team/secret.csv")
    assert not _allowed(policy, "s3:ListBucket", export, **{"s3:prefix": "other-team/"})
    assert not _allowed(policy, "s3:PutObject", f"{export}/{COST_EXPORT['prefix']}BILLING_PERIOD=2026-11/x.parquet")
    assert not _allowed(policy, "glue:GetTable", f"arn:aws:glue:{REGION}:{HUB}:table/mlgov_costs/other")
    assert not _allowed(policy, "glue:DeleteTable", f"arn:aws:glue:{REGION}:{HUB}:table/mlgov_costs/focus")
    assert not _allowed(policy, "kms:Decrypt", COST_EXPORT["kms_key_arn"])  # only through S3


def test_a_member_accounts_role_gets_nothing_from_the_results_bucket(hub):
    """A data scientist who can create roles in a member account: the results bucket's policy grants no other
    account anything (it only denies insecure transport), so IAM in their account cannot reach it."""
    results_id, _ = only(hub, "AWS::S3::Bucket", RESULTS_BUCKET)
    _, bucket_policy = only(hub, "AWS::S3::BucketPolicy", {"Bucket": {"Ref": results_id}})
    document = _concrete(bucket_policy["Properties"]["PolicyDocument"], hub)
    request = RequestContext(
        "s3:GetObject", principal_arn=DATA_SCIENTIST, resource="arn:aws:s3:::results-bucket/results/q-1.csv",
        context={"aws:SecureTransport": "true"},
    )  # fmt: skip

    assert not resource_policy_allows(document, request)


def test_the_cost_export_pieces_pass_cdk_nag_and_cfn_lint(single_account):
    from tests.infra.test_org_stack import _cfn_lint_errors

    stacks, assembly = single_account
    errors = Annotations.from_stack(stacks["hub"]).find_error("*", Match.string_like_regexp("AwsSolutions-.*"))
    hub_template = next(s for s in assembly.stacks if s.stack_name == stacks["hub"].stack_name)

    assert errors == [], [e.entry.data for e in errors]
    assert _cfn_lint_errors(Path(hub_template.template_full_path).read_text()) == []
