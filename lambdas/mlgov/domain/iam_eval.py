"""Offline evaluation of Service Control Policies against a single request, with IAM condition semantics."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

DEFAULT_PRINCIPAL_ARN = "arn:aws:iam::111122223333:role/DataScientist"
PRINCIPAL_ARN_KEY = "aws:PrincipalArn"

_DOCUMENT_ELEMENTS = {"Version", "Id", "Statement"}
_STATEMENT_ELEMENTS = {"Sid", "Effect", "Action", "NotAction", "Resource", "NotResource", "Condition"}
_SET_PREFIXES = ("ForAnyValue:", "ForAllValues:")
_IF_EXISTS = "IfExists"


class UnsupportedPolicyError(ValueError):
    """A policy uses an element, operator or value this evaluator does not implement."""


@dataclass(frozen=True)
class RequestContext:
    action: str
    principal_arn: str = DEFAULT_PRINCIPAL_ARN
    resource: str = "*"
    context: Mapping[str, str | Sequence[str]] = field(default_factory=dict)

    @classmethod
    def for_tags(
        cls, action: str, tags: Mapping[str, str], principal_arn: str = DEFAULT_PRINCIPAL_ARN, **extra
    ) -> RequestContext:
        """Request that creates a resource with `tags`; an explicit `context=` in extra overrides tag keys."""
        context: dict[str, str | Sequence[str]] = {f"aws:RequestTag/{k}": v for k, v in tags.items()}
        context["aws:TagKeys"] = list(tags)
        context.update(extra.pop("context", {}))
        return cls(action=action, principal_arn=principal_arn, context=context, **extra)

    def values_of(self, key: str) -> tuple[str, ...]:
        """Values of a condition key (names are case-insensitive); empty when absent or given as []."""
        wanted = key.lower()
        for name, value in self.context.items():
            if name.lower() == wanted:
                return _as_request_values(value)
        return (principal_arn_of(self.principal_arn),) if wanted == PRINCIPAL_ARN_KEY.lower() else ()


_ASSUMED_ROLE = re.compile(r"^arn:(?P<partition>[^:]+):sts::(?P<account>[0-9]{12}):assumed-role/(?P<role>[^/]+)/.+$")


def principal_arn_of(caller_arn: str) -> str:
    """aws:PrincipalArn as IAM sets it: a role session's is the role's ARN (the simulator assumes the root path,
    which an assumed-role ARN does not show); any other principal's is its own ARN."""
    match = _ASSUMED_ROLE.match(caller_arn)
    if match is None:
        return caller_arn
    return f"arn:{match['partition']}:iam::{match['account']}:role/{match['role']}"


@dataclass(frozen=True)
class MatchedStatement:
    policy_name: str
    sid: str | None
    effect: str


@dataclass(frozen=True)
class Decision:
    allowed: bool
    denied_by: tuple[MatchedStatement, ...]
    reason: str

    @property
    def verdict(self) -> str:
        return "ALLOW" if self.allowed else "DENY"


def evaluate(policies: Mapping[str, Mapping], request: RequestContext, *, full_aws_access: bool = True) -> Decision:
    """SCP decision: allowed iff an Allow matches (FullAWSAccess counts as one) and no Deny matches."""
    denies: list[tuple[MatchedStatement, int]] = []
    allow_matched = full_aws_access
    for policy_name, document in policies.items():
        for index, statement in enumerate(_statements_of(policy_name, document)):
            if not statement_matches(statement, request):
                continue
            if statement["Effect"] == "Deny":
                denies.append((MatchedStatement(policy_name, statement.get("Sid"), "Deny"), index))
            else:
                allow_matched = True
    if denies:
        labels = ", ".join(f"{m.policy_name}/{m.sid if m.sid else f'#{i}'}" for m, i in denies)
        return Decision(False, tuple(m for m, _ in denies), f"explicit deny by {labels}")
    if not allow_matched:
        return Decision(False, (), "implicit deny: no Allow statement matched")
    return Decision(True, (), "allowed: no deny matched")


_VARIABLE = re.compile(r"\$\{([^}]+)\}")


