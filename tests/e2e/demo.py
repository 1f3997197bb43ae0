"""`make demo`: a simulated organization on a local moto server, run by the real mlgov wired from the templates.

Stages (each prints what happened; ``run_demo`` returns the same facts for tests/e2e/test_demo.py):
1. deploy   the OrgStack's policies, the hub and the StackSet's spokes (tests/e2e/harness.py)
2. doctor   `mlgov doctor` from a member account: every check, the event probe through the spoke included
3. create   data scientists create endpoints, notebooks and jobs in three accounts and two regions; each create's
            CloudTrail event goes through the spoke's rule to the hub bus and the auto-tagger
4. usage    60 days of history: creation times moved back, CloudWatch metrics seeded (busy, idle, exempt)
5. scan     the scheduled scan (EventBridge Scheduler → Step Functions → scanner) writes the report, posts the
            Slack digest, alerts the team past its budget and starts one approval per new zombie
6. approve  an approver clicks Approve on one zombie (a signed request to the local Function URL) and Reject on
            another: re-check, snapshot, verify, delete — and the exemption
7. restore  `mlgov restore` recreates the deleted endpoint from its snapshot
   ... then one night of an off-hours schedule on a prod endpoint (the deployed scheduler, `mlgov schedules set`)
8. report   demo-out/report.json and the self-contained demo-out/report.html
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import logging
import os
import sys
import time
from collections.abc import Callable
from contextlib import redirect_stdout
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
MEMBERS = {"333333333333": "ml-research", "444444444444": "ml-prod", "555555555555": "ml-sandbox"}
RESEARCH, PROD, SANDBOX = MEMBERS
HISTORY_DAYS = 60
# The scenario's "now": the whole demo runs with the process clock there (time-machine, ticking), so moto's
# timestamps, the functions' clocks and the printed figures are the same on every day it is run.
DEMO_INSTANT = datetime(2026, 11, 16, 6, 0, tzinfo=UTC)  # a Monday, at the daily scan's 06:00 UTC
APPROVER = "U0PLATFORM1"  # cdk.json slack.approvers
DEMO_BUDGETS = {"churn": 1000.0, "recsys": 5000.0}  # cdk.json `budgets`: churn runs past its budget this month


def _tags(team: str, model: str, experiment: str, environment: str, keep_days: int = 120) -> dict[str, str]:
    until = (DEMO_INSTANT + timedelta(days=keep_days)).strftime("%Y-%m-%d")
    return {
        "ml:team": team,
        "ml:model": model,
        "ml:experiment": experiment,
        "ml:environment": environment,
        "auto-delete-after": until,
    }


@dataclass(frozen=True)
class Endpoint:
    account: str
    region: str
    name: str
    instance_type: str
    usage: str  # busy | idle (no invocations, instance metrics flowing) | new (created 2 days ago, no traffic yet)
    tags: dict[str, str]
    creator: str  # who created it (SSO user e-mail)
    decision: str | None = None  # what the approver clicks in Slack: approve | reject | snooze | None (waiting)
    instances: int = 1


ENDPOINTS = [
    Endpoint(
        RESEARCH,
        "us-east-1",
        "fraud-xgb-staging",
        "ml.m5.xlarge",
        "idle",
        _tags("fraud", "fraud-xgb", "exp-42", "staging"),
        "alice@example.com",
        decision="approve",
    ),
    Endpoint(
        RESEARCH,
        "us-east-1",
        "churn-bert-dev",
        "ml.g4dn.xlarge",
        "idle",
        _tags("churn", "churn-bert", "exp-7", "dev"),
        "bob@example.com",
        decision="reject",
    ),
    Endpoint(
        RESEARCH,
        "eu-west-1",
        "nlp-summarizer-eu",
        "ml.m5.xlarge",
        "busy",
        _tags("nlp", "summarizer", "exp-3", "prod"),
        "carol@example.com",
    ),
    Endpoint(
        PROD,
        "us-east-1",
        "churn-xgb-prod",
        "ml.m5.2xlarge",
        "busy",
        _tags("churn", "churn-xgb", "release-12", "prod"),
        "dave@example.com",
        instances=3,  # the platform puts it on an off-hours schedule (Demo.schedules): 1 instance at night
    ),
    Endpoint(
        PROD,
        "us-east-1",
        "recsys-ranker-prod",
        "ml.g4dn.2xlarge",
        "busy",
        _tags("recsys", "ranker", "release-3", "prod"),
        "erin@example.com",
    ),
    Endpoint(
        PROD,
        "us-east-1",
        "legacy-forecast",
        "ml.m5.large",
        "idle",
        _tags("forecast", "prophet", "v1", "prod"),  # the platform exempts it: `mlgov exempt` (Demo.exempt)
        "frank@example.com",
    ),
    Endpoint(
        SANDBOX, "us-east-1", "llm-playground", "ml.g4dn.12xlarge", "idle", {"ml:team": "genai"}, "grace@example.com"
    ),  # created before the SCPs: most tags missing
    Endpoint(
        SANDBOX,
        "eu-west-1",
        "vision-demo-eu",
        "ml.g4dn.xlarge",
        "idle",
        _tags("vision", "yolo", "demo", "dev"),
        "heidi@example.com",
        decision="snooze",
    ),
    Endpoint(
        SANDBOX,
        "us-east-1",
        "fresh-endpoint",
        "ml.m5.large",
        "new",
        _tags("fraud", "fraud-xgb", "exp-43", "dev"),
        "alice@example.com",
    ),
]


@dataclass(frozen=True)
class Job:
    account: str
    region: str
    kind: str  # training-job | processing-job
    name: str
    instance_type: str
    instance_count: int
    hours: float
    spot: bool
    tags: dict[str, str]
    creator: str


JOBS = [
    Job(
        RESEARCH,
        "us-east-1",
        "training-job",
        "fraud-xgb-train-0921",
        "ml.m5.xlarge",
        2,
        3.0,
        False,
        _tags("fraud", "fraud-xgb", "exp-42", "dev", 30),
        "alice@example.com",
    ),
    Job(
        RESEARCH,
        "us-east-1",
        "training-job",
        "fraud-xgb-train-0922",
        "ml.m5.xlarge",
        2,
        2.5,
        True,
        _tags("fraud", "fraud-xgb", "exp-43", "dev", 30),
        "alice@example.com",
    ),
    Job(
        RESEARCH,
        "us-east-1",
        "training-job",
        "churn-bert-finetune",
        "ml.g4dn.2xlarge",
        1,
        9.0,
        True,
        _tags("churn", "churn-bert", "exp-7", "dev", 30),
        "bob@example.com",
    ),
    Job(
        PROD,
        "us-east-1",
        "training-job",
        "churn-xgb-retrain-w47",
        "ml.m5.2xlarge",
        4,
        1.5,
        False,
        _tags("churn", "churn-xgb", "release-12", "prod", 30),
        "pipeline",
    ),
    Job(
        PROD,
        "us-east-1",
        "training-job",
        "ranker-train-w47",
        "ml.p3.2xlarge",
        2,
        6.0,
        True,
        _tags("recsys", "ranker", "release-3", "prod", 30),
        "pipeline",
    ),
    Job(
        SANDBOX,
        "us-east-1",
        "training-job",
        "llm-lora-try",
        "ml.g4dn.12xlarge",
        1,
        14.0,
        False,
        {},
        "grace@example.com",
    ),
    Job(
        RESEARCH,
        "eu-west-1",
        "training-job",
        "summarizer-distill",
        "ml.m5.xlarge",
        1,
        4.0,
        False,
        _tags("nlp", "summarizer", "exp-3", "dev", 30),
        "carol@example.com",
    ),
    Job(
        PROD,
        "us-east-1",
        "processing-job",
        "churn-features-w47",
        "ml.m5.xlarge",
        2,
        0.75,
        False,
        _tags("churn", "churn-xgb", "release-12", "prod", 30),
        "pipeline",
    ),
    Job(
        RESEARCH,
        "us-east-1",
        "processing-job",
        "fraud-eval-0922",
        "ml.m5.large",
        1,
        0.5,
        False,
        _tags("fraud", "fraud-xgb", "exp-43", "dev", 30),
        "alice@example.com",
    ),
]
NOTEBOOKS = [
    (
        RESEARCH,
        "us-east-1",
        "alice-exploration",
        "ml.t3.medium",
        _tags("fraud", "fraud-xgb", "exp-42", "dev"),
        "alice@example.com",
    ),
    (SANDBOX, "us-east-1", "grace-gpu-scratch", "ml.p3.2xlarge", {"ml:team": "genai"}, "grace@example.com"),
    (
        PROD,
        "eu-west-1",
        "dave-debug",
        "ml.t3.large",
        _tags("churn", "churn-xgb", "release-12", "prod"),
        "dave@example.com",
    ),
]


@dataclass
class DemoResult:
    """What happened, for the printout and for tests/e2e/test_demo.py."""

    tagged: dict[str, dict[str, str]] = field(default_factory=dict)  # ARN → tags after the auto-tagger
    doctor_exit: int | None = None
    doctor_lines: list[str] = field(default_factory=list)
    tagger_errors: list[str] = field(default_factory=list)
    ledger_rows: int = 0
    report: dict = field(default_factory=dict)
    scan_output: dict = field(default_factory=dict)
    approvals: dict[str, str] = field(default_factory=dict)  # endpoint → execution status at the end
    deleted: list[str] = field(default_factory=list)
    snapshot_objects: list[str] = field(default_factory=list)
    restored: list[str] = field(default_factory=list)
    endpoint_tags: dict[str, dict[str, str]] = field(default_factory=dict)  # name → tags at the end
    surviving_endpoints: list[str] = field(default_factory=list)
    schedule_outcomes: list[dict] = field(default_factory=list)  # the scheduler's outcome at night, in the morning
    scheduled_instances: list[int] = field(default_factory=list)  # the endpoint's instances after each
    budget_alerts: list[str] = field(default_factory=list)  # the Slack texts of budget alerts
    outputs: list[Path] = field(default_factory=list)
    seconds: float = 0.0


class Demo:
    def __init__(self, harness, say: Callable[[str], None], now: datetime) -> None:
        self.harness = harness
        self.say = say
        self.now = now
        self.result = DemoResult()
        self.arns: dict[str, str] = {}

    # ---- doctor -----------------------------------------------------------------------------------------------------

    def doctor(self) -> None:
        """`mlgov doctor` from a member account, with the hub's and the management account's profiles: every check
        against the deployed installation, the event probe included."""
        import tempfile

        harness = self.harness
        harness.organization_trail()
        member = next(a for a in harness.accounts.values() if a.id == RESEARCH)
        with tempfile.TemporaryDirectory() as workdir:
            credentials = Path(workdir) / "credentials"
            names = harness.write_profiles(credentials)
            argv = [
                "doctor",
                "--profile",
                member.name,
                "--hub-profile",
                names[harness.templates.hub_account],
                "--management-profile",
                names[harness.templates.management_account],
                "--region",
                harness.templates.hub_region,
                "--config",
                str(REPO / "cdk.json"),
                "--endpoint-url",
                harness.endpoint_url,
                "--probe-timeout",
                "10",
            ]
            code, lines = _run_cli(argv, {"AWS_SHARED_CREDENTIALS_FILE": str(credentials)})
        self.result.doctor_exit = code
        self.result.doctor_lines = lines
        self.say(
            f"   $ mlgov doctor --profile {member.name} --hub-profile mlgov-hub --management-profile management "
            f"--region {harness.templates.hub_region} … → exit {code}"
        )
        for line in self.result.doctor_lines:
            self.say(f"     {line}")

    def exempt(self, name: str, reason: str) -> None:
        """The platform keeps an endpoint with `mlgov exempt`, run with the hub's credentials: the hub's approval
        function tags it through the member's mlgov-spoke-approval role and records the exemption."""
        import tempfile

        harness = self.harness
        with tempfile.TemporaryDirectory() as workdir:
            credentials = Path(workdir) / "credentials"
            names = harness.write_profiles(credentials)
            argv = [
                "exempt",
                self.arns[name],
                "--reason",
                reason,
                "--profile",
                names[harness.templates.hub_account],
                "--region",
                harness.templates.hub_region,
                "--endpoint-url",
                harness.endpoint_url,
            ]
            code, lines = _run_cli(argv, {"AWS_SHARED_CREDENTIALS_FILE": str(credentials)})
        if code != 0:
            raise RuntimeError(f"mlgov exempt {name} failed with exit {code}: {lines}")
        self.say(f"   $ mlgov exempt {name} --reason {reason!r} --profile mlgov-hub → {lines[-1] if lines else ''}")

    # ---- 2. create ----------------------------------------------------------------------------------------------

    def create_everything(self) -> None:
        created_at = self.now - timedelta(days=HISTORY_DAYS)
        for endpoint in ENDPOINTS:
            when = self.now - timedelta(days=2) if endpoint.usage == "new" else created_at
            self._create_endpoint(endpoint, when)
        for account, region, name, instance_type, tags, creator in NOTEBOOKS:
            request = {
                "NotebookInstanceName": name,
                "InstanceType": instance_type,
                "RoleArn": f"arn:aws:iam::{account}:role/SageMakerExecution",
                "Tags": _tag_list(tags),
            }
            self.arns[name] = self._create(
                account, region, "CreateNotebookInstance", request, "NotebookInstanceArn", creator, created_at
            )
            stored = _moto_backend(account, region).notebook_instances[name]
            stored.creation_time = stored.last_modified_time = _naive(created_at)
        for job in JOBS:
            self._create_job(job, created_at + timedelta(days=HISTORY_DAYS - 3))
        invocations = self.harness.deliver()
        tagger = self.harness.lambdas.by_handler("mlgov.handlers.auto_tagger.handler")
        invocations = [call for call in invocations if call.logical_id == tagger]
        errors = [f"{call.logical_id}: {call.error}" for call in invocations if call.error is not None]
        errors += [
            f"{call.logical_id}: {call.result}"
            for call in invocations
            if call.error is None and (call.result or {}).get("status") != "tagged"
        ]
        self.result.tagger_errors = errors
        for arn in self.arns.values():
            account, region = arn.split(":")[4], arn.split(":")[3]
            self.result.tagged[arn] = self._tags(account, region, arn)
        added = sum(
            1
            for tags in self.result.tagged.values()
            for key in tags
            if key.startswith("mlgov:") or key == "last-invoked"
        )
        self.say(
            f"   {len(invocations)} CloudTrail create events → spoke rules → hub bus → auto-tagger: "
            f"{len(invocations) - len(errors)} tagged (models and endpoint configs included; {added} mlgov tags on the "
            f"{len(self.arns)} endpoints, notebooks and jobs), {len(errors)} errors"
        )
        example = self.result.tagged[self.arns["llm-playground"]]
        self.say(
            "   e.g. llm-playground (created with only ml:team): "
            + ", ".join(
                f"{k}={v}"
                for k, v in sorted(example.items())
                if k.startswith("mlgov:") or k in ("last-invoked", "auto-delete-after")
            )
        )

    def finish_jobs(self) -> None:
        """SageMaker's job state-change events for the finished training jobs: spoke rule → hub → job ledger."""
        from tests.samples.job_events import training_event

        for job in JOBS:
            if job.kind != "training-job":
                continue
            stored = _moto_backend(job.account, job.region).training_jobs[job.name]
            started = stored.training_start_time.replace(tzinfo=UTC)
            self.harness.emit(
                training_event(
                    job.name,
                    account=job.account,
                    region=job.region,
                    instance_type=job.instance_type,
                    instance_count=job.instance_count,
                    created=started,
                    started=started,
                    ended=stored.training_end_time.replace(tzinfo=UTC),
                    tags=job.tags,
                )
            )
        calls = self.harness.deliver()
        rows = [call.result for call in calls if call.error is None and (call.result or {}).get("status") == "written"]
        self.result.ledger_rows = len(rows)
        import boto3

        from mlgov.aws.ledger_table import LedgerTable

        table = LedgerTable(boto3.client("dynamodb"), self.harness.hub_resource("JobLedgerTable"))
        items = table.read_rows(datetime(2000, 1, 1, tzinfo=UTC))
        total = sum(float(item["cost_usd"]) for item in items if item.get("cost_usd") is not None)
        self.say(
            f"   {len(calls)} job state-change events → job ledger: {len(items)} rows, ${total:,.2f} of training "
            "(billable seconds from DescribeTrainingJob, managed spot included)"
        )

    def _create_endpoint(self, endpoint: Endpoint, when: datetime) -> None:
        session = self.harness.session(endpoint.account, endpoint.region)
        s3 = session.client("s3")
        bucket = f"ml-artifacts-{endpoint.account}-{endpoint.region}"
        if bucket not in {b["Name"] for b in s3.list_buckets()["Buckets"]}:
            location = (
                {}
                if endpoint.region == "us-east-1"
                else {"CreateBucketConfiguration": {"LocationConstraint": endpoint.region}}
            )
            s3.create_bucket(Bucket=bucket, **location)
        key = f"{endpoint.name}/model.tar.gz"
        s3.put_object(Bucket=bucket, Key=key, Body=hashlib.sha256(endpoint.name.encode()).digest() * 4096)
        role = f"arn:aws:iam::{endpoint.account}:role/SageMakerExecution"
        image = f"763104351884.dkr.ecr.{endpoint.region}.amazonaws.com/xgboost-inference:2.0"
        model = {
            "ModelName": f"{endpoint.name}-model",
            "ExecutionRoleArn": role,
            "PrimaryContainer": {"Image": image, "ModelDataUrl": f"s3://{bucket}/{key}"},
            "Tags": _tag_list(endpoint.tags),
        }
        self._create(endpoint.account, endpoint.region, "CreateModel", model, "ModelArn", endpoint.creator, when)
        config = {
            "EndpointConfigName": f"{endpoint.name}-config",
            "Tags": _tag_list(endpoint.tags),
            "ProductionVariants": [
                {
                    "VariantName": "AllTraffic",
                    "ModelName": f"{endpoint.name}-model",
                    "InitialInstanceCount": endpoint.instances,
                    "InstanceType": endpoint.instance_type,
                }
            ],
        }
        self._create(
            endpoint.account,
            endpoint.region,
            "CreateEndpointConfig",
            config,
            "EndpointConfigArn",
            endpoint.creator,
            when,
        )
        request = {
            "EndpointName": endpoint.name,
            "EndpointConfigName": f"{endpoint.name}-config",
            "Tags": _tag_list(endpoint.tags),
        }
        self.arns[endpoint.name] = self._create(
            endpoint.account, endpoint.region, "CreateEndpoint", request, "EndpointArn", endpoint.creator, when
        )
        stored = _moto_backend(endpoint.account, endpoint.region).endpoints[endpoint.name]
        stored.creation_time = stored.last_modified_time = _naive(when)

    def _create_job(self, job: Job, when: datetime) -> None:
        role = f"arn:aws:iam::{job.account}:role/SageMakerExecution"
        image = f"763104351884.dkr.ecr.{job.region}.amazonaws.com/xgboost-training:2.0"
        if job.kind == "training-job":
            request = {
                "TrainingJobName": job.name,
                "RoleArn": role,
                "AlgorithmSpecification": {"TrainingImage": image, "TrainingInputMode": "File"},
                "OutputDataConfig": {"S3OutputPath": f"s3://ml-artifacts-{job.account}-{job.region}/jobs/"},
                "ResourceConfig": {
                    "InstanceType": job.instance_type,
                    "InstanceCount": job.instance_count,
                    "VolumeSizeInGB": 50,
                },
                "StoppingCondition": {"MaxRuntimeInSeconds": 86400}
                | ({"MaxWaitTimeInSeconds": 172800} if job.spot else {}),
                "EnableManagedSpotTraining": job.spot,
                "Tags": _tag_list(job.tags),
            }
            self.arns[job.name] = self._create(
                job.account, job.region, "CreateTrainingJob", request, "TrainingJobArn", job.creator, when
            )
            stored = _moto_backend(job.account, job.region).training_jobs[job.name]
            seconds = int(job.hours * 3600)
            stored.creation_time = stored.training_start_time = _naive(when)
            stored.training_end_time = stored.last_modified_time = _naive(when + timedelta(seconds=seconds))
            stored.training_time_in_seconds = seconds
            stored.billable_time_in_seconds = int(seconds * (0.35 if job.spot else 1.0))  # spot: ~65 % saved
        else:
            request = {
                "ProcessingJobName": job.name,
                "RoleArn": role,
                "AppSpecification": {"ImageUri": image},
                "ProcessingResources": {
                    "ClusterConfig": {
                        "InstanceCount": job.instance_count,
                        "InstanceType": job.instance_type,
                        "VolumeSizeInGB": 30,
                    }
                },
                "Tags": _tag_list(job.tags),
            }
            self.arns[job.name] = self._create(
                job.account, job.region, "CreateProcessingJob", request, "ProcessingJobArn", job.creator, when
            )
            stored = _moto_backend(job.account, job.region).processing_jobs[job.name]
            stored.processing_resources = request["ProcessingResources"]  # moto does not keep them
            stored.creation_time = stored.processing_start_time = _naive(when)
            stored.processing_end_time = stored.last_modified_time = _naive(when + timedelta(hours=job.hours))

    def _create(
        self, account: str, region: str, operation: str, request: dict, arn_field: str, creator: str, when: datetime
    ) -> str:
        """The data scientist's call in the member account, then its CloudTrail record on that region's default bus
        (where SageMaker's management events land), which the spoke's rule forwards to the hub."""
        from tests.samples.cloudtrail import assumed_role, create_event, sso_user

        session = self.harness.session(account, region)
        sagemaker = session.client("sagemaker")
        method = "".join("_" + c.lower() if c.isupper() else c for c in operation).lstrip("_")
        arn = getattr(sagemaker, method)(**request)[arn_field]
        identity = assumed_role(account) if creator == "pipeline" else sso_user(account, creator)
        record = create_event(
            operation,
            _cloudtrail_case(request),
            {_lower_first(arn_field): arn},
            account=account,
            region=region,
            user_identity=identity,
            event_time=when,
        )
        entry = {
            "Source": record["source"],
            "DetailType": record["detail-type"],
            "Detail": json.dumps(record["detail"]),
            "Time": when,
        }
        result = session.client("events").put_events(Entries=[entry])
        if result["FailedEntryCount"]:
            raise RuntimeError(f"PutEvents refused the {operation} record: {result['Entries']}")
        return arn

    # ---- 3. usage -------------------------------------------------------------------------------------------------

    def seed_usage(self) -> None:
        for endpoint in ENDPOINTS:
            cloudwatch = self.harness.session(endpoint.account, endpoint.region).client("cloudwatch")
            dimensions = [
                {"Name": "EndpointName", "Value": endpoint.name},
                {"Name": "VariantName", "Value": "AllTraffic"},
            ]
            days = range(1, HISTORY_DAYS - 1) if endpoint.usage != "new" else range(1, 2)
            if endpoint.usage == "busy":
                data = [
                    {
                        "MetricName": "Invocations",
                        "Dimensions": dimensions,
                        "Value": float(200 + 17 * (day % 7)),
                        "Timestamp": self.now - timedelta(days=day),
                        "Unit": "None",
                    }
                    for day in days
                ]
                cloudwatch.put_metric_data(Namespace="AWS/SageMaker", MetricData=data)
            cpu = [
                {
                    "MetricName": "CPUUtilization",
                    "Dimensions": dimensions,
                    "Value": 2.5 if endpoint.usage != "busy" else 41.0,
                    "Timestamp": self.now - timedelta(days=day),
                    "Unit": "Percent",
                }
                for day in days
            ]
            cloudwatch.put_metric_data(Namespace="/aws/sagemaker/Endpoints", MetricData=cpu)
        busy = sum(e.usage == "busy" for e in ENDPOINTS)
        idle = sum(e.usage == "idle" for e in ENDPOINTS)
        self.say(
            f"   {HISTORY_DAYS} days of metrics: {busy} endpoints with traffic, {idle} with none "
            f"(instance metrics flowing), 1 created two days ago"
        )

    # ---- 4. scan ----------------------------------------------------------------------------------------------------

    def scan(self) -> None:
        harness = self.harness
        execution = harness.fire_schedule("mlgov-scan", execution_name=f"demo-scan-{self.now:%Y%m%dT%H%M%S}")
        if execution["status"] != "SUCCEEDED":
            raise RuntimeError(f"the scan workflow ended {execution['status']}: {execution.get('cause', '')[:500]}")
        output = json.loads(execution["output"])
        self.result.scan_output = output
        import boto3

        bucket = harness.hub_resource("ArchiveBucket")
        body = boto3.client("s3").get_object(Bucket=bucket, Key=output["report_key"])["Body"].read()
        self.result.report = json.loads(body)
        summary = self.result.report["summary"]
        self.say(
            f"   Step Functions mlgov-scan SUCCEEDED: {summary['resources']} resources in "
            f"{len(self.result.report['scope']['accounts'])} accounts × {len(self.result.report['scope']['regions'])}"
            f" regions, ${summary['monthly_cost_usd']:,.2f}/month, waste ${summary['waste_usd_month']:,.2f}/month, "
            f"tag compliance {summary['tag_compliance_pct']:.0f}%"
        )
        self.say(f"   by status: {json.dumps(summary['by_status'], sort_keys=True)}")
        for finding in sorted(self.result.report["findings"], key=lambda f: -(f.get("waste_usd_month") or 0)):
            if finding["status"] in ("zombie", "idle", "expired"):
                waste = finding.get("waste_usd_month")
                priced = finding.get("monthly_cost_usd") is not None
                self.say(
                    f"   {finding['status']:7} {finding['name']:22} {finding['account']} {finding['region']:10} "
                    f"{f'${waste:,.2f}/month' if priced else 'unpriced':>14}  {finding['reason']}"
                )
        for error in self.result.report["errors"]:
            self.say(f"   error   {error['account']} {error['region']} {error['operation']}: {error['message'][:90]}")
        digest = harness.slack.messages()
        self.say(
            f"   Slack digest posted to {digest[0]['body'].get('channel') if digest else '?'}; "
            f"{output['approvals_started']} approval(s) started"
        )
        for team, forecast in self.result.report.get("budgets", {}).get("teams", {}).items():
            self.say(
                f"   budget {team:8} ${forecast['budget_usd']:>9,.2f}/month, forecast ${forecast['forecast_usd']:,.2f} "
                f"({forecast['forecast_pct']}%)"
            )
        self.result.budget_alerts = [m["body"]["text"] for m in harness.slack.messages() if m["body"].get(
            "text", "").startswith("Budget")]  # fmt: skip
        for text in self.result.budget_alerts:
            self.say(f"   Slack: {text}")

    # ---- 4b. billed ---------------------------------------------------------------------------------------------

    def billed(self, export_path: Path) -> None:
        """The organization's FOCUS export for last month, simulated from what the scan found (prod endpoints under a
        Savings Plan at 28 % off: usage, negation and fee lines; a credit; tax), read back with DuckDB: billed and
        effective cost next to the scan's list-price estimate, and spend by team."""
        from mlgov.aws.cost_export import DuckDbExport
        from mlgov.packaged_schema import load_packaged_schema
        from mlgov.services.costs import add_billed_costs, billed_costs
        from tests.samples.focus_export import Charge, write_focus_parquet

        month_start = datetime(self.now.year, self.now.month, 1, tzinfo=UTC)
        day = month_start - timedelta(days=15)
        charges = []
        for finding in self.result.report["findings"]:
            estimate = finding.get("monthly_cost_usd")
            if not estimate or finding["resource_type"] != "endpoint":
                continue
            common = {"account": finding["account"], "resource": finding["arn"], "tags": finding["tags"],
                      "region": finding["region"]}  # fmt: skip
            if finding["tags"].get("ml:environment") == "prod":
                charges += [
                    Charge(estimate, round(estimate * 0.72, 2), estimate, day, pricing="Committed", **common),
                    Charge(-estimate, 0.0, 0.0, day, pricing="Committed", **common),  # Savings Plan negation
                    Charge(
                        round(estimate * 0.72, 2),
                        0.0,
                        0.0,
                        day,
                        account=finding["account"],
                        category="Purchase",
                        usage_type="SavingsPlanRecurringFee",
                        hours=None,
                    ),  # fmt: skip
                ]
            else:
                charges.append(Charge(estimate, estimate, estimate, day, **common))
        charges += [
            Charge(-50.0, -50.0, 0.0, day, account=next(iter(MEMBERS)), category="Credit", hours=None),
            Charge(12.5, 12.5, 0.0, day, account=next(iter(MEMBERS)), category="Tax", region=None, hours=None),
        ]
        export = DuckDbExport(str(write_focus_parquet(export_path, charges)))
        schema = load_packaged_schema()
        self.result.report = add_billed_costs(self.result.report, export, self.now, schema)
        billed = self.result.report["billed"]
        self.say(
            f"   FOCUS export {export_path.name} ({len(charges)} charge rows, {billed['month']}): "
            f"{billed['matched_findings']} endpoints billed ${billed['billed_cost_usd']:,.2f}, effective "
            f"${billed['effective_cost_usd']:,.2f}, list-price estimate ${billed['estimated_usd_month']:,.2f}"
        )
        by_team = billed_costs(export, "team", self.now, schema)
        for row in by_team["rows"]:
            self.say(
                f"   team {row['key']:18} billed ${row['billed_cost_usd']:>10,.2f}   effective "
                f"${row['effective_cost_usd']:>10,.2f}"
            )
        self.say(
            f"   usage dollars with every required tag: {by_team['tag_compliance_usd_pct']}%; under the Savings Plan: "
            f"{by_team['savings_plan_coverage_pct']}% of usage at list prices"
        )

    # ---- 5. approve -------------------------------------------------------------------------------------------

    def approve(self) -> None:
        harness = self.harness
        import boto3

        sfn = boto3.client("stepfunctions")
        machine = harness.state_machine_arn("mlgov-approval")
        executions = {}
        for execution in sfn.list_executions(stateMachineArn=machine)["executions"]:
            started = json.loads(sfn.describe_execution(executionArn=execution["executionArn"])["input"])
            executions[started["finding"]["name"]] = execution["executionArn"]
        for name in sorted(executions):
            harness.wait_until(lambda n=name: harness.approval_message(n), 30, f"the Slack approval request for {name}")
        self.say(f"   {len(executions)} approval requests in Slack: {', '.join(sorted(executions))}")
        for endpoint in ENDPOINTS:
            if endpoint.decision and endpoint.name in executions:
                status, answer = harness.click(endpoint.name, endpoint.decision, APPROVER)
                self.say(
                    f"   {endpoint.decision} clicked on {endpoint.name} by {APPROVER}: HTTP {status} "
                    f"“{answer.get('text', '')}”"
                )
                described = harness.wait_for_execution(executions[endpoint.name], 60)
                self.result.approvals[endpoint.name] = described["status"]
        for name, arn in executions.items():
            self.result.approvals.setdefault(name, sfn.describe_execution(executionArn=arn)["status"])
        for name, status in sorted(self.result.approvals.items()):
            self.say(f"   approval {name}: {status}")
        bucket = harness.hub_resource("ArchiveBucket")
        s3 = boto3.client("s3")
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="snapshots/").get("Contents", [])]
        self.result.snapshot_objects = keys
        for endpoint in ENDPOINTS:
            sagemaker = harness.session(endpoint.account, endpoint.region).client("sagemaker")
            names = {e["EndpointName"] for e in sagemaker.list_endpoints()["Endpoints"]}
            if endpoint.name in names:
                self.result.surviving_endpoints.append(endpoint.name)
                self.result.endpoint_tags[endpoint.name] = self._tags(
                    endpoint.account, endpoint.region, self.arns[endpoint.name]
                )
            else:
                self.result.deleted.append(endpoint.name)
        self.say(
            f"   snapshot: {len(keys)} objects under s3://{bucket}/snapshots/; deleted: "
            f"{', '.join(self.result.deleted) or 'nothing'}"
        )
        kept = [e.name for e in ENDPOINTS if e.decision in ("reject", "snooze")]
        for name in kept:
            self.say(f"   {name} kept, tagged mlgov:exempt={self.result.endpoint_tags[name].get('mlgov:exempt')}")

    # ---- 6. restore -------------------------------------------------------------------------------------------

    def restore(self) -> None:
        """`mlgov restore` in the member account, reading the archive and the hub's seal of the manifest with the
        hub's profile."""
        import tempfile

        for name in self.result.deleted:
            endpoint = next(e for e in ENDPOINTS if e.name == name)
            session = self.harness.session(endpoint.account, endpoint.region)
            credentials = session.get_credentials().get_frozen_credentials()
            with tempfile.TemporaryDirectory() as workdir:
                profiles = Path(workdir) / "credentials"
                names = self.harness.write_profiles(profiles)
                argv = ["restore", name, "--account", endpoint.account, "--region", endpoint.region,
                        "--archive-bucket", self.harness.hub_resource("ArchiveBucket"),
                        "--approvals-table", self.harness.hub_resource("ApprovalApprovalsTable"),
                        "--hub-profile", names[self.harness.templates.hub_account],
                        "--hub-region", self.harness.templates.hub_region,
                        "--endpoint-url", self.harness.endpoint_url]  # fmt: skip
                code, lines = _run_cli(
                    argv,
                    {
                        "AWS_ACCESS_KEY_ID": credentials.access_key,
                        "AWS_SECRET_ACCESS_KEY": credentials.secret_key,
                        "AWS_SESSION_TOKEN": credentials.token,
                        "AWS_SHARED_CREDENTIALS_FILE": str(profiles),
                    },
                )
            self.say(
                f"   $ mlgov restore {name} --account {endpoint.account} --region {endpoint.region} "
                f"--hub-profile mlgov-hub … → exit {code}"
            )
            for line in lines:
                self.say(f"     {line}")
            if code == 0:
                restored = session.client("sagemaker").describe_endpoint(EndpointName=name)
                self.result.restored.append(restored["EndpointName"])

    # ---- 7b. schedules ----------------------------------------------------------------------------------------

    def set_budgets(self, budgets: dict[str, float]) -> None:
        """cdk.json `budgets`, as the deployed scanner reads it."""
        scanner = self.harness.lambdas.by_handler("mlgov.handlers.scanner.handler")
        environment = self.harness.lambdas.environment(scanner)
        self.harness.lambdas.set_environment(scanner, {**environment, "MLGOV_BUDGETS": json.dumps(budgets)})

    def schedules(self, name: str, schedule: str, night: datetime, morning: datetime) -> None:
        """`mlgov schedules set` through the hub, the platform's opt-in (MLGOV_HYPERPOD_APPLY=true), then the
        mlgov-hyperpod schedule fires in the evening and the next morning."""
        import time_machine

        endpoint = next(e for e in ENDPOINTS if e.name == name)
        scheduler = self.harness.lambdas.by_handler("mlgov.handlers.hyperpod_scheduler.handler")
        environment = self.harness.lambdas.environment(scheduler)
        self.harness.lambdas.set_environment(scheduler, {**environment, "MLGOV_HYPERPOD_APPLY": "true"})
        request = {"task": "set_schedule", "cluster_arn": self.arns[name], "schedule": schedule,
                   "by": "platform@example.com"}  # fmt: skip
        if self.harness.lambdas.invoke(scheduler, request).error:
            raise RuntimeError(f"the hub refused the schedule of {name}")
        self.say(f'   $ mlgov schedules set {name} "{schedule}"  (written by the hub through the spoke role)')
        sagemaker = self.harness.session(endpoint.account, endpoint.region).client("sagemaker")
        for moment in (night, morning):
            with time_machine.travel(moment, tick=False):
                run = self.harness.fire_schedule("mlgov-hyperpod")
            [outcome] = [o for o in run["result"]["clusters"] if o["arn"] == self.arns[name]]
            described = sagemaker.describe_endpoint(EndpointName=name)
            instances = described["ProductionVariants"][0]["DesiredInstanceCount"]
            self.result.schedule_outcomes.append(outcome)
            self.result.scheduled_instances.append(instances)
            self.say(
                f"   {moment:%a %H:%M} UTC  {outcome['action']:10} {outcome['outcome']:8} → {instances} instance(s): "
                f"{outcome['reason'][:110]}"
            )

    # ---- helpers ------------------------------------------------------------------------------------------------

    def _tags(self, account: str, region: str, arn: str) -> dict[str, str]:
        sagemaker = self.harness.session(account, region).client("sagemaker")
        return {t["Key"]: t["Value"] for t in sagemaker.list_tags(ResourceArn=arn)["Tags"]}


