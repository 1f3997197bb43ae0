"""Lambda tasks of moto's Step Functions engine, answered by the template's handlers in this process.

moto runs Amazon States Language (``mock_aws(config={"stepfunctions": {"execute_state_machine": True}})``) and calls
a Lambda task's function through ``boto3.client("lambda").invoke(...)`` on boto3's default session (moto:
``stepfunctions/parser/asl/utils/boto_client.py`` and ``.../state_task/lambda_eval_utils.py``). moto's own Lambda
would run the code in Docker, which the build machines lack. ``InProcessLambdas`` answers those Invoke calls in
``before-call.lambda.Invoke``: the function ARN names a template Lambda resource, its ``Handler`` string is imported
and called with the JSON payload and a fake context, and the result comes back as Lambda's Invoke response
(``FunctionError: Unhandled`` and the Python runtime's error payload when the handler raises).

The template's functions get ARNs of their FunctionName (else their logical id), which tests/e2e/harness.py puts
where the template says ``Fn::GetAtt [<function>, Arn]`` (e.g. in a state machine's DefinitionString). Environments
are the caller's business (``os.environ`` is shared by the process) unless ``environments`` is given: then each call
runs with its own function's variables, and a switch to another function clears the ``mlgov`` package's cached
settings and runtimes first — the cold start a separate Lambda process would have.
"""

from __future__ import annotations

import importlib
import io
import json
import os
import sys
import threading
import traceback
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from urllib.parse import unquote

import boto3
from botocore.awsrequest import AWSResponse
from botocore.response import StreamingBody

EVENT = "before-call.lambda.Invoke"


@dataclass
class FakeLambdaContext:
    """What the handlers read from Lambda's context object (Powertools' inject_lambda_context included)."""

    function_name: str
    invoked_function_arn: str
    memory_limit_in_mb: int = 128
    timeout_seconds: int = 3
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    log_group_name: str = "/aws/lambda/test"
    log_stream_name: str = "test"

    def get_remaining_time_in_millis(self) -> int:
        return self.timeout_seconds * 1000


@dataclass(frozen=True)
class Invocation:
    """One call the shim answered: which function, with what, and what it returned or raised."""

    logical_id: str
    event: object
    result: object = None
    error: BaseException | None = None


@dataclass(frozen=True)
class _Function:
    logical_id: str
    arn: str
    handler: str
    memory: int
    timeout: int


