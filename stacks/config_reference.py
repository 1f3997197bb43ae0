"""The config reference table (markdown), generated from the pydantic model in stacks/config.py.

python -m stacks.config_reference                    print the table
python -m stacks.config_reference --write README.md  replace the block between the markers
python -m stacks.config_reference --check README.md  exit 1 when the block is stale
"""

from __future__ import annotations

import argparse
import sys
import types
import typing
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from stacks.config import _PATTERN_DESCRIPTIONS, MlgovConfig

START_MARKER = "<!-- config-reference:start -->"
END_MARKER = "<!-- config-reference:end -->"
REQUIRED = "required"
REQUIRED_IN_ORG_MODE = "required in org mode"
# Keys given in cdk.json in another shape than the model stores them (budgets: an object, kept as sorted pairs), or
# of a type the generic wording does not cover (a number that is not an integer).
TYPE_NOTES = {
    "budgets": "object: `ml:team` value → USD a month (> 0)",
    "cost_anomaly_alerts.threshold_usd": "number: USD (> 0)",
}
# What the model's validators add to the field defaults, which introspection cannot see: the cross-field rules of
# MlgovConfig._require_consistent_mode and the member_regions default factory. tests/unit/test_config_reference.py
# checks each entry against the validators.
DEFAULT_NOTES: dict[str, str] = {
    "management_account": "none → single-account mode",
    "organization_id": REQUIRED_IN_ORG_MODE,
    "target_ous": f"`[]`; {REQUIRED_IN_ORG_MODE} (non-empty)",
    "member_regions": "`[hub_region]`",
    "budgets": "`{}`: no budget alerts",
}


class MarkersMissing(ValueError):
    """The document lacks the start/end markers the table goes between."""


@dataclass(frozen=True)
class ConfigKey:
    key: str  # dotted: slack.channel_id
    type: str
    default: str
    description: str


def config_keys(model: type[BaseModel] = MlgovConfig) -> list[ConfigKey]:
    """Every leaf key of `model` in declaration order; nested models are flattened into dotted keys."""
    return list(_keys(model, prefix="", parent_required=True))


def render_config_reference(model: type[BaseModel] = MlgovConfig) -> str:
    """The markdown table: key, type, default, description."""
    lines = ["| key | type | default | description |", "|---|---|---|---|"]
    for item in config_keys(model):
        cells = (f"`{item.key}`", item.type, item.default, item.description)
        lines.append("| " + " | ".join(_cell(cell) for cell in cells) + " |")
    return "\n".join(lines) + "\n"


def extract_block(document: str) -> str | None:
    """The text between the markers, or None when either marker is missing."""
    start, end = document.find(START_MARKER), document.find(END_MARKER)
    if start < 0 or end < start:
        return None
    return document[start + len(START_MARKER) : end]


def replace_block(document: str, table: str) -> str:
    """`document` with the text between the markers replaced by `table` (markers kept, one per line)."""
    if extract_block(document) is None:
        raise MarkersMissing(
            f"the markers {START_MARKER} and {END_MARKER} (in this order) are missing; "
            "add them where the config reference table belongs"
        )
    start = document.index(START_MARKER) + len(START_MARKER)
    end = document.index(END_MARKER, start)
    return document[:start] + "\n" + table.strip("\n") + "\n" + document[end:]


def _keys(model: type[BaseModel], prefix: str, parent_required: bool) -> Iterator[ConfigKey]:
    for name, field in model.model_fields.items():
        key = f"{prefix}{name}"
        nested = _model_of(field.annotation)
        if nested is not None:
            yield from _keys(nested, f"{key}.", parent_required and field.is_required())
            continue
        if not field.description:
            raise ValueError(f"config key {key} has no description: add Field(description=...) in stacks/config.py")
        yield ConfigKey(
            key,
            TYPE_NOTES.get(key) or _type(field.annotation, field.metadata),
            _default(key, field, parent_required, prefix),
            field.description,
        )


def _default(key: str, field: FieldInfo, parent_required: bool, prefix: str) -> str:
    if key in DEFAULT_NOTES:
        return DEFAULT_NOTES[key]
    if field.default_factory is not None:
        raise ValueError(f"config key {key} has a default factory: describe its default in DEFAULT_NOTES")
    if field.is_required():
        return REQUIRED if parent_required else f"required when `{prefix.rstrip('.')}` is set"
    return _literal(field.default)


def _literal(value: object) -> str:
    if value is None or value is PydanticUndefined:
        return "none"
    if isinstance(value, tuple | list):
        return "`[" + ", ".join(_literal(item).strip("`") for item in value) + "]`"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    return f"`{value}`"


def _type(annotation: object, metadata: Sequence[object] = ()) -> str:
    if typing.get_origin(annotation) is typing.Annotated:
        inner, *extra = typing.get_args(annotation)
        return _type(inner, [*metadata, *extra])
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        options = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
        return " or ".join(_type(option, metadata) for option in options)
    if typing.get_origin(annotation) in (tuple, list):
        return "list of " + _type(typing.get_args(annotation)[0])
    if annotation is bool:
        return "boolean"
    if annotation is int:
        low, high = _bound(metadata, "ge"), _bound(metadata, "le")
        if low is not None and high is not None:
            return f"integer {low}–{high}"
        return "integer" + (f" ≥ {low}" if low is not None else "") + (f" ≤ {high}" if high is not None else "")
    if annotation is str:
        pattern = next((m.pattern for m in metadata if getattr(m, "pattern", None)), None)
        if pattern is None:
            return "string"
        return f"string: {_PATTERN_DESCRIPTIONS.get(pattern) or f'`{pattern}`'}"
    raise TypeError(f"no reference wording for the config type {annotation!r}; extend stacks/config_reference.py")


def _bound(metadata: Sequence[object], name: str) -> object | None:
    return next((getattr(m, name) for m in metadata if getattr(m, name, None) is not None), None)


def _model_of(annotation: object) -> type[BaseModel] | None:
    """The model of a nested-model field (optional or not), else None."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        options = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
        return _model_of(options[0]) if len(options) == 1 else None
    return annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--write", type=Path, metavar="FILE", help="replace the block between the markers in FILE")
    action.add_argument("--check", type=Path, metavar="FILE", help="exit 1 if the block in FILE is stale")
    args = parser.parse_args(argv)
    table = render_config_reference()
    path = args.write or args.check
    if path is None:
        sys.stdout.write(table)
        return 0
    document = path.read_text(encoding="utf-8")
    try:
        updated = replace_block(document, table)
    except MarkersMissing as error:
        print(f"{path}: {error}", file=sys.stderr)
        return 2
    if args.check:
        if updated != document:
            print(f"{path}: the config reference is stale; run `make docs`", file=sys.stderr)
            return 1
        return 0
    if updated != document:
        path.write_text(updated, encoding="utf-8")
        print(f"{path}: config reference updated", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
