"""The `mlgov` command line, run in-process via main(argv) on copies of the policies directory."""

from __future__ import annotations

import json
import shutil
from datetime import datetime, timedelta

import pytest
import yaml

from mlgov.cli import main
from mlgov.repo_files import DEFAULT_POLICIES_DIR

REPO_ROOT = DEFAULT_POLICIES_DIR.parent

CLASSIC_DENIAL = (
    "An error occurred (AccessDeniedException) when calling the CreateEndpoint operation: User: "
    "arn:aws:sts::123456789012:assumed-role/DataScientist/alice is not authorized to perform: "
    "sagemaker:CreateEndpoint on resource: arn:aws:sagemaker:us-east-1:123456789012:endpoint/churn "
    "with an explicit deny in a service control policy"
)
SDK_ARGS = [
    "--team",
    "fraud-detection",
    "--model",
    "churn-xgb",
    "--experiment",
    "exp-7",
    "--environment",
    "dev",
]


@pytest.fixture
def policies_dir(tmp_path):
    """A copy of policies/ the test may edit or rebuild."""
    root = tmp_path / "policies"
    shutil.copytree(DEFAULT_POLICIES_DIR, root)
    return root


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def utc_in(instant: datetime, days: int) -> str:
    """The date `days` after the test instant (the CLI reads the process clock, which the `instant` fixture sets)."""
    return (instant.date() + timedelta(days=days)).isoformat()


# --- policies check / build --------------------------------------------------------------------------


def test_policies_check_passes_on_the_repository(capsys):
    code, out, err = run(capsys, "policies", "check")
    assert code == 0, err
    assert out.startswith("policies up to date (")
    assert "governed creates)" in out


def test_policies_check_names_the_stale_file_after_an_edit(capsys, policies_dir):
    path = policies_dir / "scp" / "mlgov-tag-enforcement-2.json"
    document = json.loads(path.read_text())
    document["Statement"].pop()
    path.write_text(json.dumps(document, separators=(",", ":")) + "\n")
    code, out, err = run(capsys, "policies", "check", "--policies-dir", str(policies_dir))
    assert code == 1
    assert "scp/mlgov-tag-enforcement-2.json" in err
    assert "mlgov policies build" in err


def test_policies_dir_given_before_the_subcommand_is_used(capsys, policies_dir):
    (policies_dir / "tag_policy.json").write_text("{}\n")
    code, _, err = run(capsys, "--policies-dir", str(policies_dir), "policies", "check")
    assert code == 1
    assert "tag_policy.json" in err


def test_policies_check_flags_a_schema_edit_that_was_not_rebuilt(capsys, policies_dir):
    schema_path = policies_dir / "tag_schema.json"
    schema = json.loads(schema_path.read_text())
    environment = next(tag for tag in schema["tags"] if tag["key"] == "ml:environment")
    environment["allowed_values"].append("qa")
    schema_path.write_text(json.dumps(schema, indent=2))
    code, _, err = run(capsys, "policies", "check", "--policies-dir", str(policies_dir))
    assert code == 1
    assert "tag_policy.json" in err
    assert "scp/" in err


def test_policies_build_reports_sizes_slots_and_ungoverned_reasons(capsys, policies_dir):
    (policies_dir / "scp" / "mlgov-tag-enforcement-1.json").write_text("{}\n")
    code, out, err = run(capsys, "policies", "build", "--policies-dir", str(policies_dir))
    assert code == 0, err
    scp_lines = [line for line in out.splitlines() if line.strip().startswith("mlgov-tag-enforcement-")]
    assert len(scp_lines) == 3
    for line in scp_lines:
        size = int(line.split()[1])
        assert 0 < size <= 5120
    assert "3 of 4 SCP slots per target (1 left besides FullAWSAccess;" in out
    stage = next(line for line in out.splitlines() if "CreateEdgeDeploymentStage" in line)
    assert "the API takes no Tags" in stage
    assert any("CreatePresignedDomainUrl" in line and "never denied" in line for line in out.splitlines())
    assert run(capsys, "policies", "check", "--policies-dir", str(policies_dir))[0] == 0


