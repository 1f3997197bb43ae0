"""ApprovalFlow alone in a small stack (config from the real cdk.json): ASL shape, guarded delete, IAM, cdk-nag."""

import json

import pytest
from aws_cdk.assertions import Annotations, Match, Template

from tests.infra.conftest import REPO
from tests.infra.template_helpers import matching


def _build(mlgov_context: dict, outdir: str):
    import aws_cdk as cdk
    from cdk_nag import AwsSolutionsChecks

    from stacks.config import load_config
    from stacks.parts.approval_flow import ApprovalFlow
    from stacks.parts.scan_workflow import ArchiveBucket, archive_bucket_name

    config = load_config(mlgov_context)
    app = cdk.App(outdir=outdir)
    stack = cdk.Stack(app, "ApprovalOnly", env=cdk.Environment(account=config.hub_account, region=config.hub_region))
    archive = ArchiveBucket(
        stack, "Archive", retention_days=config.archive_retention_days, bucket_name=archive_bucket_name(config)
    )
    flow = ApprovalFlow(stack, "Approval", config=config, archive=archive)
    cdk.Aspects.of(app).add(AwsSolutionsChecks(verbose=True))
    app.synth()
    return config, stack, flow


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    context = json.loads((REPO / "cdk.json").read_text())["context"]["mlgov"]
    return _build(context, str(tmp_path_factory.mktemp("approval.out")))


@pytest.fixture(scope="module")
def template(built) -> Template:
    return Template.from_stack(built[1])


def _definition(template: Template) -> dict:
    (machine,) = template.find_resources("AWS::StepFunctions::StateMachine").values()
    body = machine["Properties"]["DefinitionString"]
    if isinstance(body, dict):  # Fn::Join of literal strings and tokens
        body = "".join(part if isinstance(part, str) else "ARN" for part in body["Fn::Join"][1])
    return json.loads(body)


def _successors(state: dict) -> list[str]:
    found = [state["Next"]] if "Next" in state else []
    found += [choice["Next"] for choice in state.get("Choices", [])]
    found += [state["Default"]] if "Default" in state else []
    found += [catch["Next"] for catch in state.get("Catch", [])]
    return found