def resource_policy_allows(document: Mapping, request: RequestContext) -> bool:
    """A resource policy (bucket, key) admits the request: an Allow whose Principal names the caller (`*`, its account,
    account root or ARN) matches and no Deny does. Policy variables `${key}` take the request's value of `key`; one
    the request lacks makes the statement not match (IAM: the variable's element fails)."""
    principal = principal_arn_of(request.principal_arn)
    account = principal.split(":")[4] if principal.count(":") >= 5 else ""
    allowed = False
    for statement in _statements_of("resource policy", document):
        if "NotPrincipal" in statement:
            raise UnsupportedPolicyError("NotPrincipal is not supported")
        names = _principals(statement.get("Principal"))
        if not ({"*", account, f"arn:aws:iam::{account}:root", principal} & set(names)):
            continue
        concrete = _with_variables({k: v for k, v in statement.items() if k != "Principal"}, request)
        if concrete is None or not statement_matches(concrete, request):
            continue
        if statement["Effect"] == "Deny":
            return False
        allowed = True
    return allowed


def _principals(principal: object) -> list[str]:
    if principal == "*":
        return ["*"]
    if isinstance(principal, Mapping):
        aws = principal.get("AWS", [])
        return [aws] if isinstance(aws, str) else list(aws)
    return []


def _with_variables(value: object, request: RequestContext) -> object | None:
    """`value` with each ${key} replaced by the request's single value of `key`; None when one is missing."""
    if isinstance(value, str):
        missing = False

        def replace(match: re.Match) -> str:
            nonlocal missing
            values = request.values_of(match.group(1))
            if len(values) != 1:
                missing = True
                return ""
            return values[0]

        replaced = _VARIABLE.sub(replace, value)
        return None if missing else replaced
    if isinstance(value, Mapping):
        items = {key: _with_variables(item, request) for key, item in value.items()}
        return None if any(item is None for item in items.values()) else items
    if isinstance(value, list):
        items = [_with_variables(item, request) for item in value]
        kept = [item for item in items if item is not None]
        return kept if kept or not items else None
    return value


def statement_matches(statement: Mapping, request: RequestContext) -> bool:
    """True when the statement applies to the request; the whole statement is validated first."""
    _validate_statement(statement)
    if "Action" in statement:
        action_ok = _any_glob(statement["Action"], request.action, ignore_case=True)
    else:
        action_ok = not _any_glob(statement["NotAction"], request.action, ignore_case=True)
    if "Resource" in statement:
        resource_ok = _any_glob(statement["Resource"], request.resource, ignore_case=False)
    elif "NotResource" in statement:
        resource_ok = not _any_glob(statement["NotResource"], request.resource, ignore_case=False)
    else:
        resource_ok = True
    return action_ok and resource_ok and _conditions_hold(statement.get("Condition", {}), request)


def _statements_of(policy_name: str, document: Mapping) -> list[Mapping]:
    unknown = set(document) - _DOCUMENT_ELEMENTS
    if unknown:
        raise UnsupportedPolicyError(f"{policy_name}: unsupported policy element(s) {sorted(unknown)}")
    if "Statement" not in document:
        raise UnsupportedPolicyError(f"{policy_name}: policy has no Statement")
    statements = document["Statement"]
    return [statements] if isinstance(statements, Mapping) else list(statements)


def _validate_statement(statement: Mapping) -> None:
    if not isinstance(statement, Mapping):
        raise UnsupportedPolicyError(f"a statement must be an object, got {statement!r}")
    unknown = set(statement) - _STATEMENT_ELEMENTS
    if unknown:
        raise UnsupportedPolicyError(f"unsupported statement element(s): {sorted(unknown)}")
    if statement.get("Effect") not in ("Allow", "Deny"):
        raise UnsupportedPolicyError(f"unsupported Effect: {statement.get('Effect')!r}")
    if ("Action" in statement) == ("NotAction" in statement):
        raise UnsupportedPolicyError("a statement needs exactly one of Action / NotAction")
    if "Resource" in statement and "NotResource" in statement:
        raise UnsupportedPolicyError("a statement may not have both Resource and NotResource")
    for element in ("Resource", "NotResource"):
        _policy_values(statement.get(element, []), element)
    condition = statement.get("Condition", {})
    if not isinstance(condition, Mapping):
        raise UnsupportedPolicyError("Condition must be an object")
    for operator, block in condition.items():
        _parse_operator(operator)
        if not isinstance(block, Mapping):
            raise UnsupportedPolicyError(f"{operator}: condition block must be an object")
        for key, values in block.items():
            _policy_values(values, f"{operator}/{key}")