def test_policies_build_names_the_hub_account_of_the_given_config(capsys, policies_dir, tmp_path):
    config = json.loads((REPO_ROOT / "cdk.json").read_text())
    config["context"]["mlgov"]["hub_account"] = "333333333333"
    (tmp_path / "cdk.json").write_text(json.dumps(config))
    args = ["--policies-dir", str(policies_dir), "--config", str(tmp_path / "cdk.json")]
    assert run(capsys, "policies", "check", *args)[0] == 1  # the checked-in SCPs name 222222222222
    assert run(capsys, "policies", "build", *args)[0] == 0
    scps = "".join(path.read_text() for path in (policies_dir / "scp").glob("*.json"))
    assert "iam::333333333333:role/mlgov-hub-*" in scps and "222222222222" not in scps


def test_policies_build_refuses_a_config_exempting_everyone_in_one_line(capsys, policies_dir, tmp_path):
    config = json.loads((REPO_ROOT / "cdk.json").read_text())
    config["context"]["mlgov"]["exempt_principals"] = ["arn:aws:iam::*:role/*"]
    (tmp_path / "cdk.json").write_text(json.dumps(config))
    code, _, err = run(
        capsys, "policies", "build", "--policies-dir", str(policies_dir), "--config", str(tmp_path / "cdk.json")
    )
    assert code == 2
    assert err.count("\n") == 1 and "exempt_principals[0]" in err and "exact IAM role ARN" in err


# --- policies simulate -------------------------------------------------------------------------------


def test_simulate_untagged_create_endpoint_is_denied_as_expected(capsys):
    code, out, _ = run(capsys, "policies", "simulate", "--action", "sagemaker:CreateEndpoint", "--expect", "deny")
    assert code == 0
    assert out.splitlines()[0] == "DENY"
    assert "DenyMissingMlTeam" in out


def test_simulate_exits_1_when_the_verdict_differs_from_the_expectation(capsys):
    code, _, err = run(capsys, "policies", "simulate", "--action", "CreateEndpoint", "--expect", "allow")
    assert code == 1
    assert "expected ALLOW, got DENY" in err


def test_simulate_fully_tagged_create_is_allowed_on_both_authorizations(capsys, instant):
    tags = [
        "ml:team=fraud",
        "ml:model=churn",
        "ml:experiment=e1",
        "ml:environment=prod",
        f"auto-delete-after={utc_in(instant, 30)}",
    ]
    argv = ["policies", "simulate", "--action", "CreateEndpoint", "--expect", "allow"]
    for tag in tags:
        argv += ["--tag", tag]
    code, out, _ = run(capsys, *argv)
    assert code == 0
    assert "ALLOW sagemaker:AddTags (TaggingAction=CreateEndpoint)" in out


def test_simulate_presigned_domain_url_is_allowed(capsys):
    code, out, _ = run(capsys, "policies", "simulate", "--action", "CreatePresignedDomainUrl", "--expect", "allow")
    assert code == 0
    assert out.splitlines()[0] == "ALLOW"


def test_simulate_exempt_principal_is_allowed(capsys):
    code, _, _ = run(
        capsys,
        "policies",
        "simulate",
        "--action",
        "AddTags",
        "--tag",
        "mlgov:zombie=confirmed",
        "--principal",
        "arn:aws:iam::111122223333:role/mlgov-spoke-approval",
        "--expect",
        "allow",
    )
    assert code == 0


def test_simulate_without_scp_files_is_a_one_line_error(capsys, policies_dir):
    shutil.rmtree(policies_dir / "scp")
    code, _, err = run(
        capsys, "policies", "simulate", "--action", "CreateEndpoint", "--policies-dir", str(policies_dir)
    )
    assert code == 2
    assert err.count("\n") == 1
    assert "run `mlgov policies build`" in err


