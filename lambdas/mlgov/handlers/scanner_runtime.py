"""Wiring for the scanner Lambda: settings, clients, the scan workflow's three tasks (targets, scan, aggregate) and
`mlgov doctor`'s read-only access task."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from mlgov.aws.inventory import EndpointConfigCache
from mlgov.aws.organization import OrganizationUnreadable, organization_accounts
from mlgov.aws.sessions import RETRY_CONFIG, AccountSessions
from mlgov.domain.expiry_approval import LIFETIME_TAG, expiry_approval_input, needs_expiry_approval
from mlgov.domain.inventory import ScanError
from mlgov.domain.notebook_stops import APP, NOTEBOOK
from mlgov.domain.preflight import AccountAccess, access_result
from mlgov.domain.scan_run import (
    EXEMPT_TAG,
    RUNS_PREFIX,
    BadTask,
    Target,
    approval_episode,
    approval_execution_name,
    failed_part_error,
    is_exempt,
    needs_approval,
    part_key,
    parts_prefix,
    report_key,
    report_location,
    targets,
    targets_key,
    unrecorded_exemption,
)
from mlgov.services.around_costs import measure_around
from mlgov.services.scan import (
    Judge,
    ScanRequest,
    UsageJudge,
    cloudwatch_clients,
    operation_of,
    report,
    scan_account_region,
)
from mlgov.settings import ScannerSettings, SettingsError, scanner_settings

SESSION_NAME = "mlgov-scanner"  # how the scanner's calls show in member accounts' CloudTrail
ACCESS_SESSION_NAME = "mlgov-doctor"  # the access task's AssumeRole calls, as member accounts' CloudTrail shows them
ACCESS_WORKERS = 8  # accounts checked at once by the access task
# (sessions, target, now, tag schema) -> a judge for services.scan.report (UsageJudge in production)
JudgeFactory = Callable[[AccountSessions, Target, datetime, object], Judge | None]
LAST_INVOKED_TAG = "last-invoked"
CONFIG_CACHE_PREFIX = "cache/endpoint-configs/"  # archive: <account>/<region>.json, endpoint configs already described
PRICE_CACHE_PREFIX = "cache/prices/"  # archive: <region>.json, live list prices fetched in the last week


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class ScannerRuntime:
    settings: ScannerSettings
    sessions: AccountSessions
    logger: object
    judge_factory: JudgeFactory | None = None
    clock: Callable[[], datetime] = _utcnow
    session_factory: Callable[[], boto3.Session] = boto3.Session  # the access task's fresh base session per account
    _clients: dict = field(default_factory=dict, repr=False)
    _prices: object = field(default=None, repr=False)
    _schema: object = field(default=None, repr=False)

    @classmethod
    def from_settings(cls, logger, config: ScannerSettings | None = None) -> ScannerRuntime:
        config = config or scanner_settings()
        sessions = AccountSessions(
            config.hub_account, config.spoke_role_name, endpoint_url=config.endpoint_url, session_name=SESSION_NAME
        )
        return cls(config, sessions, logger, judge_factory=default_judge_factory(config))

    # ---- task "targets" -------------------------------------------------------------------------------------------

    def targets(self, run_id: str, inline_max: int | None = None) -> dict:
        """Every account × region of the run, written to runs/<run_id>/targets.json (the Distributed Map's
        ItemReader); returned in the result too unless there are more than `inline_max` (the state payload holds
        256 KB: about 2,500 targets)."""
        items = [target.as_json() for target in targets(self._target_accounts(), self.settings.regions, run_id)]
        key = targets_key(run_id)
        self._archive().put_json(key, items)
        result = {"run_id": run_id, "targets_key": key, "count": len(items)}
        if inline_max is None or len(items) <= inline_max:
            result["targets"] = items
        return result

    def _target_accounts(self) -> Sequence[str]:
        return self.settings.accounts if self.settings.accounts is not None else self._organization_accounts()

    def _organization_accounts(self) -> list[str]:
        """ACTIVE accounts below the target OUs (MLGOV_TARGET_OUS), or of the whole organization without them; never
        the management account (MLGOV_MANAGEMENT_ACCOUNT), which no StackSet instance reaches. The hub must be the
        management account or hold delegated read access; an account in no organization scans itself."""
        try:
            return organization_accounts(
                self._client("organizations"),
                self.settings.hub_account,
                target_ous=self.settings.target_ous,
                management_account=self.settings.management_account,
            )
        except OrganizationUnreadable as err:
            raise SettingsError(
                f"{err}; give the hub delegated read access to the organization (README) or set MLGOV_ACCOUNTS"
            ) from None

    # ---- task "access" (mlgov doctor) ------------------------------------------------------------------------------

    def access(self, accounts: Sequence[str] | None, regions: Sequence[str] | None) -> dict:
        """Can the scan reach its targets? Per account, a fresh AssumeRole of the spoke role (the hub's own credentials
        in the hub account), then ListEndpoints (one item) in each region. Read-only: nothing is written."""
        accounts = sorted(set(accounts or self._target_accounts()))
        regions = sorted(set(regions or self.settings.regions))
        with ThreadPoolExecutor(max_workers=max(1, min(ACCESS_WORKERS, len(accounts)))) as pool:
            checked = list(pool.map(lambda account: self._access_one(account, regions), accounts))
        return access_result(self.settings.spoke_role_name, regions, checked)

    def _access_one(self, account: str, regions: Sequence[str]) -> AccountAccess:
        config = self.settings
        # Not self.sessions: a cached session would hide a role that can no longer be assumed.
        sessions = AccountSessions(
            config.hub_account,
            config.spoke_role_name,
            base_session=self.session_factory(),
            endpoint_url=config.endpoint_url,
            session_name=ACCESS_SESSION_NAME,
        )
        via = "hub credentials" if account == config.hub_account else f"role {config.spoke_role_name}"
        region_errors: dict[str, str | None] = {}
        for region in regions:
            try:
                sagemaker = sessions.client("sagemaker", account, region)  # the first one assumes the role
            except (ClientError, BotoCoreError) as err:
                return AccountAccess(account, via, error=str(err))
            try:
                sagemaker.list_endpoints(MaxResults=1)
                region_errors[region] = None
            except (ClientError, BotoCoreError) as err:
                region_errors[region] = str(err)
        return AccountAccess(account, via, region_errors=region_errors)

    # ---- task "scan" ----------------------------------------------------------------------------------------------

    def scan(self, target: Target) -> dict:
        """Inventory, price and judge one account-region; write its partial report. Access errors are entries."""
        now = self.clock()
        cache_key, cache = self._config_cache(target)
        result = scan_account_region(
            self.sessions,
            target.account,
            target.region,
            now,
            resource_types=self.settings.resource_types,
            config_cache=cache,
        )
        if cache.changed:
            self._archive().put_json(cache_key, cache.dump())
        judge = self._judge(target, now, result.errors) if result.resources else None
        request = ScanRequest(regions=[target.region], accounts=[target.account])
        prices = self._price_book(target, result.resources, now)
        around = None
        if self.settings.around_costs and result.resources:
            around, around_errors = measure_around(self.sessions, result.resources, now)
            result.errors.extend(around_errors)
        document, judgement = report(result, request, prices, self.schema(), now, judge=judge, around=around)
        if judgement is not None and judgement.last_invoked and self.settings.write_last_invoked:
            document["errors"] += self._write_last_invoked(target, judgement.last_invoked)
        key = part_key(target)
        self._archive().put_json(key, document)
        return {
            "account": target.account,
            "region": target.region,
            "part_key": key,
            "resources": document["summary"]["resources"],
            "errors": len(document["errors"]),
        }

    def _price_book(self, target: Target, resources: Sequence, now: datetime):
        """Live list prices for this account-region's resources: the hub's weekly price cache (archive), stale or
        missing entries fetched from the AWS Price List with the scanner's own role (MLGOV_LIVE_PRICES=false: the
        checked-in table only). A Price List failure is named in the report's `pricing`, never fatal."""
        from functools import partial

        from mlgov.aws.price_list import fetch_instance_products, pricing_client
        from mlgov.services.pricing import live_price_book, load_price_cache

        key = f"{PRICE_CACHE_PREFIX}{target.region}.json"
        try:
            cache = load_price_cache(self._archive().get_json(key))
        except (ClientError, BotoCoreError, ValueError):
            cache = load_price_cache(None)
        fetch, why_not = None, "live prices off (live_prices)"
        if self.settings.live_prices and self.settings.endpoint_url:
            why_not = "offline: the local endpoint (MLGOV_ENDPOINT_URL) serves no AWS Price List"
        elif self.settings.live_prices:
            fetch = partial(fetch_instance_products, pricing_client(boto3.Session()))
        live = live_price_book(resources, self.prices(), cache, now.date(), fetch, why_not)
        if live.cache_changed:  # other scan tasks of the run write the same object: merge with theirs first
            try:
                latest = load_price_cache(self._archive().get_json(key))
            except (ClientError, BotoCoreError, ValueError):
                latest = load_price_cache(None)
            latest.merge(cache)
            self._archive().put_json(key, latest.to_document())
        if live.book.live_problem and fetch is not None:
            self.logger.warning("live prices incomplete", extra={"problem": live.book.live_problem})
        return live.book

    def _config_cache(self, target: Target) -> tuple[str, EndpointConfigCache]:
        """The endpoint configs earlier runs described in this account-region (archive `cache/`); empty when none or
        unreadable — the cache only saves calls."""
        key = f"{CONFIG_CACHE_PREFIX}{target.account}/{target.region}.json"
        try:
            entries = self._archive().get_json(key)
        except (ClientError, BotoCoreError, ValueError):
            entries = {}
        return key, EndpointConfigCache(entries if isinstance(entries, dict) else {})

    def _judge(self, target: Target, now: datetime, errors: list[ScanError]) -> Judge | None:
        if self.judge_factory is None:
            return None
        try:
            return self.judge_factory(self.sessions, target, now, self.schema())
        except (ClientError, BotoCoreError) as err:
            errors.append(ScanError(target.account, target.region, operation_of(err), str(err)))
            return None

    def _write_last_invoked(self, target: Target, values: Mapping[str, str]) -> list[dict]:
        """`last-invoked` = the day traffic was last seen, on endpoints whose tag is older; failures are entries."""
        from mlgov.aws.sagemaker_tags import SageMakerTags

        errors = []
        try:
            tags = SageMakerTags(self.sessions.client("sagemaker", target.account, target.region))
            for arn, day in sorted(values.items()):
                try:
                    tags.add_tags(arn, {LAST_INVOKED_TAG: day})
                except (ClientError, BotoCoreError) as err:
                    errors.append(_error_entry(target, err, f"{LAST_INVOKED_TAG} on {arn}"))
        except (ClientError, BotoCoreError) as err:
            errors.append(_error_entry(target, err, LAST_INVOKED_TAG))
        return errors

    # ---- task "aggregate" -----------------------------------------------------------------------------------------

    def aggregate(self, run_id: str, parts: Sequence[Mapping] | None) -> dict:
        """Merge the parts, archive the report, record findings, start approvals for new zombies, post the digest."""
        from mlgov.domain.report_merge import merge_reports

        now = self.clock()
        documents, errors = self._read_parts(run_id, parts)
        merged = merge_reports(documents, now, errors=errors)
        if self.settings.budgets:
            merged["budgets"] = self._alert_budgets(merged, now)
        key = report_key(run_id, now)
        archive = self._archive()
        archive.put_json(key, merged)
        archive.put_json("reports/latest.json", merged)
        recorded = self._findings_table().record_all(merged["findings"], now, run_id)
        new_zombies = [row.arn for row in recorded if row.new_zombie]
        started, approval_errors = self._start_approvals(merged, recorded, run_id, key, now)
        posted = self._post_digest(merged, key, len(new_zombies))
        reminders = self._remind_expiring(merged, now)
        notebooks = self._act_on_notebooks(merged, recorded, now)
        studio_apps = self._act_on_notebooks(merged, recorded, now, APP)
        studio = self._studio_idle_shutdown(merged, now, run_id)
        return {
            "run_id": run_id,
            "report_key": key,
            "summary": merged["summary"],
            "errors": len(merged["errors"]),
            "new_zombies": new_zombies,
            "approvals_started": started,
            "approval_errors": approval_errors,
            "digest_posted": posted,
            "expiry_reminders": reminders,
            "idle_notebooks": notebooks,
            "idle_studio_apps": studio_apps,
            "studio_idle_shutdown": studio,
        }

    def _read_parts(self, run_id: str, parts: Sequence[Mapping] | None) -> tuple[list[dict], list[dict]]:
        archive = self._archive()
        if parts is None:  # e.g. a Distributed Map that wrote its results elsewhere: every part of the run
            parts = [{"part_key": key} for key in archive.keys(parts_prefix(run_id))]
        documents, errors = [], []
        prefix = parts_prefix(run_id)
        for item in parts:
            key = item.get("part_key") if isinstance(item, Mapping) else None
            if not key:
                errors.append(failed_part_error(item if isinstance(item, Mapping) else {}))
                continue
            if not str(key).startswith(prefix):
                raise BadTask(f"part_key {key!r} is not under {prefix}")
            try:
                documents.append(archive.get_json(key))
            except (ClientError, BotoCoreError, ValueError) as err:
                errors.append(
                    {
                        "account": str(item.get("account", "")),
                        "region": str(item.get("region", "")),
                        "operation": "GetObject",
                        "message": f"part {key} unreadable: {err}",
                    }
                )
        return documents, errors

    def _start_approvals(
        self, report: dict, recorded: Sequence, run_id: str, key: str, now: datetime
    ) -> tuple[int, int]:
        """One execution per zombie episode and per expired endpoint's lifetime date (domain.expiry_approval) not yet
        handed over, largest waste first; (started, failed)."""
        by_arn = {finding["arn"]: finding for finding in report["findings"]}
        exemptions = self._recorded_exemptions(report["findings"])
        pending = [
            row
            for row in recorded
            if needs_approval(by_arn[row.arn], row.zombie_since, row.approval_execution, exemptions)
            or needs_expiry_approval(by_arn[row.arn], row.approval_execution, exemptions)
        ]
        exempt = sum(1 for row in recorded if row.new_zombie and is_exempt(by_arn[row.arn], exemptions))
        if exempt:
            self.logger.info("new zombies exempt from approval (mlgov:exempt)", extra={"count": exempt})
        unrecorded = [
            {"arn": arn, "mlgov:exempt": value}
            for arn, finding in by_arn.items()
            if _sent_for_approval(finding) and (value := unrecorded_exemption(finding, exemptions)) is not None
        ]
        if unrecorded:
            self.logger.warning(
                "mlgov:exempt not honoured: no exemption recorded by mlgov (set it with `mlgov exempt`)",
                extra={"unrecorded": unrecorded[:50], "count": len(unrecorded)},
            )
        if not pending:
            return 0, 0
        arn = self.settings.approval_state_machine_arn
        if not arn:
            self.logger.warning(
                "no approval state machine configured (MLGOV_APPROVAL_STATE_MACHINE_ARN): no approval started",
                extra={"pending": len(pending)},
            )
            return 0, 0
        limit = self.settings.max_approvals_per_run
        if limit is not None and len(pending) > limit:
            self.logger.info("approvals capped for this run; the rest start next run", extra={"pending": len(pending)})
            pending = pending[:limit]  # recorded follows the report's order: largest waste first
        from mlgov.aws.approval_starts import start_approval

        sfn, table = self._client("stepfunctions"), self._findings_table()
        started = failed = 0
        lifetime = self.schema().lifetime_rule()
        for row in pending:
            finding = by_arn[row.arn]
            if finding.get("status") == "expired":  # past its auto-delete-after date: the date is the episode
                name, payload = expiry_approval_input(
                    finding,
                    run_id=run_id,
                    report_key=key,
                    first_seen=row.first_seen,
                    lifetime_tag=lifetime.key if lifetime else LIFETIME_TAG,
                )
            else:
                episode = approval_episode(finding, row.zombie_since)
                name = approval_execution_name(row.arn, episode)
                payload = {
                    "run_id": run_id,
                    "report_key": key,
                    "first_seen": row.first_seen,
                    "reason": "zombie",
                    "zombie_since": episode,
                    "finding": finding,
                }
            try:
                if start_approval(sfn, arn, name, payload):
                    started += 1
                else:
                    self.logger.info(
                        "approval already started for this episode", extra={"arn": row.arn, "execution": name}
                    )
                table.mark_approval(row.arn, name, now)
            except (ClientError, BotoCoreError) as err:
                failed += 1
                self.logger.error(
                    "could not start the approval; retried next run", extra={"arn": row.arn, "error": str(err)}
                )
        return started, failed

    def _alert_budgets(self, report: dict, now: datetime) -> dict:
        """Every budgeted team's forecast; alerts claimed in the findings table and posted (none without a channel)."""
        from mlgov.domain.budgets import team_forecasts
        from mlgov.services.budgets import alert_budgets

        notify = self._notifier()
        if notify is None:
            forecasts = team_forecasts(report, self.settings.budgets)
            return {"teams": {team: f.as_json() for team, f in forecasts.items()}, "alerts": [],
                    "note": "no Slack channel configured: forecasts only"}  # fmt: skip
        try:
            return alert_budgets(report, self.settings.budgets, now, self._findings_table(), notify)
        except (ClientError, BotoCoreError) as err:
            self.logger.error("budget alerts not recorded", extra={"error": str(err)})
            forecasts = team_forecasts(report, self.settings.budgets)
            return {"teams": {team: f.as_json() for team, f in forecasts.items()}, "alerts": [], "error": str(err)}

    def _act_on_notebooks(self, report: dict, recorded: Sequence, now: datetime, kind: str = NOTEBOOK) -> dict:
        """With notebook_stops=stop: idle notebooks warned once per running session, stopped after the grace period;
        with studio_app_stops=delete (kind APP): idle Studio apps warned, then deleted. Report mode leaves them to the
        report."""
        config = self.settings
        acting = config.notebook_stops == "stop" if kind == NOTEBOOK else config.studio_app_stops == "delete"
        idle = [f for f in report["findings"] if f["resource_type"] == kind and f["status"] == "idle"]
        subject = "mlgov idle notebooks" if kind == NOTEBOOK else "mlgov idle Studio apps"
        notify = self._notifier(subject) if idle and acting else None
        if notify is None:
            return {"steps": [], "warned": [], "stopped": [], "errors": []}
        from mlgov.services.notebook_stops import act_on_idle_notebooks, warnings_of

        try:
            return act_on_idle_notebooks(
                report,
                warnings_of(recorded),
                self._recorded_exemption_arns(idle),
                now,
                grace_hours=config.notebook_stop_grace_hours,
                records=self._findings_table(),
                stopper=self._stop_notebook if kind == NOTEBOOK else self._delete_app,
                notify=notify,
                kind=kind,
            )
        except (ClientError, BotoCoreError, RuntimeError) as err:  # e.g. the approvals table not readable
            self.logger.error(f"{subject} not handled", extra={"error": str(err)})
            return {"steps": [], "warned": [], "stopped": [], "errors": [str(err)]}

    def _stop_notebook(self, step) -> str | None:
        """StopNotebookInstance after a fresh look: None when stopped, else why it was left alone (not running, a
        new session since the warning, an exemption tag written since the scan)."""
        sagemaker = self.sessions.client("sagemaker", step.account, step.region)
        live = sagemaker.describe_notebook_instance(NotebookInstanceName=step.name)
        if live.get("NotebookInstanceStatus") != "InService":
            return f"it is {live.get('NotebookInstanceStatus')} now"
        if not _same_moment(live.get("LastModifiedTime"), step.episode):
            return "restarted since the warning: a new session is warned first"
        tags = {t["Key"] for t in sagemaker.list_tags(ResourceArn=live["NotebookInstanceArn"]).get("Tags", [])}
        if EXEMPT_TAG in tags:
            return "an exemption was written since the scan"
        sagemaker.stop_notebook_instance(NotebookInstanceName=step.name)
        return None

    def _delete_app(self, step) -> str | None:
        """DeleteApp of an idle Studio app after a fresh DescribeApp (still InService, the same run as the warning)
        and ListTags (no exemption written since the scan); the space and its volume stay."""
        evidence = step.evidence
        ident = {"DomainId": evidence.get("detail.domain_id"), "AppType": evidence.get("detail.app_type"),
                 "AppName": step.name}  # fmt: skip
        owner = {"SpaceName": evidence.get("detail.space_name")} if evidence.get("detail.space_name") else {
            "UserProfileName": evidence.get("detail.user_profile_name")}  # fmt: skip
        if not all((*ident.values(), *owner.values())):
            return "the report does not name its domain, type and space or user profile"
        sagemaker = self.sessions.client("sagemaker", step.account, step.region)
        live = sagemaker.describe_app(**ident, **owner)
        if live.get("Status") != "InService":
            return f"it is {live.get('Status')} now"
        if not _same_moment(live.get("CreationTime"), step.episode):
            return "started again since the warning: the new run is warned first"
        tags = {t["Key"] for t in sagemaker.list_tags(ResourceArn=live["AppArn"]).get("Tags", [])}
        if EXEMPT_TAG in tags:
            return "an exemption was written since the scan"
        sagemaker.delete_app(**ident, **owner)
        return None

    def _studio_idle_shutdown(self, report: dict, now: datetime, run_id: str | None = None) -> dict:
        """Studio domains without idle shutdown: studio_idle_shutdown=report lists each with the exact UpdateDomain
        request (a dry run); apply sends it (fresh DescribeDomain first, audited on the domain's findings row) and
        posts one notice of the domains changed. The whole result goes to the archive beside the run's parts; the
        task's output keeps the first entries (a state holds 256 KB)."""
        from mlgov.aws.studio_domains import StudioDomains
        from mlgov.services.studio_idle import inline_result, studio_idle_shutdown

        config = self.settings
        apply = config.studio_idle_shutdown == "apply"
        domains = [f for f in report["findings"] if f["resource_type"] == "domain"]
        try:
            result = studio_idle_shutdown(
                report,
                mode=config.studio_idle_shutdown,
                minutes=config.studio_idle_minutes,
                recorded_exemptions=self._recorded_exemption_arns(domains),
                now=now,
                records=self._findings_table(),
                domains=StudioDomains(lambda account, region: self.sessions.client("sagemaker", account, region)),
                notify=self._notifier("mlgov Studio idle shutdown") if apply and domains else None,
            )
        except (ClientError, BotoCoreError, RuntimeError) as err:  # e.g. the approvals table not readable
            self.logger.error("Studio idle shutdown not handled", extra={"error": str(err)})
            return {"mode": config.studio_idle_shutdown, "errors": [str(err)]}
        if run_id is None or not (result["planned"] or result["left_alone"] or result["profiles"]):
            return result
        key = f"{RUNS_PREFIX}{run_id}/studio-idle-shutdown.json"
        try:
            self._archive().put_json(key, result)
        except (ClientError, BotoCoreError) as err:
            self.logger.error("Studio idle shutdown result not archived", extra={"error": str(err)})
            key = None
        return inline_result(result, key)

    def _recorded_exemption_arns(self, findings: Sequence[Mapping]) -> set[str]:
        """The ARNs among `findings` whose mlgov:exempt mlgov recorded (none without the approvals table)."""
        tagged = [f["arn"] for f in findings if EXEMPT_TAG in (f.get("tags") or {})]
        if not tagged or not self.settings.approvals_table:
            return set()
        from mlgov.aws.approvals_table import ApprovalsTable

        recorded = ApprovalsTable(self._client("dynamodb"), self.settings.approvals_table).recorded_exemptions(tagged)
        tags = {f["arn"]: (f.get("tags") or {}).get(EXEMPT_TAG) for f in findings}
        return {arn for arn, value in recorded.items() if tags.get(arn) == value}  # the tag mlgov wrote, unchanged

    def _remind_expiring(self, report: dict, now: datetime) -> dict:
        """Owners told of `auto-delete-after` dates within the configured days (after the findings are recorded)."""
        days = self.settings.expiry_reminder_days
        notify = self._notifier("mlgov expiry reminder") if days else None
        if notify is None:
            return {"due": 0, "reminded": [], "note": "reminders off, or no channel configured"}
        from mlgov.services.expiry import remind_expiring

        try:
            return remind_expiring(report, days, now, self._findings_table(), notify)
        except (ClientError, BotoCoreError) as err:
            self.logger.error("expiry reminders not recorded", extra={"error": str(err)})
            return {"due": 0, "reminded": [], "error": str(err)}

    def _notifier(self, subject: str = "mlgov budget alert"):
        """text -> posted to the Slack channel, then published on the notifications topic; NotifyError when Slack
        (or, without Slack, the topic) refused it; None when neither is configured."""
        config = self.settings
        slack = bool(config.slack_channel and config.slack_token_secret)
        if not (slack or config.notify_topic):
            return None
        from mlgov.aws.slack_post import SlackPostError, bot_token, post_message
        from mlgov.domain.resource_buttons import button_blocks
        from mlgov.domain.slack_digest import MAX_BLOCKS, SECTION_TEXT_MAX, notice_blocks
        from mlgov.services.budgets import NotifyError

        def notify(text: str, buttons: Sequence[dict] = ()) -> None:
            """Slack is the channel when it is configured: its failure is the notice's failure (the caller releases
            its claim and the next run tries again); then the topic gets the same words, best effort. `buttons`
            (a resource's Keep running / Extend) go to Slack only: the topic's readers use the CLI the text names."""
            if slack:
                actions = button_blocks(list(buttons))
                blocks = notice_blocks(text, max_blocks=MAX_BLOCKS - len(actions)) + actions
                try:
                    token = bot_token(self._client("secretsmanager"), config.slack_token_secret)
                    post_message(
                        token, config.slack_channel, blocks, text[:SECTION_TEXT_MAX], base_url=config.slack_api_url
                    )
                except (SlackPostError, ClientError, BotoCoreError) as err:
                    self.logger.error(f"{subject} not posted to Slack", extra={"error": str(err)})
                    raise NotifyError(f"Slack: {err}") from None
            mirrored = bool(config.notify_topic) and self._mirror(subject, text)
            if not slack and not mirrored:
                raise NotifyError("the notifications topic refused it")

        return notify

    def _mirror(self, subject: str, text: str) -> bool:
        """Publish on the notifications topic (when configured); False, logged, when it fails."""
        if not self.settings.notify_topic:
            return False
        from mlgov.aws.notify_topic import publish_notice

        try:
            publish_notice(self._client("sns"), self.settings.notify_topic, subject, text)
        except (ClientError, BotoCoreError) as err:
            self.logger.warning("notification not published", extra={"error": str(err)})
            return False
        return True

    def _post_digest(self, report: dict, key: str, new_zombies: int) -> bool:
        config = self.settings
        from mlgov.domain.slack_digest import digest_blocks, digest_text

        url = report_location(config.archive_bucket, key, config.home_region)
        if not (config.slack_channel and config.slack_token_secret):
            self.logger.info("Slack digest not configured (MLGOV_SLACK_CHANNEL, MLGOV_SLACK_TOKEN_SECRET)")
            self._mirror("mlgov daily scan", f"{digest_text(report, new_zombies=new_zombies)}\n{url}")
            return False
        from mlgov.aws.slack_post import SlackPostError, bot_token, post_message

        try:
            token = bot_token(self._client("secretsmanager"), config.slack_token_secret)
            post_message(
                token,
                config.slack_channel,
                digest_blocks(report, url, new_zombies=new_zombies),
                digest_text(report, new_zombies=new_zombies),
                base_url=config.slack_api_url,
            )
        except (SlackPostError, ClientError, BotoCoreError, ImportError) as err:
            self.logger.error("Slack digest not posted", extra={"error": str(err)})
            return False
        self._mirror("mlgov daily scan", f"{digest_text(report, new_zombies=new_zombies)}\n{url}")
        return True

    # ---- shared ---------------------------------------------------------------------------------------------------

    def prices(self):
        if self._prices is None:
            from mlgov.price_files import load_price_table

            self._prices = load_price_table()
        return self._prices

    def schema(self):
        if self._schema is None:
            from mlgov.packaged_schema import load_packaged_schema

            text = self.settings.tag_schema_json
            self._schema = load_packaged_schema(text, source="MLGOV_TAG_SCHEMA") if text else load_packaged_schema()
        return self._schema

    def _client(self, service: str):
        if service not in self._clients:
            self._clients[service] = boto3.client(
                service,
                region_name=self.settings.home_region,
                config=RETRY_CONFIG,
                endpoint_url=self.settings.endpoint_url,
            )
        return self._clients[service]

    def _archive(self):
        from mlgov.aws.report_archive import ReportArchive

        return ReportArchive(self._client("s3"), self.settings.archive_bucket)

    def _recorded_exemptions(self, findings: Sequence[Mapping]) -> dict[str, str]:
        """ARN -> recorded mlgov:exempt value for the zombies and expired endpoints that carry the tag; {} (nothing
        honoured) when the approvals table is not configured."""
        tagged = [f["arn"] for f in findings if _sent_for_approval(f) and EXEMPT_TAG in (f.get("tags") or {})]
        if not tagged or not self.settings.approvals_table:
            return {}
        from mlgov.aws.approvals_table import ApprovalsTable

        return ApprovalsTable(self._client("dynamodb"), self.settings.approvals_table).recorded_exemptions(tagged)

    def _findings_table(self):
        from mlgov.aws.findings_table import FindingsTable

        return FindingsTable(self._client("dynamodb"), self.settings.findings_table)


