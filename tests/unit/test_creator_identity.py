"""Creator identity: real CloudTrail userIdentity shapes become a readable, tag-safe creator; odd input never raises."""

from __future__ import annotations

import copy

import pytest

from mlgov.domain.creator_identity import UNKNOWN, Creator, resolve_creator, sanitize_tag_value

ACCOUNT = "123456789012"
TRAINING_JOB_ARN = f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:training-job/churn-xgb-2026-03-15"


def cloudtrail_detail(user_identity: object, **overrides: object) -> dict:
    """A CreateTrainingJob record as EventBridge delivers it in ``detail`` (shape of the SageMaker guide's samples)."""
    detail = {
        "eventVersion": "1.08",
        "userIdentity": user_identity,
        "eventTime": "2026-03-15T10:21:07Z",
        "eventSource": "sagemaker.amazonaws.com",
        "eventName": "CreateTrainingJob",
        "awsRegion": "us-east-1",
        "sourceIPAddress": "203.0.113.10",
        "userAgent": "Boto3/1.40.0 md/Botocore#1.40.0 ua/2.1 os/linux lang/python#3.12.3",
        "requestParameters": {
            "trainingJobName": "churn-xgb-2026-03-15",
            "roleArn": f"arn:aws:iam::{ACCOUNT}:role/service-role/AmazonSageMaker-ExecutionRole-20260101T000000",
            "tags": [{"key": "ml:team", "value": "churn"}],
        },
        "responseElements": {"trainingJobArn": TRAINING_JOB_ARN},
        "requestID": "6b1b42b9-EXAMPLE",
        "eventID": "a6f85b21-EXAMPLE",
        "readOnly": False,
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": ACCOUNT,
    }
    detail.update(overrides)
    return detail


def role_session(role: str, session: str, *, path: str = "/", role_id: str = "AROAEXAMPLEROLEID0001") -> dict:
    """An AssumedRole userIdentity as the CloudTrail guide documents it (sessionIssuer = the role, with its path)."""
    return {
        "type": "AssumedRole",
        "principalId": f"{role_id}:{session}",
        "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/{role}/{session}",
        "accountId": ACCOUNT,
        "accessKeyId": "ASIAEXAMPLEKEYID0001",
        "sessionContext": {
            "sessionIssuer": {
                "type": "Role",
                "principalId": role_id,
                "arn": f"arn:aws:iam::{ACCOUNT}:role{path}{role}",
                "accountId": ACCOUNT,
                "userName": role,
            },
            "webIdFederationData": {},
            "attributes": {"creationDate": "2026-03-15T09:58:12Z", "mfaAuthenticated": "false"},
        },
    }


def sts_arn(role: str, session: str) -> str:
    return f"arn:aws:sts::{ACCOUNT}:assumed-role/{role}/{session}"


# --- IAM users and root -------------------------------------------------------------------------


def test_iam_user_is_named_by_user_name():
    # The SageMaker developer guide's CreateEndpoint sample identity.
    identity = {
        "type": "IAMUser",
        "principalId": "AIXDAYQEXAMPLEUMLYNGL",
        "arn": f"arn:aws:iam::{ACCOUNT}:user/intern",
        "accountId": ACCOUNT,
        "accessKeyId": "ASXIAGXEXAMPLEQULKNXV",
        "userName": "intern",
    }
    assert resolve_creator(cloudtrail_detail(identity)) == Creator(
        display="iam-user/intern", arn=f"arn:aws:iam::{ACCOUNT}:user/intern", kind="iam-user"
    )


def test_iam_user_without_user_name_is_named_from_the_arn_without_its_path():
    identity = {"type": "IAMUser", "arn": f"arn:aws:iam::{ACCOUNT}:user/team/ml/bob", "accountId": ACCOUNT}
    assert resolve_creator(cloudtrail_detail(identity)) == Creator(
        display="iam-user/bob", arn=f"arn:aws:iam::{ACCOUNT}:user/team/ml/bob", kind="iam-user"
    )


