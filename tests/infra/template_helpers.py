"""Reading synthesized CloudFormation templates in tests: single resources, rendered values, role grants."""

from __future__ import annotations

import json
import re

from aws_cdk.assertions import Template


def only(template: Template, resource_type: str, props: dict | None = None) -> tuple[str, dict]:
    """The one resource of a type (and properties): (logical id, resource); fails when there are none or several."""
    found = template.find_resources(resource_type, {"Properties": props} if props else None)
    assert len(found) == 1, f"expected one {resource_type} matching {props}, found {sorted(found)}"
    return next(iter(found.items()))


def matching(template: Template, resource_type: str, props: dict) -> dict[str, dict]:
    """Every resource of a type whose properties match `props` (Match patterns allowed): logical id → resource."""
    return template.find_resources(resource_type, {"Properties": props})


def render(value: object) -> object:
    """A CloudFormation value as text: Fn::Join flattened, pseudo parameters as ${AWS::X}, other Refs as ${Ref:X}."""
    if isinstance(value, dict) and len(value) == 1:
        ((function, argument),) = value.items()
        if function == "Fn::Join":
            separator, parts = argument
            return separator.join(str(render(part)) for part in parts)
        if function == "Ref":
            return "${" + argument + "}" if argument.startswith("AWS::") else "${Ref:" + argument + "}"
        if function == "Fn::GetAtt":
            return "${GetAtt:" + ".".join(argument) + "}"
    if isinstance(value, list):
        return [render(item) for item in value]
    return value


def rendered(value: object) -> object:
    """render() at every depth: each intrinsic function becomes its text."""
    if isinstance(value, dict):
        if len(value) == 1 and next(iter(value)) in ("Fn::Join", "Ref", "Fn::GetAtt"):
            return render(value)
        return {key: rendered(item) for key, item in value.items()}
    if isinstance(value, list):
        return [rendered(item) for item in value]
    return value


def as_list(value: object) -> list:
    return value if isinstance(value, list) else [value]


def role_statements(template: Template, role_id: str) -> list[dict]:
    """Every statement granted to a role: its inline policies and the AWS::IAM::Policy resources attached to it."""
    role = template.to_json()["Resources"][role_id]
    statements = [
        statement
        for policy in role["Properties"].get("Policies", [])
        for statement in as_list(policy["PolicyDocument"]["Statement"])
    ]
    for policy in template.find_resources("AWS::IAM::Policy").values():
        if {"Ref": role_id} in policy["Properties"].get("Roles", []):
            statements.extend(as_list(policy["Properties"]["PolicyDocument"]["Statement"]))
    assert not role["Properties"].get("ManagedPolicyArns"), "managed policies escape these checks"
    return statements


def concrete(value: object) -> object:
    """Rendered template values with `${Ref:X}` / `${AWS::X}` made plain text (`ref<X>`), so that the evaluator takes
    them as literal names rather than policy variables."""
    return json.loads(re.sub(r"\$\{([^}]*)\}", r"ref<\1>", json.dumps(value)))
