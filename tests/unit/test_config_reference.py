"""The config reference generated from stacks/config.py: complete, true to the validators, in sync with README."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
from pydantic import BaseModel, Field

from stacks.config import (
    DEFAULT_SCAN_SCHEDULE,
    ConfigError,
    CostAnomalyAlertsConfig,
    CostExportConfig,
    MlgovConfig,
    SlackConfig,
    load_config,
)
from stacks.config_reference import (
    DEFAULT_NOTES,
    END_MARKER,
    REQUIRED,
    REQUIRED_IN_ORG_MODE,
    START_MARKER,
    MarkersMissing,
    config_keys,
    extract_block,
    main,
    render_config_reference,
    replace_block,
)

README = Path(__file__).resolve().parents[2] / "README.md"
SLACK = {
    "channel_id": "C0123ABCD",
    "signing_secret_name": "mlgov/slack/signing-secret",
    "bot_token_secret_name": "mlgov/slack/bot-token",
    "approvers": ["U0123ABCD"],
}
SINGLE_ACCOUNT = {"hub_account": "111111111111", "hub_region": "eu-west-1", "slack": SLACK}
ORG = {
    **SINGLE_ACCOUNT,
    "management_account": "222222222222",
    "organization_id": "o-a1b2c3d4e5",
    "target_ous": ["ou-ab12-cdef3456"],
}


def table_rows() -> dict[str, list[str]]:
    lines = render_config_reference().splitlines()[2:]
    rows = [[cell.strip() for cell in line.strip("|").split(" | ")] for line in lines]
    return {row[0].strip("`"): row for row in rows}


NESTED = {"slack": SlackConfig, "cost_export": CostExportConfig, "cost_anomaly_alerts": CostAnomalyAlertsConfig}


def test_every_field_of_the_model_is_a_row_with_nested_fields_flattened():
    expected = [name for name in MlgovConfig.model_fields if name not in NESTED] + [
        f"{parent}.{name}" for parent, model in NESTED.items() for name in model.model_fields
    ]

    assert sorted(table_rows()) == sorted(expected)
    assert not set(NESTED) & set(table_rows())


def test_every_row_has_a_type_a_default_and_the_models_description():
    rows = table_rows()

    for name, field in MlgovConfig.model_fields.items():
        if name not in NESTED:
            assert rows[name][3] == field.description.replace("|", "\\|")
    for parent, model in NESTED.items():
        for name, field in model.model_fields.items():
            assert rows[f"{parent}.{name}"][3] == field.description
    assert all(len(row) == 4 and all(row) for row in rows.values())


def test_defaults_and_types_come_from_the_model():
    rows = table_rows()

    assert rows["hub_account"][1:3] == ["string: a 12-digit AWS account id", REQUIRED]
    assert rows["slack.approvers"][1:3] == ["list of string: a Slack user id like U0123ABCD", REQUIRED]
    assert rows["scan_schedule"][2] == f"`{DEFAULT_SCAN_SCHEDULE}`"
    assert rows["zombie_idle_days"][1:3] == ["integer 1–455", "`30`"]
    assert rows["exempt_principals"][2] == "`[]`"
    assert rows["organization_id"][2] == REQUIRED_IN_ORG_MODE
    assert REQUIRED_IN_ORG_MODE in rows["target_ous"][2]


def test_every_field_without_a_default_is_marked_required():
    keys = {item.key: item for item in config_keys()}
    required = {name for name, field in MlgovConfig.model_fields.items() if field.is_required() and name != "slack"}
    required |= {f"slack.{name}" for name, field in SlackConfig.model_fields.items() if field.is_required()}

    assert {key for key, item in keys.items() if item.default == REQUIRED} == required


def test_single_account_mode_needs_none_of_the_org_mode_keys():
    config = load_config(copy.deepcopy(SINGLE_ACCOUNT))

    assert config.single_account
    assert config.member_regions == ("eu-west-1",)  # the `[hub_region]` default
    assert DEFAULT_NOTES["member_regions"] == "`[hub_region]`"


@pytest.mark.parametrize("key", [key for key, note in DEFAULT_NOTES.items() if REQUIRED_IN_ORG_MODE in note])
def test_keys_noted_required_in_org_mode_are_refused_when_missing_in_org_mode(key):
    with pytest.raises(ConfigError, match=rf"^invalid mlgov config .*: {key}: "):
        load_config({k: v for k, v in copy.deepcopy(ORG).items() if k != key})


def test_target_ous_must_not_be_empty_in_org_mode():
    with pytest.raises(ConfigError, match="target_ous: must not be empty"):
        load_config({**copy.deepcopy(ORG), "target_ous": []})


def test_management_account_switches_to_org_mode():
    assert load_config(copy.deepcopy(ORG)).org_mode
    assert "single-account" in DEFAULT_NOTES["management_account"]


def test_a_field_without_description_is_refused():
    class Undocumented(BaseModel):
        documented: int = Field(1, description="fine")
        silent: int = 2

    with pytest.raises(ValueError, match="silent has no description"):
        render_config_reference(Undocumented)


def test_a_nested_optional_model_makes_its_keys_conditionally_required():
    class Inner(BaseModel):
        url: str = Field(description="where")

    class Outer(BaseModel):
        hook: Inner | None = Field(None, description="optional hook")

    class Outer2(BaseModel):
        hook: Inner = Field(description="required hook")

    assert [(k.key, k.default) for k in config_keys(Outer2)] == [("hook.url", REQUIRED)]
    assert [(k.key, k.default) for k in config_keys(Outer)] == [("hook.url", "required when `hook` is set")]


def test_a_type_without_reference_wording_is_refused():
    class Odd(BaseModel):
        ratio: float = Field(0.5, description="a float the reference cannot word yet")

    with pytest.raises(TypeError, match="no reference wording"):
        config_keys(Odd)


def test_replace_block_keeps_the_markers_and_the_text_around_them():
    document = f"# title\n\nbefore\n{START_MARKER}\nold table\n{END_MARKER}\nafter\n"

    updated = replace_block(document, "| new |\n")

    assert updated == f"# title\n\nbefore\n{START_MARKER}\n| new |\n{END_MARKER}\nafter\n"
    assert replace_block(updated, "| new |\n") == updated
    assert extract_block(updated) == "\n| new |\n"


@pytest.mark.parametrize(
    "document",
    ["no markers", f"{START_MARKER} only the start", f"{END_MARKER} reversed {START_MARKER}"],
)
def test_missing_markers_are_an_error_naming_them(document):
    with pytest.raises(MarkersMissing, match="config-reference:start"):
        replace_block(document, "| t |")


def test_write_without_markers_exits_non_zero_and_leaves_the_file(tmp_path: Path, capsys):
    path = tmp_path / "README.md"
    path.write_text("# no markers\n")

    assert main(["--write", str(path)]) == 2
    assert path.read_text() == "# no markers\n"
    assert "config-reference:start" in capsys.readouterr().err


def test_write_then_check(tmp_path: Path):
    path = tmp_path / "README.md"
    path.write_text(f"a\n{START_MARKER}\n{END_MARKER}\nb\n")

    assert main(["--check", str(path)]) == 1
    assert main(["--write", str(path)]) == 0
    assert main(["--check", str(path)]) == 0
    assert extract_block(path.read_text()).strip() == render_config_reference().strip()


def test_readme_block_matches_the_model():
    block = extract_block(README.read_text(encoding="utf-8"))
    if block is None:
        pytest.skip(f"README.md has no {START_MARKER} ... {END_MARKER} block yet")

    assert block.strip() == render_config_reference().strip(), "README config reference is stale: run `make docs`"
