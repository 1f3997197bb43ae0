"""SageMaker job state-change events as EventBridge delivers them, for tests and the demo.

The training event copies the shape of the documented example ("SageMaker Training Job State Change" in the
SageMaker developer guide, "Events that Amazon SageMaker AI sends to Amazon EventBridge"): the Describe
TrainingJob fields, ISO timestamps, `Tags` as a map, and no BillableTimeInSeconds. Processing and transform
events carry their Describe<Job> shapes (botocore model) with epoch-millisecond timestamps, as a number and
as a string, the other two encodings these events use.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

MEMBER_ACCOUNT = "333333333333"
REGION = "eu-west-1"
ROLE = f"arn:aws:iam::{MEMBER_ACCOUNT}:role/SageMakerExecution"
IMAGE = f"{MEMBER_ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/xgboost:1"
TEAM_TAGS = {"ml:team": "fraud-detection", "ml:model": "churn-xgb", "mlgov:created-by": "alice@example.com"}

TRAINING = "SageMaker Training Job State Change"
PROCESSING = "SageMaker Processing Job State Change"
TRANSFORM = "SageMaker Transform Job State Change"


def epoch_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def envelope(detail_type: str, arn: str, detail: dict, *, account: str, region: str, time: object) -> dict:
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": detail_type,
        "source": "aws.sagemaker",
        "account": account,
        "time": time,
        "region": region,
        "resources": [arn],
        "detail": detail,
    }


def training_event(
    name: str = "churn-xgb-train-20261124",
    *,
    status: str = "Completed",
    account: str = MEMBER_ACCOUNT,
    region: str = REGION,
    instance_type: str = "ml.m5.xlarge",
    instance_count: int = 2,
    created: datetime = datetime(2026, 11, 24, 10, 0, tzinfo=UTC),
    started: datetime | None = datetime(2026, 11, 24, 10, 2, tzinfo=UTC),
    ended: datetime | None = datetime(2026, 11, 24, 10, 47, tzinfo=UTC),
    stamp=iso,
    tags: dict | None = None,
) -> dict:
    """The documented training example's shape, with real values in place of the placeholders."""
    arn = f"arn:aws:sagemaker:{region}:{account}:training-job/{name.lower()}"
    secondary = {"Completed": "Completed", "Failed": "Failed", "Stopped": "Stopped"}.get(status, "Training")
    detail = {
        "TrainingJobName": name,
        "TrainingJobArn": arn,
        "TrainingJobStatus": status,
        "SecondaryStatus": secondary,
        "HyperParameters": {"max_depth": "6", "num_round": "200"},
        "AlgorithmSpecification": {"TrainingImage": IMAGE, "TrainingInputMode": "File"},
        "RoleArn": ROLE,
        "InputDataConfig": [
            {
                "ChannelName": "train",
                "DataSource": {
                    "S3DataSource": {
                        "S3DataType": "S3Prefix",
                        "S3Uri": "s3://ml-data/churn/train/",
                        "S3DataDistributionType": "FullyReplicated",
                    }
                },
                "ContentType": "text/csv",
                "CompressionType": "None",
                "RecordWrapperType": "None",
            }
        ],
        "OutputDataConfig": {"KmsKeyId": "", "S3OutputPath": "s3://ml-artifacts/churn/"},
        "ResourceConfig": {
            "InstanceType": instance_type,
            "InstanceCount": instance_count,
            "VolumeSizeInGB": 30,
            "VolumeKmsKeyId": "",
        },
        "VpcConfig": {},
        "StoppingCondition": {"MaxRuntimeInSeconds": 7200, "MaxWaitTimeInSeconds": 10800},
        "CreationTime": stamp(created),
        "LastModifiedTime": stamp(ended or started or created),
        "SecondaryStatusTransitions": [],
        "Tags": dict(TEAM_TAGS if tags is None else tags),
    }
    if started is not None:
        detail["TrainingStartTime"] = stamp(started)
    if ended is not None:
        detail["TrainingEndTime"] = stamp(ended)
    if status == "Failed":
        detail["FailureReason"] = "AlgorithmError: ExecuteUserScriptError: exit code 1"
    return envelope(TRAINING, arn, detail, account=account, region=region, time=stamp(ended or created))


