"""Turns a SageMaker AccessDenied message into the tags a data scientist must add, with copy-paste fixes."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from mlgov.domain.governed_actions import ActionRow, camel_words
from mlgov.domain.tag_schema import TagProblem, TagRule, TagSchema, check_tags

_ACTION = re.compile(r"not authorized to perform:\s*(?P<action>[A-Za-z0-9-]+:[A-Za-z0-9*]+)")
_PRINCIPAL = re.compile(r"User:\s*(?P<principal>arn:[^\s]+)")
_RESOURCE = re.compile(r"on resource:\s*(?P<resource>arn:[^\s]+?)(?=\s|$)")
_OPERATION = re.compile(r"when calling the (?P<operation>[A-Za-z0-9]+) operation")
_IMPLICIT_SCP = re.compile(r"no service control policy allows", re.I)
_SCP = re.compile(r"explicit deny in a service control policy(?::\s*(?P<policy>arn:[^\s]+))?", re.I)


class NotAnAccessDenied(ValueError):
    """The text does not contain 'is not authorized to perform: <service>:<Action>'."""


@dataclass(frozen=True)
class AccessDenial:
    action: str  # what was denied: sagemaker:CreateEndpoint (may differ from the operation: AddTags)
    operation: str | None  # the API call that failed: CreateEndpoint
    principal: str | None
    resource: str | None
    by_scp: bool
    policy_arn: str | None
    implicit_scp: bool = False  # "because no service control policy allows": an allow is missing, not a deny

    @property
    def created_operation(self) -> str | None:
        """The create the user attempted: the denied action or, for an AddTags denial, the call."""
        name = self.action.split(":", 1)[1]
        if name.startswith("Create"):
            return name
        if self.operation and self.operation.startswith("Create"):
            return self.operation
        return None


def parse_access_denied(message: str) -> AccessDenial:
    text = " ".join(message.split())
    action = _ACTION.search(text)
    if action is None:
        raise NotAnAccessDenied(
            "no 'is not authorized to perform: <service>:<Action>' in the message; paste the whole error text"
        )
    scp = _SCP.search(text)
    return AccessDenial(
        action=action["action"],
        operation=_group(_OPERATION, text, "operation"),
        principal=_group(_PRINCIPAL, text, "principal"),
        resource=(_group(_RESOURCE, text, "resource") or "").rstrip(".,:;") or None,
        by_scp=scp is not None,
        implicit_scp=_IMPLICIT_SCP.search(text) is not None,
        policy_arn=scp["policy"].rstrip(".,;") if scp and scp["policy"] else None,
    )


def _group(pattern: re.Pattern, text: str, name: str) -> str | None:
    match = pattern.search(text)
    return match[name] if match else None


@dataclass(frozen=True)
class Explanation:
    denial: AccessDenial
    headline: str
    rules: tuple[TagRule, ...]  # the tags the denied create needs
    problems: tuple[TagProblem, ...]  # what is wrong with the tags the user said they sent (if given)
    suggested_tags: Mapping[str, str]
    resource_type: str | None


def explain_denial(
    denial: AccessDenial,
    schema: TagSchema,
    actions: Sequence[ActionRow],
    today: date,
    sent_tags: Mapping[str, str] | None = None,
) -> Explanation:
    by_operation = {row.operation: row for row in actions}
    operation = denial.created_operation
    row = by_operation.get(operation or "")
    if denial.implicit_scp:
        headline = (
            f"{denial.action} was denied because no service control policy allows it. mlgov's SCPs only deny; "
            "an Allow is missing (is FullAWSAccess still attached to the account's OUs?). Ask your platform team."
        )
        return Explanation(denial, headline, (), (), {}, None)
    if not denial.by_scp:
        headline = (
            f"{denial.action} was denied, but not by a service control policy: mlgov's tag rules are not the "
            "cause. Check your IAM role's permissions (and any permission boundary) with your platform team."
        )
        return Explanation(denial, headline, (), (), {}, None)
    if denial.action.endswith(":DeleteTags"):
        headline = (
            "Removing a required tag is denied by the organization's SCPs: required tags "
            f"({', '.join(schema.required_keys)}) can be changed with AddTags, not removed."
        )
        return Explanation(denial, headline, schema.rules, (), {}, None)
    if denial.action.endswith(":AddTags") and (row is None or not row.governed):
        return _explain_tagging_denial(denial, schema, operation, today, sent_tags)
    if row is None or not row.governed:
        headline = (
            f"{denial.action} is denied by a service control policy, but mlgov does not govern "
            f"{operation or denial.action}: the denial comes from another SCP. Ask your platform team."
        )
        return Explanation(denial, headline, (), (), {}, None)
    rules = schema.rules_for(row.resource_type)
    problems = tuple(check_tags(schema, sent_tags, row.resource_type, today)) if sent_tags is not None else ()
    suggested = {rule.key: (sent_tags or {}).get(rule.key) or rule.suggested_value(today) for rule in rules}
    for problem in problems:
        if problem.key in suggested and problem.key in (sent_tags or {}):
            suggested[problem.key] = schema.rule(problem.key).suggested_value(today)
    headline = _headline(row, denial, problems, sent_tags is not None)
    return Explanation(denial, headline, rules, problems, suggested, row.resource_type)


def _explain_tagging_denial(
    denial: AccessDenial,
    schema: TagSchema,
    operation: str | None,
    today: date,
    sent_tags: Mapping[str, str] | None,
) -> Explanation:
    """The SCPs check sagemaker:AddTags on every tagging call (a plain AddTags, or tags sent with any create,
    governed or not): values of keys with an SCP value check, and keys only mlgov may write."""
    rules = tuple(rule for rule in schema.rules if rule.allowed_values or rule.scp_value_like)
    problems: tuple[TagProblem, ...] = ()
    if sent_tags is not None:
        problems = tuple(p for p in check_tags(schema, sent_tags, None, today) if p.key in sent_tags)
    what = f"{operation} (sagemaker:AddTags)" if operation and operation != "AddTags" else "sagemaker:AddTags"
    headline = (
        f"{what} was denied by the organization's tag SCP: every tag you send must have an allowed value "
        f"(below) and must not be one of mlgov's own keys ({', '.join(schema.protected_keys)})."
    )
    if problems:
        headline += f" Wrong: {', '.join(dict.fromkeys(p.key for p in problems))}."
    return Explanation(denial, headline, rules, problems, {}, None)


def _headline(row: ActionRow, denial: AccessDenial, problems: Sequence[TagProblem], tags_known: bool) -> str:
    what = f"{row.operation} ({row.resource_type})"
    via = " on the tagging check (sagemaker:AddTags)" if denial.action.endswith(":AddTags") else ""
    if tags_known and problems:
        keys = ", ".join(dict.fromkeys(p.key for p in problems))
        return f"{what} was denied{via} by the organization's tag policy SCP because of: {keys}."
    if tags_known:
        return f"{what}: the tags you listed satisfy the schema; the denial comes from another statement or SCP."
    return (
        f"{what} was denied{via} by the organization's tag SCP: the call must carry every tag below "
        "with an allowed value."
    )


def render_fixes(explanation: Explanation) -> dict[str, str]:
    """Copy-paste snippets (boto3, SageMaker Python SDK, AWS CLI) carrying the suggested tags."""
    tags = explanation.suggested_tags
    if not tags:
        return {}
    operation = explanation.denial.created_operation or "CreateEndpoint"
    pairs = ",\n".join(f'        {{"Key": "{key}", "Value": "{value}"}}' for key, value in tags.items())
    method = "_".join(camel_words(operation)).lower()  # create_auto_ml_job_v2, as boto3 names it
    cli_command = "-".join(camel_words(operation)).lower()
    cli_tags = " ".join(f"Key={key},Value={value}" for key, value in tags.items())
    sdk = ", ".join(f'{{"Key": "{key}", "Value": "{value}"}}' for key, value in tags.items())
    return {
        "boto3": f"sagemaker.{method}(\n    ...,\n    Tags=[\n{pairs},\n    ],\n)",
        "SageMaker Python SDK": (
            f"estimator_or_model = ...(..., tags=[{sdk}])\n"
            "# or once for every create: mlgov sdk-defaults --team ... --model ... --experiment ... --environment ..."
        ),
        "AWS CLI": f"aws sagemaker {cli_command} ... --tags {cli_tags}",
    }


def describe_rule(rule: TagRule) -> str:
    if rule.allowed_values:
        return f"one of {', '.join(rule.allowed_values)}"
    if rule.is_date:
        limit = f", at most {rule.max_lifetime_days} days ahead" if rule.max_lifetime_days else ""
        return f"a date YYYY-MM-DD{limit}"
    if rule.pattern:
        return f"matching {rule.pattern} (e.g. {rule.example})"
    return f"any value (e.g. {rule.example})"
