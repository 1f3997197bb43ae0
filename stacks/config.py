"""The one validated mlgov deployment config, read from the cdk.json context key "mlgov"."""

from __future__ import annotations

import difflib
import json
import re
from pathlib import Path
from typing import Annotated, Any, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    Strict,
    StrictBool,
    StrictFloat,
    StrictInt,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails, PydanticCustomError

from mlgov.domain.studio_idle import DEFAULT_IDLE_MINUTES, IDLE_TIMEOUT_MAX_MINUTES, IDLE_TIMEOUT_MIN_MINUTES
from mlgov.domain.zombies import DEFAULT_IDLE_DAYS, DEFAULT_MIN_AGE_DAYS

CONTEXT_KEY = "mlgov"
# An ml:team tag value (SageMaker's TagValue characters, no comma) that a budget is kept for.
TEAM_PATTERN = r"^[\w.:/=+\-@ ]+$"
DEFAULT_SCAN_SCHEDULE = "cron(0 6 * * ? *)"

ACCOUNT_ID_PATTERN = r"^[0-9]{12}$"
REGION_PATTERN = r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]{1,2}$"
ORGANIZATION_ID_PATTERN = r"^o-[a-z0-9]{10,32}$"
OU_OR_ROOT_PATTERN = r"^(ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}|r-[0-9a-z]{4,32})$"
SLACK_CHANNEL_ID_PATTERN = r"^[CGD][A-Z0-9]{6,}$"
SLACK_USER_ID_PATTERN = r"^[UW][A-Z0-9]{6,}$"
SECRET_NAME_PATTERN = r"^[A-Za-z0-9/_+=.@-]{1,512}$"
# An exact IAM role ARN (path included, no wildcard): arn:aws:iam::123456789012:role/path/Name.
IAM_ROLE_ARN_PATTERN = r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@_/-]+$"

_PATTERN_DESCRIPTIONS: dict[str, str] = {
    ACCOUNT_ID_PATTERN: "a 12-digit AWS account id",
    REGION_PATTERN: "an AWS region like eu-west-1",
    ORGANIZATION_ID_PATTERN: "an organization id like o-a1b2c3d4e5",
    OU_OR_ROOT_PATTERN: "an OU id like ou-ab12-cdef3456 or a root id like r-ab12",
    SLACK_CHANNEL_ID_PATTERN: "a Slack channel id like C0123ABCD",
    SLACK_USER_ID_PATTERN: "a Slack user id like U0123ABCD",
    SECRET_NAME_PATTERN: "a Secrets Manager secret name (1-512 characters of A-Z a-z 0-9 / _ + = . @ -)",
    IAM_ROLE_ARN_PATTERN: "an exact IAM role ARN like arn:aws:iam::123456789012:role/path/Name (no wildcard)",
}

_RATE_EXPRESSION = re.compile(r"^rate\((?P<value>[1-9][0-9]*) (?P<unit>minute|hour|day)(?P<plural>s?)\)$")
_CRON_EXPRESSION = re.compile(r"^cron\((?P<fields>[0-9A-Za-z*?,/#\- ]+)\)$")
_CRON_DAY_OF_MONTH, _CRON_DAY_OF_WEEK = 2, 4
_ERROR_PREFIX = f"invalid mlgov config (cdk.json context '{CONTEXT_KEY}')"
_SHOWN_VALUE_MAX_CHARS = 60


AccountId = Annotated[str, StringConstraints(strict=True, pattern=ACCOUNT_ID_PATTERN)]
Region = Annotated[str, StringConstraints(strict=True, pattern=REGION_PATTERN)]
OrganizationId = Annotated[str, StringConstraints(strict=True, pattern=ORGANIZATION_ID_PATTERN)]
OrganizationalUnitId = Annotated[str, StringConstraints(strict=True, pattern=OU_OR_ROOT_PATTERN)]
SlackChannelId = Annotated[str, StringConstraints(strict=True, pattern=SLACK_CHANNEL_ID_PATTERN)]
SlackUserId = Annotated[str, StringConstraints(strict=True, pattern=SLACK_USER_ID_PATTERN)]
SecretName = Annotated[str, StringConstraints(strict=True, pattern=SECRET_NAME_PATTERN)]
IamRoleArn = Annotated[str, StringConstraints(strict=True, pattern=IAM_ROLE_ARN_PATTERN)]
StrictString = Annotated[str, Strict()]


