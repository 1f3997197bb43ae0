"""Invokes one of the hub's functions by name for a CLI command that acts through the hub (mlgov exempt, mlgov
hyperpod schedule): the payload in, the function's JSON result out, its error as one line."""

from __future__ import annotations

import json
from collections.abc import Mapping


class HubFunctionError(ValueError):
    """The function could not be invoked, or it refused the request; str() is one line."""


def invoke_hub_function(lambda_client, function_name: str, payload: Mapping) -> dict:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        response = lambda_client.invoke(FunctionName=function_name, Payload=json.dumps(payload).encode())
        result = json.loads(response["Payload"].read() or b"{}")
    except (ClientError, BotoCoreError) as err:
        raise HubFunctionError(f"cannot invoke {function_name}: {err}") from None
    if response.get("FunctionError"):
        message = result.get("errorMessage") if isinstance(result, dict) else result
        raise HubFunctionError(f"{function_name} refused: {message}")
    if not isinstance(result, dict):
        raise HubFunctionError(f"{function_name} answered {result!r}, not a JSON object")
    return result
