"""A Step Functions state machine as mlgov deploys them: X-Ray tracing, a 3-month log group (no execution data)."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from cdk_nag import NagSuppressions
from constructs import Construct


def logged_state_machine(
    scope: Construct,
    *,
    name: str,
    definition: sfn.IChainable,
    timeout: cdk.Duration,
    iam5_reason: str,
    state_machine_type: sfn.StateMachineType | None = None,
) -> sfn.StateMachine:
    """`StateMachine` and its `StateMachineLogs` in `scope`; `iam5_reason` explains the wildcards CDK grants it."""
    log_group = logs.LogGroup(
        scope, "StateMachineLogs", retention=logs.RetentionDays.THREE_MONTHS, removal_policy=cdk.RemovalPolicy.DESTROY
    )
    state_machine = sfn.StateMachine(
        scope,
        "StateMachine",
        state_machine_name=name,
        state_machine_type=state_machine_type,
        definition_body=sfn.DefinitionBody.from_chainable(definition),
        timeout=timeout,
        tracing_enabled=True,
        logs=sfn.LogOptions(destination=log_group, level=sfn.LogLevel.ALL, include_execution_data=False),
    )
    NagSuppressions.add_resource_suppressions(
        state_machine, [{"id": "AwsSolutions-IAM5", "reason": iam5_reason}], apply_to_children=True
    )
    return state_machine


# Lambda's throttling error (account or function concurrency exhausted): not in CDK's retry_on_service_exceptions.
LAMBDA_THROTTLED = "Lambda.TooManyRequestsException"


def throttle_retried(task: tasks.LambdaInvoke) -> tasks.LambdaInvoke:
    """Retry a throttled invocation with backoff (10 tries, up to a minute apart: ~5 minutes in all) instead of failing
    the step — a Distributed Map's 40 scans at once in an account whose concurrency quota is 10 wait their turn."""
    task.add_retry(
        errors=[LAMBDA_THROTTLED],
        interval=cdk.Duration.seconds(2),
        max_attempts=10,
        backoff_rate=2,
        max_delay=cdk.Duration.seconds(60),
        jitter_strategy=sfn.JitterType.FULL,
    )
    return task


def lambda_task(scope: Construct, state_id: str, function, payload: dict, **options) -> tasks.LambdaInvoke:
    """A task invoking `function` with `payload` as mlgov's state machines do: the function's result only, Lambda's
    service errors and throttling retried."""
    task = tasks.LambdaInvoke(
        scope,
        state_id,
        lambda_function=function,
        payload=sfn.TaskInput.from_object(payload),
        payload_response_only=True,
        retry_on_service_exceptions=True,
        **options,
    )
    return throttle_retried(task)