class ConfigError(ValueError):
    """The mlgov config is missing or invalid; str() is a single line naming the offending key."""

    def __init__(self, message: str, problems: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.problems: tuple[str, ...] = problems or (message,)


class SlackConfig(BaseModel):
    """Where approval requests go and who may approve them."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    channel_id: SlackChannelId = Field(description="Slack channel (`C...`) where approval requests are posted")
    signing_secret_name: SecretName = Field(
        description="Secrets Manager name (never the value) of the Slack app's signing secret"
    )
    bot_token_secret_name: SecretName = Field(
        description="Secrets Manager name (never the value) of the Slack bot token (`xoxb-...`)"
    )
    approvers: tuple[SlackUserId, ...] = Field(
        description="Slack user ids (`U...`/`W...`) allowed to approve a deletion; at least one"
    )

    @field_validator("approvers")
    @classmethod
    def _require_an_approver(cls, approvers: tuple[str, ...]) -> tuple[str, ...]:
        return _non_empty(approvers)


S3_BUCKET_PATTERN = r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$"
S3_PREFIX_PATTERN = r"^[A-Za-z0-9!_.'()-][A-Za-z0-9!_.'()/-]{0,899}/$"  # no `*`: it would widen the IAM grant
GLUE_NAME_PATTERN = r"^[a-z][a-z0-9_]{0,254}$"
KMS_KEY_ARN_PATTERN = r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/(mrk-[0-9a-f]{32}|[0-9a-f-]{36})$"
_PATTERN_DESCRIPTIONS.update(
    {
        S3_BUCKET_PATTERN: "an S3 bucket name",
        S3_PREFIX_PATTERN: "an S3 key prefix ending in / (no leading /, no *)",
        GLUE_NAME_PATTERN: "a lower-case Glue name (a-z 0-9 _)",
        KMS_KEY_ARN_PATTERN: "a KMS key ARN like arn:aws:kms:us-east-1:123456789012:key/<uuid or mrk-...>",
    }
)


class CostExportConfig(BaseModel):
    """The organization's FOCUS 1.2 export (AWS Data Exports, Parquet) that Athena queries for billed cost."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    bucket: Annotated[str, StringConstraints(strict=True, pattern=S3_BUCKET_PATTERN)] = Field(
        description="the export's S3 bucket (in the hub's region; the hub reads it)"
    )
    prefix: Annotated[str, StringConstraints(strict=True, pattern=S3_PREFIX_PATTERN)] = Field(
        description="the export's data folder, ending in / (`<prefix>/<export name>/data/`): Athena finds the "
        "`BILLING_PERIOD=YYYY-MM/` partitions below it"
    )
    database: Annotated[str, StringConstraints(strict=True, pattern=GLUE_NAME_PATTERN)] = Field(
        "mlgov_costs", description="Glue database the hub creates for the export's table"
    )
    table: Annotated[str, StringConstraints(strict=True, pattern=GLUE_NAME_PATTERN)] = Field(
        "focus", description="Glue table over the export (FOCUS columns, partition projection by billing period)"
    )
    kms_key_arn: Annotated[str, StringConstraints(strict=True, pattern=KMS_KEY_ARN_PATTERN)] | None = Field(
        None, description="the KMS key the export bucket encrypts with, when it is not S3-managed"
    )