def test_console_call_invoked_by_aws_internal_is_the_person_not_a_service():
    identity = {
        "type": "IAMUser",
        "principalId": "AIDAEXAMPLEUSERID001",
        "arn": f"arn:aws:iam::{ACCOUNT}:user/admin",
        "accountId": ACCOUNT,
        "userName": "admin",
        "sessionContext": {"attributes": {"creationDate": "2026-03-15T08:00:00Z", "mfaAuthenticated": "true"}},
        "invokedBy": "AWS Internal",
    }
    assert resolve_creator(cloudtrail_detail(identity)).display == "iam-user/admin"


def test_person_acting_through_a_service_is_named_first():
    # Forward access session: CloudFormation creates the endpoint with the user's credentials.
    identity = {
        "type": "IAMUser",
        "principalId": "AIDAEXAMPLEUSERID002",
        "arn": f"arn:aws:iam::{ACCOUNT}:user/deployer",
        "accountId": ACCOUNT,
        "userName": "deployer",
        "invokedBy": "cloudformation.amazonaws.com",
    }
    assert resolve_creator(cloudtrail_detail(identity)) == Creator(
        display="iam-user/deployer via cloudformation.amazonaws.com",
        arn=f"arn:aws:iam::{ACCOUNT}:user/deployer",
        kind="iam-user",
    )


def test_root_is_root():
    identity = {
        "type": "Root",
        "principalId": ACCOUNT,
        "arn": f"arn:aws:iam::{ACCOUNT}:root",
        "accountId": ACCOUNT,
        "accessKeyId": "ASIAEXAMPLEKEYID0002",
        "userName": "my-account-alias",
        "sessionContext": {"attributes": {"creationDate": "2026-03-15T08:00:00Z", "mfaAuthenticated": "true"}},
    }
    assert resolve_creator(cloudtrail_detail(identity)) == Creator(
        display="root", arn=f"arn:aws:iam::{ACCOUNT}:root", kind="root"
    )


# --- role sessions ------------------------------------------------------------------------------


def test_assumed_role_is_role_and_session():
    identity = role_session("DataScientist", "build-box", path="/ml/")
    assert resolve_creator(cloudtrail_detail(identity)) == Creator(
        display="role/DataScientist/build-box", arn=sts_arn("DataScientist", "build-box"), kind="assumed-role"
    )


@pytest.mark.parametrize(
    ("role", "session"),
    [
        ("AmazonSageMaker-ExecutionRole-20260101T000000", "SageMaker"),  # Studio / notebook execution role
        ("ci-deployer", "botocore-session-1700000000"),  # boto3 AssumeRole provider's default name
        ("aws:ec2-instance", "i-0784406a8a14355fe"),  # EC2 instance profile
        ("LambdaBasicExecutionRole", "retrain-trigger"),  # Lambda: the session is the function name
    ],
)
def test_machine_role_sessions_keep_role_and_session(role, session):
    creator = resolve_creator(cloudtrail_detail(role_session(role, session)))
    assert creator == Creator(display=f"role/{role}/{session}", arn=sts_arn(role, session), kind="assumed-role")


def test_role_session_named_after_an_email_names_the_person_when_the_role_is_a_trusted_federation_role():
    # SAML federation (e.g. an IdP that sets RoleSessionName to the user's email), listed in trusted_federation_roles.
    identity = role_session("ADFS-DataScience", "carol@example.com")
    trusted = [f"arn:aws:iam::{ACCOUNT}:role/ADFS-DataScience"]
    assert resolve_creator(cloudtrail_detail(identity), trusted) == Creator(
        display="carol@example.com", arn=sts_arn("ADFS-DataScience", "carol@example.com"), kind="assumed-role"
    )


