"""The tag schema (policies/tag_schema.json): parsing, semantic checks, and checking tag sets against it."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta

TAG_KEY_MAX = 128
TAG_VALUE_MAX = 256
_ALLOWED_PUNCTUATION = set(" _.:/=+-@")


class SchemaError(ValueError):
    """The tag schema is invalid; the message is one line naming the offending key."""


@dataclass(frozen=True)
class TagRule:
    key: str
    description: str
    example: str
    pattern: str | None = None
    allowed_values: tuple[str, ...] | None = None
    is_date: bool = False
    scp_value_like: tuple[str, ...] = ()
    scp_denied_values: tuple[str, ...] = ()
    max_lifetime_days: int | None = None
    default_lifetime_days: int | None = None
    applies_to: frozenset[str] | None = None  # None: every governed resource type

    def applies_to_type(self, resource_type: str | None) -> bool:
        return self.applies_to is None or resource_type is None or resource_type in self.applies_to

    def value_problem(self, value: str, today: date) -> str | None:
        """Why `value` is not acceptable for this key, or None when it is."""
        if problem := tag_value_problem(value):
            return problem
        if self.allowed_values is not None and value not in self.allowed_values:
            return f"'{value}' is not one of {', '.join(self.allowed_values)}"
        if self.pattern is not None and not re.fullmatch(self.pattern, value):
            return f"'{value}' does not match {self.pattern}"
        if self.is_date:
            return self._date_problem(value, today)
        return None

    def _date_problem(self, value: str, today: date) -> str | None:
        try:
            if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
                raise ValueError
            when = date.fromisoformat(value)
        except ValueError:
            return f"'{value}' is not a date in YYYY-MM-DD form"
        if when < today:
            return f"{value} is in the past"
        if self.max_lifetime_days is not None and when > today + timedelta(days=self.max_lifetime_days):
            latest = (today + timedelta(days=self.max_lifetime_days)).isoformat()
            return f"{value} is more than {self.max_lifetime_days} days ahead (latest allowed: {latest})"
        return None

    def suggested_value(self, today: date) -> str:
        if self.is_date:
            return (today + timedelta(days=self.default_lifetime_days or 30)).isoformat()
        return self.example


@dataclass(frozen=True)
class TagProblem:
    key: str
    message: str


@dataclass(frozen=True)
class TagSchema:
    rules: tuple[TagRule, ...]
    protected_keys: tuple[str, ...]  # exact keys, matched case-insensitively as IAM matches condition key names
    protected_reason: str
    studio_ui_actions: tuple[str, ...]
    studio_ui_enforced: bool
    studio_ui_reason: str

    @property
    def required_keys(self) -> tuple[str, ...]:
        return tuple(rule.key for rule in self.rules)

    def rule(self, key: str) -> TagRule:
        for candidate in self.rules:
            if candidate.key == key:
                return candidate
        raise KeyError(key)

    def rules_for(self, resource_type: str | None) -> tuple[TagRule, ...]:
        return tuple(rule for rule in self.rules if rule.applies_to_type(resource_type))

    def lifetime_rule(self) -> TagRule | None:
        return next((rule for rule in self.rules if rule.is_date), None)

    def is_protected(self, key: str) -> bool:
        return key.casefold() in {protected.casefold() for protected in self.protected_keys}

    def case_variant_of(self, key: str) -> str | None:
        """The required or protected key that `key` spells with other capitals ('ML:Team' -> 'ml:team'), else None."""
        for known in (*self.required_keys, *self.protected_keys):
            if key != known and key.casefold() == known.casefold():
                return known
        return None


def tag_value_problem(value: str) -> str | None:
    """SageMaker's own tag value limits: 256 characters of letters, digits, spaces and _ . : / = + - @."""
    if len(value) > TAG_VALUE_MAX:
        return f"value is {len(value)} characters long (maximum {TAG_VALUE_MAX})"
    bad = sorted({ch for ch in value if not is_allowed_tag_char(ch)})
    if bad:
        return f"value contains characters SageMaker rejects: {' '.join(repr(ch) for ch in bad)}"
    return None


def is_allowed_tag_char(ch: str) -> bool:
    """SageMaker's TagValue pattern: Unicode letters, separators and numbers, and _ . : / = + - @."""
    return ch in _ALLOWED_PUNCTUATION or unicodedata.category(ch)[0] in ("L", "N", "Z")