class InProcessLambdas:
    """The template's AWS::Lambda::Function resources, served in process to boto3 Invoke calls.

    Use as a context manager inside ``mock_aws``: it registers on boto3's default session (the one moto's ASL engine
    creates its Lambda client from) and unregisters on exit. Handlers run one at a time: a real Lambda invocation
    is a process of its own, here they share module-level caches and clients.
    """

    def __init__(
        self,
        template: Mapping,
        region: str,
        account: str,
        environments: Mapping[str, Mapping[str, str]] | None = None,
    ) -> None:
        self._functions: dict[str, _Function] = {}
        for logical_id, resource in template["Resources"].items():
            if resource["Type"] != "AWS::Lambda::Function":
                continue
            properties = resource["Properties"]
            self._functions[logical_id] = _Function(
                logical_id,
                f"arn:aws:lambda:{region}:{account}:function:{properties.get('FunctionName') or logical_id}",
                properties["Handler"],
                int(properties.get("MemorySize", 128)),
                int(properties.get("Timeout", 3)),
            )
        self.invocations: list[Invocation] = []
        self._environments = environments
        self._active: str | None = None
        self._applied: set[str] = set()
        self._lock = threading.RLock()
        self._events = None
        self._unique_id = f"mlgov-in-process-lambdas-{id(self)}"

    # ---- template values ------------------------------------------------------------------------------------------

    def arn(self, logical_id: str) -> str:
        return self._functions[logical_id].arn

    def logical_ids(self) -> list[str]:
        return list(self._functions)

    def by_handler(self, handler: str) -> str:
        """The logical id of the one function whose Handler is `handler` (DESIGN.md names the entry points)."""
        found = [f.logical_id for f in self._functions.values() if f.handler == handler]
        if len(found) != 1:
            raise KeyError(f"{len(found)} functions with handler {handler}")
        return found[0]

    def serve(self, name: str, event: object) -> tuple[bytes, str | None] | None:
        """Lambda's Invoke for a function of the template named by ARN, name or logical id: (payload, FunctionError);
        None when `name` is no template function."""
        function = self._find(name)
        if function is None:
            return None
        _, payload, function_error = self._run(function, event)
        return payload, function_error

    def logical_id_of(self, name: str) -> str:
        """The logical id of the template function named by ARN, name or logical id."""
        function = self._find(name)
        if function is None:
            raise KeyError(f"no template function {name}")
        return function.logical_id

    def environment(self, logical_id: str) -> dict[str, str]:
        """A copy of the function's own environment (empty without per-function environments)."""
        return dict((self._environments or {}).get(logical_id, {}))

    def set_environment(self, logical_id: str, variables: Mapping[str, str]) -> None:
        """The function's own environment (turns per-function environments on)."""
        if self._environments is None:
            self._environments = {}
        self._environments = {**self._environments, logical_id: dict(variables)}
        self._active = None

    def invoke(self, logical_id: str, event: object) -> Invocation:
        """Runs the function as Lambda would for an asynchronous or direct invocation; returns what happened."""
        self._run(self._functions[logical_id], event)
        return self.invocations[-1]

    # ---- the Invoke hook ------------------------------------------------------------------------------------------

    def __enter__(self) -> InProcessLambdas:
        self._events = boto3._get_default_session().events
        self._events.register(EVENT, self._invoke, unique_id=self._unique_id)
        return self

    def __exit__(self, *exc) -> None:
        if self._events is not None:
            self._events.unregister(EVENT, unique_id=self._unique_id)
            self._events = None

    def calls(self, logical_id: str | None = None) -> list[Invocation]:
        return [call for call in self.invocations if logical_id in (None, call.logical_id)]

    def _find(self, name: str) -> _Function | None:
        """By ARN (qualifier ignored), by function name (FunctionName, else the logical id) or by logical id."""
        name = name.split(":function:", 1)[-1].split(":", 1)[0]
        by_name = {f.arn.rsplit(":function:", 1)[1]: f for f in self._functions.values()}
        return self._functions.get(name) or by_name.get(name)

    def _invoke(self, params: dict, model, context: dict, **_) -> tuple[AWSResponse, dict] | None:
        path = params["url_path"]  # /2015-03-31/functions/<FunctionName, percent-encoded>/invocations
        function = self._find(unquote(path.split("/functions/", 1)[1].split("/", 1)[0]))
        if function is None:
            return None  # not a template function: moto's Lambda answers (or refuses)
        body = params.get("body") or b"{}"
        event = json.loads(body.decode() if isinstance(body, bytes) else body.read().decode())
        headers = {key.lower(): value for key, value in params.get("headers", {}).items()}
        asynchronous = headers.get("x-amz-invocation-type") == "Event"
        status, payload, function_error = self._run(function, event)
        parsed = {
            "ResponseMetadata": {
                "RequestId": str(uuid.uuid4()),
                "HTTPStatusCode": 202 if asynchronous else 200,
                "HTTPHeaders": {},
                "RetryAttempts": 0,
            },
            "StatusCode": 202 if asynchronous else status,
            "ExecutedVersion": "$LATEST",
            "Payload": StreamingBody(io.BytesIO(b"" if asynchronous else payload), 0 if asynchronous else len(payload)),
        }
        if function_error and not asynchronous:
            parsed["FunctionError"] = function_error
        http = AWSResponse(path, parsed["ResponseMetadata"]["HTTPStatusCode"], {}, None)
        return http, parsed

    def _run(self, function: _Function, event: object) -> tuple[int, bytes, str | None]:
        context = FakeLambdaContext(
            function_name=function.logical_id,
            invoked_function_arn=function.arn,
            memory_limit_in_mb=function.memory,
            timeout_seconds=function.timeout,
        )
        with self._lock:
            caller = self._active  # a function invoking another synchronously (its own process in Lambda)
            self._activate(function)
            try:
                result = _import(function.handler)(event, context)
            except Exception as err:  # the Python runtime reports any exception as an Unhandled function error
                self.invocations.append(Invocation(function.logical_id, event, error=err))
                return 200, _error_payload(err, type(err).__name__, context), "Unhandled"
            finally:
                if caller is not None and caller != function.logical_id and caller in self._functions:
                    self._activate(self._functions[caller])  # the caller goes on with its own environment
            self.invocations.append(Invocation(function.logical_id, event, result=result))
        try:
            return 200, json.dumps(result).encode(), None
        except (TypeError, ValueError) as err:  # what Lambda answers for a result it cannot serialize
            return 200, _error_payload(err, "Runtime.MarshalError", context), "Unhandled"

    def _activate(self, function: _Function) -> None:
        """With per-function environments: this function's variables in os.environ, and a cold start on a switch."""
        if self._environments is None or self._active == function.logical_id:
            return
        for name in self._applied:
            os.environ.pop(name, None)
        variables = dict(self._environments.get(function.logical_id, {}))
        os.environ.update(variables)
        self._applied = set(variables)
        clear_mlgov_caches()
        self._active = function.logical_id


def clear_mlgov_caches() -> None:
    """Every functools cache of the mlgov package (settings, runtimes, clients): what a new process starts without."""
    for name, module in list(sys.modules.items()):
        if not name.startswith("mlgov") or module is None:
            continue
        for value in list(vars(module).values()):
            if callable(getattr(value, "cache_clear", None)) and getattr(value, "__module__", None) == name:
                value.cache_clear()


def _import(handler: str) -> Callable:
    module_name, attribute = handler.rsplit(".", 1)
    return getattr(importlib.import_module(module_name), attribute)


def _error_payload(err: BaseException, error_type: str, context: FakeLambdaContext) -> bytes:
    """The Python runtime's error document (errorType is what Step Functions reports as the task's Error)."""
    return json.dumps(
        {
            "errorMessage": str(err),
            "errorType": error_type,
            "requestId": context.aws_request_id,
            "stackTrace": traceback.format_tb(err.__traceback__),
        }
    ).encode()
