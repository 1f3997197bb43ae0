"""Raw HTTP answers for what moto cannot play: botocore serializes the real request and parses these responses with the
service's own protocol parser, so both sides keep the botocore model's shapes.

Handlers are registered on a session for one operation's `before-send` event, which botocore calls before moto's
catch-all `before-send` handler.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qs

import boto3
from botocore.awsrequest import AWSResponse
from urllib3.response import HTTPResponse


def raw_response(url: str, status: int, body: bytes, headers: dict | None = None) -> AWSResponse:
    raw = HTTPResponse(body=io.BytesIO(body), status=status, preload_content=False)
    return AWSResponse(url, status, {"x-amzn-RequestId": "8c1d7b3e-test", **(headers or {})}, raw)


def refuse_assume_role(session: boto3.Session, account: str) -> None:
    """STS answers AssumeRole into `account` with the 403 AccessDenied it sends when the role's trust or the caller's
    policy does not allow it (query protocol: an XML ErrorResponse)."""

    def send(request, **_):
        role_arn = parse_qs(request.body if isinstance(request.body, str) else request.body.decode())["RoleArn"][0]
        if f"::{account}:" not in role_arn:
            return None
        body = (
            '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type>'
            "<Code>AccessDenied</Code><Message>User: arn:aws:sts::123456789012:assumed-role/mlgov-hub-scanner/"
            f"mlgov-scanner is not authorized to perform: sts:AssumeRole on resource: {role_arn}</Message></Error>"
            "<RequestId>8c1d7b3e-test</RequestId></ErrorResponse>"
        )
        return raw_response(request.url, 403, body.encode(), {"Content-Type": "text/xml"})

    session.events.register("before-send.sts.AssumeRole", send)


def sagemaker_rejects_region(session: boto3.Session, region: str) -> None:
    """SageMaker in a region the account has not enabled: the token is not valid there (JSON protocol error)."""

    def send(request, **_):
        if f".{region}." not in request.url:
            return None
        body = {
            "__type": "UnrecognizedClientException",
            "message": "The security token included in the request is invalid.",
        }
        return raw_response(request.url, 400, json.dumps(body).encode(), {"Content-Type": "application/x-amz-json-1.1"})

    session.events.register("before-send.sagemaker.ListEndpoints", send)


@dataclass
class FakeLambdaContext:
    function_name: str = "mlgov-scanner"
    memory_limit_in_mb: int = 1024
    invoked_function_arn: str = "arn:aws:lambda:eu-west-1:123456789012:function:mlgov-scanner"
    aws_request_id: str = "00000000-0000-0000-0000-000000000000"

    def get_remaining_time_in_millis(self) -> int:
        return 600_000


@dataclass
class InProcessFunction:
    """Lambda's synchronous Invoke of one function, answered by a handler in this process (moto's Lambda would need
    Docker): the serialized Payload goes in, the handler's JSON result (or the Python runtime's error document with
    X-Amz-Function-Error: Unhandled) comes back as Lambda's HTTP response."""

    name: str
    handler: Callable[[dict, object], object]
    events: list[dict] = field(default_factory=list)

    def attach(self, session: boto3.Session) -> boto3.Session:
        session.events.register("before-send.lambda.Invoke", self._send)
        return session

    def _send(self, request, **_):
        if f"/functions/{self.name}/invocations" not in request.url:
            return None
        event = json.loads(request.body)
        self.events.append(event)
        headers = {"X-Amz-Executed-Version": "$LATEST", "Content-Type": "application/json"}
        try:
            body = json.dumps(self.handler(event, FakeLambdaContext(function_name=self.name))).encode()
        except Exception as err:  # the Python runtime reports any exception as an Unhandled function error
            body = json.dumps({"errorMessage": str(err), "errorType": type(err).__name__, "stackTrace": []}).encode()
            headers["X-Amz-Function-Error"] = "Unhandled"
        return raw_response(request.url, 200, body, headers)