# --- policies explain --------------------------------------------------------------------------------


def test_explain_lists_the_required_tags_and_the_fixes(capsys):
    code, out, _ = run(capsys, "policies", "explain", CLASSIC_DENIAL)
    assert code == 0
    for key in ("ml:team", "ml:model", "ml:experiment", "ml:environment", "auto-delete-after"):
        assert key in out
    assert "sagemaker.create_endpoint(" in out
    assert "aws sagemaker create-endpoint" in out


def test_explain_with_sent_tags_names_what_is_wrong(capsys, instant):
    code, out, _ = run(
        capsys,
        "policies",
        "explain",
        CLASSIC_DENIAL,
        "--tags",
        "ml:model=m",
        "ml:experiment=e",
        "ml:environment=qa",
        f"auto-delete-after={utc_in(instant, 10)}",
    )
    assert code == 0
    assert "because of: ml:team, ml:environment." in out
    assert "ml:environment: 'qa' is not one of dev, staging, prod" in out


def test_explain_garbage_is_a_one_line_error(capsys):
    code, out, err = run(capsys, "policies", "explain", "something went wrong")
    assert code == 2
    assert out == ""
    assert err.startswith("mlgov: error: no 'is not authorized to perform")
    assert err.count("\n") == 1


# --- tags check ------------------------------------------------------------------------------------


def test_tags_check_prints_one_line_per_problem(capsys):
    code, out, _ = run(
        capsys,
        "tags",
        "check",
        "--resource-type",
        "endpoint",
        "--tags",
        "ml:team=Fraud",
        "ml:model=m",
        "ml:experiment=e",
        "ml:environment=qa",
        "auto-delete-after=2020-01-01",
    )
    assert code == 1
    assert out.splitlines() == [
        "ml:team: 'Fraud' does not match ^[a-z0-9][a-z0-9-]{1,62}$",
        "ml:environment: 'qa' is not one of dev, staging, prod",
        "auto-delete-after: 2020-01-01 is in the past",
    ]


def test_tags_check_accepts_a_training_job_without_lifetime(capsys):
    code, out, _ = run(
        capsys,
        "tags",
        "check",
        "--resource-type",
        "training-job",
        "--tags",
        "ml:team=fraud",
        "ml:model=m",
        "ml:experiment=e",
        "ml:environment=dev",
    )
    assert code == 0
    assert out == "OK: the tags satisfy 4 rules\n"


def test_tags_check_rejects_a_pair_without_equals_sign(capsys):
    code, _, err = run(capsys, "tags", "check", "--tags", "ml:team")
    assert code == 2
    assert err == "mlgov: error: tag 'ml:team' must be KEY=VALUE\n"


# --- sdk-defaults ----------------------------------------------------------------------------------


def test_sdk_defaults_writes_a_config_the_sdk_can_read(capsys, tmp_path, instant):
    output = tmp_path / "sagemaker" / "config.yaml"
    code, out, _ = run(capsys, "sdk-defaults", *SDK_ARGS, "--days", "14", "--output", str(output))
    assert code == 0
    assert str(output) in out
    config = yaml.safe_load(output.read_text())
    assert config["SchemaVersion"] == "1.0"
    endpoint_tags = {t["Key"]: t["Value"] for t in config["SageMaker"]["Endpoint"]["Tags"]}
    assert endpoint_tags["ml:team"] == "fraud-detection"
    assert endpoint_tags["auto-delete-after"] == utc_in(instant, 14)
    training_keys = {t["Key"] for t in config["SageMaker"]["TrainingJob"]["Tags"]}
    assert training_keys == {"ml:team", "ml:model", "ml:experiment", "ml:environment"}


