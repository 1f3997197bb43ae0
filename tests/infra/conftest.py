"""Template fixtures over the stacks tests/conftest.py synthesizes once per test process from the real cdk.json."""

import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def template_json(synthesized):
    """Stack name -> its template, read from the assembly's files. (jsii caches one proxy per object: a stack first
    reached through another's `.dependencies` comes back as a plain CloudArtifact, without `.template`.)"""
    _, assembly = synthesized
    directory = Path(assembly.directory)
    return lambda name: json.loads((directory / f"{name}.template.json").read_text())


@pytest.fixture(scope="session")
def org_template(synthesized):
    from aws_cdk.assertions import Template

    stacks, _ = synthesized
    return Template.from_stack(stacks["org"])


@pytest.fixture(scope="session")
def spoke_template(template_json):
    """The spoke as deployed in org mode: the TemplateBody of the MlgovOrg StackSet, read back from the assembly."""
    from aws_cdk.assertions import Template

    from stacks.org_stack import spoke_template_from_org_template

    return Template.from_json(spoke_template_from_org_template(template_json("MlgovOrg")))
