"""Prints what a synthesized cloud assembly (cdk.out) would deploy: stacks, environments, resources, policies."""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path


def summarize(assembly_dir: Path) -> list[str]:
    manifest = json.loads((assembly_dir / "manifest.json").read_text())
    lines = []
    for name, artifact in manifest.get("artifacts", {}).items():
        if artifact.get("type") != "aws:cloudformation:stack":
            continue
        template = json.loads((assembly_dir / artifact["properties"]["templateFile"]).read_text())
        resources = template.get("Resources", {})
        counts = Counter(resource["Type"] for resource in resources.values())
        lines.append(f"stack {name} -> {artifact.get('environment', '?')}")
        lines += [f"  {count:3} x {kind}" for kind, count in sorted(counts.items())]
        for resource in resources.values():
            if resource["Type"] == "AWS::Organizations::Policy":
                props = resource["Properties"]
                size = len(json.dumps(props["Content"], separators=(",", ":")))
                targets = ", ".join(props.get("TargetIds", [])) or "no targets"
                lines.append(f"      {props['Type']:22} {props['Name']:26} {size:5} chars -> {targets}")
            elif resource["Type"] == "AWS::CloudFormation::StackSet":
                props = resource["Properties"]
                size = len(props.get("TemplateBody", "").encode("utf-8"))
                for group in props.get("StackInstancesGroup", []):
                    ous = ", ".join(group["DeploymentTargets"].get("OrganizationalUnitIds", [])) or "no OUs"
                    regions = ", ".join(group.get("Regions", []))
                    lines.append(
                        f"      {'STACK_SET':22} {props['StackSetName']:26} {size:5} bytes -> {ous} in {regions}"
                    )
    return lines or ["no stacks in the assembly (single-account mode prints SCPs instead of attaching them)"]


def main(argv: list[str]) -> int:
    print("\n".join(summarize(Path(argv[0] if argv else "cdk.out"))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