def _reachable(states: dict, start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo += _successors(states[name])
    return seen


def test_standard_state_machine_named_mlgov_approval(template):
    found = matching(
        template,
        "AWS::StepFunctions::StateMachine",
        {"StateMachineName": "mlgov-approval", "StateMachineType": "STANDARD"},
    )
    assert len(found) == 1, found


def test_notify_waits_for_the_task_token_with_the_configured_timeout(template, built):
    config = built[0]
    states = _definition(template)["States"]
    notify = states["Notify"]
    assert notify["Resource"].endswith("lambda:invoke.waitForTaskToken")
    assert notify["TimeoutSeconds"] == config.approval_timeout_hours * 3600
    assert notify["Parameters"]["Payload"]["task_token.$"] == "$$.Task.Token"
    catches = {tuple(c["ErrorEquals"]): c["Next"] for c in notify["Catch"]}
    assert catches[("States.Timeout",)] == "MarkTimedOut"
    assert "UpdateMessage" in _reachable(states, "MarkTimedOut")
    assert "Delete" not in _reachable(states, "MarkTimedOut")


def test_decision_branches(template):
    states = _definition(template)["States"]
    assert _definition(template)["StartAt"] == "Park?"
    (park,) = states["Park?"]["Choices"]
    assert park == {"Variable": "$.park", "IsPresent": True, "Next": "ParkCheck"}
    assert states["Park?"]["Default"] == "MarkCandidate"
    assert states["MarkCandidate"]["Next"] == "Notify"
    assert states["Notify"]["Next"] == "Decision?"
    choices = {c["StringEquals"]: c["Next"] for c in states["Decision?"]["Choices"]}
    assert choices == {"approve": "Recheck", "reject": "Exempt", "snooze": "Snooze"}
    assert states["Recheck"]["Next"] == "StillIdle?"
    (idle,) = states["StillIdle?"]["Choices"]
    assert idle["Next"] == "Snapshot" and states["StillIdle?"]["Default"] == "ClearCandidate"
    assert states["Snapshot"]["Next"] == "HashesPending?" and states["Verify"]["Next"] == "Verified?"
    (pending,) = states["HashesPending?"]["Choices"]
    assert pending == {"Variable": "$.snapshot.pending_hashes", "NumericGreaterThan": 0, "Next": "HashSourceRanges"}
    assert states["HashesPending?"]["Default"] == "Verify" and states["HashSourceRanges"]["Next"] == "Verify"
    (verified,) = states["Verified?"]["Choices"]
    assert verified == {"Variable": "$.verification.verified", "BooleanEquals": True, "Next": "Confirm"}
    assert states["Confirm"]["Next"] == "Delete"
    assert states["Exempt"]["Parameters"]["kind"] == "reject"
    assert states["Snooze"]["Parameters"]["kind"] == "snooze"


def test_a_park_skips_slack_but_not_the_live_check_the_snapshot_or_its_verification(template):
    """The schedule is the approval of a park: ParkCheck reads the endpoint's live mlgov:schedule (protected) and
    ml:environment, then the zombie path's StillIdle? → Snapshot → Verified? → Confirm → Delete, nothing skipped."""
    states = _definition(template)["States"]
    assert states["ParkCheck"]["Parameters"]["task"] == "park_check"
    assert states["ParkCheck"]["Next"] == "ScheduleIsTheApproval"
    assert states["ScheduleIsTheApproval"]["Result"] == {"decision": "park", "by": "mlgov:schedule"}
    assert states["ScheduleIsTheApproval"]["Next"] == "StillIdle?"
    assert "Notify" not in _reachable(states, "ParkCheck")
    assert {"Snapshot", "Verify", "Confirm", "Delete"} <= _reachable(states, "ParkCheck")


def test_no_path_deletes_after_a_failed_or_unverified_snapshot(template):
    states = _definition(template)["States"]
    for start in (
        "NotVerified",
        "SnapshotFailed",
        "HashSourceRangesFailed",
        "VerifyFailed",
        "ClearCandidate",
        "Exempt",
        "Snooze",
    ):
        assert "Delete" not in _reachable(states, start), start
    # the only way into Delete is Verified? → Confirm
    into_delete = {name for name, state in states.items() if "Delete" in _successors(state)}
    assert into_delete == {"Confirm"}
    into_confirm = {name for name, state in states.items() if "Confirm" in _successors(state)}
    assert into_confirm == {"Verified?"}


def test_ranges_too_large_for_one_task_are_hashed_by_a_distributed_map_reading_its_items_from_s3(template):
    """Objects bigger than one Lambda can verify: the snapshot leaves their source ranges to a Distributed Map that
    reads them from the archive (never the 256 KB state), one HashRange Lambda per range, throttles retried; a
    failed item fails the map into the snapshot's failure path."""
    states = _definition(template)["States"]
    hashing = states["HashSourceRanges"]
    assert hashing["Type"] == "Map" and hashing["ItemProcessor"]["ProcessorConfig"]["Mode"] == "DISTRIBUTED"
    reader = hashing["ItemReader"]
    assert reader["Resource"].endswith(":states:::s3:getObject")
    assert reader["ReaderConfig"] == {"InputType": "JSON"}
    assert reader["Parameters"]["Key.$"] == "$.snapshot.hash_jobs_key"
    assert hashing["ItemSelector"] == {
        "finding.$": "$.finding",
        "manifest_key.$": "$.snapshot.manifest_key",
        "job.$": "$$.Map.Item.Value",
    }
    assert hashing["ResultPath"] is None and hashing.get("ToleratedFailurePercentage", 0) == 0
    (catch,) = hashing["Catch"]
    assert catch["ErrorEquals"] == ["States.ALL"] and catch["Next"] == "HashSourceRangesFailed"
    inner = hashing["ItemProcessor"]["States"]["HashRange"]
    assert inner["Parameters"] == {"task": "hash_range", "state.$": "$"}
    assert any("Lambda.TooManyRequestsException" in r["ErrorEquals"] for r in inner["Retry"])


def test_every_path_ends_after_updating_the_message(template):
    states = _definition(template)["States"]
    terminal = {name for name, state in states.items() if state["Type"] in ("Succeed", "Fail")}
    assert terminal == {"Done", "ApprovalFailed", "MessageNotUpdated"}
    for name, state in states.items():
        if state["Type"] == "Task" and name != "UpdateMessage":
            assert state.get("Catch"), f"{name} has no Catch"
            assert "UpdateMessage" in _reachable(states, name), name
    for name in terminal:
        assert name in _reachable(states, "UpdateMessage")


def test_approvals_table_and_function_url(template, built):
    found = matching(
        template,
        "AWS::DynamoDB::GlobalTable",
        {
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
            "TimeToLiveSpecification": {"AttributeName": "purge_at", "Enabled": True},
        },
    )
    assert len(found) == 1, found
    found = matching(template, "AWS::Lambda::Url", {"AuthType": "NONE"})
    assert len(found) == 1, found
    found = matching(
        template,
        "AWS::Lambda::Function",
        {
            "Handler": "mlgov.handlers.slack_interactions.handler",
            "Environment": {
                "Variables": Match.object_like(
                    {
                        "MLGOV_SLACK_SIGNING_SECRET": built[0].slack.signing_secret_name,
                        "MLGOV_SLACK_APPROVERS": json.dumps(list(built[0].slack.approvers)),
                    }
                )
            },
        },
    )
    assert len(found) == 1, found
    found = matching(template, "AWS::IAM::Role", {"RoleName": "mlgov-hub-approval"})
    assert len(found) == 1, found
    found = matching(template, "AWS::Lambda::Function", {"Handler": "mlgov.handlers.approval.handler"})
    assert len(found) == 1, found


def test_spoke_statements_guard_delete_and_tag_keys():
    import aws_cdk as cdk

    from stacks.parts.approval_flow import approval_spoke_role_statements

    stack = cdk.Stack()
    docs = [stack.resolve(s.to_statement_json()) for s in approval_spoke_role_statements("aws", "123456789012")]
    by_sid = {d["Sid"]: d for d in docs}
    delete = by_sid["DeleteOnlyConfirmedZombies"]
    assert delete["Action"] == "sagemaker:DeleteEndpoint"
    assert delete["Condition"] == {"StringEquals": {"aws:ResourceTag/mlgov:zombie": "confirmed"}}
    tags = by_sid["WriteOnlyApprovalTags"]
    assert tags["Condition"]["ForAllValues:StringEquals"]["aws:TagKeys"] == [
        "mlgov:zombie",
        "mlgov:zombie-by",
        "mlgov:zombie-date",
        "mlgov:exempt",
    ]
    assert all("DeleteEndpoint" not in str(d["Action"]) for sid, d in by_sid.items() if sid != delete["Sid"])


def test_cdk_nag_reports_no_unsuppressed_errors(built):
    stack = built[1]
    errors = Annotations.from_stack(stack).find_error("*", Match.string_like_regexp("AwsSolutions-.*"))
    assert errors == [], [error.entry.data for error in errors]


def test_spoke_statements_evaluated_deny_delete_of_an_untagged_endpoint():
    import aws_cdk as cdk

    from mlgov.domain.iam_eval import RequestContext, statement_matches
    from stacks.parts.approval_flow import approval_spoke_role_statements

    stack = cdk.Stack()
    allows = [stack.resolve(s.to_statement_json()) for s in approval_spoke_role_statements("aws", "123456789012")]
    endpoint = "arn:aws:sagemaker:eu-west-1:123456789012:endpoint/churn"

    def allowed(action: str, context: dict) -> bool:
        request = RequestContext(action=action, resource=endpoint, context=context)
        return any(statement_matches(s, request) for s in allows)

    assert not allowed("sagemaker:DeleteEndpoint", {})
    assert not allowed("sagemaker:DeleteEndpoint", {"aws:ResourceTag/mlgov:zombie": "candidate"})
    assert allowed("sagemaker:DeleteEndpoint", {"aws:ResourceTag/mlgov:zombie": "confirmed"})
    assert allowed("sagemaker:AddTags", {"aws:TagKeys": ["mlgov:zombie", "mlgov:zombie-by"]})
    assert not allowed("sagemaker:AddTags", {"aws:TagKeys": ["mlgov:zombie", "ml:team"]})
    assert not allowed("sagemaker:DeleteTags", {"aws:TagKeys": ["auto-delete-after"]})
    notebook = "arn:aws:sagemaker:eu-west-1:123456789012:notebook-instance/lab"

    def on_notebook(action: str, keys: list[str]) -> bool:
        request = RequestContext(action, resource=notebook, context={"aws:TagKeys": keys})
        return any(statement_matches(s, request) for s in allows)

    assert on_notebook("sagemaker:AddTags", ["mlgov:exempt"])  # `mlgov exempt` keeps an idle notebook running
    assert not on_notebook("sagemaker:AddTags", ["mlgov:zombie"])  # nothing the endpoint flow trusts
    assert not on_notebook("sagemaker:DeleteTags", ["mlgov:exempt"])
    for action in ("sagemaker:DeleteNotebookInstance", "sagemaker:StopNotebookInstance"):
        assert not any(statement_matches(s, RequestContext(action, resource=notebook)) for s in allows)
    for kept in ("app/d-abc123/alice-space/jupyterlab/default", "domain/d-abc123"):  # Keep running; a domain's exempt
        resource = f"arn:aws:sagemaker:eu-west-1:123456789012:{kept}"
        assert any(
            statement_matches(
                s, RequestContext("sagemaker:AddTags", resource=resource, context={"aws:TagKeys": ["mlgov:exempt"]})
            )
            for s in allows
        )
        assert not any(
            statement_matches(
                s, RequestContext("sagemaker:AddTags", resource=resource, context={"aws:TagKeys": ["mlgov:schedule"]})
            )
            for s in allows
        )


def test_spoke_statements_decrypt_kms_artifacts_only_through_s3_and_only_with_keys_of_their_account():
    import aws_cdk as cdk

    from mlgov.domain.iam_eval import RequestContext, statement_matches
    from stacks.parts.approval_flow import approval_spoke_role_statements

    stack = cdk.Stack()
    allows = [stack.resolve(s.to_statement_json()) for s in approval_spoke_role_statements("aws", "123456789012")]

    def allowed(action: str, key_account: str, via: str | None) -> bool:
        key = f"arn:aws:kms:eu-west-1:{key_account}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
        request = RequestContext(action=action, resource=key, context={"kms:ViaService": via} if via else {})
        return any(statement_matches(s, request) for s in allows)

    assert allowed("kms:Decrypt", "123456789012", "s3.eu-west-1.amazonaws.com")
    assert not allowed("kms:Decrypt", "123456789012", None)  # called directly, not by S3
    assert not allowed("kms:Decrypt", "123456789012", "secretsmanager.eu-west-1.amazonaws.com")
    assert not allowed("kms:Decrypt", "999988887777", "s3.eu-west-1.amazonaws.com")  # another account's key
    assert not allowed("kms:Encrypt", "123456789012", "s3.eu-west-1.amazonaws.com")


def test_spoke_statements_can_write_the_hub_archive_for_cross_account_snapshots():
    import aws_cdk as cdk

    from stacks.parts.approval_flow import approval_spoke_role_statements

    stack = cdk.Stack()
    statements = approval_spoke_role_statements(
        "aws", "123456789012", archive_bucket_arn="arn:aws:s3:::archive", archive_key_arn="arn:aws:kms:k"
    )
    by_sid = {d["Sid"]: d for d in (stack.resolve(s.to_statement_json()) for s in statements)}
    write = by_sid["WriteSnapshotsToTheHubArchive"]
    assert write["Resource"] == "arn:aws:s3:::archive/snapshots/123456789012/*"  # its own account's prefix
    assert sorted(write["Action"]) == ["s3:AbortMultipartUpload", "s3:PutObject"]  # write-only
    assert by_sid["EncryptSnapshotsWithTheArchiveKey"]["Resource"] == "arn:aws:kms:k"
    assert by_sid["EncryptSnapshotsWithTheArchiveKey"]["Condition"] == {
        "StringLike": {"kms:EncryptionContext:aws:s3:arn": "arn:aws:s3:::archive/snapshots/123456789012/*"}
    }
    assert sorted(by_sid["EncryptSnapshotsWithTheArchiveKey"]["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey"]


def test_spoke_statements_evaluated_let_an_extension_write_only_the_lifetime_tag_of_its_own_accounts_resources():
    import aws_cdk as cdk

    from mlgov.domain.iam_eval import RequestContext, statement_matches
    from stacks.parts.approval_flow import approval_spoke_role_statements

    stack = cdk.Stack()
    allows = [stack.resolve(s.to_statement_json()) for s in approval_spoke_role_statements("aws", "123456789012")]

    def allowed(resource: str, keys: list[str], action: str = "sagemaker:AddTags") -> bool:
        request = RequestContext(action, resource=resource, context={"aws:TagKeys": keys})
        return any(statement_matches(s, request) for s in allows)

    own = "arn:aws:sagemaker:eu-west-1:123456789012:"
    for resource in ("model/churn", "endpoint/churn", "notebook-instance/lab", "training-job/t1"):
        assert allowed(own + resource, ["auto-delete-after"])  # an "Extend 30 days" click
        assert not allowed(own + resource, ["auto-delete-after", "ml:team"])  # nothing beside it
        assert not allowed(own + resource, ["mlgov:created-by"])  # never the owner a click is matched against
        assert not allowed(own + resource, ["auto-delete-after"], "sagemaker:DeleteTags")
    assert not allowed("arn:aws:sagemaker:eu-west-1:999988887777:model/churn", ["auto-delete-after"])


def test_only_the_slack_function_may_invoke_the_approval_function_for_clicks_and_nothing_else(template):
    from mlgov.domain.iam_eval import RequestContext, statement_matches
    from tests.infra.template_helpers import concrete, rendered, role_statements

    roles = template.find_resources("AWS::IAM::Role")
    slack_id = next(k for k, r in roles.items() if r["Properties"].get("RoleName") == "mlgov-hub-slack-interactions")
    statements = concrete(rendered(role_statements(template, slack_id)))
    (approval_id,) = [
        k for k, f in template.find_resources("AWS::Lambda::Function").items()
        if f["Properties"]["Handler"] == "mlgov.handlers.approval.handler"
    ]  # fmt: skip

    def allowed(function_arn: str) -> bool:
        request = RequestContext("lambda:InvokeFunction", resource=function_arn)
        return any(s["Effect"] == "Allow" and statement_matches(s, request) for s in statements)

    assert allowed(f"ref<GetAtt:{approval_id}.Arn>")
    assert not allowed("arn:aws:lambda:eu-west-1:111111111111:function:mlgov-scanner")
    assert not allowed("arn:aws:lambda:eu-west-1:222222222222:function:anything")
    permissions = template.find_resources("AWS::Lambda::Permission")
    assert not [p for p in permissions.values() if render_of(p["Properties"].get("FunctionName")) == approval_id], (
        "the approval function has no resource policy: a member account's role (even with iam:CreateRole) cannot "
        "invoke it; only hub identities the hub's IAM policies name can"
    )


def render_of(value) -> str | None:
    if isinstance(value, dict):
        ref = value.get("Ref") or (value.get("Fn::GetAtt") or [None])[0]
        return ref
    return value


def test_spoke_statements_evaluated_restore_only_parked_endpoints_that_come_back_scheduled():
    import aws_cdk as cdk

    from mlgov.domain.iam_eval import RequestContext, statement_matches
    from stacks.parts.approval_flow import approval_spoke_role_statements

    stack = cdk.Stack()
    allows = [stack.resolve(s.to_statement_json()) for s in approval_spoke_role_statements("aws", "123456789012")]
    endpoint = "arn:aws:sagemaker:eu-west-1:123456789012:endpoint/dev-churn"
    scheduled = {"ml:team": "fraud", "mlgov:schedule": "weekdays 08:00-19:00 Europe/Berlin park"}

    def allowed(action: str, tags: dict, resource: str = endpoint, **context) -> bool:
        request = RequestContext.for_tags(action, tags, resource=resource)
        request = RequestContext(request.action, request.principal_arn, resource, {**request.context, **context})
        return any(statement_matches(s, request) for s in allows)

    assert allowed("sagemaker:CreateEndpoint", scheduled)
    assert allowed("sagemaker:AddTags", scheduled, **{"sagemaker:TaggingAction": "CreateEndpoint"})
    assert not allowed("sagemaker:CreateEndpoint", {"ml:team": "fraud"})  # an endpoint that would not come back
    scaled = {**scheduled, "mlgov:schedule": "weekdays 08:00-19:00 Europe/Berlin"}
    assert not allowed("sagemaker:CreateEndpoint", scaled)  # a scaling schedule is no reason to create anything
    for key, value in (("mlgov:zombie", "confirmed"), ("mlgov:exempt", "kept"), ("mlgov:zombie-by", "x")):
        forged = {**scheduled, key: value}  # an endpoint created already confirmed for deletion, or exempt
        assert not allowed("sagemaker:CreateEndpoint", forged), key
        assert not allowed("sagemaker:AddTags", forged, **{"sagemaker:TaggingAction": "CreateEndpoint"}), key
    assert not allowed("sagemaker:AddTags", scheduled)  # a later retag of any key: not through this statement
    assert not allowed("sagemaker:AddTags", scheduled, **{"sagemaker:TaggingAction": "CreateModel"})
    other = "arn:aws:sagemaker:eu-west-1:999988887777:endpoint/dev-churn"
    assert not allowed("sagemaker:CreateEndpoint", scheduled, resource=other)
    for action in ("sagemaker:CreateModel", "sagemaker:CreateEndpointConfig", "iam:PassRole"):
        assert not allowed(action, scheduled, resource="*")  # no model or role is ever created or passed
