"""The hub's approval flow as the scheduler's parking: a park starts the approval state machine with the schedule as
the approval (a deterministic name per endpoint and off period: a retried pass cannot start a second one), a restore
invokes the approval function's `unpark` task. AWS errors propagate (the pass retries on its next run); a refusal by
the approval function is a ParkRefused, recorded and not retried before the next window."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from datetime import datetime

from mlgov.aws.approval_starts import start_approval
from mlgov.domain.endpoint_parking import ParkRefused


def park_execution_name(arn: str, window_id: str) -> str:
    """`park-<hash of the ARN>-<off period>`: within Step Functions' 80 characters of [A-Za-z0-9_-]."""
    digest = hashlib.sha256(arn.encode()).hexdigest()[:24]
    return f"park-{digest}-{re.sub(r'[^0-9A-Za-z]', '', window_id)}"[:80]


class HubParking:
    def __init__(self, stepfunctions, lambda_client, state_machine_arn: str, function_name: str) -> None:
        self._sfn = stepfunctions
        self._lambda = lambda_client
        self._state_machine_arn = state_machine_arn
        self._function = function_name

    def park(self, finding: Mapping[str, str], schedule: str, window_id: str) -> str:
        name = park_execution_name(finding["arn"], window_id)
        payload = {"finding": dict(finding), "park": {"schedule": schedule, "window_id": window_id}}
        start_approval(self._sfn, self._state_machine_arn, name, payload)  # already started: the same park
        return name

    def unpark(self, finding: Mapping[str, str], schedule: str, parked_at: datetime | None) -> dict:
        request = {"task": "unpark", "state": {"finding": dict(finding)}, "schedule": schedule,
                   "parked_at": parked_at.isoformat() if parked_at else None}  # fmt: skip
        response = self._lambda.invoke(FunctionName=self._function, Payload=json.dumps(request).encode())
        result = json.loads(response["Payload"].read() or b"{}")
        if response.get("FunctionError") or not isinstance(result, dict):
            message = result.get("errorMessage") if isinstance(result, dict) else result
            raise ParkRefused(str(message)[:500])
        return result