def test_source_identity_set_by_a_trusted_federation_role_names_the_person():
    identity = role_session("Okta-DataScience", "session-42")
    identity["sessionContext"]["sourceIdentity"] = "dana@example.com"  # the IdP's SAML SourceIdentity attribute
    trusted = [f"arn:aws:iam::{ACCOUNT}:role/Okta-DataScience"]
    assert resolve_creator(cloudtrail_detail(identity), trusted) == Creator(
        display="dana@example.com", arn=sts_arn("Okta-DataScience", "session-42"), kind="assumed-role"
    )


# --- spoofing: what anyone with iam:CreateRole can claim is kept, unverified, in the role label -------------------


def test_an_email_like_session_name_on_an_untrusted_role_is_not_taken_as_the_person():
    identity = role_session("my-own-role", "ceo@example.com")
    assert resolve_creator(cloudtrail_detail(identity)) == Creator(
        display="role/my-own-role/ceo@example.com", arn=sts_arn("my-own-role", "ceo@example.com"), kind="assumed-role"
    )


def test_a_source_identity_on_an_untrusted_role_is_not_taken_as_the_person():
    identity = role_session("my-own-role", "run-1")
    identity["sessionContext"]["sourceIdentity"] = "ceo@example.com"
    creator = resolve_creator(cloudtrail_detail(identity), [f"arn:aws:iam::{ACCOUNT}:role/other-role"])
    assert (creator.display, creator.kind) == ("role/my-own-role/run-1", "assumed-role")


def test_a_self_made_role_named_like_identity_center_is_not_an_sso_user():
    fake = "AWSReservedSSO_Admin_0123456789abcdef"
    for path in (
        "/",
        "/team/",
        "/sso.amazonaws.com/",
        "/aws-reserved-not/sso.amazonaws.com/",
        "/AWS-Reserved/sso.amazonaws.com/",
    ):
        creator = resolve_creator(cloudtrail_detail(role_session(fake, "ceo@example.com", path=path)))
        assert (creator.display, creator.kind) == (f"role/{fake}/ceo@example.com", "assumed-role"), path


def test_a_reserved_path_issuer_with_another_role_in_the_session_arn_is_not_an_sso_user():
    identity = role_session(SSO_ROLE, "ceo@example.com", path="/aws-reserved/sso.amazonaws.com/")
    identity["arn"] = f"arn:aws:sts::{ACCOUNT}:assumed-role/evil/ceo@example.com"
    assert resolve_creator(cloudtrail_detail(identity)).kind == "assumed-role"


def test_a_role_on_the_reserved_path_without_the_identity_center_name_is_not_an_sso_user():
    identity = role_session("Admin", "ceo@example.com", path="/aws-reserved/sso.amazonaws.com/")
    assert resolve_creator(cloudtrail_detail(identity)).display == "role/Admin/ceo@example.com"


def test_a_trusted_role_is_matched_by_its_exact_arn_path_included():
    identity = role_session("ADFS-DataScience", "carol@example.com", path="/federation/")
    wrong_path = [f"arn:aws:iam::{ACCOUNT}:role/ADFS-DataScience"]
    right_path = [f"arn:aws:iam::{ACCOUNT}:role/federation/ADFS-DataScience"]
    assert resolve_creator(cloudtrail_detail(identity), wrong_path).kind == "assumed-role"
    assert resolve_creator(cloudtrail_detail(identity), wrong_path).display.startswith("role/")
    assert resolve_creator(cloudtrail_detail(identity), right_path).display == "carol@example.com"


def test_role_acting_through_a_service_without_a_known_parent_mentions_the_service():
    identity = role_session("PipelineExecutionRole", "SageMaker")
    identity["invokedBy"] = "sagemaker.amazonaws.com"
    detail = cloudtrail_detail(identity, sourceIPAddress="sagemaker.amazonaws.com", userAgent="sagemaker.amazonaws.com")
    assert resolve_creator(detail) == Creator(
        display="role/PipelineExecutionRole/SageMaker via sagemaker.amazonaws.com",
        arn=sts_arn("PipelineExecutionRole", "SageMaker"),
        kind="assumed-role",
    )


