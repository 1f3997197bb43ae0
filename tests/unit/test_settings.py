"""Lambda settings: read from the environment once, on first use; a missing or malformed variable is named."""

from __future__ import annotations

import pytest

from mlgov.domain.tagging import TagDefaults
from mlgov.settings import Settings, SettingsError, settings

VARIABLES = (
    "MLGOV_HUB_ACCOUNT",
    "MLGOV_SPOKE_ROLE",
    "MLGOV_IDEMPOTENCY_TABLE",
    "MLGOV_DLQ_URL",
    "MLGOV_TAG_DEFAULTS",
    "MLGOV_ENDPOINT_URL",
    "MLGOV_TRUSTED_FEDERATION_ROLES",
)
DEFAULTS = TagDefaults("auto-delete-after", 30, frozenset({"endpoint", "notebook-instance"}))


@pytest.fixture
def environment(monkeypatch):
    """A clean mlgov environment and an empty settings cache, before and after the test."""
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    settings.cache_clear()
    yield monkeypatch
    settings.cache_clear()


def test_settings_are_read_from_the_environment(environment) -> None:
    environment.setenv("MLGOV_HUB_ACCOUNT", "123456789012")
    environment.setenv("MLGOV_SPOKE_ROLE", "mlgov-spoke-prod")
    environment.setenv("MLGOV_IDEMPOTENCY_TABLE", "mlgov-auto-tagger-idempotency")
    environment.setenv("MLGOV_DLQ_URL", "https://sqs.eu-west-1.amazonaws.com/123456789012/mlgov-auto-tagger-dlq")
    environment.setenv("MLGOV_TAG_DEFAULTS", DEFAULTS.to_json())
    environment.setenv("MLGOV_ENDPOINT_URL", "http://127.0.0.1:5000")

    assert settings() == Settings(
        hub_account="123456789012",
        spoke_role_name="mlgov-spoke-prod",
        idempotency_table="mlgov-auto-tagger-idempotency",
        dead_letter_queue_url="https://sqs.eu-west-1.amazonaws.com/123456789012/mlgov-auto-tagger-dlq",
        tag_defaults=DEFAULTS,
        endpoint_url="http://127.0.0.1:5000",
    )


def test_only_the_hub_account_is_required(environment) -> None:
    environment.setenv("MLGOV_HUB_ACCOUNT", "123456789012")

    assert settings() == Settings(
        hub_account="123456789012",
        spoke_role_name="mlgov-spoke",
        idempotency_table=None,
        dead_letter_queue_url=None,
        tag_defaults=TagDefaults(lifetime_key=None, lifetime_days=30, lifetime_types=frozenset()),
        endpoint_url=None,
    )


def test_empty_optional_variables_count_as_unset(environment) -> None:
    environment.setenv("MLGOV_HUB_ACCOUNT", "123456789012")
    environment.setenv("MLGOV_IDEMPOTENCY_TABLE", "")
    environment.setenv("MLGOV_DLQ_URL", "")
    environment.setenv("MLGOV_ENDPOINT_URL", "")

    loaded = settings()

    assert (loaded.idempotency_table, loaded.dead_letter_queue_url, loaded.endpoint_url) == (None, None, None)


def test_the_environment_is_read_once(environment) -> None:
    environment.setenv("MLGOV_HUB_ACCOUNT", "123456789012")
    first = settings()
    environment.setenv("MLGOV_HUB_ACCOUNT", "210987654321")

    assert settings() is first
    assert settings().hub_account == "123456789012"

    settings.cache_clear()
    assert settings().hub_account == "210987654321"


@pytest.mark.parametrize("value", [None, ""])
def test_missing_hub_account_is_named(environment, value) -> None:
    if value is not None:
        environment.setenv("MLGOV_HUB_ACCOUNT", value)

    with pytest.raises(SettingsError, match="MLGOV_HUB_ACCOUNT"):
        settings()


@pytest.mark.parametrize(
    "value",
    [
        "not json",
        '{"lifetime_key": "auto-delete-after"}',  # lifetime_days and lifetime_types missing
        '["auto-delete-after", 30]',
        '{"lifetime_key": null, "lifetime_days": "thirty", "lifetime_types": []}',
        "null",
    ],
)
def test_malformed_tag_defaults_are_named(environment, value) -> None:
    environment.setenv("MLGOV_HUB_ACCOUNT", "123456789012")
    environment.setenv("MLGOV_TAG_DEFAULTS", value)

    with pytest.raises(SettingsError, match="MLGOV_TAG_DEFAULTS"):
        settings()


def test_a_failed_read_is_not_cached(environment) -> None:
    with pytest.raises(SettingsError):
        settings()
    environment.setenv("MLGOV_HUB_ACCOUNT", "123456789012")

    assert settings().hub_account == "123456789012"


def test_settings_error_is_a_runtime_error() -> None:
    assert issubclass(SettingsError, RuntimeError)


def test_trusted_federation_roles_are_read_as_a_json_list_of_role_arns(environment) -> None:
    environment.setenv("MLGOV_HUB_ACCOUNT", "123456789012")
    environment.setenv("MLGOV_TRUSTED_FEDERATION_ROLES", '["arn:aws:iam::111122223333:role/federation/ADFS-DS"]')
    assert settings().trusted_federation_roles == ("arn:aws:iam::111122223333:role/federation/ADFS-DS",)


@pytest.mark.parametrize("value", ["ADFS-DS", '"arn:aws:iam::111122223333:role/x"', '["arn:aws:iam::1:user/bob"]'])
def test_malformed_trusted_federation_roles_are_named(environment, value) -> None:
    environment.setenv("MLGOV_HUB_ACCOUNT", "123456789012")
    environment.setenv("MLGOV_TRUSTED_FEDERATION_ROLES", value)
    with pytest.raises(SettingsError, match="MLGOV_TRUSTED_FEDERATION_ROLES must be a JSON list of IAM role ARNs"):
        settings()


@pytest.mark.parametrize("value", ['{"fraud": -1}', '["fraud"]', '{"fraud": "100"}', '{"fraud": true}', "{oops"])
def test_a_malformed_budget_map_is_named(value) -> None:
    from mlgov.settings import budget_map

    with pytest.raises(SettingsError, match="^MLGOV_BUDGETS must be a JSON object of team -> monthly USD"):
        budget_map({"MLGOV_BUDGETS": value}, "MLGOV_BUDGETS")
    assert budget_map({"MLGOV_BUDGETS": '{"fraud": 100, "risk": 2.5}'}, "MLGOV_BUDGETS") == {
        "fraud": 100.0,
        "risk": 2.5,
    }
    assert budget_map({}, "MLGOV_BUDGETS") == {}