def check_tags(schema: TagSchema, tags: Mapping[str, str], resource_type: str | None, today: date) -> list[TagProblem]:
    """Every problem with `tags` for a create of `resource_type` (None: check every rule)."""
    problems: list[TagProblem] = []
    for rule in schema.rules_for(resource_type):
        if rule.key not in tags:
            problems.append(TagProblem(rule.key, f"missing (e.g. {rule.key}={rule.suggested_value(today)})"))
        elif problem := rule.value_problem(tags[rule.key], today):
            problems.append(TagProblem(rule.key, problem))
    for key in tags:
        if schema.is_protected(key):
            problems.append(TagProblem(key, "is written by mlgov only; remove it from your tags"))
        elif (known := schema.case_variant_of(key)) is not None:
            problems.append(TagProblem(key, f"spells {known} with other capitals; tag keys are case-sensitive"))
    return problems


def parse_schema(raw: object, meta_schema: Mapping, source: str = "tag_schema.json") -> TagSchema:
    """Validate `raw` against the JSON Schema and the semantic rules; raise SchemaError (one line)."""
    import jsonschema  # only the CLI and synth validate schemas; keeps it out of the Lambdas' cold start

    validator = jsonschema.Draft202012Validator(meta_schema)
    error = jsonschema.exceptions.best_match(validator.iter_errors(raw))
    if error is not None:
        where = _json_path(error.absolute_path) or "(top level)"
        raise SchemaError(f"{source}: {where}: {error.message}")
    assert isinstance(raw, Mapping)
    return build_schema(raw, source)


def build_schema(raw: Mapping, source: str) -> TagSchema:
    """The TagSchema of a document shaped as the JSON Schema says, with the semantic checks (unique keys, one date
    key); SchemaError (one line) when they fail. parse_schema validates the shape first."""
    rules = tuple(_parse_rule(item, index, source) for index, item in enumerate(raw["tags"]))
    _check_unique((rule.key for rule in rules), source)
    if sum(rule.is_date for rule in rules) > 1:
        raise SchemaError(f"{source}: tags: at most one key may have format 'date' (the lifetime tag)")
    protected = raw["protected_tag_keys"]
    studio = raw["studio_ui_creates"]
    return TagSchema(
        rules=rules,
        protected_keys=tuple(protected["keys"]),
        protected_reason=protected["reason"],
        studio_ui_actions=tuple(studio["actions"]),
        studio_ui_enforced=studio["enforce"],
        studio_ui_reason=studio["reason"],
    )


def _parse_rule(item: Mapping, index: int, source: str) -> TagRule:
    where = f"{source}: tags[{index}]"
    pattern = item.get("pattern")
    if pattern is not None:
        try:
            re.compile(pattern)
        except re.error as err:
            raise SchemaError(f"{where}.pattern: not a valid regular expression ({err})") from None
    allowed = item.get("allowed_values")
    applies_to = item.get("applies_to")
    rule = TagRule(
        key=item["key"],
        description=item["description"],
        example=item["example"],
        pattern=pattern,
        allowed_values=tuple(allowed) if allowed is not None else None,
        is_date=item.get("format") == "date",
        scp_value_like=tuple(item.get("scp_value_like", ())),
        scp_denied_values=tuple(item.get("scp_denied_values", ())),
        max_lifetime_days=item.get("max_lifetime_days"),
        default_lifetime_days=item.get("default_lifetime_days"),
        applies_to=frozenset(applies_to) if applies_to is not None else None,
    )
    if rule.is_date and rule.default_lifetime_days is None:
        raise SchemaError(f"{where}.default_lifetime_days: required for a date tag (the auto-tagger default)")
    if (rule.max_lifetime_days or 0) and (rule.default_lifetime_days or 0) > rule.max_lifetime_days:
        raise SchemaError(f"{where}.default_lifetime_days: larger than max_lifetime_days")
    if not rule.is_date and (problem := rule.value_problem(rule.example, date(2000, 1, 1))):
        raise SchemaError(f"{where}.example: {problem}")
    return rule


def _check_unique(keys: Iterable[str], source: str) -> None:
    seen: set[str] = set()
    for key in keys:
        if key in seen:
            raise SchemaError(f"{source}: tags: key '{key}' is listed twice")
        seen.add(key)


def _json_path(path: Iterable[object]) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text
