"""Who may read and write the snapshot archive, evaluated on the synthesized bucket and key policies (moto checks
none of them): a member account's mlgov-spoke-approval role writes only under its own prefix, never reads; the same
role name outside the target OUs, or anyone else, gets nothing."""

from __future__ import annotations

import json
import re

import pytest
from aws_cdk.assertions import Template

from mlgov.domain.iam_eval import RequestContext, resource_policy_allows
from tests.infra.template_helpers import only, rendered

HUB, REGION = "222222222222", "eu-west-1"  # cdk.json
ORG, OU = "o-mlgovdemo01", "ou-ab12-mlworkld"  # cdk.json organization_id, target_ous
BUCKET = f"mlgov-archive-{HUB}-{REGION}"
MEMBER, OTHER_MEMBER, OUTSIDE = "333333333333", "444444444444", "555555555555"
IN_TARGET_OU = [f"{ORG}/r-ab12/{OU}/"]
OUTSIDE_PATH = [f"{ORG}/r-ab12/ou-ab12-sandbox1/"]


@pytest.fixture(scope="module")
def hub(synthesized) -> Template:
    stacks, _ = synthesized
    return Template.from_stack(stacks["hub"])


def concrete(document: dict, hub: Template) -> dict:
    """The policy as AWS evaluates it: the partition and the archive bucket's ARN filled in."""
    bucket_id, _ = only(hub, "AWS::S3::Bucket", {"BucketName": BUCKET})
    text = json.dumps(rendered(document))
    text = text.replace("${AWS::Partition}", "aws").replace("${GetAtt:" + bucket_id + ".Arn}", f"arn:aws:s3:::{BUCKET}")
    assert not re.search(r"\$\{(AWS::|GetAtt:|Ref:)", text), text
    return json.loads(text)


@pytest.fixture(scope="module")
def bucket_policy(hub) -> dict:
    bucket_id, _ = only(hub, "AWS::S3::Bucket", {"BucketName": BUCKET})
    _, policy = only(hub, "AWS::S3::BucketPolicy", {"Bucket": {"Ref": bucket_id}})
    return concrete(policy["Properties"]["PolicyDocument"], hub)


@pytest.fixture(scope="module")
def key_policy(hub) -> dict:
    _, key = only(hub, "AWS::KMS::Key", {"Description": "mlgov archive bucket"})
    return concrete(key["Properties"]["KeyPolicy"], hub)


def caller(account: str, role: str = "mlgov-spoke-approval", paths: list[str] = IN_TARGET_OU, **context) -> dict:
    return {
        "principal_arn": f"arn:aws:sts::{account}:assumed-role/{role}/mlgov-approval",
        "context": {"aws:PrincipalAccount": account, "aws:PrincipalOrgPaths": paths, **context},
    }


def s3_request(action: str, key: str, who: dict) -> RequestContext:
    return RequestContext(action=action, resource=f"arn:aws:s3:::{BUCKET}/{key}", **who)


OWN = f"snapshots/{MEMBER}/us-east-1/churn/20261124T120000Z/models/xgb/model.tar.gz"


def test_a_member_approval_role_writes_its_own_snapshots(bucket_policy):
    assert resource_policy_allows(bucket_policy, s3_request("s3:PutObject", OWN, caller(MEMBER)))
    assert resource_policy_allows(bucket_policy, s3_request("s3:AbortMultipartUpload", OWN, caller(MEMBER)))


@pytest.mark.parametrize(
    ("action", "key", "who"),
    [
        ("s3:PutObject", OWN.replace(MEMBER, OTHER_MEMBER), caller(MEMBER)),  # another account's prefix
        ("s3:PutObject", f"snapshots/{MEMBER}-x/manifest.json", caller(MEMBER)),  # a lookalike prefix
        ("s3:GetObject", OWN, caller(MEMBER)),  # never reads, not even its own
        ("s3:GetObjectVersion", OWN, caller(MEMBER)),
        ("s3:DeleteObject", OWN, caller(MEMBER)),
        ("s3:PutObject", "reports/latest.json", caller(MEMBER)),
        ("s3:PutObject", OWN.replace(MEMBER, OUTSIDE), caller(OUTSIDE, paths=OUTSIDE_PATH)),  # outside the OUs
        ("s3:PutObject", OWN, caller(MEMBER, role="DataScientist")),
        (  # an assumed-role ARN drops the path: the role's own ARN carries it
            "s3:PutObject",
            OWN,
            caller(MEMBER, **{"aws:PrincipalArn": f"arn:aws:iam::{MEMBER}:role/team/mlgov-spoke-approval"}),
        ),
    ],
    ids=[
        "other account prefix",
        "lookalike prefix",
        "read",
        "read a version",
        "delete",
        "reports",
        "outside the target OUs",
        "data scientist",
        "role under a path",
    ],
)
def test_nothing_else_is_admitted(bucket_policy, action, key, who):
    assert not resource_policy_allows(bucket_policy, s3_request(action, key, who))


def kms_request(action: str, object_key: str, who: dict) -> RequestContext:
    who = {
        **who,
        "context": {**who["context"], "kms:EncryptionContext:aws:s3:arn": f"arn:aws:s3:::{BUCKET}/{object_key}"},
    }
    return RequestContext(action=action, resource=f"arn:aws:kms:{REGION}:{HUB}:key/k", **who)


def test_the_archive_key_gives_a_member_a_data_key_only_for_its_own_prefix(key_policy):
    assert resource_policy_allows(key_policy, kms_request("kms:GenerateDataKey", OWN, caller(MEMBER)))
    other = OWN.replace(MEMBER, OTHER_MEMBER)
    assert not resource_policy_allows(key_policy, kms_request("kms:GenerateDataKey", other, caller(MEMBER)))
    assert not resource_policy_allows(key_policy, kms_request("kms:Decrypt", "reports/latest.json", caller(MEMBER)))
    assert not resource_policy_allows(key_policy, kms_request("kms:Encrypt", OWN, caller(MEMBER)))
    outside = caller(OUTSIDE, paths=OUTSIDE_PATH)
    assert not resource_policy_allows(
        key_policy, kms_request("kms:GenerateDataKey", OWN.replace(MEMBER, OUTSIDE), outside)
    )


def test_with_a_bucket_key_kms_would_see_the_bucket_not_the_object_so_the_archive_has_none(hub):
    _, bucket = only(hub, "AWS::S3::Bucket", {"BucketName": BUCKET})
    (rule,) = bucket["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule.get("BucketKeyEnabled") is False
