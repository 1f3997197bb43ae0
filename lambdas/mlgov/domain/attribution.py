"""Who spends what: monthly cost by required ml:* tag value and by creator, and tag compliance by count and by spend."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from mlgov.domain.costing import Cost
from mlgov.domain.inventory import Resource
from mlgov.domain.tag_schema import TagProblem, TagSchema, check_tags

ATTRIBUTION_KEY_PREFIX = "ml:"  # the required keys that split spend (auto-delete-after is a lifetime, not an owner)
UNTAGGED = "(untagged)"
UNKNOWN_OWNER = "(unknown)"


@dataclass(frozen=True)
class Attribution:
    by_tag: Mapping[str, Mapping[str, float]]  # required ml:* key -> value -> monthly USD; missing key: "(untagged)"
    by_owner: Mapping[str, float]  # mlgov:created-by -> monthly USD; "(unknown)" when absent
    untagged_usd_month: float  # spend on resources missing at least one tag required for their type
    tag_compliance_pct: float  # % of resources with no tag problem (100.0 when there are none)
    tag_compliance_usd_pct: float  # % of priced spend on resources with no tag problem (100.0 when spend is 0)
    unpriced_resources: int  # monthly cost None: left out of every dollar figure, counted here


def tag_problems(resource: Resource, schema: TagSchema, today: date) -> list[TagProblem]:
    """check_tags for the resource's type, less what is not a tagging mistake on an existing resource.

    - A lifetime date that has passed is expiry (the report's `expired` status), not a tag problem: the value was
      valid when written. Any other problem with it (bad shape, too far ahead) still counts.
    - mlgov's protected keys (mlgov:created-by...) are written by mlgov itself on existing resources, so only the
      schema's own keys are checked — and their spellings in other capitals (`ML:Team`), named as such: tag keys
      are case-sensitive, so `ML:Team` attributes nothing to a team.
    """
    own_keys = set(schema.required_keys)
    checked = {
        key: value for key, value in resource.tags.items() if key in own_keys or schema.case_variant_of(key) in own_keys
    }
    problems = check_tags(schema, checked, resource.resource_type, today)
    return [problem for problem in problems if not _is_only_expired(problem, checked, schema, today)]


def attribute(
    items: Sequence[tuple[Resource, Cost]],
    schema: TagSchema,
    today: date,
    monthly_of: Callable[[Resource, Cost], float | None] | None = None,
) -> Attribution:
    """Split the priced monthly spend of `items`; each by_tag map sums to the same total as by_owner.
    `monthly_of`: the dollars a resource answers for (default its monthly cost; shared endpoints pass their split)."""
    keys = [key for key in schema.required_keys if key.startswith(ATTRIBUTION_KEY_PREFIX)]
    by_tag: dict[str, defaultdict[str, float]] = {key: defaultdict(float) for key in keys}
    by_owner: defaultdict[str, float] = defaultdict(float)
    compliant_count = unpriced = 0
    total_usd = compliant_usd = untagged_usd = 0.0
    for resource, cost in items:
        compliant = not tag_problems(resource, schema, today)
        compliant_count += compliant
        monthly = monthly_of(resource, cost) if monthly_of else cost.monthly_cost_usd
        if monthly is None:
            unpriced += 1
            continue
        total_usd += monthly
        compliant_usd += monthly if compliant else 0.0
        untagged_usd += monthly if _misses_required_tag(resource, schema) else 0.0
        for key in keys:
            by_tag[key][resource.tags.get(key) or UNTAGGED] += monthly
        by_owner[resource.owner or UNKNOWN_OWNER] += monthly
    return Attribution(
        by_tag={key: dict(values) for key, values in by_tag.items()},
        by_owner=dict(by_owner),
        untagged_usd_month=untagged_usd,
        tag_compliance_pct=_pct(compliant_count, len(items)),
        tag_compliance_usd_pct=_pct(compliant_usd, total_usd),
        unpriced_resources=unpriced,
    )


def _is_only_expired(problem: TagProblem, tags: Mapping[str, str], schema: TagSchema, today: date) -> bool:
    """The problem is a valid lifetime date that is merely in the past: the value passes when checked on its day."""
    if problem.key not in schema.required_keys or problem.key not in tags:
        return False
    rule = schema.rule(problem.key)
    if not rule.is_date:
        return False
    try:
        when = date.fromisoformat(tags[problem.key])
    except ValueError:
        return False
    return when < today and rule.value_problem(tags[problem.key], when) is None


def _misses_required_tag(resource: Resource, schema: TagSchema) -> bool:
    return any(not resource.tags.get(rule.key) for rule in schema.rules_for(resource.resource_type))


def _pct(part: float, whole: float) -> float:
    return 100.0 if whole == 0 else part / whole * 100