ANOMALY_MONITOR_ARN_PATTERN = r"^arn:aws[a-z-]*:ce::[0-9]{12}:anomalymonitor/[0-9A-Za-z-]+$"
_PATTERN_DESCRIPTIONS[ANOMALY_MONITOR_ARN_PATTERN] = (
    "a Cost Anomaly Detection monitor ARN like arn:aws:ce::123456789012:anomalymonitor/<id>"
)
# Regions whose CloudFormation registry has AWS::CE::AnomalyMonitor and AWS::CE::AnomalySubscription (cfn-lint's
# per-region provider schemas; tests/unit/test_cost_anomaly_config.py keeps this in step with the installed cfn-lint).
# Elsewhere, e.g. ap-southeast-5 or the GovCloud regions, a template with them fails with "Unrecognized resource types".
COST_ANOMALY_REGIONS = frozenset(
    {
        "af-south-1", "ap-east-1", "ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "ap-south-1", "ap-south-2",
        "ap-southeast-1", "ap-southeast-2", "ap-southeast-3", "ap-southeast-4", "ca-central-1", "ca-west-1",
        "cn-north-1", "cn-northwest-1", "eu-central-1", "eu-central-2", "eu-north-1", "eu-south-1", "eu-south-2",
        "eu-west-1", "eu-west-2", "eu-west-3", "il-central-1", "me-central-1", "sa-east-1", "us-east-1", "us-east-2",
        "us-west-1", "us-west-2",
    }
)  # fmt: skip


