"""Wiring for the job_ledger Lambda: settings, spoke-role sessions for DescribeTrainingJob, prices, the table."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import boto3

from mlgov.aws.ledger_table import LedgerTable
from mlgov.aws.sessions import RETRY_CONFIG, AccountSessions
from mlgov.domain.costing import cost_of
from mlgov.domain.job_event import JobEnded, job_resource, with_training_times
from mlgov.domain.ledger import ledger_item
from mlgov.settings import Settings, SettingsError, settings

SESSION_NAME = "mlgov-job-ledger"  # how the ledger's DescribeTrainingJob calls show in member accounts' CloudTrail


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class JobLedgerRuntime:
    settings: Settings
    sessions: AccountSessions
    table: LedgerTable
    clock: Callable[[], datetime] = _utcnow
    _prices: object = field(default=None, repr=False)

    @classmethod
    def from_settings(cls, config: Settings | None = None) -> JobLedgerRuntime:
        config = config or settings()
        if not config.ledger_table:
            raise SettingsError("environment variable MLGOV_LEDGER_TABLE is not set")
        sessions = AccountSessions(
            config.hub_account, config.spoke_role_name, endpoint_url=config.endpoint_url, session_name=SESSION_NAME
        )
        dynamodb = boto3.client("dynamodb", config=RETRY_CONFIG, endpoint_url=config.endpoint_url)
        return cls(config, sessions, LedgerTable(dynamodb, config.ledger_table))

    def record(self, job: JobEnded) -> dict:
        """Cost the ended job and write its row; a Describe or DynamoDB failure raises (Lambda retries, then DLQ)."""
        if job.needs_training_times:
            sagemaker = self.sessions.client("sagemaker", job.account, job.region, job.partition)
            job = with_training_times(job, sagemaker.describe_training_job(TrainingJobName=job.name))
        now = self.clock()
        prices = self.prices()
        resource = job_resource(job)
        cost = cost_of(resource, prices, now)
        item = ledger_item(resource, cost, price_as_of=prices.as_of, recorded_at=now)
        written = self.table.put_job_row(item)
        return {
            "status": "written" if written else "unchanged",
            "arn": job.arn,
            "job_status": job.status,
            "cost_usd": None if item["cost_usd"] is None else str(item["cost_usd"]),
            "cost_reason": item["cost_reason"],
        }

    def prices(self):
        """The packaged price table, loaded once per container."""
        if self._prices is None:
            from mlgov.price_files import load_price_table

            self._prices = load_price_table()
        return self._prices

    def park(self, event: object, reason: str) -> None:
        if not self.settings.dead_letter_queue_url:
            raise RuntimeError(f"no DLQ configured to park a bad event: {reason}")
        from mlgov.services.auto_tagging import park_in_dead_letter_queue

        sqs = boto3.client("sqs", config=RETRY_CONFIG, endpoint_url=self.settings.endpoint_url)
        park_in_dead_letter_queue(sqs, self.settings.dead_letter_queue_url, event, reason)
