"""SageMakerTags: reads every page of a resource's tags, waits out a new resource's invisibility, adds in one call.

Retries and error shapes go through botocore's Stubber on a real SageMaker client (requests and responses are
checked against the service model); one test runs against moto's SageMaker end to end.
"""

from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from moto import mock_aws

from mlgov.aws.sagemaker_tags import ResourceNotVisible, SageMakerTags

REGION = "eu-west-1"
ACCOUNT = "123456789012"  # moto's default account
ENDPOINT_ARN = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/churn-xgb"
NOT_FOUND_MESSAGE = f"Resource {ENDPOINT_ARN} not found."
DOES_NOT_EXIST_MESSAGE = f"Endpoint {ENDPOINT_ARN} does not exist."


class RecordingSleep:
    """Stands in for time.sleep: records each delay instead of waiting."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


@pytest.fixture
def sagemaker():
    client = boto3.client("sagemaker", region_name=REGION)
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


@pytest.fixture
def sleep() -> RecordingSleep:
    return RecordingSleep()


def tag_list(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": key, "Value": value} for key, value in tags.items()]


def page(stubber: Stubber, tags: dict[str, str], next_token: str | None = None, token_in: str | None = None) -> None:
    response: dict = {"Tags": tag_list(tags)}
    if next_token:
        response["NextToken"] = next_token
    expected = {"ResourceArn": ENDPOINT_ARN, **({"NextToken": token_in} if token_in else {})}
    stubber.add_response("list_tags", response, expected)


def not_yet_visible(stubber: Stubber, code: str = "ResourceNotFound", message: str = NOT_FOUND_MESSAGE) -> None:
    stubber.add_client_error(
        "list_tags", code, message, http_status_code=400, expected_params={"ResourceArn": ENDPOINT_ARN}
    )


# --- list_tags --------------------------------------------------------------------------------


def test_list_tags_reads_every_page_and_merges_them(sagemaker, sleep) -> None:
    client, stubber = sagemaker
    page(stubber, {"ml:team": "fraud-detection", "ml:environment": "dev"}, next_token="page-2")
    page(stubber, {"ml:model": "churn-xgb", "mlgov:created-by": "iam-user/alice"}, token_in="page-2")

    tags = SageMakerTags(client, sleep=sleep).list_tags(ENDPOINT_ARN)

    assert tags == {
        "ml:team": "fraud-detection",
        "ml:environment": "dev",
        "ml:model": "churn-xgb",
        "mlgov:created-by": "iam-user/alice",
    }
    assert sleep.delays == []


def test_an_untagged_resource_has_no_tags(sagemaker) -> None:
    client, stubber = sagemaker
    page(stubber, {})

    assert SageMakerTags(client).list_tags(ENDPOINT_ARN) == {}


def test_list_tags_waits_with_growing_delays_while_the_resource_is_not_found(sagemaker, sleep) -> None:
    client, stubber = sagemaker
    not_yet_visible(stubber)
    not_yet_visible(stubber)
    not_yet_visible(stubber)
    page(stubber, {"ml:team": "fraud-detection"})

    tags = SageMakerTags(client, sleep=sleep, attempts=6, base_delay=0.5).list_tags(ENDPOINT_ARN)

    assert tags == {"ml:team": "fraud-detection"}
    assert sleep.delays == [0.5, 1.0, 2.0]


@pytest.mark.parametrize("message", [DOES_NOT_EXIST_MESSAGE, NOT_FOUND_MESSAGE])
def test_list_tags_waits_on_a_validation_error_saying_the_resource_is_missing(sagemaker, sleep, message) -> None:
    client, stubber = sagemaker
    not_yet_visible(stubber, "ValidationException", message)
    not_yet_visible(stubber, "ValidationException", message)
    page(stubber, {"ml:team": "fraud-detection"})

    tags = SageMakerTags(client, sleep=sleep, base_delay=0.25).list_tags(ENDPOINT_ARN)

    assert tags == {"ml:team": "fraud-detection"}
    assert sleep.delays == [0.25, 0.5]


def test_list_tags_gives_up_after_the_last_attempt(sagemaker, sleep) -> None:
    client, stubber = sagemaker
    for _ in range(4):
        not_yet_visible(stubber)

    with pytest.raises(ResourceNotVisible) as raised:
        SageMakerTags(client, sleep=sleep, attempts=4, base_delay=0.5).list_tags(ENDPOINT_ARN)

    assert str(raised.value) == f"{ENDPOINT_ARN} not visible after 4 attempts"
    assert isinstance(raised.value.__cause__, ClientError)
    assert sleep.delays == [0.5, 1.0, 2.0]  # no pointless wait after the last attempt


def test_access_denied_is_raised_at_once_without_waiting(sagemaker, sleep) -> None:
    client, stubber = sagemaker
    stubber.add_client_error(
        "list_tags",
        "AccessDeniedException",
        f"User: arn:aws:sts::{ACCOUNT}:assumed-role/mlgov-spoke/mlgov-hub is not authorized to perform: "
        f"sagemaker:ListTags on resource: {ENDPOINT_ARN} because no identity-based policy allows the "
        "sagemaker:ListTags action",
        http_status_code=400,
        expected_params={"ResourceArn": ENDPOINT_ARN},
    )

    with pytest.raises(ClientError) as raised:
        SageMakerTags(client, sleep=sleep).list_tags(ENDPOINT_ARN)

    assert raised.value.response["Error"]["Code"] == "AccessDeniedException"
    assert sleep.delays == []


def test_an_unrelated_validation_error_is_raised_at_once(sagemaker, sleep) -> None:
    client, stubber = sagemaker
    stubber.add_client_error(
        "list_tags",
        "ValidationException",
        "1 validation error detected: Value 'endpoint/churn-xgb' at 'resourceArn' failed to satisfy constraint",
        http_status_code=400,
        expected_params={"ResourceArn": ENDPOINT_ARN},
    )

    with pytest.raises(ClientError, match="failed to satisfy constraint"):
        SageMakerTags(client, sleep=sleep).list_tags(ENDPOINT_ARN)

    assert sleep.delays == []


# --- add_tags ---------------------------------------------------------------------------------


def test_add_tags_sends_the_plan_in_one_call_in_order(sagemaker) -> None:
    client, stubber = sagemaker
    plan = {
        "mlgov:created-by": "alice@example.com",
        "mlgov:created-at": "2026-11-24T10:00:00Z",
        "last-invoked": "never",
        "auto-delete-after": "2026-12-24",
    }
    stubber.add_response("add_tags", {"Tags": tag_list(plan)}, {"ResourceArn": ENDPOINT_ARN, "Tags": tag_list(plan)})

    SageMakerTags(client).add_tags(ENDPOINT_ARN, plan)

    stubber.assert_no_pending_responses()  # exactly the one AddTags call, with the expected parameters


def test_an_empty_plan_sends_nothing(sagemaker) -> None:
    client, _ = sagemaker  # nothing is stubbed: any call would raise UnStubbedResponseError
    calls: list[str] = []
    client.meta.events.register("before-call.sagemaker.*", lambda event_name, **_: calls.append(event_name))

    SageMakerTags(client).add_tags(ENDPOINT_ARN, {})

    assert calls == []


# --- on moto ----------------------------------------------------------------------------------


def test_tags_of_a_moto_endpoint_are_read_and_added() -> None:
    with mock_aws():
        client = boto3.client("sagemaker", region_name=REGION)
        client.create_model(
            ModelName="churn-xgb",
            ExecutionRoleArn=f"arn:aws:iam::{ACCOUNT}:role/service-role/AmazonSageMaker-ExecutionRole",
            PrimaryContainer={"Image": "141502667606.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-xgboost:1.7-1"},
        )
        client.create_endpoint_config(
            EndpointConfigName="churn-xgb-config",
            ProductionVariants=[
                {
                    "VariantName": "AllTraffic",
                    "ModelName": "churn-xgb",
                    "InitialInstanceCount": 1,
                    "InstanceType": "ml.m5.large",
                }
            ],
        )
        arn = client.create_endpoint(
            EndpointName="churn-xgb",
            EndpointConfigName="churn-xgb-config",
            Tags=tag_list({"ml:team": "fraud-detection", "ml:environment": "dev"}),
        )["EndpointArn"]
        tags = SageMakerTags(client)

        assert tags.list_tags(arn) == {"ml:team": "fraud-detection", "ml:environment": "dev"}

        tags.add_tags(arn, {"mlgov:created-by": "iam-user/alice"})

        assert tags.list_tags(arn) == {
            "ml:team": "fraud-detection",
            "ml:environment": "dev",
            "mlgov:created-by": "iam-user/alice",
        }
