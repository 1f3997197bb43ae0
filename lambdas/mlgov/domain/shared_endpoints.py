"""Shared endpoints: which part of an endpoint's instances each inference component it hosts pays for.

An inference-component endpoint bills its instances, whoever's models run on them; its components bill nothing of
their own. mlgov splits the endpoint's monthly run rate by what each component reserves: a copy reserves CPU cores,
memory and accelerator devices (`ComputeResourceRequirements`), so one copy takes the largest of those fractions of
one instance (its dominant share — the resource that stops another copy from fitting), times its current copies,
over the endpoint's instances. What no component reserves stays with the endpoint as unallocated capacity (idle
instances are the endpoint owner's to remove). When a share cannot be measured — an instance size mlgov does not
know, several instance types serving, a component whose requests are unknown or cut into accelerator partitions —
nothing is split and the whole cost stays with the endpoint's tags; the basis says why.

The split moves dollars between owners, never adds any: components' shares plus the endpoint's unallocated part
equal the endpoint's run rate. Pure: data in, data out.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from mlgov.domain.costing import Cost
from mlgov.domain.instance_capacity import Capacity, instance_capacity
from mlgov.domain.inventory import Resource

INFERENCE_COMPONENTS = "inference-components"
MULTI_MODEL = "multi-model"
TEAM_TAG = "ml:team"


@dataclass(frozen=True)
class ComponentShare:
    endpoint_arn: str
    monthly_usd: float
    share_pct: float  # of the endpoint's run rate
    basis: str


@dataclass(frozen=True)
class SharedEndpoint:
    kind: str  # INFERENCE_COMPONENTS | MULTI_MODEL
    members: int | None  # components hosted, or the most models loaded (multi-model; None: CloudWatch did not say)
    allocated_usd_month: float | None  # None: not split (multi-model endpoints)
    unallocated_usd_month: float | None
    basis: str

    def as_json(self) -> dict:
        return {
            "kind": self.kind,
            "members": self.members,
            "allocated_usd_month": _cents(self.allocated_usd_month),
            "unallocated_usd_month": _cents(self.unallocated_usd_month),
            "basis": self.basis,
        }


@dataclass(frozen=True)
class Split:
    components: Mapping[str, ComponentShare]  # component ARN -> its share
    endpoints: Mapping[str, SharedEndpoint]  # endpoint ARN -> how it is shared

    def attributed_usd_month(self, resource: Resource, cost: Cost) -> float | None:
        """The monthly dollars `resource` answers for: a component its share, a split endpoint what no component
        reserves, anything else its own monthly cost."""
        if resource.arn in self.components:
            return self.components[resource.arn].monthly_usd
        shared = self.endpoints.get(resource.arn)
        if shared is not None and shared.unallocated_usd_month is not None:
            return shared.unallocated_usd_month
        return cost.monthly_cost_usd


def split_endpoints(items: Sequence[tuple[Resource, Cost]], loaded_models: Mapping[str, int] | None = None) -> Split:
    """Split every priced endpoint that hosts inference components; mark multi-model endpoints (endpoint ARN ->
    the most models CloudWatch saw loaded) as shared without a split: CloudWatch publishes no per-model metrics for
    them, so their cost stays with the endpoint's own tags."""
    hosted: dict[tuple[str, str, str], list[Resource]] = defaultdict(list)
    for resource, _ in items:
        if resource.resource_type == "inference-component" and resource.details.get("endpoint_name"):
            hosted[(resource.account, resource.region, str(resource.details["endpoint_name"]))].append(resource)
    components: dict[str, ComponentShare] = {}
    endpoints: dict[str, SharedEndpoint] = {}
    for resource, cost in items:
        if resource.resource_type != "endpoint":
            continue
        members = hosted.get((resource.account, resource.region, resource.name), [])
        if members and cost.monthly_cost_usd is not None:
            shares, shared = _split(resource, cost.monthly_cost_usd, members)
            components.update(shares)
            endpoints[resource.arn] = shared
        elif resource.arn in (loaded_models or {}):
            endpoints[resource.arn] = SharedEndpoint(
                MULTI_MODEL,
                loaded_models[resource.arn],
                None,
                None,
                "multi-model endpoint: CloudWatch publishes no per-model metrics, so its cost is not split "
                "and stays with the endpoint's tags",
            )
    return Split(components, endpoints)


