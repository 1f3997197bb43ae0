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


ORG_ONLY_KEYS = ("management_account", "organization_id", "target_ous")
COST_EXPORT = {
    "bucket": "finops-exports-111122223333",
    "prefix": "focus/mlgov-focus/data/",
    "kms_key_arn": "arn:aws:kms:us-east-1:111122223333:key/0f0e0d0c-0b0a-0908-0706-050403020100",
}


@pytest.fixture(scope="session")
def single_account(cdk_context, tmp_path_factory):
    """(stacks by key, cloud assembly) for cdk.json without its organization keys: one synth for the module."""
    import aws_cdk as cdk

    from stacks.app_builder import build_app

    context = json.loads(json.dumps(cdk_context))
    for key in ORG_ONLY_KEYS:
        context["mlgov"].pop(key, None)
    # opt-in keys, checked on this synth to spare another: the Slack endpoint's cap, the cost export's Athena pieces
    context["mlgov"]["slack_max_concurrency"] = 20
    context["mlgov"]["cost_export"] = COST_EXPORT
    app = cdk.App(context=context, outdir=str(tmp_path_factory.mktemp("cdk.out.single")))
    stacks = build_app(app)
    return stacks, app.synth()
