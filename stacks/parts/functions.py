"""One way to declare an mlgov Lambda: the shared code asset, runtime, layer, a named role and a log group."""

from __future__ import annotations

from collections.abc import Mapping

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from cdk_nag import NagSuppressions
from constructs import Construct

from stacks.parts.lambda_code import ARCHITECTURE, PYTHON_RUNTIME, mlgov_code, powertools_layer, slack_layer


class MlgovFunction(Construct):
    """`function` runs `mlgov.handlers.<name>.handler` under `role` (fixed name, so spokes can trust it)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        name: str,
        role_name: str,
        description: str,
        environment: Mapping[str, str],
        timeout: cdk.Duration | None = None,
        memory_size: int = 256,
        dead_letter_queue: sqs.IQueue | None = None,
        with_slack: bool = False,
        retry_attempts: int | None = None,
        function_name: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        self.role = iam.Role(
            self,
            "Role",
            role_name=role_name,
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=description[:1000],
        )
        log_group = logs.LogGroup(
            self, "Logs", retention=logs.RetentionDays.THREE_MONTHS, removal_policy=cdk.RemovalPolicy.DESTROY
        )
        layers = [stack.node.try_find_child("PowertoolsLayer") or powertools_layer(stack)]
        if with_slack:
            layers.append(slack_layer(stack))
        self.function = lambda_.Function(
            self,
            "Function",
            function_name=function_name,
            description=description[:256],
            runtime=PYTHON_RUNTIME,
            architecture=ARCHITECTURE,
            code=mlgov_code(),
            handler=f"mlgov.handlers.{name}.handler",
            layers=layers,
            role=self.role,
            memory_size=memory_size,
            timeout=timeout or cdk.Duration.minutes(1),
            log_group=log_group,
            dead_letter_queue=dead_letter_queue,
            retry_attempts=retry_attempts,
            environment={
                "POWERTOOLS_SERVICE_NAME": f"mlgov-{name.replace('_', '-')}",
                "POWERTOOLS_LOG_LEVEL": "INFO",
                **environment,
            },
        )
        log_group.grant_write(self.role)
        NagSuppressions.add_resource_suppressions(
            self.function,
            [
                {
                    "id": "AwsSolutions-L1",
                    "reason": "Python 3.12 is the runtime the pinned Powertools layer and the "
                    "test suite target; moving runtimes is a deliberate, tested change.",
                }
            ],
        )
