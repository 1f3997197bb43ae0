"""A one-variant ml.m5.xlarge endpoint (model, config, endpoint) created through a SageMaker client (moto)."""

from __future__ import annotations


def create_endpoint(sm, account: str, name: str, variant: str, tags: dict[str, str], image: str) -> str:
    """Model `<name>-model`, config `<name>-config` and endpoint `name` with one instance on `variant`; its ARN."""
    role = f"arn:aws:iam::{account}:role/SageMakerExecution"
    sm.create_model(ModelName=f"{name}-model", ExecutionRoleArn=role, PrimaryContainer={"Image": image})
    sm.create_endpoint_config(
        EndpointConfigName=f"{name}-config",
        ProductionVariants=[
            {"VariantName": variant, "ModelName": f"{name}-model", "InitialInstanceCount": 1,
             "InstanceType": "ml.m5.xlarge"}
        ],
    )  # fmt: skip
    tag_list = [{"Key": key, "Value": value} for key, value in tags.items()]
    return sm.create_endpoint(EndpointName=name, EndpointConfigName=f"{name}-config", Tags=tag_list)["EndpointArn"]