def test_unknown_type_with_an_assumed_role_arn_is_read_from_the_arn():
    identity = {
        "type": "Unknown",
        "principalId": "AROAEXAMPLEROLEID0002:Administrator",
        "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/OrganizationAccountAccessRole/Administrator",
        "accountId": ACCOUNT,
        "accessKeyId": "Unknown",
        "userName": "assumed-role/OrganizationAccountAccessRole/Administrator",
    }
    assert resolve_creator(cloudtrail_detail(identity)) == Creator(
        display="role/OrganizationAccountAccessRole/Administrator",
        arn=sts_arn("OrganizationAccountAccessRole", "Administrator"),
        kind="assumed-role",
    )


# --- IAM Identity Center ------------------------------------------------------------------------

SSO_ROLE = "AWSReservedSSO_DataScientist_0123456789abcdef"


def test_sso_session_named_by_email_is_the_person():
    identity = role_session(SSO_ROLE, "alice@example.com", path="/aws-reserved/sso.amazonaws.com/")
    assert resolve_creator(cloudtrail_detail(identity)) == Creator(
        display="alice@example.com", arn=sts_arn(SSO_ROLE, "alice@example.com"), kind="sso-user"
    )


def test_sso_session_with_plain_user_name_and_regional_path_is_the_person():
    identity = role_session(SSO_ROLE, "alice", path="/aws-reserved/sso.amazonaws.com/eu-west-1/")
    assert resolve_creator(cloudtrail_detail(identity)) == Creator(
        display="alice", arn=sts_arn(SSO_ROLE, "alice"), kind="sso-user"
    )


def test_sso_record_without_session_context_takes_the_user_from_the_principal_id():
    # Shape seen in the wild: arn is the role's IAM ARN and there is no sessionContext.
    role_arn = f"arn:aws:iam::{ACCOUNT}:role/aws-reserved/sso.amazonaws.com/eu-central-1/{SSO_ROLE}"
    identity = {
        "type": "AssumedRole",
        "principalId": "AROAEXAMPLEROLEID0003:erin@example.com",
        "arn": role_arn,
        "accountId": ACCOUNT,
        "accessKeyId": "ASIAEXAMPLEKEYID0003",
    }
    assert resolve_creator(cloudtrail_detail(identity)) == Creator(
        display="erin@example.com", arn=role_arn, kind="sso-user"
    )


def test_identity_center_user_is_named_by_user_id_without_the_credential_id():
    # The CloudTrail guide's IdentityCenterUser sample: no name, a user id and a bearer-token credential id.
    identity = {
        "type": "IdentityCenterUser",
        "accountId": ACCOUNT,
        "onBehalfOf": {
            "userId": "544894e8-80c1-707f-60e3-3ba6510dfac1",
            "identityStoreArn": f"arn:aws:identitystore::{ACCOUNT}:identitystore/d-9067642ac7",
        },
        "credentialId": "EXAMPLEVHULjJdTUdPJfofVa1sufHDoj7aYcOYcxFVllWR_Whr1fEXAMPLE",
    }
    creator = resolve_creator(cloudtrail_detail(identity))
    assert creator == Creator(
        display="identity-center-user/544894e8-80c1-707f-60e3-3ba6510dfac1",
        arn="arn:aws:identitystore:::user/544894e8-80c1-707f-60e3-3ba6510dfac1",
        kind="identity-center-user",
    )
    assert "EXAMPLEVHUL" not in creator.display + creator.arn


def test_identity_center_user_with_a_user_name_is_named_by_it():
    identity = {
        "type": "IdentityCenterUser",
        "accountId": ACCOUNT,
        "userName": "frank@example.com",
        "onBehalfOf": {
            "userId": "94d00cd8-e9e6-4810-b177-b08e84775435",
            "identityStoreArn": f"arn:aws:identitystore::{ACCOUNT}:identitystore/d-1234567890",
        },
    }
    assert resolve_creator(cloudtrail_detail(identity)) == Creator(
        display="frank@example.com",
        arn="arn:aws:identitystore:::user/94d00cd8-e9e6-4810-b177-b08e84775435",
        kind="identity-center-user",
    )


