"""Starts the approval state machine for a zombie under a deterministic name: a second start is refused by AWS."""

from __future__ import annotations

import json

from botocore.exceptions import ClientError


def start_approval(client, state_machine_arn: str, name: str, payload: dict) -> bool:
    """True when this call started the execution; False when one with this name already exists (started before).

    Step Functions keeps a Standard execution's name reserved for 90 days after it closes, so a re-run, a retried
    aggregate or two concurrent runs cannot start a second approval for the same zombie episode. Other errors raise.
    """
    try:
        client.start_execution(stateMachineArn=state_machine_arn, name=name, input=json.dumps(payload))
    except ClientError as err:
        if err.response.get("Error", {}).get("Code") == "ExecutionAlreadyExists":
            return False
        raise
    return True
