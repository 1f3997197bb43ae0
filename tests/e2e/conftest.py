"""Shared by the end-to-end tests: the templates of the repository's cdk.json, as the harness deploys them."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.harness import Templates

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def templates(synthesized) -> Templates:
    """MlgovOrg, MlgovHub and the StackSet's spoke template, as `cdk synth` writes them for the real cdk.json (the
    cloud assembly tests/conftest.py synthesizes once per test process)."""
    _, assembly = synthesized
    return Templates.from_cloud_assembly(assembly.directory)


from tests.e2e.approval_kit import flow  # noqa: E402,F401 (the approval-flow modules' fixture)
