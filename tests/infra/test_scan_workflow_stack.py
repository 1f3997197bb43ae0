"""Scheduled scan and HyperPod scheduler as synthesized from the real cdk.json."""

import json

import pytest
from aws_cdk.assertions import Match, Template

from tests.infra.template_helpers import matching, only, render


@pytest.fixture(scope="module")
def hub(synthesized) -> Template:
    stacks, _ = synthesized
    return Template.from_stack(stacks["hub"])


def test_archive_bucket_is_versioned_kms_encrypted_tls_only_with_retention(hub, cdk_context):
    _, bucket = only(hub, "AWS::S3::Bucket", {"VersioningConfiguration": {"Status": "Enabled"}})
    props = bucket["Properties"]
    (encryption,) = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert encryption["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    (rule,) = props["LifecycleConfiguration"]["Rules"]
    assert rule["ExpirationInDays"] == cdk_context["mlgov"]["archive_retention_days"]
    assert rule["Transitions"][0]["StorageClass"] == "GLACIER"
    assert props["PublicAccessBlockConfiguration"]["BlockPublicAcls"] is True
    hub.has_resource_properties("AWS::KMS::Key", {"EnableKeyRotation": True})


def test_findings_table_keeps_rows_90_days_after_the_last_sighting(hub):
    found = matching(
        hub,
        "AWS::DynamoDB::GlobalTable",
        {
            "KeySchema": [{"AttributeName": "arn", "KeyType": "HASH"}],
            "TimeToLiveSpecification": {"AttributeName": "expires_at", "Enabled": True},
        },
    )
    assert len(found) == 1, found


def test_scanner_runs_with_powertools_and_slack_layers_and_its_settings(hub, cdk_context):
    _, scanner = only(hub, "AWS::Lambda::Function", {"Handler": "mlgov.handlers.scanner.handler"})
    props = scanner["Properties"]
    assert len(props["Layers"]) == 2
    env = props["Environment"]["Variables"]
    config = cdk_context["mlgov"]
    assert json.loads(env["MLGOV_REGIONS"]) == config["member_regions"]
    assert env["MLGOV_ZOMBIE_IDLE_DAYS"] == str(config["zombie_idle_days"])
    assert env["MLGOV_SLACK_TOKEN_SECRET"] == config["slack"]["bot_token_secret_name"]
    assert "MLGOV_ACCOUNTS" not in env  # org mode lists the accounts below the target OUs
    assert json.loads(env["MLGOV_TARGET_OUS"]) == config["target_ous"]
    assert env["MLGOV_MANAGEMENT_ACCOUNT"] == config["management_account"]
    hub.has_resource_properties(
        "AWS::Lambda::LayerVersion", {"CompatibleRuntimes": ["python3.12"], "CompatibleArchitectures": ["arm64"]}
    )


def definition_of(hub: Template, name: str) -> dict:
    _, machine = only(hub, "AWS::StepFunctions::StateMachine", {"StateMachineName": name})
    return json.loads(
        "".join(
            str(part) if isinstance(part, str) else "X"
            for part in render(machine["Properties"]["DefinitionString"]["Fn::Join"][1])
        )
    )


def all_states(states: dict):
    for name, state in states.items():
        yield name, state
        yield from all_states(state.get("ItemProcessor", {}).get("States", {}))


def test_state_machine_scans_every_target_in_a_map_and_survives_a_failed_target(hub):
    _, machine = only(hub, "AWS::StepFunctions::StateMachine", {"StateMachineName": "mlgov-scan"})
    definition = definition_of(hub, "mlgov-scan")
    states = definition["States"]
    assert definition["StartAt"] == "ListTargets"
    inline = states["ScanEachAccountRegion"]
    assert inline["Type"] == "Map" and inline["MaxConcurrency"] == 10
    scan = inline["ItemProcessor"]["States"]["InlineScanAccountRegion"]
    assert scan["Catch"][0]["Next"] == "InlineScanFailed"
    assert states["ScanEachAccountRegionDistributed"]["ItemProcessor"]["ProcessorConfig"]["Mode"] == "DISTRIBUTED"
    assert states["ManyTargets?"]["Choices"][0]["NumericGreaterThan"] == 200
    assert machine["Properties"]["TracingConfiguration"] == {"Enabled": True}


def test_many_targets_are_read_from_the_archive_not_passed_in_the_state(hub):
    states = definition_of(hub, "mlgov-scan")["States"]
    assert states["ListTargets"]["Parameters"]["inline_max"] == 200  # the Choice's threshold
    distributed = states["ScanEachAccountRegionDistributed"]
    assert "ItemsPath" not in distributed
    reader = distributed["ItemReader"]
    assert reader["ReaderConfig"] == {"InputType": "JSON"}
    assert reader["Parameters"]["Key.$"] == "$.targets_key"
    assert reader["Resource"].endswith(":states:::s3:getObject")
    # its role reads the object and decrypts it with the archive key
    actions = {
        action
        for policy in hub.find_resources("AWS::IAM::Policy").values()
        if "ScanStateMachine" in json.dumps(policy["Properties"]["Roles"])
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        for action in ([statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"])
    }
    assert {"s3:GetObject", "kms:Decrypt"} <= actions


@pytest.mark.parametrize("machine", ["mlgov-scan", "mlgov-approval"])
def test_every_lambda_task_retries_throttling(hub, machine):
    tasks = [
        (name, state)
        for name, state in all_states(definition_of(hub, machine)["States"])
        if state["Type"] == "Task" and ("Function" in state["Resource"] or ":lambda:invoke" in state["Resource"])
    ]
    assert len(tasks) >= 3
    for name, state in tasks:
        throttled = [r for r in state.get("Retry", []) if "Lambda.TooManyRequestsException" in r["ErrorEquals"]]
        assert throttled and throttled[0]["MaxAttempts"] >= 5, name


def test_no_mlgov_role_may_delete_from_the_archive_or_anywhere_in_s3(hub):
    for logical_id, policy in hub.find_resources("AWS::IAM::Policy").items():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            actions = [statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"]
            assert not [a for a in actions if a.startswith("s3:Delete") or a == "s3:*"], (logical_id, actions)


def test_scan_schedule_comes_from_the_config(hub, cdk_context):
    found = matching(
        hub,
        "AWS::Scheduler::Schedule",
        {
            "Name": "mlgov-scan",
            "ScheduleExpression": cdk_context["mlgov"]["scan_schedule"],
            "FlexibleTimeWindow": {"Mode": "OFF"},
        },
    )
    assert len(found) == 1, found


def test_no_function_reserves_concurrency(hub):
    """Any reservation fails the deploy in an account whose concurrency quota is under 101 (new accounts often have
    10): the HyperPod scheduler runs one pass at a time through its state table instead."""
    functions = hub.find_resources("AWS::Lambda::Function")
    assert functions
    assert {
        name: f["Properties"].get("ReservedConcurrentExecutions") for name, f in functions.items()
    } == dict.fromkeys(functions)


def test_hyperpod_scheduler_runs_dry_on_its_own_rate(hub, cdk_context):
    _, function = only(hub, "AWS::Lambda::Function", {"Handler": "mlgov.handlers.hyperpod_scheduler.handler"})
    assert function["Properties"]["Environment"]["Variables"]["MLGOV_HYPERPOD_APPLY"] == "false"
    minutes = cdk_context["mlgov"]["hyperpod_schedule_minutes"]
    hub.has_resource_properties(
        "AWS::Scheduler::Schedule",
        {
            "Name": "mlgov-hyperpod",
            "ScheduleExpression": f"rate({minutes} minutes)",
            "Target": Match.object_like({"RetryPolicy": {"MaximumRetryAttempts": 0}}),
        },
    )


def test_the_scanner_and_the_hyperpod_scheduler_may_walk_the_organization_and_nothing_more_there(hub):
    """Listing below the target OUs takes these read actions (resource `*`: they have no resource types)."""
    statements = sorted(
        (
            (policy["Properties"]["Roles"][0]["Ref"], statement)
            for policy in hub.find_resources("AWS::IAM::Policy").values()
            for statement in policy["Properties"]["PolicyDocument"]["Statement"]
            if any(str(action).startswith("organizations:") for action in _actions(statement))
        ),
        key=lambda pair: pair[0],
    )
    assert [(role.split("Role")[0], sorted(_actions(s))) for role, s in statements] == [
        (
            "HyperPodScheduler",
            ["organizations:ListAccountsForParent", "organizations:ListOrganizationalUnitsForParent"],
        ),
        (
            "ScanScanner",
            [
                "organizations:ListAccounts",
                "organizations:ListAccountsForParent",
                "organizations:ListOrganizationalUnitsForParent",
            ],
        ),
    ]
    assert all(s["Resource"] == "*" and s["Effect"] == "Allow" for _, s in statements)


def test_the_hyperpod_scheduler_covers_the_accounts_below_the_target_ous_in_org_mode(hub, cdk_context):
    _, function = only(hub, "AWS::Lambda::Function", {"Handler": "mlgov.handlers.hyperpod_scheduler.handler"})
    env = function["Properties"]["Environment"]["Variables"]
    assert json.loads(env["MLGOV_TARGET_OUS"]) == cdk_context["mlgov"]["target_ous"]
    assert env["MLGOV_MANAGEMENT_ACCOUNT"] == cdk_context["mlgov"]["management_account"]
    assert json.loads(env["MLGOV_TARGETS"]) == {"regions": cdk_context["mlgov"]["member_regions"]}


def _actions(statement: dict) -> list[str]:
    actions = statement.get("Action", [])
    return actions if isinstance(actions, list) else [actions]


def test_member_approval_roles_get_a_data_key_from_the_archive_key_never_encrypt(hub):
    """S3 needs GenerateDataKey (and Decrypt to complete a multipart copy) for a member's copy into the archive."""
    (statement,) = [
        statement
        for key in hub.find_resources("AWS::KMS::Key").values()
        for statement in key["Properties"]["KeyPolicy"]["Statement"]
        if statement.get("Sid") == "SpokeApprovalRolesEncryptTheirOwnSnapshots"
    ]
    assert sorted(statement["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey"]


def test_only_the_scanner_reads_list_prices_and_it_does_by_default(hub, cdk_context):
    """pricing:GetProducts has no resource types (public list prices, read-only): the scanner role alone holds it."""
    granted = [
        (policy["Properties"]["Roles"][0]["Ref"].split("Role")[0], statement)
        for policy in hub.find_resources("AWS::IAM::Policy").values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if any(str(action).startswith(("pricing:", "*")) for action in _actions(statement))
    ]
    _, scanner = only(hub, "AWS::Lambda::Function", {"Handler": "mlgov.handlers.scanner.handler"})

    assert [role for role, _ in granted] == ["ScanScanner"]
    assert [(s["Effect"], _actions(s), s["Resource"]) for _, s in granted] == [("Allow", ["pricing:GetProducts"], "*")]
    assert "live_prices" not in cdk_context["mlgov"]  # the default
    assert scanner["Properties"]["Environment"]["Variables"]["MLGOV_LIVE_PRICES"] == "true"
    assert scanner["Properties"]["Environment"]["Variables"]["MLGOV_AROUND_COSTS"] == "true"  # around_costs default
    assert scanner["Properties"]["Environment"]["Variables"]["MLGOV_BUDGETS"] == "{}"  # no budgets: no alerts
    assert scanner["Properties"]["Environment"]["Variables"]["MLGOV_EXPIRY_REMINDER_DAYS"] == "7"  # the default


def test_the_hub_scanner_stops_its_own_accounts_notebooks_only_when_the_platform_chose_stop(hub, cdk_context, tmp_path):
    """Evaluated on the synthesized scanner role: in single-account mode with notebook_stops=stop it may stop the hub
    account's notebooks and no other account's; with the default (report) no statement grants it at all."""
    import aws_cdk as cdk

    from mlgov.domain.iam_eval import RequestContext, evaluate
    from stacks.app_builder import build_app
    from tests.infra.conftest import ORG_ONLY_KEYS
    from tests.infra.template_helpers import concrete, rendered, role_statements

    def scanner_allows(template: Template, action: str, resource: str) -> bool:
        (role_id,) = [r for r, role in template.find_resources("AWS::IAM::Role").items()
                      if role["Properties"].get("RoleName") == "mlgov-hub-scanner"]  # fmt: skip
        statements = [{**s, "Resource": rendered(s["Resource"])} for s in role_statements(template, role_id)]
        text = json.dumps({"Version": "2012-10-17", "Statement": statements}).replace("${AWS::Partition}", "aws")
        text = json.dumps(concrete(json.loads(text)))
        request = RequestContext(action, resource=resource)
        return evaluate({"scanner": json.loads(text)}, request, full_aws_access=False).allowed

    context = json.loads(json.dumps(cdk_context))
    for key in ORG_ONLY_KEYS:
        context["mlgov"].pop(key, None)
    context["mlgov"]["notebook_stops"] = "stop"
    hub_account = context["mlgov"]["hub_account"]
    stopping = Template.from_stack(build_app(cdk.App(context=context, outdir=str(tmp_path)))["hub"])
    notebook = f"arn:aws:sagemaker:eu-west-1:{hub_account}:notebook-instance/lab"
    assert scanner_allows(stopping, "sagemaker:StopNotebookInstance", notebook)
    assert not scanner_allows(stopping, "sagemaker:StopNotebookInstance", notebook.replace(hub_account, "999999999999"))
    assert not scanner_allows(stopping, "sagemaker:DeleteNotebookInstance", notebook)
    assert not scanner_allows(hub, "sagemaker:StopNotebookInstance", notebook)  # report: the default