class CostAnomalyAlertsConfig(BaseModel):
    """AWS Cost Anomaly Detection on the hub account's costs, each anomaly published to `mlgov-notifications`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # The API takes 0 to 10,000,000,000 (ThresholdExpression values); 0 would alert on every anomaly.
    threshold_usd: Annotated[StrictFloat, Field(gt=0, le=10_000_000_000)] = Field(
        description="an anomaly is published when its total cost impact (actual minus expected spend, in USD) "
        "reaches this amount"
    )
    monitor_arn: Annotated[str, StringConstraints(strict=True, pattern=ANOMALY_MONITOR_ARN_PATTERN)] | None = Field(
        None,
        description="the hub account's existing AWS services monitor to subscribe to; absent: the hub creates "
        "`mlgov-services`, which fails when the account has one already (an account holds at most one)",
    )


class MlgovConfig(BaseModel):
    """Deployment settings for the hub and (in org mode) the member accounts."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    hub_account: AccountId = Field(description="account that runs the hub (12 digits)")
    hub_region: Region = Field(description="region of the hub")
    management_account: AccountId | None = Field(
        None, description="organization management account; absent means single-account mode"
    )
    # Required in org mode: the hub bus admits only this org.
    organization_id: OrganizationId | None = Field(
        None, description="`o-...`; the hub event bus admits events only from this organization"
    )
    target_ous: tuple[OrganizationalUnitId, ...] = Field(
        (), description="OUs (or the root `r-...`) the SCPs and tag policy attach to"
    )
    # Declared after hub_region so the factory can see the validated hub region.
    member_regions: tuple[Region, ...] = Field(
        default_factory=lambda validated: (validated["hub_region"],) if "hub_region" in validated else (),
        description="regions governed in member accounts (distinct, at least one; org mode: must include hub_region)",
    )
    scan_schedule: StrictString = Field(
        DEFAULT_SCAN_SCHEDULE,
        description="EventBridge schedule expression (`cron(...)` or `rate(...)`) of the daily scan",
    )
    # CloudWatch keeps 1-day datapoints for 455 days, so a longer idle window can never be observed.
    zombie_idle_days: Annotated[
        int,
        Strict(),
        Field(ge=1, le=455, description="days without invocations before an endpoint is a zombie"),
    ] = DEFAULT_IDLE_DAYS
    zombie_min_age_days: Annotated[
        int, Strict(), Field(ge=1, le=365, description="endpoints younger than this are never zombies")
    ] = DEFAULT_MIN_AGE_DAYS
    live_prices: StrictBool = Field(
        True,
        description="price each scan from the AWS Price List (pricing:GetProducts, cached a week in the archive); "
        "false: only the checked-in price table (offline/demo)",
    )
    around_costs: StrictBool = Field(
        True,
        description="each scan adds the costs around the running endpoints: CloudWatch Logs ingestion and the model "
        "artifacts' S3 bucket (DescribeModel per model, one GetMetricData batch per account-region); multi-model "
        "endpoints marked shared",
    )
    expiry_reminder_days: Annotated[
        int,
        Strict(),
        Field(
            ge=0,
            le=90,
            description="days before a billed resource's auto-delete-after date that its owner is reminded in Slack "
            "(once per date); 0: no reminders",
        ),
    ] = 7
    notebook_stops: Annotated[str, StringConstraints(strict=True, pattern=r"^(report|stop)$")] = Field(
        "report",
        description="notebook instances InService for more than 24 hours (the scan's idle hours) without a lifecycle "
        "configuration: `report` leaves them to the report; `stop` warns in Slack once per running session and stops "
        "the ones still idle at the first daily scan after notebook_stop_grace_hours (the volume is kept), unless a "
        "Keep running click or `mlgov exempt` keeps them",
    )
    notebook_stop_grace_hours: Annotated[
        int,
        Strict(),
        Field(ge=1, le=168, description="hours between the warning and the stop of an idle notebook (or Studio app)"),
    ] = 24
    studio_app_stops: Annotated[str, StringConstraints(strict=True, pattern=r"^(report|delete)$")] = Field(
        "report",
        description="Studio JupyterLab / Code Editor apps running for more than 24 hours (the scan's idle hours) in a "
        "domain without idle shutdown (mlgov cannot see kernel activity: long-running, not proven unused): `report` "
        "leaves them to the report; `delete` warns in Slack once per app run and deletes the ones still idle at the "
        "first daily scan after notebook_stop_grace_hours (the space and its volume are kept), unless a Keep running "
        "click or `mlgov exempt` keeps them",
    )
    studio_idle_shutdown: Annotated[str, StringConstraints(strict=True, pattern=r"^(report|apply)$")] = Field(
        "report",
        description="Studio domains whose JupyterLab or Code Editor apps have no native idle shutdown "
        "(DefaultUserSettings AppLifecycleManagement.IdleSettings): `report` lists them with the exact UpdateDomain "
        "request in the scan result (a dry run); `apply` sends it after each daily scan (only IdleSettings changed, "
        "audited on the findings row, one Slack notice) and grants the spoke role UpdateDomain on its account's "
        "domains; ENABLED settings, user-profile overrides and recorded exemptions are left alone",
    )
    studio_idle_minutes: Annotated[
        int,
        Strict(),
        Field(
            ge=IDLE_TIMEOUT_MIN_MINUTES,
            le=IDLE_TIMEOUT_MAX_MINUTES,
            description="idle minutes before a JupyterLab or Code Editor app is shut down, for studio_idle_shutdown "
            "(SageMaker's IdleTimeoutInMinutes range)",
        ),
    ] = DEFAULT_IDLE_MINUTES
    # Given as a JSON object {team: USD}; kept as sorted pairs so that the frozen config stays hashable.
    budgets: tuple[
        tuple[
            Annotated[str, StringConstraints(strict=True, pattern=TEAM_PATTERN, max_length=256)],
            Annotated[StrictFloat | StrictInt, Field(gt=0, le=1_000_000_000)],
        ],
        ...,
    ] = Field(
        (),
        description='monthly SageMaker budget in USD per `ml:team` value, e.g. {"fraud": 5000}: the daily scan alerts '
        "in Slack once per month when a team's month-end forecast passes 80 % and 100 %",
    )

    @field_validator("budgets", mode="before")
    @classmethod
    def _budgets_object(cls, value: object) -> object:
        if isinstance(value, dict):
            return tuple(sorted(value.items()))
        if isinstance(value, tuple | list):  # the pairs themselves (a config dumped and loaded again)
            return value
        raise PydanticCustomError("budgets_object", "must be a JSON object of team -> monthly USD")

    cost_export: CostExportConfig | None = Field(
        None,
        description="the organization's FOCUS export: the hub adds a Glue table, an Athena workgroup `mlgov` and "
        "the managed policy `mlgov-cost-export-readers` for `mlgov costs --athena-table`",
    )
    cost_anomaly_alerts: CostAnomalyAlertsConfig | None = Field(
        None,
        description="AWS Cost Anomaly Detection alerts of the hub account to `mlgov-notifications` (the topic then "
        "uses a customer-managed KMS key); absent: none",
    )
    hyperpod_schedule_minutes: Annotated[
        int,
        Strict(),
        Field(
            ge=1,
            le=1440,
            description="how often the schedules of HyperPod clusters, endpoints and components are evaluated",
        ),
    ] = 15
    approval_timeout_hours: Annotated[
        int, Strict(), Field(ge=1, le=8760, description="hours before an unanswered approval counts as Reject")
    ] = 72
    archive_retention_days: Annotated[
        int, Strict(), Field(ge=1, le=3653, description="days snapshots are kept in the archive bucket")
    ] = 365
    slack: SlackConfig = Field(description="where approval requests go and who may approve them")
    archive_bucket_suffix: Annotated[str, StringConstraints(strict=True, pattern=r"^[a-z0-9]{1,8}$")] | None = Field(
        None,
        description="appended to the archive bucket's name (`mlgov-archive-<hub>-<region>-<suffix>`): set a new one "
        "to reinstall after `cdk destroy`, which keeps the old archive bucket",
    )
    slack_max_concurrency: Annotated[int, Strict(), Field(ge=1, le=1000)] | None = Field(
        None,
        description="opt-in cap on concurrent runs of the public Slack interactions endpoint (reserved concurrency); "
        "absent: none, since a reservation fails the deploy unless the account's Lambda concurrency quota leaves 100 "
        "unreserved besides the cap",
    )
    exempt_principals: tuple[IamRoleArn, ...] = Field(
        (),
        description="exact role ARNs (account and path included, no wildcard) the tag SCP statements do not apply "
        "to, besides mlgov's own roles, e.g. the platform pipeline role; each entry adds ~70 characters to 11 SCP "
        "statements (`mlgov policies build` prints the slots used)",
    )
    protected_tag_writers: tuple[IamRoleArn, ...] = Field(
        (),
        description="exact role ARNs (path included) that may write mlgov's protected keys (`mlgov:exempt`, "
        "`mlgov:schedule`, ...) directly, besides mlgov's own roles: e.g. the platform role that sets HyperPod "
        "schedules; for exemptions prefer `mlgov exempt`, which acts through the hub and leaves the record the scan "
        "requires",
    )
    trusted_federation_roles: tuple[IamRoleArn, ...] = Field(
        (),
        description="exact role ARNs (path included) whose session name (an e-mail) or sourceIdentity names the "
        "person who created a resource, e.g. your SAML federation role; on any other role both are kept "
        "unverified in the `role/<role>/<session>` owner",
    )

    @property
    def single_account(self) -> bool:
        return self.management_account is None

    @property
    def org_mode(self) -> bool:
        return not self.single_account

    @field_validator("member_regions")
    @classmethod
    def _require_distinct_regions(cls, regions: tuple[str, ...]) -> tuple[str, ...]:
        _non_empty(regions)
        seen: set[str] = set()
        for region in regions:
            if region in seen:
                raise ValueError(f"duplicate region {region!r}")
            seen.add(region)
        return regions

    @field_validator("scan_schedule")
    @classmethod
    def _require_eventbridge_schedule(cls, expression: str) -> str:
        _check_schedule_expression(expression)
        return expression

    @model_validator(mode="after")
    def _require_consistent_mode(self) -> MlgovConfig:
        if self.target_ous and self.management_account is None:
            raise PydanticCustomError(
                "cross_field",
                "field required when target_ous is set (org mode); remove target_ous for single-account mode",
                {"key": "management_account"},
            )
        if self.management_account is not None and self.organization_id is None:
            raise PydanticCustomError(
                "cross_field",
                "field required in org mode: the hub event bus admits events only from this organization "
                "(aws organizations describe-organization --query Organization.Id)",
                {"key": "organization_id"},
            )
        if self.management_account is not None and self.hub_region not in self.member_regions:
            raise PydanticCustomError(
                "cross_field",
                "must include hub_region {hub_region} in org mode: the StackSet creates the account-wide roles "
                "mlgov-spoke and mlgov-spoke-approval only in its hub-region instances",
                {"key": "member_regions", "hub_region": self.hub_region},
            )
        if self.cost_anomaly_alerts is not None:
            _check_cost_anomaly_alerts(self.cost_anomaly_alerts, self.hub_account, self.hub_region)
        if self.management_account is not None and not self.target_ous:
            raise PydanticCustomError(
                "cross_field",
                "must not be empty when management_account is set (org mode); "
                "list the OU or root ids to govern, or remove management_account for single-account mode",
                {"key": "target_ous"},
            )
        return self


