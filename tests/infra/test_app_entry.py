"""app.py and the real CDK CLI: bad config fails synth with one line naming the key; good config synthesizes."""

import json
import os
import subprocess
import sys

import pytest

from tests.infra.conftest import REPO


def _run_app(context: dict, tmp_path) -> subprocess.CompletedProcess:
    env = {**os.environ, "CDK_CONTEXT_JSON": json.dumps(context), "CDK_OUTDIR": str(tmp_path)}
    return subprocess.run([sys.executable, "app.py"], cwd=REPO, env=env, capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize(
    ("change", "key"),
    [
        (lambda c: c.update(zombie_idle_dys=3), "zombie_idle_dys"),
        (lambda c: c.update(zombie_idle_days="30"), "zombie_idle_days"),
        (lambda c: c["slack"].pop("approvers"), "slack.approvers"),
    ],
    ids=["unknown-key", "wrong-type", "missing-required"],
)
def test_bad_config_fails_synth_with_one_line_naming_the_key(cdk_context, tmp_path, change, key):
    context = json.loads(json.dumps(cdk_context))
    change(context["mlgov"])
    result = _run_app(context, tmp_path)
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert key in lines[0] and "Traceback" not in result.stderr


def test_single_account_mode_attaches_no_scps_and_says_so(cdk_context, tmp_path):
    context = json.loads(json.dumps(cdk_context))
    for key in ("management_account", "target_ous"):
        context["mlgov"].pop(key)
    result = _run_app(context, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "single-account mode" in result.stderr
    assert not list(tmp_path.glob("MlgovOrg*.template.json"))


def test_pinned_cdk_cli_synthesizes_the_real_cdk_json(tmp_path):
    cdk = REPO / "node_modules/.bin/cdk"
    if not cdk.exists():
        pytest.fail("node_modules/.bin/cdk missing: run `make node` (make test does)")
    result = subprocess.run(
        [str(cdk), "synth", "--quiet", "--output", str(tmp_path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "CDK_DISABLE_VERSION_CHECK": "1", "CDK_CLI_NOTICES": "false"},
    )
    assert result.returncode == 0, result.stderr
    template = json.loads((tmp_path / "MlgovOrg.template.json").read_text())
    kinds = {resource["Type"] for resource in template["Resources"].values()}
    assert "AWS::Organizations::Policy" in kinds