def _split(
    endpoint: Resource, monthly: float, members: Sequence[Resource]
) -> tuple[dict[str, ComponentShare], SharedEndpoint]:
    """The components' shares, or none at all (the whole cost stays with the endpoint) when a share cannot be
    measured: an instance size mlgov does not know, several instance types serving, a component whose requests are
    unknown or cut into accelerator partitions."""
    serving = [variant for variant in endpoint.variants if variant.instance_type and variant.current_count > 0]
    types = {variant.instance_type for variant in serving}
    instances = sum(variant.current_count for variant in serving)
    capacity = instance_capacity(next(iter(types))) if len(types) == 1 else None
    why_not = _unmeasurable(members)
    if len(types) != 1 or instances <= 0:
        why_not = why_not or f"its instances are {', '.join(sorted(types)) or 'none'}: no single size to share"
    elif capacity is None:
        why_not = why_not or f"the size of {next(iter(types))} is unknown to mlgov"
    if why_not is None and any(_requirements(m)[2] for m in members) and not capacity.accelerators:
        why_not = "accelerators requested of an instance type without any"
    if why_not is not None:
        basis = f"not split: {why_not}; the cost stays with the endpoint's tags"
        return {}, SharedEndpoint(INFERENCE_COMPONENTS, len(members), None, None, basis)
    (instance_type,) = types
    fractions = {member.arn: _copies(member) * _dominant_share(member, capacity) / instances for member in members}
    reserved = sum(fractions.values())
    basis = (
        f"dominant share of {instances} × {instance_type} ({capacity.describe()}): "
        "copies × requested cores, memory or accelerators"
    )
    if reserved > 1:
        basis += " — requests exceed the nominal capacity, scaled to fit"
        fractions = {arn: share / reserved for arn, share in fractions.items()}
    shares = {
        member.arn: ComponentShare(
            endpoint.arn,
            monthly * fractions[member.arn],
            round(fractions[member.arn] * 100, 1),
            _member_basis(member, basis) + _other_team(member, endpoint),
        )
        for member in members
    }
    allocated = sum(share.monthly_usd for share in shares.values())
    unallocated = max(monthly - allocated, 0.0)
    return shares, SharedEndpoint(INFERENCE_COMPONENTS, len(members), allocated, unallocated, basis)


def _unmeasurable(members: Sequence[Resource]) -> str | None:
    for member in members:
        if member.details.get("base_inference_component_name"):
            continue  # an adapter runs on its base component's reservation
        requested = member.details.get("compute_resource_requirements")
        if not isinstance(requested, Mapping) or member.details.get("current_copy_count") is None:
            return f"the requests of component {member.name} are unknown"
        if requested.get("AcceleratorPartitionType"):
            return f"component {member.name} reserves accelerator partitions, not whole devices"
    return None


def _dominant_share(member: Resource, capacity: Capacity) -> float:
    """The fraction of one instance a copy reserves: its largest request relative to the instance."""
    cores, memory, devices = _requirements(member)
    return max(
        cores / capacity.vcpus,
        memory / capacity.memory_mib,
        devices / capacity.accelerators if capacity.accelerators else 0.0,
    )


def _requirements(member: Resource) -> tuple[float, float, float]:
    """(cores, MiB, accelerator devices) one copy reserves; zeros for an adapter, which runs on its base's."""
    requested = member.details.get("compute_resource_requirements") or {}
    if not isinstance(requested, Mapping):
        return 0.0, 0.0, 0.0
    return (
        float(requested.get("NumberOfCpuCoresRequired") or 0),
        float(requested.get("MinMemoryRequiredInMb") or 0),
        float(requested.get("NumberOfAcceleratorDevicesRequired") or 0),
    )


def _copies(member: Resource) -> int:
    """Copies placed on the instances, whatever the component's status (an Updating one still holds them)."""
    return int(member.details.get("current_copy_count") or 0)


def _member_basis(member: Resource, basis: str) -> str:
    base = member.details.get("base_inference_component_name")
    if base:
        return f"adapter of {base}: runs on its base component's reserved compute"
    if not _copies(member):
        return "no copies running: reserves nothing"
    return basis


def _other_team(member: Resource, endpoint: Resource) -> str:
    """Said when a component bills a team other than its endpoint's: tags are the owners' own words, so a share moved
    onto another team stays visible to both."""
    mine, host = member.tags.get(TEAM_TAG), endpoint.tags.get(TEAM_TAG)
    if mine == host:
        return ""
    return f" — {TEAM_TAG} {mine or '(none)'} differs from the endpoint's ({host or 'none'})"


def _cents(value: float | None) -> float | None:
    return None if value is None else round(value, 2)