def _check_cost_anomaly_alerts(alerts: CostAnomalyAlertsConfig, hub_account: str, hub_region: str) -> None:
    if hub_region not in COST_ANOMALY_REGIONS:
        raise PydanticCustomError(
            "cross_field",
            "CloudFormation offers no AWS::CE::AnomalyMonitor or AWS::CE::AnomalySubscription in hub_region "
            "{hub_region}; remove cost_anomaly_alerts (or set up the alerts in the Billing console)",
            {"key": "cost_anomaly_alerts", "hub_region": hub_region},
        )
    if alerts.monitor_arn is not None and alerts.monitor_arn.split(":")[4] != hub_account:
        raise PydanticCustomError(
            "cross_field",
            "must be a monitor of hub_account {hub_account}: a subscription can only use monitors of its own account",
            {"key": "cost_anomaly_alerts.monitor_arn", "hub_account": hub_account},
        )


def _non_empty(items: tuple[str, ...]) -> tuple[str, ...]:
    # Checked here rather than with min_length, which pydantic also reports when only the items are invalid.
    if not items:
        raise ValueError("must not be empty")
    return items


def _check_schedule_expression(expression: str) -> None:
    expected = (
        "must be 'cron(minutes hours day-of-month month day-of-week year)' "
        f"or 'rate(N minutes|hours|days)', got {expression!r}"
    )
    if rate := _RATE_EXPRESSION.match(expression):
        if (rate["value"] == "1") == bool(rate["plural"]):
            raise ValueError(f"rate(1 ...) takes a singular unit and larger values a plural one, got {expression!r}")
        return
    cron = _CRON_EXPRESSION.match(expression)
    if cron is None:
        raise ValueError(expected)
    fields = cron["fields"].split(" ")
    if len(fields) != 6 or "" in fields:
        raise ValueError(f"cron needs 6 single-space-separated fields, got {expression!r}")
    if "?" not in (fields[_CRON_DAY_OF_MONTH], fields[_CRON_DAY_OF_WEEK]):
        raise ValueError(f"cron day-of-month or day-of-week must be '?', got {expression!r}")


