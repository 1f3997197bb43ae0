"""Config and scanner settings of Studio idle shutdown: `studio_idle_shutdown` report|apply (report by default) and
`studio_idle_minutes` within the installed botocore model's IdleTimeoutInMinutes range; a wrong value fails synth
naming the key, and the scanner refuses a malformed environment naming the variable."""

from __future__ import annotations

from typing import Any

import botocore.session
import pytest

from mlgov.settings import ScannerSettings, SettingsError
from stacks.config import ConfigError, load_config

pytestmark = pytest.mark.unit

PREFIX = "invalid mlgov config (cdk.json context 'mlgov'): "
CONFIG: dict[str, Any] = {
    "hub_account": "111111111111",
    "hub_region": "eu-west-1",
    "slack": {
        "channel_id": "C0123ABCD",
        "signing_secret_name": "mlgov/slack/signing-secret",
        "bot_token_secret_name": "mlgov/slack/bot-token",
        "approvers": ["U0123ABCD"],
    },
}
SCANNER_ENV = {
    "MLGOV_HUB_ACCOUNT": "111111111111",
    "MLGOV_ARCHIVE_BUCKET": "archive",
    "MLGOV_FINDINGS_TABLE": "findings",
}
IDLE_TIMEOUT = botocore.session.get_session().get_service_model("sagemaker").shape_for("IdleTimeoutInMinutes").metadata


def test_report_and_60_minutes_by_default_apply_and_the_models_bounds_accepted():
    default = load_config(CONFIG)
    assert (default.studio_idle_shutdown, default.studio_idle_minutes) == ("report", 60)
    for minutes in (IDLE_TIMEOUT["min"], IDLE_TIMEOUT["max"]):
        chosen = load_config({**CONFIG, "studio_idle_shutdown": "apply", "studio_idle_minutes": minutes})
        assert (chosen.studio_idle_shutdown, chosen.studio_idle_minutes) == ("apply", minutes)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"studio_idle_shutdown": "stop"}, "studio_idle_shutdown: must match ^(report|apply)$, got 'stop'"),
        ({"studio_idle_shutdown": True}, "studio_idle_shutdown: "),
        (
            {"studio_idle_minutes": IDLE_TIMEOUT["min"] - 1},
            f"studio_idle_minutes: must be at least {IDLE_TIMEOUT['min']}",
        ),
        (
            {"studio_idle_minutes": IDLE_TIMEOUT["max"] + 1},
            f"studio_idle_minutes: must be at most {IDLE_TIMEOUT['max']}",
        ),
        ({"studio_idle_minutes": "60"}, "studio_idle_minutes: expected an integer, got '60'"),
        ({"studio_idle_minutes": 60.5}, "studio_idle_minutes: "),
        ({"studio_idle_shutdwn": "apply"}, "studio_idle_shutdwn: unknown key (did you mean 'studio_idle_shutdown'?)"),
    ],
)
def test_a_wrong_value_fails_naming_the_key(changes, message):
    with pytest.raises(ConfigError) as raised:
        load_config({**CONFIG, **changes})
    assert str(raised.value).startswith(PREFIX) and message in str(raised.value)


def test_the_scanner_reads_the_mode_and_minutes_and_refuses_anything_else():
    default = ScannerSettings.from_environment(SCANNER_ENV)
    assert (default.studio_idle_shutdown, default.studio_idle_minutes) == ("report", 60)
    chosen = ScannerSettings.from_environment(
        {**SCANNER_ENV, "MLGOV_STUDIO_IDLE_SHUTDOWN": "apply", "MLGOV_STUDIO_IDLE_MINUTES": "120"}
    )
    assert (chosen.studio_idle_shutdown, chosen.studio_idle_minutes) == ("apply", 120)
    for name, value in (("MLGOV_STUDIO_IDLE_SHUTDOWN", "stop"), ("MLGOV_STUDIO_IDLE_MINUTES", "59"),
                        ("MLGOV_STUDIO_IDLE_MINUTES", "525601"), ("MLGOV_STUDIO_IDLE_MINUTES", "an hour")):  # fmt: skip
        with pytest.raises(SettingsError, match=name):
            ScannerSettings.from_environment({**SCANNER_ENV, name: value})
