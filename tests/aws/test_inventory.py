"""SageMakerInventory: what one scan of an account-region finds, type by type, and how failures are reported.

Types moto implements run against moto end to end. The rest (Studio, inference components, labeling and AutoML jobs,
HyperPod, notebook instances with tags, feature groups, error paths) go through botocore's Stubber on a real
SageMaker client: every request and response is validated against the service model. Stubbed scans use
max_workers=1 so calls reach the Stubber in a fixed order.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from botocore.config import Config
from botocore.stub import Stubber
from moto import mock_aws

from mlgov.aws.inventory import SUPPORTED_TYPES, EndpointConfigCache, SageMakerInventory
from mlgov.domain.inventory import InstanceGroup, ScanError, Variant

REGION = "eu-west-1"
ACCOUNT = "123456789012"  # moto's default account
ROLE = f"arn:aws:iam::{ACCOUNT}:role/sagemaker-execution"
NOW = datetime(2025, 6, 15, 12, 0, tzinfo=UTC)
LOOKBACK_START = NOW - timedelta(days=45)
CREATED = datetime(2025, 6, 1, 9, 0, tzinfo=UTC)
OWNER_TAGS = {"mlgov:created-by": "alice", "team": "risk"}
PAGE = {"MaxResults": 100}  # the model's largest page for every List call scanned
TAG_PAGE = {"MaxResults": 50}  # ListTags: the model's minimum, and the most tags a resource carries


def arn(resource: str) -> str:
    return f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:{resource}"


def tag_list(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": key, "Value": value} for key, value in tags.items()]


def by_name(resources):
    return {resource.name: resource for resource in resources}


# -- moto ---------------------------------------------------------------------------------------------------------


@pytest.fixture
def moto_sagemaker():
    with mock_aws():
        yield boto3.client("sagemaker", region_name=REGION)


def create_model(client, name: str = "churn-xgb") -> None:
    client.create_model(
        ModelName=name, ExecutionRoleArn=ROLE, PrimaryContainer={"Image": "xgboost:1"}, Tags=tag_list(OWNER_TAGS)
    )


def create_training_job(client, name: str, **extra) -> None:
    client.create_training_job(
        TrainingJobName=name,
        AlgorithmSpecification={"TrainingImage": "xgboost:1", "TrainingInputMode": "File"},
        RoleArn=ROLE,
        OutputDataConfig={"S3OutputPath": "s3://bucket/output"},
        ResourceConfig={"InstanceType": "ml.p3.2xlarge", "InstanceCount": 4, "VolumeSizeInGB": 50},
        StoppingCondition={"MaxRuntimeInSeconds": 3600, "MaxWaitTimeInSeconds": 7200},
        Tags=tag_list(OWNER_TAGS),
        **extra,
    )


def test_endpoints_take_instance_type_from_the_shared_config_and_count_from_the_endpoint(moto_sagemaker):
    create_model(moto_sagemaker)
    moto_sagemaker.create_endpoint_config(
        EndpointConfigName="churn-config",
        ProductionVariants=[
            {
                "VariantName": "gpu",
                "ModelName": "churn-xgb",
                "InstanceType": "ml.g4dn.xlarge",
                "InitialInstanceCount": 2,
            },
            {
                "VariantName": "burst",
                "ModelName": "churn-xgb",
                "ServerlessConfig": {"MemorySizeInMB": 2048, "MaxConcurrency": 5},
            },
        ],
        Tags=tag_list(OWNER_TAGS),
    )
    for name in ("churn-blue", "churn-green"):
        moto_sagemaker.create_endpoint(
            EndpointName=name, EndpointConfigName="churn-config", Tags=tag_list({**OWNER_TAGS, "slot": name})
        )

    inventory = SageMakerInventory(moto_sagemaker, ACCOUNT, REGION, resource_types=["endpoint"])
    resources, errors = inventory.collect()

    assert errors == []
    endpoints = by_name(resources)
    assert set(endpoints) == {"churn-blue", "churn-green"}
    blue = endpoints["churn-blue"]
    assert blue.arn == arn("endpoint/churn-blue")
    assert blue.resource_type == "endpoint"
    assert (blue.status, blue.running) == ("InService", True)
    assert blue.variants == (
        Variant(name="gpu", instance_type="ml.g4dn.xlarge", current_count=2),
        Variant(
            name="burst", instance_type=None, current_count=0, serverless_memory_mb=2048, serverless_max_concurrency=5
        ),
    )
    assert blue.variants[1].serverless and not blue.variants[0].serverless
    # Only instance-backed variants count; the single instance type is lifted onto the resource.
    assert (blue.instance_type, blue.instance_count) == ("ml.g4dn.xlarge", 2)
    assert blue.details["endpoint_config_name"] == "churn-config"
    assert blue.details["variant_names"] == ["gpu", "burst"]
    assert blue.tags == {**OWNER_TAGS, "slot": "churn-blue"}
    assert blue.owner == "alice"
    assert endpoints["churn-green"].tags["slot"] == "churn-green"
    # One Search brings both endpoints with their variants and tags; the config they share is described once.
    assert inventory.api_calls == {"Search": 1, "DescribeEndpointConfig": 1}


def test_training_job_reports_its_instances_spot_flag_and_run_window(moto_sagemaker, instant):
    create_training_job(moto_sagemaker, "fraud-train", EnableManagedSpotTraining=True)

    resources, errors = SageMakerInventory(
        moto_sagemaker, ACCOUNT, REGION, resource_types=["training-job"], now=instant
    ).collect()

    assert errors == []
    [job] = resources
    assert (job.arn, job.resource_type, job.status) == (arn("training-job/fraud-train"), "training-job", "Completed")
    assert (job.instance_type, job.instance_count, job.managed_spot) == ("ml.p3.2xlarge", 4, True)
    assert job.is_job and not job.running
    assert job.started is not None and job.ended is not None
    assert job.tags == OWNER_TAGS
    # moto reports no billable or training seconds; their mapping is covered with the Stubber below.


def test_transform_compilation_tuning_and_processing_jobs_are_found_with_their_facts(moto_sagemaker, instant):
    create_model(moto_sagemaker, "scorer")
    tags = tag_list(OWNER_TAGS)
    moto_sagemaker.create_transform_job(
        TransformJobName="nightly-scoring",
        ModelName="scorer",
        TransformInput={"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://bucket/in"}}},
        TransformOutput={"S3OutputPath": "s3://bucket/out"},
        TransformResources={"InstanceType": "ml.c5.xlarge", "InstanceCount": 3},
        Tags=tags,
    )
    moto_sagemaker.create_compilation_job(
        CompilationJobName="neo-resnet",
        RoleArn=ROLE,
        InputConfig={"S3Uri": "s3://bucket/model.tar.gz", "DataInputConfig": "{}", "Framework": "PYTORCH"},
        OutputConfig={"S3OutputLocation": "s3://bucket/compiled", "TargetDevice": "ml_c5"},
        StoppingCondition={"MaxRuntimeInSeconds": 900},
        Tags=tags,
    )
    moto_sagemaker.create_hyper_parameter_tuning_job(
        HyperParameterTuningJobName="fraud-hpo",
        HyperParameterTuningJobConfig={
            "Strategy": "Bayesian",
            "ResourceLimits": {"MaxNumberOfTrainingJobs": 10, "MaxParallelTrainingJobs": 2},
            "HyperParameterTuningJobObjective": {"Type": "Maximize", "MetricName": "validation:auc"},
        },
        TrainingJobDefinition={
            "AlgorithmSpecification": {"TrainingImage": "xgboost:1", "TrainingInputMode": "File"},
            "RoleArn": ROLE,
            "OutputDataConfig": {"S3OutputPath": "s3://bucket/hpo"},
            "ResourceConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 10},
            "StoppingCondition": {"MaxRuntimeInSeconds": 600},
        },
        Tags=tags,
    )
    moto_sagemaker.create_processing_job(
        ProcessingJobName="features",
        ProcessingResources={
            "ClusterConfig": {"InstanceCount": 2, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 30}
        },
        AppSpecification={"ImageUri": "sklearn:1"},
        RoleArn=ROLE,
        StoppingCondition={"MaxRuntimeInSeconds": 600},
        Tags=tags,
    )

    types = ["transform-job", "compilation-job", "hyper-parameter-tuning-job", "processing-job"]
    inventory = SageMakerInventory(moto_sagemaker, ACCOUNT, REGION, resource_types=types, now=instant)
    resources, errors = inventory.collect()

    assert errors == []
    found = by_name(resources)
    assert {r.resource_type for r in resources} == set(types)
    transform = found["nightly-scoring"]
    assert (transform.instance_type, transform.instance_count) == ("ml.c5.xlarge", 3)
    assert transform.started is not None and transform.ended is not None
    assert transform.details["model_name"] == "scorer"
    compilation = found["neo-resnet"]
    assert (compilation.status, compilation.instance_type) == ("COMPLETED", None)
    assert compilation.started is not None and compilation.ended is not None
    assert compilation.details["instance_type_not_exposed"] is True
    assert compilation.details["target_device"] == "ml_c5"
    tuning = found["fraud-hpo"]
    assert tuning.details["cost_in_children"] is True
    assert tuning.details["strategy"] == "Bayesian"
    assert tuning.details["max_parallel_training_jobs"] == 2
    assert "Completed" in tuning.details["training_job_status_counters"]
    # moto drops ProcessingResources from DescribeProcessingJob; the mapping is covered with the Stubber below.
    assert found["features"].status == "Completed"
    assert all(r.tags == OWNER_TAGS for r in resources)
    # Summaries carry everything for tuning and compilation jobs: no Describe call for them.
    assert "DescribeHyperParameterTuningJob" not in inventory.api_calls
    assert "DescribeCompilationJob" not in inventory.api_calls


def test_concurrent_describes_and_tag_reads_keep_each_job_with_its_own_facts(moto_sagemaker, instant):
    for index in range(25):
        create_training_job(moto_sagemaker, f"sweep-{index:02d}", EnableManagedSpotTraining=index % 2 == 0)
        moto_sagemaker.add_tags(
            ResourceArn=arn(f"training-job/sweep-{index:02d}"), Tags=[{"Key": "index", "Value": str(index)}]
        )

    inventory = SageMakerInventory(
        moto_sagemaker, ACCOUNT, REGION, resource_types=["training-job"], max_workers=8, now=instant
    )
    resources, errors = inventory.collect()

    assert errors == []
    assert sorted(r.name for r in resources) == [f"sweep-{index:02d}" for index in range(25)]
    for job in resources:
        index = int(job.name.removeprefix("sweep-"))
        assert job.tags == {**OWNER_TAGS, "index": str(index)}
        assert job.managed_spot is (index % 2 == 0)
    # One page of the list, then one Describe and one ListTags per job.
    assert inventory.api_calls == {"ListTrainingJobs": 1, "DescribeTrainingJob": 25, "ListTags": 25}


def test_jobs_created_before_the_lookback_window_are_not_listed(moto_sagemaker, instant):
    create_training_job(moto_sagemaker, "old-train")
    later = instant + timedelta(days=60)

    resources, errors = SageMakerInventory(
        moto_sagemaker, ACCOUNT, REGION, resource_types=["training-job"], job_lookback_days=45, now=later
    ).collect()

    assert (resources, errors) == ([], [])


# moto raises NotImplementedError (not a service error) for the List calls it lacks: scan only the types it has.
MOTO_LISTABLE = (
    "endpoint",
    "notebook-instance",
    "domain",
    "training-job",
    "processing-job",
    "transform-job",
    "hyper-parameter-tuning-job",
    "automl-job",
    "compilation-job",
    "cluster",
)


def test_an_empty_account_costs_one_list_call_per_type_and_nothing_else(moto_sagemaker):
    inventory = SageMakerInventory(moto_sagemaker, ACCOUNT, REGION, resource_types=MOTO_LISTABLE)

    assert inventory.collect() == ([], [])
    assert sum(inventory.api_calls.values()) == len(MOTO_LISTABLE)
    assert all(operation.startswith("List") or operation == "Search" for operation in inventory.api_calls)


# -- Stubber ------------------------------------------------------------------------------------------------------


@pytest.fixture
def stubbed():
    client = boto3.client("sagemaker", region_name=REGION)
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def stub_list(stubber, operation: str, key: str, items: list[dict], **params) -> None:
    stubber.add_response(operation, {key: items}, {**params, **PAGE})


def stub_tags(stubber, resource_arn: str, tags: dict[str, str]) -> None:
    stubber.add_response("list_tags", {"Tags": tag_list(tags)}, {"ResourceArn": resource_arn, **TAG_PAGE})


def refuse_search(stubber) -> None:
    """Search denied (a caller without sagemaker:Search): endpoints are listed and described instead."""
    stubber.add_client_error(
        "search",
        service_error_code="AccessDeniedException",
        service_message="User is not authorized to perform: sagemaker:Search",
        expected_params={"Resource": "Endpoint", **PAGE},
    )


def scan(client, *types: str, **options):
    inventory = SageMakerInventory(client, ACCOUNT, REGION, resource_types=types, max_workers=1, now=NOW, **options)
    resources, errors = inventory.collect()
    return inventory, resources, errors


def test_training_job_billable_seconds_heterogeneous_groups_and_warm_pool(stubbed):
    client, stubber = stubbed
    job_arn = arn("training-job/llm-finetune")
    summary = {
        "TrainingJobName": "llm-finetune",
        "TrainingJobArn": job_arn,
        "CreationTime": CREATED,
        "TrainingEndTime": CREATED + timedelta(hours=2),
        "TrainingJobStatus": "Completed",
    }
    stub_list(stubber, "list_training_jobs", "TrainingJobSummaries", [summary], CreationTimeAfter=LOOKBACK_START)
    stubber.add_response(
        "describe_training_job",
        {
            **summary,
            "ModelArtifacts": {"S3ModelArtifacts": "s3://bucket/model.tar.gz"},
            "SecondaryStatus": "Completed",
            "StoppingCondition": {"MaxRuntimeInSeconds": 86400, "MaxWaitTimeInSeconds": 172800},
            "ResourceConfig": {
                "VolumeSizeInGB": 100,
                "KeepAlivePeriodInSeconds": 1800,
                "InstanceGroups": [
                    {"InstanceGroupName": "gpu", "InstanceType": "ml.p4d.24xlarge", "InstanceCount": 2},
                    {"InstanceGroupName": "data", "InstanceType": "ml.c5.18xlarge", "InstanceCount": 1},
                ],
            },
            "WarmPoolStatus": {"Status": "Available", "ResourceRetainedBillableTimeInSeconds": 600},
            "TrainingStartTime": CREATED + timedelta(minutes=5),
            "EnableManagedSpotTraining": True,
            "TrainingTimeInSeconds": 6000,
            "BillableTimeInSeconds": 2400,
        },
        {"TrainingJobName": "llm-finetune"},
    )
    stub_tags(stubber, job_arn, OWNER_TAGS)

    _, [job], errors = scan(client, "training-job")

    assert errors == []
    assert (job.billable_seconds, job.training_seconds, job.managed_spot) == (2400, 6000, True)
    assert job.instance_groups == (
        InstanceGroup("gpu", "ml.p4d.24xlarge", 2, 2),
        InstanceGroup("data", "ml.c5.18xlarge", 1, 1),
    )
    assert (job.instance_type, job.instance_count) == (None, 3)
    assert (job.started, job.ended) == (CREATED + timedelta(minutes=5), CREATED + timedelta(hours=2))
    # The finished job's warm pool still holds (and bills) its instances.
    assert job.running is True
    assert job.details["warm_pool_status"] == "Available"
    assert job.details["keep_alive_seconds"] == 1800


def test_processing_job_reads_its_cluster_config(stubbed):
    client, stubber = stubbed
    job_arn = arn("processing-job/features")
    summary = {
        "ProcessingJobName": "features",
        "ProcessingJobArn": job_arn,
        "CreationTime": CREATED,
        "ProcessingJobStatus": "InProgress",
    }
    stub_list(stubber, "list_processing_jobs", "ProcessingJobSummaries", [summary], CreationTimeAfter=LOOKBACK_START)
    stubber.add_response(
        "describe_processing_job",
        {
            **summary,
            "ProcessingResources": {
                "ClusterConfig": {"InstanceCount": 2, "InstanceType": "ml.m5.4xlarge", "VolumeSizeInGB": 30}
            },
            "AppSpecification": {"ImageUri": "sklearn:1"},
            "ProcessingStartTime": CREATED + timedelta(minutes=3),
        },
        {"ProcessingJobName": "features"},
    )
    stub_tags(stubber, job_arn, {})

    _, [job], errors = scan(client, "processing-job")

    assert errors == []
    assert (job.instance_type, job.instance_count, job.running) == ("ml.m5.4xlarge", 2, True)
    assert (job.started, job.ended) == (CREATED + timedelta(minutes=3), None)
    assert job.details["volume_size_gb"] == 30
    assert job.tags == {}


def test_studio_domain_profiles_spaces_and_apps(stubbed):
    client, stubber = stubbed
    domain_arn = arn("domain/d-abc123")
    stub_list(
        stubber,
        "list_domains",
        "Domains",
        [
            {
                "DomainArn": domain_arn,
                "DomainId": "d-abc123",
                "DomainName": "research",
                "Status": "InService",
                "CreationTime": CREATED,
            }
        ],
    )
    stubber.add_response(
        "describe_domain",
        {
            "DomainArn": domain_arn,
            "DomainId": "d-abc123",
            "DomainName": "research",
            "Status": "InService",
            "AuthMode": "IAM",
            "TagPropagation": "ENABLED",
            "DefaultUserSettings": {
                "JupyterLabAppSettings": {
                    "AppLifecycleManagement": {
                        "IdleSettings": {"LifecycleManagement": "ENABLED", "IdleTimeoutInMinutes": 120}
                    }
                }
            },
        },
        {"DomainId": "d-abc123"},
    )
    stub_tags(stubber, domain_arn, {"team": "research"})

    stub_list(
        stubber,
        "list_user_profiles",
        "UserProfiles",
        [{"DomainId": "d-abc123", "UserProfileName": "Alice", "Status": "InService", "CreationTime": CREATED}],
    )
    # DescribeUserProfile: the profile's own settings (an idle shutdown it switches off overrides the domain's).
    stubber.add_response(
        "describe_user_profile",
        {
            "DomainId": "d-abc123",
            "UserProfileName": "Alice",
            "Status": "InService",
            "UserSettings": {
                "JupyterLabAppSettings": {
                    "AppLifecycleManagement": {"IdleSettings": {"LifecycleManagement": "DISABLED"}}
                }
            },
        },
        {"DomainId": "d-abc123", "UserProfileName": "Alice"},
    )
    # ListUserProfiles carries no ARN: it is built the way SageMaker writes it (lowercased path).
    stub_tags(stubber, arn("user-profile/d-abc123/alice"), OWNER_TAGS)

    space_arn = arn("space/d-abc123/alice-lab")
    stub_list(
        stubber,
        "list_spaces",
        "Spaces",
        [
            {
                "DomainId": "d-abc123",
                "SpaceName": "alice-lab",
                "Status": "InService",
                "CreationTime": CREATED,
                "SpaceSettingsSummary": {"AppType": "JupyterLab"},
                "SpaceSharingSettingsSummary": {"SharingType": "Private"},
                "OwnershipSettingsSummary": {"OwnerUserProfileName": "Alice"},
            }
        ],
    )
    stubber.add_response(
        "describe_space",
        {
            "DomainId": "d-abc123",
            "SpaceArn": space_arn,
            "SpaceName": "alice-lab",
            "Status": "InService",
            "SpaceSettings": {
                "AppType": "JupyterLab",
                "JupyterLabAppSettings": {
                    "DefaultResourceSpec": {"InstanceType": "ml.g5.xlarge"},
                    "AppLifecycleManagement": {"IdleSettings": {"IdleTimeoutInMinutes": 60}},
                },
                "SpaceStorageSettings": {"EbsStorageSettings": {"EbsVolumeSizeInGb": 50}},
            },
        },
        {"DomainId": "d-abc123", "SpaceName": "alice-lab"},
    )
    stub_tags(stubber, space_arn, OWNER_TAGS)

    stub_list(
        stubber,
        "list_apps",
        "Apps",
        [
            {
                "DomainId": "d-abc123",
                "SpaceName": "alice-lab",
                "AppType": "JupyterLab",
                "AppName": "default",
                "Status": "InService",
                "CreationTime": CREATED,
                "ResourceSpec": {"InstanceType": "ml.g5.xlarge"},
            },
            {
                "DomainId": "d-abc123",
                "UserProfileName": "Alice",
                "AppType": "JupyterServer",
                "AppName": "default",
                "Status": "InService",
                "CreationTime": CREATED,
                "ResourceSpec": {"InstanceType": "system"},
            },
            {
                "DomainId": "d-abc123",
                "SpaceName": "alice-lab",
                "AppType": "KernelGateway",
                "AppName": "datascience-ml-m5-large",
                "Status": "Deleted",
                "CreationTime": CREATED,
                "ResourceSpec": {"InstanceType": "ml.m5.large"},
            },
        ],
    )
    lab_arn = arn("app/d-abc123/alice-lab/jupyterlab/default")
    server_arn = arn("app/d-abc123/alice/jupyterserver/default")
    stub_tags(stubber, lab_arn, OWNER_TAGS)
    stub_tags(stubber, server_arn, {})

    inventory, resources, errors = scan(client, "domain", "user-profile", "space", "app")

    assert errors == []
    found = {r.arn: r for r in resources}
    assert set(found) == {domain_arn, arn("user-profile/d-abc123/alice"), space_arn, lab_arn, server_arn}
    domain = found[domain_arn]
    assert (domain.name, domain.resource_type, domain.running) == ("research", "domain", False)
    assert domain.details["tag_propagation"] == "ENABLED"
    assert domain.details["default_idle_settings"] == {
        "JupyterLab": {"LifecycleManagement": "ENABLED", "IdleTimeoutInMinutes": 120}
    }
    assert domain.details["default_app_settings"] == {
        "JupyterLabAppSettings": {
            "AppLifecycleManagement": {"IdleSettings": {"LifecycleManagement": "ENABLED", "IdleTimeoutInMinutes": 120}}
        }
    }
    assert found[arn("user-profile/d-abc123/alice")].owner == "alice"
    assert found[arn("user-profile/d-abc123/alice")].details["idle_settings"] == {
        "JupyterLab": {"LifecycleManagement": "DISABLED"}
    }
    space = found[space_arn]
    assert (space.instance_type, space.running, space.instance_count) == ("ml.g5.xlarge", False, 0)
    assert space.details["app_type"] == "JupyterLab"
    assert space.details["idle_timeout_minutes"] == 60
    assert space.details["ebs_volume_size_gb"] == 50
    assert space.details["owner_user_profile_name"] == "Alice"
    lab = found[lab_arn]
    assert (lab.running, lab.instance_type, lab.instance_count, lab.status) == (True, "ml.g5.xlarge", 1, "InService")
    assert lab.details["space_name"] == "alice-lab" and lab.tags == OWNER_TAGS
    server = found[server_arn]
    assert (server.running, server.instance_type, server.instance_count) == (False, "system", 0)
    assert server.details["user_profile_name"] == "Alice"
    # The deleted KernelGateway app is neither reported nor tag-listed.
    assert inventory.api_calls["ListTags"] == 5


def test_inference_components_keep_their_endpoint_and_compute_requirements(stubbed):
    client, stubber = stubbed
    component_arn = arn("inference-component/llama-ic")
    summary = {
        "CreationTime": CREATED,
        "InferenceComponentArn": component_arn,
        "InferenceComponentName": "llama-ic",
        "EndpointArn": arn("endpoint/shared-gpu"),
        "EndpointName": "shared-gpu",
        "VariantName": "AllTraffic",
        "InferenceComponentStatus": "InService",
        "LastModifiedTime": CREATED,
    }
    stub_list(stubber, "list_inference_components", "InferenceComponents", [summary])
    requirements = {"NumberOfAcceleratorDevicesRequired": 1.0, "MinMemoryRequiredInMb": 16384}
    stubber.add_response(
        "describe_inference_component",
        {
            **{k: v for k, v in summary.items() if k != "InferenceComponentStatus"},
            "InferenceComponentStatus": "InService",
            "Specification": {"ModelName": "llama-3-8b", "ComputeResourceRequirements": requirements},
            "RuntimeConfig": {"DesiredCopyCount": 2, "CurrentCopyCount": 2},
        },
        {"InferenceComponentName": "llama-ic"},
    )
    stub_tags(stubber, component_arn, OWNER_TAGS)

    _, [component], errors = scan(client, "inference-component")

    assert errors == []
    assert (component.resource_type, component.status, component.running) == ("inference-component", "InService", True)
    assert component.instance_type is None  # the instances are the endpoint's
    assert component.details["endpoint_name"] == "shared-gpu"
    assert component.details["variant_name"] == "AllTraffic"
    assert component.details["compute_resource_requirements"] == requirements
    assert component.details["current_copy_count"] == 2
    assert component.details["cost_in_endpoint"] is True
    assert component.owner == "alice"


def test_labeling_and_automl_jobs_are_listed_within_the_lookback_without_describe(stubbed):
    client, stubber = stubbed
    automl_arn = arn("automl-job/churn-autopilot")
    stub_list(
        stubber,
        "list_auto_ml_jobs",
        "AutoMLJobSummaries",
        [
            {
                "AutoMLJobName": "churn-autopilot",
                "AutoMLJobArn": automl_arn,
                "AutoMLJobStatus": "InProgress",
                "AutoMLJobSecondaryStatus": "TrainingModels",
                "CreationTime": CREATED,
                "LastModifiedTime": CREATED,
            }
        ],
        CreationTimeAfter=LOOKBACK_START,
    )
    stub_tags(stubber, automl_arn, OWNER_TAGS)
    labeling_arn = arn("labeling-job/invoices")
    counters = {"TotalLabeled": 900, "HumanLabeled": 600, "MachineLabeled": 300, "Unlabeled": 100}
    stub_list(
        stubber,
        "list_labeling_jobs",
        "LabelingJobSummaryList",
        [
            {
                "LabelingJobName": "invoices",
                "LabelingJobArn": labeling_arn,
                "CreationTime": CREATED,
                "LastModifiedTime": CREATED,
                "LabelingJobStatus": "Completed",
                "LabelCounters": counters,
                "WorkteamArn": arn("workteam/private-crowd/finance"),
            }
        ],
        CreationTimeAfter=LOOKBACK_START,
    )
    stub_tags(stubber, labeling_arn, {})

    inventory, resources, errors = scan(client, "automl-job", "labeling-job")

    assert errors == []
    automl, labeling = resources
    assert (automl.resource_type, automl.running, automl.status) == ("automl-job", True, "InProgress")
    assert automl.details == {"cost_in_children": True, "secondary_status": "TrainingModels"}
    assert (labeling.resource_type, labeling.running) == ("labeling-job", False)
    assert labeling.details["label_counters"] == counters
    assert labeling.details["workteam_arn"] == arn("workteam/private-crowd/finance")
    assert set(inventory.api_calls) == {"ListAutoMLJobs", "ListLabelingJobs", "ListTags"}


def stub_cluster(stubber, name: str, groups: list[tuple[str, str, int, int]], status: str = "InService") -> str:
    cluster_arn = arn(f"cluster/{name}-id")
    stubber.add_response(
        "describe_cluster",
        {
            "ClusterArn": cluster_arn,
            "ClusterName": name,
            "ClusterStatus": status,
            "CreationTime": CREATED,
            "InstanceGroups": [
                {
                    "InstanceGroupName": group,
                    "InstanceType": instance_type,
                    "CurrentCount": current,
                    "TargetCount": target,
                    "ExecutionRole": ROLE,
                }
                for group, instance_type, current, target in groups
            ],
            "Orchestrator": {"Eks": {"ClusterArn": f"arn:aws:eks:{REGION}:{ACCOUNT}:cluster/{name}"}},
        },
        {"ClusterName": name},
    )
    return cluster_arn


def test_hyperpod_clusters_report_groups_and_a_cluster_at_zero_is_not_running(stubbed):
    client, stubber = stubbed
    summaries = [
        {"ClusterArn": arn(f"cluster/{n}-id"), "ClusterName": n, "CreationTime": CREATED, "ClusterStatus": "InService"}
        for n in ("llm-train", "parked")
    ]
    stub_list(stubber, "list_clusters", "ClusterSummaries", summaries)
    busy = stub_cluster(stubber, "llm-train", [("workers", "ml.p5.48xlarge", 4, 4), ("spare", "ml.p5.48xlarge", 0, 0)])
    parked = stub_cluster(stubber, "parked", [("controller", "ml.m5.xlarge", 0, 0), ("workers", "ml.g5.8xlarge", 0, 0)])
    stub_tags(stubber, busy, OWNER_TAGS)
    stub_tags(stubber, parked, {"team": "nlp"})

    _, resources, errors = scan(client, "cluster")

    assert errors == []
    clusters = by_name(resources)
    training = clusters["llm-train"]
    assert training.instance_groups == (
        InstanceGroup("workers", "ml.p5.48xlarge", 4, 4),
        InstanceGroup("spare", "ml.p5.48xlarge", 0, 0),
    )
    assert (training.running, training.instance_type, training.instance_count) == (True, "ml.p5.48xlarge", 4)
    assert training.details["orchestrator"] == "Eks"
    stopped = clusters["parked"]
    assert (stopped.status, stopped.running, stopped.instance_count, stopped.instance_type) == (
        "InService",
        False,
        0,
        None,
    )
    assert stopped.tags == {"team": "nlp"}


def notebook(name: str, status: str, instance_type: str = "ml.t3.medium", **extra) -> dict:
    return {
        "NotebookInstanceName": name,
        "NotebookInstanceArn": arn(f"notebook-instance/{name}"),
        "NotebookInstanceStatus": status,
        "InstanceType": instance_type,
        "CreationTime": CREATED,
        "LastModifiedTime": CREATED,
        **extra,
    }


def test_notebook_instances_come_from_every_page_of_the_list_with_their_tags(stubbed):
    client, stubber = stubbed
    stubber.add_response(
        "list_notebook_instances",
        {
            "NotebookInstances": [notebook("eda", "InService", NotebookInstanceLifecycleConfigName="auto-stop")],
            "NextToken": "page-2",
        },
        PAGE,
    )
    stubber.add_response(
        "list_notebook_instances",
        {"NotebookInstances": [notebook("old-gpu", "Stopped", "ml.p3.2xlarge")]},
        {**PAGE, "NextToken": "page-2"},
    )
    stub_tags(stubber, arn("notebook-instance/eda"), OWNER_TAGS)
    stub_tags(stubber, arn("notebook-instance/old-gpu"), {"team": "cv"})

    inventory, resources, errors = scan(client, "notebook-instance")

    assert errors == []
    eda, old = resources
    assert (eda.running, eda.instance_type, eda.instance_count) == (True, "ml.t3.medium", 1)
    assert eda.details["lifecycle_config_name"] == "auto-stop"
    assert eda.owner == "alice"
    assert (old.running, old.instance_type, old.instance_count, old.status) == (False, "ml.p3.2xlarge", 0, "Stopped")
    assert old.tags == {"team": "cv"}
    assert inventory.api_calls["ListNotebookInstances"] == 2


def test_list_tags_failure_leaves_that_resource_untagged_and_reports_it_once(stubbed):
    client, stubber = stubbed
    stub_list(
        stubber,
        "list_notebook_instances",
        "NotebookInstances",
        [notebook("a", "InService"), notebook("b", "InService")],
    )
    stubber.add_client_error(
        "list_tags",
        service_error_code="ThrottlingException",
        service_message="Rate exceeded",
        http_status_code=400,
        expected_params={"ResourceArn": arn("notebook-instance/a"), **TAG_PAGE},
    )
    stub_tags(stubber, arn("notebook-instance/b"), OWNER_TAGS)

    _, resources, errors = scan(client, "notebook-instance")

    a, b = resources
    assert a.tags == {} and a.details["tags_error"] == "ThrottlingException"
    assert b.tags == OWNER_TAGS and "tags_error" not in b.details
    assert errors == [
        ScanError(
            ACCOUNT,
            REGION,
            "ListTags",
            f"notebook-instance {arn('notebook-instance/a')}: ThrottlingException: Rate exceeded",
        )
    ]


def test_feature_groups_report_their_online_store(stubbed):
    client, stubber = stubbed
    groups = {"customers": True, "transactions": False}
    stub_list(
        stubber,
        "list_feature_groups",
        "FeatureGroupSummaries",
        [
            {
                "FeatureGroupName": name,
                "FeatureGroupArn": arn(f"feature-group/{name}"),
                "CreationTime": CREATED,
                "FeatureGroupStatus": "Created",
            }
            for name in groups
        ],
    )
    for name, online in groups.items():
        stubber.add_response(
            "describe_feature_group",
            {
                "FeatureGroupArn": arn(f"feature-group/{name}"),
                "FeatureGroupName": name,
                "RecordIdentifierFeatureName": "id",
                "EventTimeFeatureName": "ts",
                "FeatureDefinitions": [
                    {"FeatureName": "id", "FeatureType": "String"},
                    {"FeatureName": "ts", "FeatureType": "String"},
                ],
                "CreationTime": CREATED,
                "OnlineStoreConfig": {"EnableOnlineStore": online, "StorageType": "Standard"},
                "OfflineStoreConfig": {"S3StorageConfig": {"S3Uri": f"s3://bucket/{name}"}},
                "ThroughputConfig": {"ThroughputMode": "OnDemand"},
                "FeatureGroupStatus": "Created",
                "NextToken": "",
            },
            {"FeatureGroupName": name},
        )
    for name in groups:
        stub_tags(stubber, arn(f"feature-group/{name}"), OWNER_TAGS)

    _, resources, errors = scan(client, "feature-group")

    assert errors == []
    found = by_name(resources)
    assert found["customers"].details["online_store"] is True
    assert found["transactions"].details["online_store"] is False
    assert found["customers"].details["offline_store_s3_uri"] == "s3://bucket/customers"
    assert found["customers"].details["throughput_mode"] == "OnDemand"
    assert all(r.status == "Created" and not r.running for r in resources)


def test_access_denied_on_one_list_is_a_scan_error_and_the_other_types_still_return(stubbed):
    client, stubber = stubbed
    refuse_search(stubber)
    stubber.add_client_error(
        "list_endpoints",
        service_error_code="AccessDeniedException",
        service_message="User is not authorized to perform: sagemaker:ListEndpoints",
        http_status_code=400,
        expected_params=PAGE,
    )
    stub_list(stubber, "list_notebook_instances", "NotebookInstances", [notebook("eda", "InService")])
    stub_tags(stubber, arn("notebook-instance/eda"), OWNER_TAGS)

    _, resources, errors = scan(client, "endpoint", "notebook-instance")

    assert [r.name for r in resources] == ["eda"]
    assert errors == [
        ScanError(
            ACCOUNT,
            REGION,
            "ListEndpoints",
            "endpoint: AccessDeniedException: User is not authorized to perform: sagemaker:ListEndpoints",
        )
    ]


def test_endpoint_deleted_after_the_list_is_skipped_and_a_deleted_config_is_flagged(stubbed):
    client, stubber = stubbed
    summaries = [
        {
            "EndpointName": name,
            "EndpointArn": arn(f"endpoint/{name}"),
            "CreationTime": CREATED,
            "LastModifiedTime": CREATED,
            "EndpointStatus": "InService",
        }
        for name in ("gone", "orphan")
    ]
    refuse_search(stubber)
    stub_list(stubber, "list_endpoints", "Endpoints", summaries)
    stubber.add_client_error(
        "describe_endpoint",
        service_error_code="ValidationException",
        service_message=f'Could not find endpoint "{arn("endpoint/gone")}".',
        expected_params={"EndpointName": "gone"},
    )
    stubber.add_response(
        "describe_endpoint",
        {
            **summaries[1],
            "EndpointConfigName": "orphan-config",
            "ProductionVariants": [{"VariantName": "AllTraffic", "CurrentInstanceCount": 1, "DesiredInstanceCount": 1}],
        },
        {"EndpointName": "orphan"},
    )
    stubber.add_client_error(
        "describe_endpoint_config",
        service_error_code="ValidationException",
        service_message='Could not find endpoint configuration "orphan-config".',
        expected_params={"EndpointConfigName": "orphan-config"},
    )
    stub_tags(stubber, arn("endpoint/orphan"), {})

    _, [orphan], errors = scan(client, "endpoint")

    assert errors == []
    assert orphan.name == "orphan" and orphan.running
    # The count is known, the instance type is not: costing must report it as unknown, not guess.
    assert orphan.variants == (Variant("AllTraffic", None, 1),)
    assert orphan.details["endpoint_config_missing"] is True


def test_describe_failure_keeps_the_listed_resource_marked_incomplete(stubbed):
    client, stubber = stubbed
    summary = {
        "ClusterArn": arn("cluster/llm-id"),
        "ClusterName": "llm",
        "CreationTime": CREATED,
        "ClusterStatus": "InService",
    }
    stub_list(stubber, "list_clusters", "ClusterSummaries", [summary])
    stubber.add_client_error(
        "describe_cluster",
        service_error_code="AccessDeniedException",
        service_message="not authorized to perform: sagemaker:DescribeCluster",
        expected_params={"ClusterName": "llm"},
    )
    stub_tags(stubber, arn("cluster/llm-id"), OWNER_TAGS)

    _, [cluster], errors = scan(client, "cluster")

    assert (cluster.status, cluster.instance_groups, cluster.tags) == ("InService", (), OWNER_TAGS)
    assert cluster.details["incomplete"] == "DescribeCluster failed: AccessDeniedException"
    assert errors == [
        ScanError(
            ACCOUNT,
            REGION,
            "DescribeCluster",
            "cluster llm: AccessDeniedException: not authorized to perform: sagemaker:DescribeCluster",
        )
    ]


def test_an_unreachable_endpoint_is_a_scan_error_per_type():
    client = boto3.client(
        "sagemaker",
        region_name=REGION,
        endpoint_url="http://127.0.0.1:9",  # the discard port: nothing listens, the connection is refused
        config=Config(retries={"mode": "standard", "max_attempts": 1}, connect_timeout=1),
    )

    resources, errors = SageMakerInventory(client, ACCOUNT, REGION, resource_types=["endpoint", "app"]).collect()

    assert resources == []
    assert [(e.operation, e.message.split(":")[0]) for e in errors] == [
        ("ListEndpoints", "endpoint"),
        ("ListApps", "app"),
    ]
    assert "EndpointConnectionError" in errors[0].message


def test_supported_types_are_arn_resource_names_and_unknown_ones_are_rejected(stubbed):
    client, _ = stubbed
    assert len(SUPPORTED_TYPES) == len(set(SUPPORTED_TYPES)) == 18
    with pytest.raises(ValueError, match=r"unsupported resource types \['notebook'\]"):
        SageMakerInventory(client, ACCOUNT, REGION, resource_types=["notebook"])


# -- endpoints through Search, and the endpoint-config cache -------------------------------------------------------


def _searched(name: str, config: str, modified: datetime, tags: dict[str, str]) -> dict:
    return {
        "Endpoint": {
            "EndpointName": name,
            "EndpointArn": arn(f"endpoint/{name}"),
            "EndpointConfigName": config,
            "EndpointStatus": "InService",
            "CreationTime": CREATED,
            "LastModifiedTime": modified,
            "ProductionVariants": [{"VariantName": "AllTraffic", "CurrentInstanceCount": 2, "DesiredInstanceCount": 2}],
            "Tags": tag_list(tags),
        }
    }


def _config(name: str, created: datetime, instance_type: str = "ml.g5.xlarge") -> dict:
    return {
        "EndpointConfigName": name,
        "EndpointConfigArn": arn(f"endpoint-config/{name}"),
        "CreationTime": created,
        "ProductionVariants": [{"VariantName": "AllTraffic", "ModelName": "m", "InstanceType": instance_type}],
    }


def test_search_pages_bring_endpoints_with_their_variants_and_tags_in_one_call_per_hundred(stubbed):
    client, stubber = stubbed
    modified = CREATED + timedelta(days=1)
    stubber.add_response(
        "search",
        {"Results": [_searched("a", "cfg-a", modified, OWNER_TAGS)], "NextToken": "t1"},
        {"Resource": "Endpoint", **PAGE},
    )
    stubber.add_response(
        "search",
        {"Results": [_searched("b", "cfg-b", modified, {"ml:team": "risk"})]},
        {"Resource": "Endpoint", "NextToken": "t1", **PAGE},
    )
    stubber.add_response("describe_endpoint_config", _config("cfg-a", CREATED), {"EndpointConfigName": "cfg-a"})
    stubber.add_response("describe_endpoint_config", _config("cfg-b", CREATED), {"EndpointConfigName": "cfg-b"})

    inventory, resources, errors = scan(client, "endpoint")

    assert errors == []
    found = by_name(resources)
    assert found["a"].tags == OWNER_TAGS and found["b"].tags == {"ml:team": "risk"}
    assert (found["a"].instance_type, found["a"].instance_count) == ("ml.g5.xlarge", 2)
    assert inventory.api_calls == {"Search": 2, "DescribeEndpointConfig": 2}  # no DescribeEndpoint, no ListTags


def test_a_cached_config_saves_its_describe_until_an_endpoint_using_it_changes(stubbed):
    """The cache holds what a config was when each endpoint using it last changed (endpoint ARN + LastModifiedTime):
    a warm second scan describes nothing; an endpoint updated (or recreated) since is described again."""
    client, stubber = stubbed
    modified = CREATED + timedelta(days=10)
    cache = EndpointConfigCache()
    first = [_searched("old", "cfg", modified, {}), _searched("new", "cfg", modified, {})]
    stubber.add_response("search", {"Results": first}, {"Resource": "Endpoint", **PAGE})
    stubber.add_response(
        "describe_endpoint_config", _config("cfg", CREATED, "ml.m5.large"), {"EndpointConfigName": "cfg"}
    )
    cold, _, _ = scan(client, "endpoint", config_cache=cache)

    stubber.add_response("search", {"Results": first}, {"Resource": "Endpoint", **PAGE})
    warm, resources, _ = scan(
        client, "endpoint", config_cache=EndpointConfigCache(json.loads(json.dumps(cache.dump())))
    )

    updated = [first[0], _searched("new", "cfg", modified + timedelta(hours=1), {})]
    stubber.add_response("search", {"Results": updated}, {"Resource": "Endpoint", **PAGE})
    stubber.add_response(
        "describe_endpoint_config", _config("cfg", CREATED, "ml.p4d.24xlarge"), {"EndpointConfigName": "cfg"}
    )
    again, changed, _ = scan(client, "endpoint", config_cache=cache)

    assert cold.api_calls == {"Search": 1, "DescribeEndpointConfig": 1}
    assert warm.api_calls == {"Search": 1} and {r.instance_type for r in resources} == {"ml.m5.large"}
    assert again.api_calls == {"Search": 1, "DescribeEndpointConfig": 1}
    assert {r.instance_type for r in changed} == {"ml.p4d.24xlarge"}


def test_the_config_cache_forgets_what_no_listed_endpoint_uses_any_more(stubbed):
    """Deleted or updated endpoints leave no entry behind: the cache holds one entry per endpoint in use, and the
    entries of other account-regions are untouched."""
    client, stubber = stubbed
    modified = CREATED + timedelta(days=10)
    elsewhere = {"222222222222/eu-west-1/cfg@arn:x@2026-01-01": {"EndpointConfigName": "cfg"}}
    cache = EndpointConfigCache(elsewhere)
    both = [_searched("old", "cfg", modified, {}), _searched("new", "cfg", modified, {})]
    stubber.add_response("search", {"Results": both}, {"Resource": "Endpoint", **PAGE})
    stubber.add_response("describe_endpoint_config", _config("cfg", CREATED), {"EndpointConfigName": "cfg"})
    scan(client, "endpoint", config_cache=cache)
    cold_entries = set(cache.dump())

    stubber.add_response("search", {"Results": both[1:]}, {"Resource": "Endpoint", **PAGE})
    warm, _, _ = scan(client, "endpoint", config_cache=cache)

    assert len(cold_entries) == 3
    assert warm.api_calls == {"Search": 1}
    assert set(cache.dump()) == {key for key in cold_entries if "endpoint/old@" not in key}
    assert len(cache.dump()) == 2 and set(elsewhere) <= set(cache.dump())


def test_a_search_failure_other_than_a_refusal_is_the_endpoint_types_scan_error(stubbed):
    client, stubber = stubbed
    stubber.add_client_error(
        "search", service_error_code="ThrottlingException", service_message="Rate exceeded", http_status_code=400
    )

    _, resources, errors = scan(client, "endpoint")

    assert resources == []
    assert errors == [ScanError(ACCOUNT, REGION, "Search", "endpoint: ThrottlingException: Rate exceeded")]


def test_mlflow_tracking_servers_are_inventoried_by_size_and_apps_as_serverless(stubbed):
    """MLflow tracking servers bill by size while running (the size is only in the Describe); a stopped one bills
    nothing; MLflow apps are serverless. Costing names the size and never guesses its price."""
    from mlgov.domain.costing import cost_of
    from mlgov.price_files import load_price_table

    client, stubber = stubbed
    servers = [
        {"TrackingServerArn": arn("mlflow-tracking-server/exp"), "TrackingServerName": "exp", "CreationTime": CREATED,
         "TrackingServerStatus": "Started", "IsActive": "Active", "MlflowVersion": "2.16"},
        {"TrackingServerArn": arn("mlflow-tracking-server/old"), "TrackingServerName": "old", "CreationTime": CREATED,
         "TrackingServerStatus": "Stopped", "IsActive": "Inactive", "MlflowVersion": "2.13"},
    ]  # fmt: skip
    stubber.add_response("list_mlflow_tracking_servers", {"TrackingServerSummaries": servers}, PAGE)
    for server, size in zip(servers, ("Medium", "Small"), strict=True):
        stubber.add_response(
            "describe_mlflow_tracking_server",
            {**server, "TrackingServerSize": size, "ArtifactStoreUri": "s3://mlflow/artifacts"},
            {"TrackingServerName": server["TrackingServerName"]},
        )
    for server in servers:
        stubber.add_response("list_tags", {"Tags": []}, {"ResourceArn": server["TrackingServerArn"], **TAG_PAGE})
    app = {"Arn": arn("mlflow-app/app-abc"), "Name": "team-app", "Status": "Created", "CreationTime": CREATED}
    stubber.add_response("list_mlflow_apps", {"Summaries": [app, {**app, "Name": "gone", "Status": "Deleted"}]}, PAGE)
    stubber.add_response("list_tags", {"Tags": tag_list(OWNER_TAGS)}, {"ResourceArn": app["Arn"], **TAG_PAGE})

    _, resources, errors = scan(client, "mlflow-tracking-server", "mlflow-app")

    found = by_name(resources)
    assert errors == [] and set(found) == {"exp", "old", "team-app"}
    assert found["exp"].running and found["exp"].details["tracking_server_size"] == "Medium"
    assert not found["old"].running
    prices = load_price_table()
    assert "MLflow tracking server (Medium)" in cost_of(found["exp"], prices, NOW).reason
    assert cost_of(found["exp"], prices, NOW).monthly_cost_usd is None
    assert cost_of(found["old"], prices, NOW).monthly_cost_usd == 0.0
    assert "serverless MLflow" in cost_of(found["team-app"], prices, NOW).reason
    assert found["team-app"].tags == OWNER_TAGS