def processing_event(
    name: str = "churn-features-20261124",
    *,
    status: str = "Completed",
    account: str = MEMBER_ACCOUNT,
    region: str = REGION,
    instance_type: str = "ml.m5.large",
    instance_count: int = 1,
    created: datetime = datetime(2026, 11, 24, 9, 0, tzinfo=UTC),
    started: datetime | None = datetime(2026, 11, 24, 9, 3, tzinfo=UTC),
    ended: datetime | None = datetime(2026, 11, 24, 9, 23, tzinfo=UTC),
    stamp=epoch_ms,
) -> dict:
    arn = f"arn:aws:sagemaker:{region}:{account}:processing-job/{name.lower()}"
    detail = {
        "ProcessingInputs": [
            {
                "InputName": "input-1",
                "AppManaged": False,
                "S3Input": {
                    "S3Uri": "s3://ml-data/churn/raw/",
                    "LocalPath": "/opt/ml/processing/input",
                    "S3DataType": "S3Prefix",
                    "S3InputMode": "File",
                    "S3DataDistributionType": "FullyReplicated",
                },
            }
        ],
        "ProcessingOutputConfig": {
            "Outputs": [
                {
                    "OutputName": "features",
                    "S3Output": {
                        "S3Uri": "s3://ml-data/churn/features/",
                        "LocalPath": "/opt/ml/processing/output",
                        "S3UploadMode": "EndOfJob",
                    },
                    "AppManaged": False,
                }
            ]
        },
        "ProcessingJobName": name,
        "ProcessingResources": {
            "ClusterConfig": {"InstanceCount": instance_count, "InstanceType": instance_type, "VolumeSizeInGB": 10}
        },
        "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
        "AppSpecification": {"ImageUri": IMAGE},
        "RoleArn": ROLE,
        "ProcessingJobArn": arn,
        "ProcessingJobStatus": status,
        "CreationTime": stamp(created),
        "LastModifiedTime": stamp(ended or started or created),
        "Tags": dict(TEAM_TAGS),
    }
    if started is not None:
        detail["ProcessingStartTime"] = stamp(started)
    if ended is not None:
        detail["ProcessingEndTime"] = stamp(ended)
    if status == "Failed":
        detail["FailureReason"] = "ClientError: Please ensure the image exists and the role can pull it"
        detail["ExitMessage"] = "image not found"
    return envelope(PROCESSING, arn, detail, account=account, region=region, time=iso(ended or created))


def transform_event(
    name: str = "churn-batch-20261124",
    *,
    status: str = "Completed",
    account: str = MEMBER_ACCOUNT,
    region: str = REGION,
    instance_type: str = "ml.c5.xlarge",
    instance_count: int = 3,
    created: datetime = datetime(2026, 11, 24, 11, 0, tzinfo=UTC),
    started: datetime | None = datetime(2026, 11, 24, 11, 4, tzinfo=UTC),
    ended: datetime | None = datetime(2026, 11, 24, 11, 14, tzinfo=UTC),
    stamp=lambda moment: str(epoch_ms(moment)),
) -> dict:
    """The documented transform example's shape (TransformResources, Tags map), epoch ms as strings."""
    arn = f"arn:aws:sagemaker:{region}:{account}:transform-job/{name.lower()}"
    detail = {
        "TransformJobName": name,
        "TransformJobArn": arn,
        "TransformJobStatus": status,
        "ModelName": "churn-xgb",
        "MaxConcurrentTransforms": 4,
        "MaxPayloadInMB": 6,
        "BatchStrategy": "MultiRecord",
        "Environment": {},
        "TransformInput": {
            "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://ml-data/churn/score/"}},
            "ContentType": "text/csv",
            "CompressionType": "None",
            "SplitType": "Line",
        },
        "TransformOutput": {"S3OutputPath": "s3://ml-data/churn/scored/", "Accept": "text/csv", "AssembleWith": "Line"},
        "TransformResources": {"InstanceType": instance_type, "InstanceCount": instance_count},
        "CreationTime": stamp(created),
        "Tags": dict(TEAM_TAGS),
    }
    if started is not None:
        detail["TransformStartTime"] = stamp(started)
    if ended is not None:
        detail["TransformEndTime"] = stamp(ended)
    return envelope(TRANSFORM, arn, detail, account=account, region=region, time=iso(ended or created))
