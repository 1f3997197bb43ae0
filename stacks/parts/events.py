"""The EventBridge patterns shared by the spoke forwarding rule and the hub rule (one list, from one table)."""

from __future__ import annotations

import json
from functools import cache

from mlgov.domain.create_event import CREATE_DETAIL_TYPES, SAGEMAKER_SOURCE
from mlgov.domain.job_event import JOB_STATE_CHANGE_DETAIL_TYPES
from mlgov.domain.preflight import HUB_BUS_NAME, PROBE_DETAIL_TYPE, PROBE_SOURCE
from mlgov.repo_files import DEFAULT_POLICIES_DIR

__all__ = ["HUB_BUS_NAME"]  # one name, shared with `mlgov doctor` (mlgov.domain.preflight)


@cache
def tag_accepting_creates() -> tuple[str, ...]:
    """Every Create* that accepts Tags, from policies/governed_actions.json (the SCP compiler's table)."""
    rows = json.loads((DEFAULT_POLICIES_DIR / "governed_actions.json").read_text())
    return tuple(row["operation"] for row in rows if row["accepts_tags"])


# EventBridge rejects event patterns over 2048 characters; stay clear of it.
PATTERN_MAX_CHARS = 2000


def create_call_pattern(event_names: tuple[str, ...] | None = None) -> dict:
    """Successful SageMaker create calls recorded by CloudTrail (a failed call carries errorCode)."""
    return {
        "source": [SAGEMAKER_SOURCE],
        "detail-type": list(CREATE_DETAIL_TYPES),
        "detail": {
            "eventSource": ["sagemaker.amazonaws.com"],
            "eventName": list(tag_accepting_creates() if event_names is None else event_names),
            "errorCode": [{"exists": False}],
        },
    }


def create_call_patterns() -> list[dict]:
    """The create-call pattern, split over as many rules as the size limit needs (one today)."""
    patterns: list[dict] = []
    chunk: list[str] = []
    for name in tag_accepting_creates():
        if chunk and len(json.dumps(create_call_pattern((*chunk, name)))) > PATTERN_MAX_CHARS:
            patterns.append(create_call_pattern(tuple(chunk)))
            chunk = []
        chunk.append(name)
    patterns.append(create_call_pattern(tuple(chunk)))
    return patterns


def job_state_change_pattern() -> dict:
    """Every state change of training, processing and transform jobs; the job_ledger records the terminal ones.

    Not filtered on status: the status field's name differs per job type, and the handler acknowledges the rest.
    """
    return {"source": [SAGEMAKER_SOURCE], "detail-type": list(JOB_STATE_CHANGE_DETAIL_TYPES)}


def doctor_probe_pattern() -> dict:
    """`mlgov doctor`'s probe events: the spoke forwards them from the default bus, the hub queues them for doctor."""
    return {"source": [PROBE_SOURCE], "detail-type": [PROBE_DETAIL_TYPE]}
