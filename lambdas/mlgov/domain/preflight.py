"""Pure checks of a live installation's prerequisites, each with the fix to print when it fails."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""


@dataclass(frozen=True)
class TrailFacts:
    """What CloudTrail says about one trail, as the adapter read it."""

    name: str
    home_region: str
    multi_region: bool
    organization_trail: bool
    logging: bool
    event_selectors: Sequence[Mapping] = ()
    advanced_event_selectors: Sequence[Mapping] = ()


def records_sagemaker_writes(trail: TrailFacts) -> bool:
    """Does the trail record write management events from sagemaker.amazonaws.com?"""
    if trail.advanced_event_selectors:
        return any(_advanced_selects_sagemaker_writes(s) for s in trail.advanced_event_selectors)
    if not trail.event_selectors:
        return True  # a trail without selectors records all management events
    return any(
        selector.get("IncludeManagementEvents", True)
        and selector.get("ReadWriteType", "All") in ("All", "WriteOnly")
        and "sagemaker.amazonaws.com" not in selector.get("ExcludeManagementEventSources", [])
        for selector in trail.event_selectors
    )


def _advanced_selects_sagemaker_writes(selector: Mapping) -> bool:
    fields = {f.get("Field"): f for f in selector.get("FieldSelectors", [])}
    category = fields.get("eventCategory", {})
    if "Management" not in category.get("Equals", []):
        return False
    read_only = fields.get("readOnly", {})
    if read_only.get("Equals") == ["true"]:
        return False
    source = fields.get("eventSource", {})
    excluded = source.get("NotEquals", [])
    included = source.get("Equals")
    return "sagemaker.amazonaws.com" not in excluded and (included is None or "sagemaker.amazonaws.com" in included)


def check_cloudtrail(trails: Sequence[TrailFacts], region: str) -> Check:
    """SageMaker create calls reach EventBridge only if a logging trail records write management events here."""
    covering = [t for t in trails if t.multi_region or t.home_region == region]
    recording = [t for t in covering if t.logging and records_sagemaker_writes(t)]
    if recording:
        names = ", ".join(t.name + (" (organization trail)" if t.organization_trail else "") for t in recording)
        return Check("cloudtrail", True, f"management events recorded in {region} by {names}")
    if not covering:
        detail = f"no trail covers {region}"
    elif not any(t.logging for t in covering):
        detail = f"trail(s) {', '.join(t.name for t in covering)} exist but are not logging"
    else:
        detail = "no logging trail records SageMaker write management events (check event selectors)"
    return Check(
        "cloudtrail",
        False,
        detail,
        "create a multi-region trail (an organization trail covers every member account) that records write "
        "management events: aws cloudtrail create-trail --name mlgov --s3-bucket-name <bucket> "
        "--is-multi-region-trail && aws cloudtrail start-logging --name mlgov",
    )