def _policy_values(raw: object, where: str) -> tuple[str, ...]:
    items = raw if isinstance(raw, list | tuple) else [raw]
    values: list[str] = []
    for item in items:
        if isinstance(item, bool):
            item = "true" if item else "false"
        if not isinstance(item, str):
            raise UnsupportedPolicyError(f"{where}: unsupported value {item!r}")
        if "${" in item:
            raise UnsupportedPolicyError(f"{where}: policy variables are not supported ({item!r})")
        values.append(item)
    return tuple(values)


def _as_request_values(value: str | bool | Sequence[str]) -> tuple[str, ...]:
    if isinstance(value, bool):
        return ("true" if value else "false",)
    return (value,) if isinstance(value, str) else tuple(value)


@lru_cache(maxsize=1024)
def _glob_regex(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(body, re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def _glob(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    return _glob_regex(pattern, ignore_case).fullmatch(value) is not None


def _any_glob(patterns: object, value: str, *, ignore_case: bool) -> bool:
    return any(_glob(p, value, ignore_case=ignore_case) for p in _policy_values(patterns, "pattern"))


def arn_like(pattern: str, value: str) -> bool:
    """ARN match per colon-delimited segment (the resource segment keeps its colons), case-sensitive."""
    pattern_parts, value_parts = pattern.split(":", 5), value.split(":", 5)
    if len(pattern_parts) != 6 or len(value_parts) != 6:
        return _glob(pattern, value)
    return all(_glob(p, v) for p, v in zip(pattern_parts, value_parts, strict=True))


def _bool_equals(policy_value: str, request_value: str) -> bool:
    if policy_value.lower() not in ("true", "false"):
        raise UnsupportedPolicyError(f"Bool: value must be true or false, got {policy_value!r}")
    return policy_value.lower() == request_value.lower()


# Base operator -> (matcher(policy_value, request_value), negated)
_OPERATORS: dict[str, tuple[Callable[[str, str], bool], bool]] = {
    "StringEquals": (lambda p, v: p == v, False),
    "StringNotEquals": (lambda p, v: p == v, True),
    "StringEqualsIgnoreCase": (lambda p, v: p.casefold() == v.casefold(), False),
    "StringNotEqualsIgnoreCase": (lambda p, v: p.casefold() == v.casefold(), True),
    "StringLike": (_glob, False),
    "StringNotLike": (_glob, True),
    "ArnEquals": (arn_like, False),  # IAM documents ArnEquals and ArnLike as identical
    "ArnLike": (arn_like, False),
    "ArnNotEquals": (arn_like, True),
    "ArnNotLike": (arn_like, True),
    "Bool": (_bool_equals, False),
}


@dataclass(frozen=True)
class _Operator:
    set_prefix: str | None
    base: str
    if_exists: bool


def _parse_operator(operator: str) -> _Operator:
    prefix = next((p for p in _SET_PREFIXES if operator.startswith(p)), None)
    base = operator.removeprefix(prefix) if prefix else operator
    if_exists = base.endswith(_IF_EXISTS)
    base = base.removesuffix(_IF_EXISTS) if if_exists else base
    if base == "Null" and (if_exists or prefix):
        raise UnsupportedPolicyError(f"unsupported condition operator: {operator}")
    if base != "Null" and base not in _OPERATORS:
        raise UnsupportedPolicyError(f"unsupported condition operator: {operator}")
    return _Operator(prefix, base, if_exists)


def _conditions_hold(condition: Mapping, request: RequestContext) -> bool:
    return all(
        _key_holds(_parse_operator(operator), _policy_values(values, operator), request.values_of(key))
        for operator, block in condition.items()
        for key, values in block.items()
    )


def _key_holds(operator: _Operator, policy_values: tuple[str, ...], request_values: tuple[str, ...]) -> bool:
    if operator.base == "Null":
        return any(_bool_equals(p, "true" if not request_values else "false") for p in policy_values)
    if not request_values:
        if operator.if_exists:
            return True
        if operator.set_prefix == "ForAllValues:":
            return True
        if operator.set_prefix == "ForAnyValue:":
            return False
        return _OPERATORS[operator.base][1]
    matcher, negated = _OPERATORS[operator.base]

    def value_satisfies(request_value: str) -> bool:
        return any(matcher(p, request_value) for p in policy_values) != negated

    if operator.set_prefix == "ForAllValues:":
        return all(value_satisfies(v) for v in request_values)
    if operator.set_prefix == "ForAnyValue:":
        return any(value_satisfies(v) for v in request_values)
    # No set prefix on a list-valued key: positive matches if any value matches; negated if none does.
    return any(matcher(p, v) for v in request_values for p in policy_values) != negated