def _run_cli(argv: list[str], environment: dict[str, str]) -> tuple[int, list[str]]:
    """`mlgov ARGV` in this process with `environment` added (credentials, profiles); (exit code, output lines)."""
    from mlgov.cli import main as mlgov

    saved = dict(os.environ)
    os.environ.update(environment)
    out = io.StringIO()
    try:
        with redirect_stdout(out):
            code = mlgov(argv)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return code, out.getvalue().splitlines()


def _moto_backend(account: str, region: str):
    from moto.sagemaker.models import sagemaker_backends

    return sagemaker_backends[account][region]


def _naive(moment: datetime) -> datetime:
    """moto stores naive UTC datetimes (and compares them with the List filters' times)."""
    return moment.astimezone(UTC).replace(tzinfo=None)


def _tag_list(tags: dict[str, str]) -> list[dict]:
    return [{"Key": k, "Value": v} for k, v in tags.items()]


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def _cloudtrail_case(value):
    """CloudTrail records request parameters with lower-camel keys (tags as {key, value})."""
    if isinstance(value, dict):
        return {_lower_first(k): _cloudtrail_case(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_cloudtrail_case(v) for v in value]
    return value


def _quiet_lambda_logs(path: Path) -> None:
    """The functions' Powertools JSON logs go to a file, as they would go to CloudWatch Logs."""
    import importlib

    stream = path.open("w")
    for handler in ("auto_tagger", "job_ledger", "scanner", "approval", "slack_interactions", "hyperpod_scheduler"):
        importlib.import_module(f"mlgov.handlers.{handler}")
    for name, logger in logging.Logger.manager.loggerDict.items():
        if isinstance(logger, logging.Logger) and name.startswith("mlgov"):
            for log_handler in logger.handlers:
                if isinstance(log_handler, logging.StreamHandler):
                    log_handler.setStream(stream)


def run_demo(templates, out_dir: Path, say: Callable[[str], None] = print) -> DemoResult:
    """The demo at DEMO_INSTANT, whatever today's date (see DEMO_INSTANT)."""
    import time_machine

    with time_machine.travel(DEMO_INSTANT, tick=True):
        return _run_demo(templates, out_dir, say)


def _run_demo(templates, out_dir: Path, say: Callable[[str], None]) -> DemoResult:
    from tests.e2e.harness import deployed

    started = time.monotonic()
    out_dir.mkdir(parents=True, exist_ok=True)
    _quiet_lambda_logs(out_dir / "lambda-logs.jsonl")
    say(f"== the scenario's clock: {DEMO_INSTANT:%Y-%m-%d %H:%M} UTC (pinned: the same figures on any day)")
    say(
        f"== 1/8 deploy: OrgStack policies, MlgovHub in {templates.hub_account}/{templates.hub_region}, "
        f"the spoke StackSet to {len(MEMBERS) + 1} accounts × {len(templates.member_regions)} regions (local moto)"
    )
    with deployed(templates, MEMBERS) as harness:
        say(
            f"   moto server {harness.endpoint_url}; spokes: {len(harness.spokes)} stack instances; "
            f"functions: {len(harness.lambdas.logical_ids())} served in process"
        )
        demo = Demo(harness, say, DEMO_INSTANT)
        say("== 2/8 doctor: mlgov doctor checks the installation (event probe through a spoke included)")
        demo.doctor()
        say("== 3/8 create: data scientists create endpoints, notebooks and jobs")
        demo.create_everything()
        demo.finish_jobs()
        demo.exempt("legacy-forecast", "regulatory-hold")
        say("== 4/8 usage: two months of history")
        demo.seed_usage()
        demo.set_budgets(DEMO_BUDGETS)
        say("== 5/8 scan: the daily schedule fires the mlgov-scan state machine (team budgets in cdk.json)")
        demo.scan()
        say("   billed cost: last month's FOCUS export (AWS Data Exports) joined to the findings (mlgov costs)")
        demo.billed(out_dir / "focus-export.parquet")
        say("== 6/8 approve: Slack approvals (signed requests to the interactions Function URL)")
        demo.approve()
        say("== 7/8 restore: mlgov restore from the verified snapshot")
        demo.restore()
        say("   off-hours schedule: one night of a prod endpoint (1 instance at night, its 3 back in the morning)")
        demo.schedules(
            "churn-xgb-prod",
            "weekdays 07:00-21:00 America/New_York min=1",
            night=datetime(2026, 11, 17, 2, 30, tzinfo=UTC),  # Monday 21:30 in New York
            morning=datetime(2026, 11, 17, 12, 5, tzinfo=UTC),  # Tuesday 07:05
        )
        result = demo.result
    say("== 8/8 report")
    from mlgov.report_html import render_html

    report_json, report_html = out_dir / "report.json", out_dir / "report.html"
    report_json.write_text(json.dumps(result.report, indent=2, sort_keys=True))
    report_html.write_text(render_html(result.report))
    result.outputs = [report_json, report_html]
    result.seconds = time.monotonic() - started
    say(
        f"   wrote {report_json} and {report_html} (open it in a browser); function logs in "
        f"{out_dir / 'lambda-logs.jsonl'}"
    )
    say(f"== done in {result.seconds:.0f} s; the moto server is stopped and nothing is left running")
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mlgov demo", description=__doc__.splitlines()[0])
    parser.add_argument("--cloud-assembly", default=str(REPO / "cdk.out"), help="cdk synth output (default cdk.out)")
    parser.add_argument("--out", default=str(REPO / "demo-out"), help="where the report goes (default demo-out)")
    args = parser.parse_args(argv)
    from tests.e2e.harness import Templates

    try:
        templates = Templates.from_cloud_assembly(args.cloud_assembly)
    except (OSError, ValueError, KeyError) as err:
        print(
            f"mlgov demo: cannot read the synthesized templates in {args.cloud_assembly}: {err} "
            "(run `make demo`, which synthesizes them first)",
            file=sys.stderr,
        )
        return 2
    run_demo(templates, Path(args.out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
