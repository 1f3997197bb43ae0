"""The checked-in SageMaker price table (mlgov/data/prices.json): reading it and writing it back."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

from mlgov.domain.pricing import PriceTable, PriceTableError, parse_price_table, render_price_table

PRICES_RESOURCE = "data/prices.json"
PACKAGED_PRICES_PATH = Path(__file__).resolve().parent / PRICES_RESOURCE


def load_price_table(path: Path | None = None) -> PriceTable:
    """The table at `path`, or the one packaged with mlgov; PriceTableError (one line) when it is unusable."""
    where = str(path) if path else f"mlgov/{PRICES_RESOURCE}"
    try:
        text = path.read_text() if path else resources.files("mlgov").joinpath(PRICES_RESOURCE).read_text()
    except OSError as err:
        raise PriceTableError(f"cannot read the price table {where}: {err.strerror or err}") from None
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as err:
        raise PriceTableError(f"{where} is not valid JSON: {err.msg} at line {err.lineno}") from None
    try:
        return parse_price_table(raw)
    except PriceTableError as err:
        raise PriceTableError(f"{where}: {err}") from None


def price_table_text(table: PriceTable) -> str:
    return json.dumps(render_price_table(table), indent=2, sort_keys=True) + "\n"


def write_price_table(table: PriceTable, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(price_table_text(table))
