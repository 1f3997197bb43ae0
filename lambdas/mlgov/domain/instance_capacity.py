"""What one SageMaker ML instance offers to the inference components packed on it: vCPUs, memory and accelerator
devices (GPUs, Inferentia/Trainium chips), the nominal EC2 figures of the instance type behind each `ml.` type.

General-purpose, compute- and memory-optimized families follow EC2's sizing rule (large = 2 vCPUs, xlarge = 4,
N·xlarge = 4N; 4, 2 or 8 GiB per vCPU for m, c, r); accelerated families are irregular and listed one by one. A type
in neither is unknown (None): a caller must not guess its size. SageMaker keeps part of each instance's memory for
its own agents, so a component's share measured against the nominal figures is a floor, never an overstatement.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MIB_PER_GIB = 1024


@dataclass(frozen=True)
class Capacity:
    vcpus: int
    memory_mib: int
    accelerators: int = 0

    def describe(self) -> str:
        devices = (
            f", {self.accelerators} accelerator{'s' if self.accelerators != 1 else ''}" if self.accelerators else ""
        )
        return f"{self.vcpus} vCPU, {self.memory_mib // MIB_PER_GIB} GiB{devices}"


# GiB of memory per vCPU by family letter, for the families sized by the EC2 rule.
_GIB_PER_VCPU = {"m": 4, "c": 2, "r": 8}
_REGULAR = re.compile(
    r"^ml\.(?P<letter>[mcr])(?P<generation>5d?|6i|6id|6g|6gd|7i|7g)\.(?P<size>large|(?P<n>\d*)xlarge)$"
)

# The G families' sizes: (size, vCPUs, GPUs); memory is 4 GiB per vCPU (g4dn, g5, g6) or 8 (g6e).
_G_SIZES = (
    ("xlarge", 4, 1),
    ("2xlarge", 8, 1),
    ("4xlarge", 16, 1),
    ("8xlarge", 32, 1),
    ("16xlarge", 64, 1),
    ("12xlarge", 48, 4),
    ("24xlarge", 96, 4),
    ("48xlarge", 192, 8),
)
# (vCPUs, GiB, accelerator devices) of the accelerated types SageMaker hosts, from EC2's instance specifications.
# Inferentia/Trainium types are left out: whether an inference component's accelerator request counts Neuron chips or
# NeuronCores (two per Inferentia2 chip) is unverified, so their shares are not measured.
_ACCELERATED: dict[str, tuple[int, int, int]] = {
    **{
        f"ml.{family}.{size}": (vcpus, vcpus * gib_per_vcpu, devices)
        for family, gib_per_vcpu in (("g4dn", 4), ("g5", 4), ("g6", 4), ("g6e", 8))
        for size, vcpus, devices in _G_SIZES
        if not (family == "g4dn" and size in ("24xlarge", "48xlarge"))
    },
    "ml.p3.2xlarge": (8, 61, 1),
    "ml.p3.8xlarge": (32, 244, 4),
    "ml.p3.16xlarge": (64, 488, 8),
    "ml.p4d.24xlarge": (96, 1152, 8),
    "ml.p4de.24xlarge": (96, 1152, 8),
    "ml.p5.48xlarge": (192, 2048, 8),
}


def instance_capacity(instance_type: str | None) -> Capacity | None:
    """The nominal capacity of an `ml.` instance type; None when mlgov does not know it."""
    if not instance_type:
        return None
    if instance_type in _ACCELERATED:
        vcpus, gib, devices = _ACCELERATED[instance_type]
        return Capacity(vcpus, gib * MIB_PER_GIB, devices)
    match = _REGULAR.match(instance_type)
    if match is None:
        return None
    vcpus = 2 if match["size"] == "large" else 4 * int(match["n"] or 1)
    return Capacity(vcpus, vcpus * _GIB_PER_VCPU[match["letter"]] * MIB_PER_GIB)
