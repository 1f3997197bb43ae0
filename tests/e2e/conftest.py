"""Shared by the end-to-end tests: the templates of the repository's cdk.json, synthesized once per session."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e.harness import Templates

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def templates(tmp_path_factory) -> Templates:
    """MlgovOrg, MlgovHub and the StackSet's spoke template, as `cdk synth` writes them for the real cdk.json."""
    context = json.loads((REPO / "cdk.json").read_text())["context"]
    return Templates.synthesize(context, str(tmp_path_factory.mktemp("cdk.out.harness")))