# --- federated users ----------------------------------------------------------------------------


def test_federated_user_is_named_by_the_federation_name():
    identity = {
        "type": "FederatedUser",
        "principalId": f"{ACCOUNT}:bob",
        "arn": f"arn:aws:sts::{ACCOUNT}:federated-user/bob",
        "accountId": ACCOUNT,
        "accessKeyId": "ASIAEXAMPLEKEYID0004",
        "sessionContext": {
            "sessionIssuer": {
                "type": "IAMUser",
                "principalId": "AIDAEXAMPLEUSERID003",
                "arn": f"arn:aws:iam::{ACCOUNT}:user/broker",
                "accountId": ACCOUNT,
                "userName": "broker",
            },
            "webIdFederationData": {},
            "attributes": {"creationDate": "2026-03-15T09:00:00Z", "mfaAuthenticated": "false"},
        },
    }
    # GetFederationToken: the broker user chose the name "bob"; it is shown under the broker, not as a person
    assert resolve_creator(cloudtrail_detail(identity)) == Creator(
        display="iam-user/broker/federated/bob", arn=f"arn:aws:sts::{ACCOUNT}:federated-user/bob", kind="federated-user"
    )


# --- services -----------------------------------------------------------------------------------

TUNING_CHILD_JOB = "churn-xgb-tuner-007-4b7a2c1d"
PIPELINE_EXECUTION_ARN = f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:pipeline/churn-train/execution/k4l6n2x0dq7e"


def service_event(user_identity: dict, request: dict) -> dict:
    """A record SageMaker wrote for work it started itself (eventType AwsServiceEvent, CloudTrail's service shape)."""
    return cloudtrail_detail(
        user_identity,
        eventType="AwsServiceEvent",
        sourceIPAddress="sagemaker.amazonaws.com",
        userAgent="sagemaker.amazonaws.com",
        requestParameters=request,
    )


def test_aws_service_without_a_parent_is_the_service():
    identity = {"type": "AWSService", "invokedBy": "sagemaker.amazonaws.com"}
    detail = cloudtrail_detail(identity, requestParameters={"trainingJobName": "nightly-retrain"})
    assert resolve_creator(detail) == Creator(display="sagemaker.amazonaws.com", arn="", kind="aws-service")


def test_training_job_spawned_by_a_tuning_job_names_the_tuning_job():
    identity = {"accountId": ACCOUNT, "invokedBy": "AWS Internal"}  # CloudTrail's service-event identity
    detail = service_event(identity, {"trainingJobName": TUNING_CHILD_JOB})
    assert resolve_creator(detail) == Creator(
        display="sagemaker.amazonaws.com via tuning-job/churn-xgb-tuner", arn="", kind="aws-service"
    )


def test_tuning_job_arn_in_the_record_is_preferred_to_the_job_name():
    tuning_arn = f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:hyper-parameter-tuning-job/churn-xgb-tuner"
    identity = {"type": "AWSService", "invokedBy": "sagemaker.amazonaws.com"}
    detail = service_event(identity, {"trainingJobName": "renamed-001-0000000a", "tuningJobArn": tuning_arn})
    assert resolve_creator(detail) == Creator(
        display="sagemaker.amazonaws.com via tuning-job/churn-xgb-tuner", arn=tuning_arn, kind="aws-service"
    )


def test_job_name_that_looks_like_a_tuning_child_is_ignored_on_a_direct_call():
    detail = cloudtrail_detail(role_session("DataScientist", "laptop"))
    detail["requestParameters"]["trainingJobName"] = TUNING_CHILD_JOB
    assert resolve_creator(detail).display == "role/DataScientist/laptop"