def default_judge_factory(config: ScannerSettings) -> JudgeFactory:
    """services.scan.UsageJudge (batched GetMetricData per account-region) with the configured thresholds."""
    from mlgov.domain.zombies import ZombiePolicy

    try:
        policy = ZombiePolicy(idle_days=config.zombie_idle_days, min_age_days=config.zombie_min_age_days)
    except ValueError as err:
        raise SettingsError(f"MLGOV_ZOMBIE_IDLE_DAYS / MLGOV_ZOMBIE_MIN_AGE_DAYS: {err}") from None

    def factory(sessions: AccountSessions, target: Target, now: datetime, schema) -> Judge:
        return UsageJudge(cloudwatch_clients(sessions), policy, now, schema)

    return factory


def _sent_for_approval(finding: Mapping) -> bool:
    """A finding the approval flow asks about unless a recorded exemption keeps it: a zombie, an expired endpoint."""
    return finding.get("status") == "zombie" or (
        finding.get("status") == "expired" and finding.get("resource_type") == "endpoint"
    )


def _same_moment(live: datetime | None, episode: str) -> bool:
    """The live start time (a notebook's LastModifiedTime, an app's CreationTime) is the warned run's."""
    return live is not None and live.astimezone(UTC).isoformat() == datetime.fromisoformat(episode).isoformat()


def _error_entry(target: Target, err: Exception, what: str) -> dict:
    return {
        "account": target.account,
        "region": target.region,
        "operation": operation_of(err),
        "message": f"{what}: {err}",
    }
