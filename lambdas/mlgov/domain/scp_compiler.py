"""Compiles the tag schema and the governed-action table into minified SCPs and an Organizations tag policy."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass

from mlgov.domain.governed_actions import SERVICE_PREFIX, ActionRow, ServiceCatalog, classify_creates
from mlgov.domain.principals import PolicyPrincipals, protected_role_resources
from mlgov.domain.tag_schema import TagRule, TagSchema

SCP_MAX_CHARS = 5120
SCP_MAX_PER_TARGET = 4  # AWS allows 5; one slot stays for FullAWSAccess
POLICY_NAME_PREFIX = "mlgov-tag-enforcement"
ADD_TAGS = f"{SERVICE_PREFIX}:AddTags"
DELETE_TAGS = f"{SERVICE_PREFIX}:DeleteTags"
# Every IAM action that creates, deletes, re-trusts, re-permissions, bounds or tags a role.
ROLE_CHANGING_ACTIONS = (
    "iam:AttachRolePolicy",
    "iam:CreateRole",
    "iam:DeleteRole",
    "iam:DeleteRolePermissionsBoundary",
    "iam:DeleteRolePolicy",
    "iam:DetachRolePolicy",
    "iam:PutRolePermissionsBoundary",
    "iam:PutRolePolicy",
    "iam:TagRole",
    "iam:UntagRole",
    "iam:UpdateAssumeRolePolicy",
    "iam:UpdateRole",
    "iam:UpdateRoleDescription",
)


# SageMaker resource types AWS Organizations reports required tags for ("Required tag keys: Reporting = Yes" in
# "Services and resource types that support enforcement", Organizations User Guide). There is no
# sagemaker:ALL_SUPPORTED for required tags, so they are listed.
REQUIRED_TAG_REPORTING_TYPES = frozenset(
    {
        "app", "app-image-config", "cluster", "code-repository", "data-quality-job-definition", "domain",
        "endpoint", "endpoint-config", "feature-group", "image", "inference-component", "inference-experiment",
        "mlflow-tracking-server", "model", "model-bias-job-definition", "model-card",
        "model-explainability-job-definition", "model-package", "model-package-group",
        "model-quality-job-definition", "monitoring-schedule", "notebook-instance",
        "notebook-instance-lifecycle-config", "pipeline", "processing-job", "project", "space",
        "studio-lifecycle-config", "user-profile", "workteam",
    }
)  # fmt: skip


class PolicyTooLargeError(ValueError):
    """The statements do not fit in the SCP slots a target has."""


@dataclass(frozen=True)
class CompiledPolicy:
    name: str
    description: str
    document: dict

    @property
    def text(self) -> str:
        return minified(self.document)

    @property
    def size(self) -> int:
        return len(self.text)


@dataclass(frozen=True)
class Compilation:
    scps: tuple[CompiledPolicy, ...]
    tag_policy: dict
    actions: tuple[ActionRow, ...]

    @property
    def governed(self) -> tuple[ActionRow, ...]:
        return tuple(row for row in self.actions if row.governed)

    @property
    def ungoverned(self) -> tuple[ActionRow, ...]:
        return tuple(row for row in self.actions if not row.governed)


def minified(document: dict) -> str:
    return json.dumps(document, separators=(",", ":"), sort_keys=False)


def compile_policies(schema: TagSchema, catalog: ServiceCatalog, principals: PolicyPrincipals) -> Compilation:
    rows = classify_creates(catalog, schema.studio_ui_actions, schema.studio_ui_enforced, schema.studio_ui_reason)
    builder = _StatementBuilder(rows, principals)
    statements = [builder.deny_missing(rule) for rule in schema.rules]
    statements += [builder.deny_invalid_value(rule) for rule in schema.rules if _has_scp_value_check(rule)]
    statements += [builder.deny_denied_values(rule) for rule in schema.rules if rule.scp_denied_values]
    statements.append(builder.deny_removing_required(schema.required_keys))
    if schema.protected_keys:
        statements.append(builder.deny_protected_writes(schema.protected_keys))
    statements.append(builder.protect_mlgov_roles())
    scps = pack_statements(statements)
    return Compilation(scps=scps, tag_policy=compile_tag_policy(schema, rows), actions=rows)


def _has_scp_value_check(rule: TagRule) -> bool:
    return bool(rule.allowed_values or rule.scp_value_like)


def sid_for(prefix: str, key: str) -> str:
    """Sids allow only letters and digits: ('DenyMissing', 'ml:team') -> 'DenyMissingMlTeam'."""
    return prefix + "".join(part[:1].upper() + part[1:] for part in re.split(r"[^A-Za-z0-9]+", key) if part)


class _StatementBuilder:
    def __init__(self, rows: Sequence[ActionRow], principals: PolicyPrincipals):
        self._governed = [row for row in rows if row.governed]
        self._principals = principals

    def _actions_for(self, rule: TagRule) -> list[str]:
        """Every governed create of the rule's resource types, by exact name: a wildcard could match an action
        AWS launches later (or one that cannot carry tags), and the compiler never chose it."""
        return sorted({row.action for row in self._governed if rule.applies_to_type(row.resource_type)})

    @staticmethod
    def _except(condition: dict, principals: Sequence[str]) -> dict:
        if principals:
            condition["ArnNotLike"] = {"aws:PrincipalArn": list(principals)}
        return condition

    def _exempting(self, condition: dict) -> dict:
        return self._except(condition, self._principals.exempt_from_tag_rules)

    def deny_missing(self, rule: TagRule) -> dict:
        # Deny unless the exact key is among the request's keys. A Null test on aws:RequestTag/<key> would not do:
        # IAM matches condition key names case-insensitively, so ML:TEAM would satisfy it while SageMaker stores
        # ML:TEAM. aws:TagKeys values are compared case-sensitively; ForAllValues holds when no tags are sent.
        # mlgov's own roles create nothing, so only the configured exempt principals escape this one.
        condition = {"ForAllValues:StringNotEquals": {"aws:TagKeys": [rule.key]}}
        return {
            "Sid": sid_for("DenyMissing", rule.key),
            "Effect": "Deny",
            "Action": self._actions_for(rule),
            "Resource": "*",
            "Condition": self._except(condition, self._principals.exempt),
        }

    def deny_invalid_value(self, rule: TagRule) -> dict:
        # SageMaker authorizes tag-on-create as sagemaker:AddTags too (sagemaker:TaggingAction = the create),
        # so one AddTags statement checks values at create time and on every later retag.
        key = f"aws:RequestTag/{rule.key}"
        condition: dict = {"Null": {key: "false"}}
        if rule.allowed_values:
            condition["StringNotEquals"] = {key: list(rule.allowed_values)}
        if rule.scp_value_like:
            condition["StringNotLike"] = {key: list(rule.scp_value_like)}
        return {
            "Sid": sid_for("DenyInvalid", rule.key),
            "Effect": "Deny",
            "Action": ADD_TAGS,
            "Resource": "*",
            "Condition": self._exempting(condition),
        }

    def deny_denied_values(self, rule: TagRule) -> dict:
        # StringLike on an absent key does not match, so no Null test is needed; "" matches the empty value.
        return {
            "Sid": sid_for("DenyBadValue", rule.key),
            "Effect": "Deny",
            "Action": ADD_TAGS,
            "Resource": "*",
            "Condition": self._exempting({"StringLike": {f"aws:RequestTag/{rule.key}": list(rule.scp_denied_values)}}),
        }

    def deny_removing_required(self, keys: Sequence[str]) -> dict:
        return {
            "Sid": "DenyRemovingRequiredTags",
            "Effect": "Deny",
            "Action": DELETE_TAGS,
            "Resource": "*",
            # Case-sensitive: SageMaker keys are, so removing ML:Team (a mistake the scan flags) stays possible.
            "Condition": self._exempting({"ForAnyValue:StringEquals": {"aws:TagKeys": list(keys)}}),
        }

    def deny_protected_writes(self, keys: Sequence[str]) -> dict:
        # Tag-on-create is authorized as sagemaker:AddTags too, so this also stops forged keys at create. Ignoring
        # case: a policy's aws:ResourceTag/mlgov:zombie also matches a resource tag MLGOV:ZOMBIE.
        return {
            "Sid": "DenyMlgovTagWritesByOthers",
            "Effect": "Deny",
            "Action": [ADD_TAGS, DELETE_TAGS],
            "Resource": "*",
            "Condition": self._except(
                {"ForAnyValue:StringEqualsIgnoreCase": {"aws:TagKeys": list(keys)}},
                self._principals.protected_tag_writers,
            ),
        }

    def protect_mlgov_roles(self) -> dict:
        """Only mlgov's deployers create or change roles named mlgov-* (at any path) or stacksets-exec-*: the
        exemptions above name exact roles, and this keeps anyone else from creating, re-trusting or re-permissioning
        a role with those names."""
        return {
            "Sid": "ProtectMlgovRoles",
            "Effect": "Deny",
            "Action": list(ROLE_CHANGING_ACTIONS),
            "Resource": protected_role_resources(),
            "Condition": self._except({}, self._principals.role_deployers),
        }


def pack_statements(statements: Sequence[dict]) -> tuple[CompiledPolicy, ...]:
    """First-fit-decreasing packing of statements into as few SCPs as the size limit allows."""
    groups: list[list[dict]] = []
    for statement in sorted(statements, key=lambda s: -_document_size([s])):
        for group in groups:
            if _document_size([*group, statement]) <= SCP_MAX_CHARS:
                group.append(statement)
                break
        else:
            if _document_size([statement]) > SCP_MAX_CHARS:
                raise PolicyTooLargeError(f"statement {statement['Sid']} alone exceeds {SCP_MAX_CHARS} characters")
            groups.append([statement])
    order = {id(statement): index for index, statement in enumerate(statements)}
    groups = sorted((sorted(group, key=lambda s: order[id(s)]) for group in groups), key=lambda g: order[id(g[0])])
    if len(groups) > SCP_MAX_PER_TARGET:
        raise PolicyTooLargeError(
            f"{len(groups)} SCPs needed; a target holds {SCP_MAX_PER_TARGET} besides FullAWSAccess"
        )
    return tuple(
        CompiledPolicy(
            name=f"{POLICY_NAME_PREFIX}-{index}",
            description=f"mlgov: required SageMaker tags ({', '.join(s['Sid'] for s in group)})"[:512],
            document=_document(group),
        )
        for index, group in enumerate(groups, start=1)
    )


def _document(statements: Sequence[dict]) -> dict:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def _document_size(statements: Sequence[dict]) -> int:
    return len(minified(_document(statements)))


def compile_tag_policy(schema: TagSchema, rows: Sequence[ActionRow]) -> dict:
    """Organizations tag policy: key capitalisation for every key, allowed values where the schema lists them, and
    each key required (`report_required_tag_for`) on the governed resource types Organizations can report on.

    Required tags make Organizations report resources missing a key and let the CloudFormation hook
    (AWS::TagPolicies::TaggingComplianceValidator), Terraform and Pulumi stop such a deployment before it starts;
    they do not stop an API call — the SCPs do. No `enforced_for`: the SCPs already deny bad values on create.
    """
    governed_types = {row.resource_type for row in rows if row.governed}
    tags: dict = {}
    for rule in schema.rules:
        entry: dict = {"tag_key": {"@@assign": rule.key}}
        if rule.allowed_values:
            entry["tag_value"] = {"@@assign": list(rule.allowed_values)}
        required_on = sorted(
            f"{SERVICE_PREFIX}:{resource_type}"
            for resource_type in REQUIRED_TAG_REPORTING_TYPES & governed_types
            if rule.applies_to_type(resource_type)
        )
        if required_on:
            entry["report_required_tag_for"] = {"@@assign": required_on}
        tags[rule.key] = entry
    return {"tags": tags}