def test_sdk_defaults_keeps_an_existing_config(capsys, tmp_path):
    output = tmp_path / "config.yaml"
    output.write_text(
        yaml.safe_dump(
            {
                "SchemaVersion": "1.0",
                "SageMaker": {
                    "TrainingJob": {"EnableNetworkIsolation": True, "Tags": [{"Key": "owner", "Value": "a"}]}
                },
            }
        )
    )
    assert run(capsys, "sdk-defaults", *SDK_ARGS, "--output", str(output))[0] == 0
    training = yaml.safe_load(output.read_text())["SageMaker"]["TrainingJob"]
    assert training["EnableNetworkIsolation"] is True
    assert {"Key": "owner", "Value": "a"} in training["Tags"]


def test_sdk_defaults_print_does_not_write(capsys, tmp_path):
    output = tmp_path / "config.yaml"
    code, out, _ = run(capsys, "sdk-defaults", *SDK_ARGS, "--output", str(output), "--print")
    assert code == 0
    assert yaml.safe_load(out)["SchemaVersion"] == "1.0"
    assert not output.exists()


def test_sdk_defaults_rejects_an_environment_outside_the_schema(capsys, tmp_path):
    output = tmp_path / "config.yaml"
    argv = [*SDK_ARGS[:-1], "qa"]
    code, out, err = run(capsys, "sdk-defaults", *argv, "--output", str(output))
    assert code == 2
    assert err == "mlgov: error: ml:environment: 'qa' is not one of dev, staging, prod\n"
    assert not output.exists()


def test_sdk_defaults_rejects_a_lifetime_beyond_the_maximum(capsys, tmp_path):
    code, _, err = run(capsys, "sdk-defaults", *SDK_ARGS, "--days", "400", "--output", str(tmp_path / "c.yaml"))
    assert code == 2
    assert err == "mlgov: error: --days must be between 1 and 365\n"


# --- malformed schema --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        ["policies", "check"],
        ["policies", "build"],
        ["tags", "check", "--tags", "ml:team=fraud"],
        ["sdk-defaults", *SDK_ARGS, "--print"],
    ],
)
def test_malformed_schema_is_one_line_naming_the_file_without_a_traceback(capsys, policies_dir, argv):
    schema_path = policies_dir / "tag_schema.json"
    schema_path.write_text(schema_path.read_text().replace('"ml:team"', '"ml:team",', 1))
    code, out, err = run(capsys, *argv, "--policies-dir", str(policies_dir))
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1
    assert err.startswith(f"mlgov: error: {schema_path}: not valid JSON")
    assert "Traceback" not in err


def test_schema_violating_the_meta_schema_names_the_path(capsys, policies_dir):
    schema_path = policies_dir / "tag_schema.json"
    schema = json.loads(schema_path.read_text())
    del schema["tags"][0]["example"]
    schema_path.write_text(json.dumps(schema))
    code, _, err = run(capsys, "policies", "check", "--policies-dir", str(policies_dir))
    assert code == 2
    assert err == f"mlgov: error: {schema_path}: tags[0]: 'example' is a required property\n"


def test_build_leaves_files_alone_when_the_schema_is_malformed(capsys, policies_dir):
    before = (policies_dir / "tag_policy.json").read_text()
    (policies_dir / "tag_schema.json").write_text("{}")
    assert run(capsys, "policies", "build", "--policies-dir", str(policies_dir))[0] == 2
    assert (policies_dir / "tag_policy.json").read_text() == before


def test_simulating_an_iam_action_needs_the_resource(capsys):
    code, _, err = run(capsys, "policies", "simulate", "--action", "iam:CreateRole")
    assert code == 2 and err.count("\n") == 1 and "pass --resource" in err
    code, out, _ = run(
        capsys,
        "policies",
        "simulate",
        "--action",
        "iam:CreateRole",
        "--resource",
        "arn:aws:iam::111122223333:role/mlgov-x",
        "--expect",
        "deny",
    )
    assert code == 0 and "ProtectMlgovRoles" in out