def load_config(raw: object) -> MlgovConfig:
    """Validate the cdk.json context value (e.g. ``app.node.try_get_context("mlgov")``)."""
    if raw is None:
        raise ConfigError(f"invalid mlgov config: context '{CONTEXT_KEY}' is missing from cdk.json")
    if not isinstance(raw, dict):
        raise ConfigError(f"{_ERROR_PREFIX}: expected an object, got {_show(raw)}")
    try:
        return MlgovConfig.model_validate(raw)
    except ValidationError as error:
        problems = _describe_problems(error)
        message = f"{_ERROR_PREFIX}: {problems[0]}"
        if len(problems) > 1:
            message += f" (+{len(problems) - 1} more)"
        raise ConfigError(_one_line(message), problems) from None


def load_config_from_cdk_json(path: str | Path) -> MlgovConfig:
    """Read cdk.json at ``path`` and validate its ``context.mlgov`` value."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"invalid mlgov config: cannot read {path}: {error.strerror or error}") from None
    except UnicodeDecodeError as error:
        raise ConfigError(f"invalid mlgov config: {path} is not UTF-8 text: {error.reason}") from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise ConfigError(
            f"invalid mlgov config: {path} is not valid JSON: {error.msg} (line {error.lineno}, column {error.colno})"
        ) from None
    if not isinstance(document, dict):
        raise ConfigError(f"invalid mlgov config: {path} must hold a JSON object, got {_show(document)}")
    context = document.get("context")
    if context is not None and not isinstance(context, dict):
        raise ConfigError(f"invalid mlgov config: {path}: 'context' must be an object, got {_show(context)}")
    return load_config((context or {}).get(CONTEXT_KEY))


def _describe_problems(error: ValidationError) -> tuple[str, ...]:
    # "default_factory_not_called" only echoes an earlier error in a field the factory reads.
    details = [detail for detail in error.errors(include_url=False) if detail["type"] != "default_factory_not_called"]
    # A misspelt key usually also causes a "field required"; the misspelling is the useful one to show.
    details.sort(key=lambda detail: detail["type"] != "extra_forbidden")
    return tuple(_one_line(_describe_problem(detail)) for detail in details)


def _describe_problem(detail: ErrorDetails) -> str:
    context: dict[str, Any] = detail.get("ctx") or {}
    location: tuple[str | int, ...] = detail["loc"] or ((context["key"],) if "key" in context else ())
    key = _dotted_key(location)
    problem = _plain_words(detail, context, location)
    return f"{key}: {problem}" if key else problem


def _plain_words(detail: ErrorDetails, context: dict[str, Any], location: tuple[str | int, ...]) -> str:
    got = f"got {_show(detail.get('input'))}"
    match detail["type"]:
        case "extra_forbidden":
            return "unknown key" + _did_you_mean(location)
        case "missing":
            return "field required"
        case "int_type" | "int_parsing" | "int_from_float":
            return f"expected an integer, {got}"
        case "string_type":
            return f"expected a string, {got}"
        case "list_type" | "tuple_type":
            return f"expected a list, {got}"
        case "model_type" | "model_attributes_type" | "dict_type":
            return f"expected an object, {got}"
        case "string_pattern_mismatch":
            pattern = context["pattern"]
            description = _PATTERN_DESCRIPTIONS.get(pattern)
            return (
                f"must be {description} (pattern {pattern}), {got}" if description else f"must match {pattern}, {got}"
            )
        case "too_short":
            minimum = context["min_length"]
            return "must not be empty" if minimum == 1 else f"must have at least {minimum} items"
        case "too_long":
            return f"must have at most {context['max_length']} items"
        case "greater_than_equal":
            return f"must be at least {context['ge']}, {got}"
        case "less_than_equal":
            return f"must be at most {context['le']}, {got}"
        case "greater_than":
            return f"must be greater than {context['gt']}, {got}"
        case "less_than":
            return f"must be less than {context['lt']}, {got}"
        case "value_error":
            return str(context["error"])
        case "cross_field":
            return str(detail["msg"])
        case _:
            return f"{str(detail['msg']).lower()}, {got}"


def _did_you_mean(location: tuple[str | int, ...]) -> str:
    known_keys = _known_keys_at(location[:-1])
    close = difflib.get_close_matches(str(location[-1]), known_keys, n=1) if location else []
    return f" (did you mean {close[0]!r}?)" if close else ""


def _known_keys_at(parent: tuple[str | int, ...]) -> list[str]:
    model: type[BaseModel] = MlgovConfig
    for part in parent:
        field = model.model_fields.get(str(part))
        # An optional nested model (`CostExportConfig | None`) is annotated as a union with None.
        options = [arg for arg in get_args(field.annotation) if arg is not type(None)] if field else []
        annotation = options[0] if len(options) == 1 else (field.annotation if field else None)
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return []
        model = annotation
    return list(model.model_fields)


def _dotted_key(location: tuple[str | int, ...]) -> str:
    key = ""
    for part in location:
        key += f"[{part}]" if isinstance(part, int) else (f".{part}" if key else str(part))
    return key


def _show(value: object) -> str:
    shown = repr(value)
    if len(shown) > _SHOWN_VALUE_MAX_CHARS:
        shown = shown[: _SHOWN_VALUE_MAX_CHARS - 3] + "..."
    return shown


def _one_line(text: str) -> str:
    return " ".join(text.splitlines())


def main(argv: list[str] | None = None) -> int:
    """`python -m stacks.config CDK_JSON`: the validated mlgov context as JSON on stdout, or one line on stderr and
    exit 2 (how the installed `mlgov` CLI asks a checkout to validate its cdk.json without importing `stacks`)."""
    import sys

    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m stacks.config CDK_JSON", file=sys.stderr)
        return 2
    try:
        config = load_config_from_cdk_json(args[0])
    except ConfigError as error:
        print(str(error), file=sys.stderr)
        return 2
    print(json.dumps(config.model_dump(mode="json")))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
