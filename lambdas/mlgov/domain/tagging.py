"""Decides which tags the auto-tagger adds to a new resource: only missing keys, never an overwrite."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta

from mlgov.domain.create_event import CreateCall
from mlgov.domain.creator_identity import sanitize_tag_value
from mlgov.domain.resource_identity import RESOURCE_ARNS
from mlgov.domain.tag_schema import TagSchema

CREATED_BY = "mlgov:created-by"
CREATED_AT = "mlgov:created-at"
CREATOR_ARN = "mlgov:creator-arn"
LAST_INVOKED = "last-invoked"
MAX_TAGS_PER_RESOURCE = 50
INHERITED_PREFIX = "ml:"
# Keys the auto-tagger may write; the spoke role's AddTags permission is limited to these (aws:TagKeys).
AUTO_TAGGER_KEYS = (CREATED_BY, CREATED_AT, CREATOR_ARN, LAST_INVOKED)


@dataclass(frozen=True)
class TagDefaults:
    """The slice of the tag schema the auto-tagger needs, small enough to pass as one environment variable."""

    lifetime_key: str | None = None
    lifetime_days: int = 30
    lifetime_types: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def from_schema(cls, schema: TagSchema) -> TagDefaults:
        rule = schema.lifetime_rule()
        if rule is None:
            return cls()
        # A rule without applies_to covers every governed type (TagRule.applies_to is None), not none of them.
        types = (
            rule.applies_to if rule.applies_to is not None else {arn.resource_type for arn in RESOURCE_ARNS.values()}
        )
        return cls(rule.key, rule.default_lifetime_days or 30, frozenset(types))

    def to_json(self) -> str:
        return json.dumps(
            {
                "lifetime_key": self.lifetime_key,
                "lifetime_days": self.lifetime_days,
                "lifetime_types": sorted(self.lifetime_types),
            },
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, text: str) -> TagDefaults:
        raw = json.loads(text)
        types = raw["lifetime_types"]
        if not isinstance(types, list) or not all(isinstance(t, str) for t in types):
            raise ValueError("lifetime_types must be a list of resource types")
        return cls(raw["lifetime_key"], int(raw["lifetime_days"]), frozenset(types))


def tagging_plan(
    call: CreateCall,
    existing: Mapping[str, str],
    defaults: TagDefaults,
    inherited: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Tags to add, in priority order, leaving out every key already present or passed on the create call."""
    wanted: dict[str, str] = {
        CREATED_BY: call.creator.display,
        CREATOR_ARN: call.creator.arn,
        CREATED_AT: call.event_time.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    if call.resource_type == "endpoint":
        wanted[LAST_INVOKED] = "never"
    if defaults.lifetime_key and call.resource_type in defaults.lifetime_types:
        wanted[defaults.lifetime_key] = (call.event_time.date() + timedelta(days=defaults.lifetime_days)).isoformat()
    for key, value in (inherited or {}).items():
        if key.startswith(INHERITED_PREFIX):
            wanted.setdefault(key, value)
    present = {**call.request_tags, **existing}
    plan = {key: sanitize_tag_value(value) for key, value in wanted.items() if key not in present and value}
    room = max(MAX_TAGS_PER_RESOURCE - len(present), 0)
    return dict(list(plan.items())[:room])
