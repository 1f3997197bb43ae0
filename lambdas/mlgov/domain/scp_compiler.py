"""Compiles the tag schema and the governed-action table into minified SCPs and an Organizations tag policy."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from mlgov.domain.governed_actions import (
    SERVICE_PREFIX,
    ActionRow,
    ServiceCatalog,
    camel_words,
    classify_creates,
)
from mlgov.domain.tag_schema import TagRule, TagSchema

SCP_MAX_CHARS = 5120
SCP_MAX_PER_TARGET = 4  # AWS allows 5; one slot stays for FullAWSAccess
POLICY_NAME_PREFIX = "mlgov-tag-enforcement"
ADD_TAGS = f"{SERVICE_PREFIX}:AddTags"
DELETE_TAGS = f"{SERVICE_PREFIX}:DeleteTags"


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


def compile_policies(
    schema: TagSchema, catalog: ServiceCatalog, extra_exempt_principals: Sequence[str] = ()
) -> Compilation:
    rows = classify_creates(catalog, schema.studio_ui_actions, schema.studio_ui_enforced, schema.studio_ui_reason)
    exempt = _unique([*schema.exempt_principals, *extra_exempt_principals])
    builder = _StatementBuilder(rows, catalog.known_actions, exempt)
    statements = [builder.deny_missing(rule) for rule in schema.rules]
    statements += [builder.deny_invalid_value(rule) for rule in schema.rules if _has_scp_value_check(rule)]
    statements.append(builder.deny_removing_required(schema.required_keys))
    if schema.protected_keys:
        statements.append(builder.deny_protected_writes(schema.protected_keys, schema.protected_writers))
    scps = pack_statements([s for s in statements if s is not None])
    return Compilation(scps=scps, tag_policy=compile_tag_policy(schema), actions=rows)


def _has_scp_value_check(rule: TagRule) -> bool:
    return bool(rule.allowed_values or rule.scp_value_like)


def sid_for(prefix: str, key: str) -> str:
    """Sids allow only letters and digits: ('DenyMissing', 'ml:team') -> 'DenyMissingMlTeam'."""
    return prefix + "".join(part[:1].upper() + part[1:] for part in re.split(r"[^A-Za-z0-9]+", key) if part)


class _StatementBuilder:
    def __init__(self, rows: Sequence[ActionRow], known_actions: frozenset[str], exempt: Sequence[str]):
        self._governed = [row for row in rows if row.governed]
        self._known = known_actions
        self._exempt = list(exempt)

    def _actions_for(self, rule: TagRule) -> list[str]:
        operations = {row.operation for row in self._governed if rule.applies_to_type(row.resource_type)}
        return compress_actions(operations, self._known)

    def _with_exemption(self, condition: dict, principals: Sequence[str] | None = None) -> dict:
        principals = self._exempt if principals is None else list(principals)
        if principals:
            condition["ArnNotLike"] = {"aws:PrincipalArn": principals}
        return condition

    def deny_missing(self, rule: TagRule) -> dict:
        return {
            "Sid": sid_for("DenyMissing", rule.key),
            "Effect": "Deny",
            "Action": self._actions_for(rule),
            "Resource": "*",
            "Condition": self._with_exemption({"Null": {f"aws:RequestTag/{rule.key}": "true"}}),
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
            "Condition": self._with_exemption(condition),
        }

    def deny_removing_required(self, keys: Sequence[str]) -> dict:
        return {
            "Sid": "DenyRemovingRequiredTags",
            "Effect": "Deny",
            "Action": DELETE_TAGS,
            "Resource": "*",
            "Condition": self._with_exemption({"ForAnyValue:StringEquals": {"aws:TagKeys": list(keys)}}),
        }

    def deny_protected_writes(self, keys: Sequence[str], writers: Sequence[str]) -> dict:
        # Tag-on-create is authorized as sagemaker:AddTags too, so this also stops forged keys at create.
        return {
            "Sid": "DenyMlgovTagWritesByOthers",
            "Effect": "Deny",
            "Action": [ADD_TAGS, DELETE_TAGS],
            "Resource": "*",
            "Condition": self._with_exemption({"ForAnyValue:StringLike": {"aws:TagKeys": list(keys)}}, writers),
        }


def compress_actions(operations: Iterable[str], known_actions: Iterable[str]) -> list[str]:
    """Shortest `sagemaker:<Create><Words>*` patterns that match only `operations` among every known action.

    Prefixes end on a CamelCase word boundary (CreateModelBias*, never CreateMo*), so an API launched later
    only matches when it shares whole words; a prefix is used only when every known action it matches
    (case-insensitively, as IAM matches) is in `operations`. A test re-proves this against the model.
    """
    wanted = {op.lower() for op in operations}
    known = {name.lower() for name in known_actions} | wanted
    patterns: set[str] = set()
    for operation in sorted(operations):
        pattern = operation
        for prefix in word_prefixes(operation):
            lowered = prefix.lower()
            if all(name in wanted for name in known if name.startswith(lowered)):
                pattern = prefix + "*"
                break
        patterns.add(pattern)
    wildcards = [p[:-1].lower() for p in patterns if p.endswith("*")]
    kept = {p for p in patterns if p.endswith("*") or not any(p.lower().startswith(w) for w in wildcards)}
    return sorted(f"{SERVICE_PREFIX}:{pattern}" for pattern in kept)


def word_prefixes(operation: str) -> list[str]:
    """CreateModelBiasJobDefinition -> [CreateModelBias, CreateModelBiasJob] (shortest first, at least two words
    after Create, always shorter than the name itself)."""
    words = camel_words(operation.removeprefix("Create"))
    return ["Create" + "".join(words[:count]) for count in range(2, len(words))]


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


def compile_tag_policy(schema: TagSchema) -> dict:
    """Organizations tag policy: key capitalisation for every key, allowed values where the schema lists them.

    No `enforced_for`: the SCPs enforce, and a tag policy cannot require a tag to exist. The policy feeds
    the organization's tag compliance report instead, without risking an unsupported resource type.
    """
    tags: dict = {}
    for rule in schema.rules:
        entry: dict = {"tag_key": {"@@assign": rule.key}}
        if rule.allowed_values:
            entry["tag_value"] = {"@@assign": list(rule.allowed_values)}
        tags[rule.key] = entry
    return {"tags": tags}


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))