def test_pipeline_step_names_the_pipeline():
    identity = role_session("PipelineExecutionRole", "SageMaker", path="/service-role/")
    identity["invokedBy"] = "sagemaker.amazonaws.com"
    request = {
        "trainingJobName": "pipelines-k4l6n2x0dq7e-TrainChurn-A0QiDGuY6z",
        "tags": [
            {"key": "sagemaker:pipeline-execution-arn", "value": PIPELINE_EXECUTION_ARN},
            {"key": "ml:team", "value": "churn"},
        ],
    }
    assert resolve_creator(cloudtrail_detail(identity, requestParameters=request)) == Creator(
        display="sagemaker.amazonaws.com via pipeline/churn-train",
        arn=sts_arn("PipelineExecutionRole", "SageMaker"),
        kind="assumed-role",
    )


def test_pipeline_role_session_without_invoked_by_still_names_the_pipeline():
    identity = role_session("PipelineExecutionRole", "SageMaker", path="/service-role/")
    request = {"tags": [{"key": "sagemaker:pipeline-execution-arn", "value": PIPELINE_EXECUTION_ARN}]}
    assert resolve_creator(cloudtrail_detail(identity, requestParameters=request)) == Creator(
        display="role/PipelineExecutionRole/SageMaker via pipeline/churn-train",
        arn=sts_arn("PipelineExecutionRole", "SageMaker"),
        kind="assumed-role",
    )


def test_pipeline_tag_spelled_with_capitals_on_a_service_event_gives_the_execution_arn():
    identity = {"accountId": ACCOUNT, "invokedBy": "sagemaker.amazonaws.com"}
    request = {"tags": [{"Key": "sagemaker:pipeline-execution-arn", "Value": PIPELINE_EXECUTION_ARN}]}
    assert resolve_creator(service_event(identity, request)) == Creator(
        display="sagemaker.amazonaws.com via pipeline/churn-train", arn=PIPELINE_EXECUTION_ARN, kind="aws-service"
    )


def test_a_person_copying_a_pipeline_tag_is_still_the_creator():
    identity = role_session(SSO_ROLE, "alice@example.com", path="/aws-reserved/sso.amazonaws.com/")
    request = {"tags": [{"key": "sagemaker:pipeline-execution-arn", "value": PIPELINE_EXECUTION_ARN}]}
    assert resolve_creator(cloudtrail_detail(identity, requestParameters=request)).display == "alice@example.com"


# --- odd input ----------------------------------------------------------------------------------


@pytest.mark.parametrize("detail", [None, "detail", 42, ["userIdentity"], b"{}"])
def test_non_mapping_detail_is_unknown(detail):
    assert resolve_creator(detail) == UNKNOWN == Creator(display="unknown", arn="", kind="unknown")


@pytest.mark.parametrize(
    "user_identity",
    [
        None,
        "IAMUser",
        ["type", "IAMUser"],
        {},
        {"type": "Unknown", "principalId": "Anonymous"},
        {"type": 7, "arn": ["not", "text"], "userName": {"x": 1}},
        {"type": "AssumedRole", "sessionContext": "broken", "arn": 12},
        {"type": "IdentityCenterUser", "onBehalfOf": ["userId"]},
        {"type": "AWSAccount"},
    ],
)
def test_missing_or_garbage_identity_is_unknown(user_identity):
    assert resolve_creator(cloudtrail_detail(user_identity)) == UNKNOWN


def test_record_without_user_identity_is_unknown():
    detail = cloudtrail_detail(None)
    del detail["userIdentity"]
    assert resolve_creator(detail) == UNKNOWN


def test_garbage_request_parameters_do_not_break_a_known_identity():
    identity = {"type": "AWSService", "invokedBy": "sagemaker.amazonaws.com"}
    for request in (None, "x", {"tags": "x"}, {"tags": [None, 3, {"key": 1, "value": 2}]}, {"trainingJobName": 5}):
        detail = cloudtrail_detail(identity, requestParameters=request, serviceEventDetails=["x"])
        assert resolve_creator(detail) == Creator(display="sagemaker.amazonaws.com", arn="", kind="aws-service")


