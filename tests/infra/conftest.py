"""Synthesizes the stacks once per session from the real cdk.json (a synth costs seconds)."""

import json
import os
from pathlib import Path

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
os.environ.setdefault("JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION", "1")

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def cdk_context() -> dict:
    return json.loads((REPO / "cdk.json").read_text())["context"]


@pytest.fixture(scope="session")
def synthesized(cdk_context, tmp_path_factory):
    """(stacks by key, cloud assembly) for the real cdk.json config, with cdk-nag applied."""
    import aws_cdk as cdk

    from stacks.app_builder import build_app

    app = cdk.App(context=cdk_context, outdir=str(tmp_path_factory.mktemp("cdk.out")))
    stacks = build_app(app)
    return stacks, app.synth()


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
