"""Keep running / Extend clicks carried out by the approval function's service on moto (SageMaker tags, the
approvals table): the owner by e-mail or an approver acts, anyone else changes nothing, a replayed click changes
nothing twice, an extension is capped and audited."""

from __future__ import annotations

from datetime import UTC, date, datetime

import boto3
import pytest

from mlgov.domain.resource_buttons import EXTEND_LIFETIME, KEEP_RUNNING, parse_button
from mlgov.services.approvals import ApprovalTasks
from mlgov.services.resource_clicks import answer_resource_click

pytestmark = pytest.mark.aws

REGION, ACCOUNT = "us-east-1", "123456789012"
NOW = datetime(2026, 11, 20, 9, tzinfo=UTC)
EMAILS = {"U0DANA": "dana@example.com", "U0EVE": "eve@example.com"}


class OneAccount:
    def client(self, service, account, region, partition="aws"):
        assert (account, region) == (ACCOUNT, REGION)
        return boto3.client(service, region_name=region)


@pytest.fixture
def world(approvals_table):  # the fixture holds moto open
    sagemaker = boto3.client("sagemaker", region_name=REGION)
    owner = [{"Key": "mlgov:created-by", "Value": "dana@example.com"}]
    notebook = sagemaker.create_notebook_instance(
        NotebookInstanceName="lab", InstanceType="ml.t3.medium", RoleArn=f"arn:aws:iam::{ACCOUNT}:role/sm",
        Tags=owner,
    )["NotebookInstanceArn"]  # fmt: skip
    model = sagemaker.create_model(
        ModelName="churn", ExecutionRoleArn=f"arn:aws:iam::{ACCOUNT}:role/sm",
        PrimaryContainer={"Image": "ecr/xgb:1"}, Tags=[*owner, {"Key": "auto-delete-after", "Value": "2026-11-25"}],
    )["ModelArn"]  # fmt: skip
    tasks = ApprovalTasks(
        sessions=OneAccount(), archive_client=None, archive_bucket="archive",
        approvals=approvals_table, clock=lambda: NOW,
    )  # fmt: skip
    return tasks, sagemaker, notebook, model


def _click(tasks, action, value, user, approvers=()):
    return answer_resource_click(
        tasks, parse_button(action, value), user, approvers=set(approvers), email_of=EMAILS.get,
        lifetime_key="auto-delete-after", max_lifetime_days=365,
    )  # fmt: skip


def _tags(sagemaker, arn) -> dict:
    return {t["Key"]: t["Value"] for t in sagemaker.list_tags(ResourceArn=arn)["Tags"]}


def test_the_owner_keeps_a_notebook_running_once_and_a_stranger_changes_nothing(world):
    tasks, sagemaker, notebook, _ = world
    refused = _click(tasks, KEEP_RUNNING, notebook, "U0EVE")
    assert not refused["changed"] and "mlgov:exempt" not in _tags(sagemaker, notebook)
    kept = _click(tasks, KEEP_RUNNING, notebook, "U0DANA")
    assert kept["changed"] and "until 2026-11-27" in kept["text"]
    value = _tags(sagemaker, notebook)["mlgov:exempt"]
    assert value.startswith("snoozed by slack:U0DANA dana@example.com on 2026-11-20 until 2026-11-27")
    assert tasks.approvals.recorded_exemptions([notebook]) == {notebook: value}  # recorded: the scan honours it
    again = _click(tasks, KEEP_RUNNING, notebook, "U0DANA")
    assert not again["changed"] and "already kept" in again["text"]


def test_an_approver_extends_a_lifetime_once_and_the_move_is_audited(world):
    tasks, sagemaker, _, model = world
    value = f"{model}|2026-11-25"
    assert not _click(tasks, EXTEND_LIFETIME, value, "U0EVE")["changed"]
    extended = _click(tasks, EXTEND_LIFETIME, value, "U0PLATFORM", approvers={"U0PLATFORM"})
    assert extended["changed"] and _tags(sagemaker, model)["auto-delete-after"] == "2026-12-25"
    audit = tasks.approvals._client.get_item(TableName="approvals", Key={"pk": {"S": f"extension#{model}#2026-12-25"}})
    assert audit["Item"]["by"]["S"] == "slack:U0PLATFORM" and audit["Item"]["old"]["S"] == "2026-11-25"
    replay = _click(tasks, EXTEND_LIFETIME, value, "U0DANA")  # the owner clicks the same button later
    assert not replay["changed"] and "already extended to 2026-12-25" in replay["text"]
    assert date.fromisoformat(_tags(sagemaker, model)["auto-delete-after"]) == date(2026, 12, 25)


def test_the_approval_function_answers_the_clicker_privately_refusals_included(world, monkeypatch):
    """Handed over asynchronously, the approval function's task is the only one who can answer: it posts every
    outcome, a refusal too, to the click's response_url (Slack's own hooks only)."""
    from mlgov.aws import slack_post
    from mlgov.handlers import approval, approval_runtime
    from mlgov.settings import ApprovalSettings

    tasks, _, notebook, _ = world
    settings = ApprovalSettings(
        hub_account=ACCOUNT, archive_bucket="a", approvals_table="approvals", slack_channel="C",
        slack_token_secret="s", approvers=frozenset({"U0PLATFORM"}),
    )  # fmt: skip
    monkeypatch.setattr(approval_runtime, "approval_settings", lambda: settings)
    monkeypatch.setattr(approval_runtime, "slack_email_lookup", lambda: EMAILS.get)
    posted: list[tuple[str, str]] = []
    monkeypatch.setattr(slack_post, "post_ephemeral", lambda url, text, timeout=10: posted.append((url, text)))
    url = "https://hooks.slack.com/actions/T0TEAM/1/abc"

    def click(user: str, action: str = "keep_running", value: str = notebook) -> dict:
        event = {"task": "resource_click", "state": {"finding": {"arn": notebook}}, "action": action,
                 "value": value, "user_id": user, "response_url": url}  # fmt: skip
        return approval._resource_click(tasks, event)

    assert click("U0EVE")["changed"] is False and "only its owner" in posted[-1][1]
    assert click("U0PLATFORM")["changed"] is True and "keeps running until" in posted[-1][1]  # an approver
    refused = click("U0DANA", "keep_running", notebook.replace(":notebook-instance/", ":endpoint/"))
    assert refused == {"text": posted[-1][1], "changed": False} and "notebook-instance, app only" in refused["text"]
    assert [u for u, _ in posted] == [url] * 3