def test_resolving_does_not_change_the_record():
    detail = cloudtrail_detail(role_session(SSO_ROLE, "alice@example.com", path="/aws-reserved/sso.amazonaws.com/"))
    before = copy.deepcopy(detail)
    resolve_creator(detail)
    assert detail == before


# --- tag values ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tag_value_pattern():
    """The TagValue pattern from the installed botocore SageMaker model, compiled with a \\p-aware engine."""
    regex = pytest.importorskip("regex")
    import botocore.session

    metadata = botocore.session.get_session().get_service_model("sagemaker").shape_for("TagValue").metadata
    assert metadata["max"] == 256
    return regex.compile(metadata["pattern"])


def test_300_character_value_is_cut_to_256_keeping_both_ends(tag_value_pattern):
    value = "a" * 150 + "b" * 150
    result = sanitize_tag_value(value)
    assert result == "a" * 126 + "..." + "b" * 127
    assert len(result) == 256
    assert tag_value_pattern.fullmatch(result)


def test_long_role_path_arn_keeps_account_and_role_name():
    arn = f"arn:aws:iam::{ACCOUNT}:role/" + "deep/" * 60 + "DataScientist"
    result = sanitize_tag_value(arn)
    assert len(result) == 256
    assert result.startswith(f"arn:aws:iam::{ACCOUNT}:role/deep/")
    assert result.endswith("/deep/DataScientist")
    assert "..." in result


def test_short_limits_cut_plainly():
    assert sanitize_tag_value("abcdefgh", max_length=4) == "abcd"
    assert sanitize_tag_value("abcdefgh", max_length=5) == "a...h"
    assert sanitize_tag_value("abcdefgh", max_length=0) == ""
    assert sanitize_tag_value("abcdefgh", max_length=-3) == ""
    assert sanitize_tag_value("abcdefgh", max_length="oops") == "abcdefgh"  # type: ignore[arg-type]


def test_forbidden_characters_become_underscores(tag_value_pattern):
    result = sanitize_tag_value("a,b#c<d|e😀f>g(h)i*j\tk\nl'm\"n")
    assert result == "a_b_c_d_e_f_g_h_i_j_k_l_m_n"
    assert tag_value_pattern.fullmatch(result)


def test_allowed_characters_are_kept(tag_value_pattern):
    value = "Zoë Ångström 東京 ١٢٣ x_y.z:a/b=c+d-e@f"
    assert sanitize_tag_value(value) == value
    assert tag_value_pattern.fullmatch(value)


def test_decomposed_accent_is_composed_instead_of_replaced():
    assert sanitize_tag_value("Zoe\u0308") == "Zoë"


def test_lone_surrogate_is_replaced():
    assert sanitize_tag_value("a\ud800b") == "a_b"


def test_non_text_values_are_stringified():
    class Broken:
        def __str__(self) -> str:
            raise RuntimeError("no")

    assert sanitize_tag_value(12345) == "12345"
    assert sanitize_tag_value(None) == ""
    assert sanitize_tag_value(["a", "b"]) == "__a__ _b__"
    assert sanitize_tag_value(Broken()) == ""


def test_every_resolved_creator_is_tag_safe_even_with_hostile_names(tag_value_pattern):
    long_session = "x" * 64
    identities = [
        {"type": "IAMUser", "userName": "bob,the#builder<>|😀" + "y" * 300, "arn": "arn:aws:iam::1:user/b" * 20},
        role_session("Role+With=Chars,and,commas", long_session),
        {"type": "AWSService", "invokedBy": "sagemaker.amazonaws.com"},
    ]
    for identity in identities:
        creator = resolve_creator(cloudtrail_detail(identity))
        for value in (creator.display, creator.arn):
            assert len(value) <= 256
            assert tag_value_pattern.fullmatch(value), value
    hostile = resolve_creator(cloudtrail_detail(role_session("Role+With=Chars,and,commas", long_session)))
    assert hostile.display == f"role/Role+With=Chars_and_commas/{long_session}"
