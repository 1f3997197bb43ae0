"""SageMaker on-demand hourly prices: the price table, its lookups, and building it from Price List products."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Protocol

SCHEMA_ID = "mlgov.prices/1"
CURRENCY = "USD"
HOSTING = "hosting"
# Where SageMaker bills an instance-hour. `hosting` (real-time endpoints) is the table's base price per region;
# every other component is an optional override, stored only where its price differs from hosting.
COMPONENTS = ("hosting", "async", "transform", "training", "processing", "notebook", "studio", "cluster")

INSTANCE_TYPE = re.compile(r"^ml\.[a-z0-9]+\.[a-z0-9]+$")
REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TOP_LEVEL_KEYS = {"schema", "as_of", "source", "currency", "notes", "regions"}

# Price List `usagetype` is "<region prefix>-<kind>:<instance>", e.g. USE1-Host:ml.m5.xlarge, APS3-Train:ml.r5.4xlarge,
# USE1-Studio:JupyterLab-ml.t3.medium (the prefix is absent in some us-east-1 usage reports).
_USAGE_KIND = re.compile(r"^(?:[A-Z]{2,4}\d?-)?(?P<kind>[A-Za-z]+)[:\-]")
_USAGE_INSTANCE = re.compile(r"ml\.[a-z0-9]+\.[a-z0-9]+$")
USAGE_KINDS = {
    "Host": "hosting",
    "AsyncInf": "async",
    "Tsform": "transform",
    "Train": "training",
    "Processing": "processing",
    "Notebk": "notebook",
    "Studio": "studio",
}
# Not an on-demand instance-hour: managed spot training, training-plan reservations.
_SKIPPED_KIND_PARTS = ("Spt", "Spot", "Upfront", "Plan")
# The product's `component` attribute, lower-cased; consulted when the usagetype kind is not one we know.
COMPONENT_ATTRIBUTES = {
    "hosting": "hosting",
    "training": "training",
    "processing": "processing",
    "notebook": "notebook",
    "cluster": "cluster",
    "batch transform": "transform",
    "transform": "transform",
}
_HOURLY_UNITS = {"hrs", "hours"}


class PriceTableError(ValueError):
    """A price table document that cannot be used; the message is one line naming the problem."""


@dataclass(frozen=True)
class PriceLookup:
    hourly_usd: float | None
    reason: str
    source: str | None = None  # the table that priced it (its label); None when unpriced


class Prices(Protocol):
    """What costing needs: an hourly price with its reason and source (a PriceTable, or a live PriceBook)."""

    def hourly(self, instance_type: str, region: str, component: str = ...) -> PriceLookup: ...

    def summary(self) -> dict[str, str]: ...


@dataclass(frozen=True)
class PriceTable:
    as_of: str
    source: str
    currency: str
    prices: Mapping[str, Mapping[str, float]]  # region -> instance type -> hosting $/h
    components: Mapping[str, Mapping[str, Mapping[str, float]]] = field(default_factory=dict)  # region -> comp -> type
    notes: tuple[str, ...] = ()
    label: str = ""  # how lookups name this table ("AWS Price List, fetched 2026-12-01"); default "table <as_of>"

    @property
    def name(self) -> str:
        return self.label or f"table {self.as_of}"

    def regions(self) -> list[str]:
        return sorted(set(self.prices) | set(self.components))

    def summary(self) -> dict[str, str]:
        """The report's `pricing` section."""
        return {"as_of": self.as_of, "source": self.source, "currency": self.currency}

    def instance_types(self, region: str) -> list[str]:
        overrides = self.components.get(region, {})
        return sorted(set(self.prices.get(region, {})).union(*(set(types) for types in overrides.values())))

    def hourly(self, instance_type: str, region: str, component: str = HOSTING) -> PriceLookup:
        """The on-demand price, or None with the reason; never a price from another region or instance type."""
        if component not in COMPONENTS:
            raise ValueError(f"unknown price component {component!r}; expected one of {', '.join(COMPONENTS)}")
        table = self.name
        if component != HOSTING:
            override = self.components.get(region, {}).get(component, {}).get(instance_type)
            if override is not None:
                reason = f"{_usd(override)}/h {instance_type} {region} {component} ({table})"
                return PriceLookup(override, reason, table)
        hosting = self.prices.get(region, {}).get(instance_type)
        if hosting is not None:
            if component == HOSTING:
                return PriceLookup(hosting, f"{_usd(hosting)}/h {instance_type} {region} ({table})", table)
            detail = f"hosting rate, the table has no separate {component} rate; {table}"
            return PriceLookup(hosting, f"{_usd(hosting)}/h {instance_type} {region} ({detail})", table)
        if region not in self.regions():
            known = ", ".join(self.regions()) or "none"
            return PriceLookup(
                None,
                f"no price for {instance_type} in {region}: the price table ({self.as_of}) covers only {known}; "
                f"run `mlgov pricing refresh --regions {' '.join([*self.regions(), region])}`",
            )
        what = instance_type if component == HOSTING else f"{instance_type} ({component})"
        return PriceLookup(
            None, f"no price for {what} in {region} in the price table ({self.as_of}); run `mlgov pricing refresh`"
        )


@dataclass(frozen=True)
class PriceChange:
    """One effective price that differs between two tables; None means absent."""

    region: str
    component: str
    instance_type: str
    old: float | None
    new: float | None


def _usd(price: float) -> str:
    return f"${price:g}"


def _fail(message: str) -> PriceTableError:
    return PriceTableError(" ".join(message.split()))


def _price(value: object, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
        raise _fail(f"{where}: price must be a positive finite number, got {value!r}")
    return float(value)


def _text(raw: Mapping, key: str) -> str:
    value = raw.get(key)
    if not isinstance(value, str) or not value.strip():
        raise _fail(f"price table needs a non-empty string '{key}', got {value!r}")
    return value


def _instance_prices(raw: object, where: str) -> dict[str, float]:
    if not isinstance(raw, Mapping):
        raise _fail(f"{where} must be an object of instance type -> hourly price, got {type(raw).__name__}")
    prices = {}
    for instance_type, value in raw.items():
        if not isinstance(instance_type, str) or not INSTANCE_TYPE.match(instance_type):
            raise _fail(f"{where}: {instance_type!r} is not a SageMaker instance type like ml.m5.xlarge")
        prices[instance_type] = _price(value, f"{where}: {instance_type}")
    return prices


def parse_price_table(raw: object) -> PriceTable:
    """Validate a prices.json document (schema mlgov.prices/1) into a PriceTable."""
    if not isinstance(raw, Mapping):
        raise _fail(f"price table must be a JSON object, got {type(raw).__name__}")
    unknown = sorted(set(raw) - _TOP_LEVEL_KEYS)
    if unknown:
        raise _fail(f"unknown key {unknown[0]!r} in the price table; allowed: {', '.join(sorted(_TOP_LEVEL_KEYS))}")
    if raw.get("schema") != SCHEMA_ID:
        raise _fail(f"price table schema is {raw.get('schema')!r}, expected {SCHEMA_ID!r}")
    as_of = _text(raw, "as_of")
    try:
        if not _DAY.match(as_of):
            raise ValueError
        date.fromisoformat(as_of)
    except ValueError:
        raise _fail(f"price table 'as_of' must be a date YYYY-MM-DD, got {as_of!r}") from None
    source = _text(raw, "source")
    if raw.get("currency") != CURRENCY:
        raise _fail(f"price table currency is {raw.get('currency')!r}; only {CURRENCY!r} is supported")
    notes = raw.get("notes", [])
    if not isinstance(notes, list) or not all(isinstance(note, str) and note.strip() for note in notes):
        raise _fail("price table 'notes' must be a list of non-empty strings")
    regions = raw.get("regions")
    if not isinstance(regions, Mapping) or not regions:
        raise _fail("price table needs a non-empty 'regions' object of region -> instance prices")
    prices: dict[str, dict[str, float]] = {}
    components: dict[str, dict[str, dict[str, float]]] = {}
    for region, entries in regions.items():
        if not isinstance(region, str) or not REGION.match(region):
            raise _fail(f"regions: {region!r} is not an AWS region code like us-east-1")
        if not isinstance(entries, Mapping):
            raise _fail(f"regions.{region} must be an object, got {type(entries).__name__}")
        hosting = _instance_prices({k: v for k, v in entries.items() if k != "components"}, f"regions.{region}")
        overrides = _component_prices(entries.get("components", {}), region)
        if not hosting and not overrides:
            raise _fail(f"regions.{region} has no prices")
        if hosting:
            prices[region] = hosting
        if overrides:
            components[region] = overrides
    return PriceTable(as_of, source, CURRENCY, prices, components, tuple(notes))


def _component_prices(raw: object, region: str) -> dict[str, dict[str, float]]:
    where = f"regions.{region}.components"
    if not isinstance(raw, Mapping):
        raise _fail(f"{where} must be an object of component -> instance prices, got {type(raw).__name__}")
    overrides = {}
    for component, entries in raw.items():
        if component == HOSTING:
            raise _fail(f"{where}: hosting prices belong directly under regions.{region}, not in components")
        if component not in COMPONENTS:
            raise _fail(f"{where}: unknown component {component!r}; expected one of {', '.join(COMPONENTS[1:])}")
        types = _instance_prices(entries, f"{where}.{component}")
        if types:
            overrides[component] = types
    return overrides


def render_price_table(table: PriceTable) -> dict:
    """The prices.json document for `table`, keys sorted, so a rewrite of unchanged prices is byte-identical."""
    regions: dict[str, dict] = {}
    for region in table.regions():
        entry: dict = dict(sorted(table.prices.get(region, {}).items()))
        overrides = table.components.get(region, {})
        if overrides:
            entry["components"] = {
                component: dict(sorted(overrides[component].items())) for component in sorted(overrides)
            }
        regions[region] = dict(sorted(entry.items()))
    document = {
        "as_of": table.as_of,
        "currency": table.currency,
        "regions": regions,
        "schema": SCHEMA_ID,
        "source": table.source,
    }
    if table.notes:
        document["notes"] = list(table.notes)
    return dict(sorted(document.items()))


def product_component(attributes: Mapping[str, object]) -> str | None:
    """Which component a Price List product bills, from its usagetype (else its `component`); None to ignore it."""
    usage = str(attributes.get("usagetype") or "")
    match = _USAGE_KIND.match(usage)
    kind = match["kind"] if match else ""
    if any(part in kind for part in _SKIPPED_KIND_PARTS):
        return None
    if kind in USAGE_KINDS:
        return USAGE_KINDS[kind]
    component = str(attributes.get("component") or "").strip().lower()
    if component.startswith("studio"):
        return "studio"
    return COMPONENT_ATTRIBUTES.get(component)


def _hourly_usd(product: Mapping) -> list[float]:
    found = []
    terms = product.get("terms")
    on_demand = terms.get("OnDemand") if isinstance(terms, Mapping) else None
    for term in (on_demand or {}).values():
        dimensions = term.get("priceDimensions") if isinstance(term, Mapping) else None
        for dimension in (dimensions or {}).values():
            if not isinstance(dimension, Mapping) or str(dimension.get("unit", "")).lower() not in _HOURLY_UNITS:
                continue
            try:
                usd = float((dimension.get("pricePerUnit") or {}).get("USD"))
            except (TypeError, ValueError):
                continue
            if math.isfinite(usd) and usd > 0:
                found.append(usd)
    return found


def price_table_from_products(products: Iterable[Mapping], as_of: str) -> PriceTable:
    """Build a table from AWS Price List AmazonSageMaker product documents (GetProducts items, JSON-decoded).

    Keeps on-demand USD prices per hour of ml.* instances in AWS Regions; drops zero, non-hourly, spot and
    reservation prices. When two products give one (region, component, instance type) different prices the higher
    wins, so a cost is never understated; the result does not depend on the order of `products`.
    """
    found: dict[tuple[str, str, str], float] = {}
    published: set[str] = set()
    for document in products:
        product = document.get("product") if isinstance(document, Mapping) else None
        attributes = product.get("attributes") if isinstance(product, Mapping) else None
        if not isinstance(attributes, Mapping):
            continue
        region = str(attributes.get("regionCode") or "")
        if not REGION.match(region) or attributes.get("locationType", "AWS Region") != "AWS Region":
            continue
        instance_type = str(attributes.get("instanceName") or "")
        if not INSTANCE_TYPE.match(instance_type):
            match = _USAGE_INSTANCE.search(str(attributes.get("usagetype") or ""))
            instance_type = match.group(0) if match else ""
        component = product_component(attributes)
        prices = _hourly_usd(document)
        if not INSTANCE_TYPE.match(instance_type) or component is None or not prices:
            continue
        key = (region, component, instance_type)
        found[key] = max([*prices, found.get(key, 0.0)])
        if isinstance(document.get("publicationDate"), str):
            published.add(document["publicationDate"])
    prices: dict[str, dict[str, float]] = {}
    for (region, component, instance_type), price in sorted(found.items()):
        if component == HOSTING:
            prices.setdefault(region, {})[instance_type] = price
    components: dict[str, dict[str, dict[str, float]]] = {}
    for (region, component, instance_type), price in sorted(found.items()):
        if component != HOSTING and prices.get(region, {}).get(instance_type) != price:
            components.setdefault(region, {}).setdefault(component, {})[instance_type] = price
    source = "AWS Price List API GetProducts (AmazonSageMaker, ML Instance, on-demand USD per hour)"
    if published:
        source += f", offer published {max(published)}"
    return PriceTable(as_of, source, CURRENCY, prices, components)


def compare_tables(old: PriceTable, new: PriceTable) -> list[PriceChange]:
    """Prices that differ, sorted: hosting, and each component override against the other table's effective price
    (its override, else its hosting price), so a hosting change is reported once, not once per component."""
    changes = []
    for region in sorted(set(old.regions()) | set(new.regions())):
        old_overrides, new_overrides = old.components.get(region, {}), new.components.get(region, {})
        for component in COMPONENTS:
            if component == HOSTING:
                types = set(old.prices.get(region, {})) | set(new.prices.get(region, {}))
            else:
                types = set(old_overrides.get(component, {})) | set(new_overrides.get(component, {}))
            before, after = _effective(old, region, component), _effective(new, region, component)
            changes += [
                PriceChange(region, component, instance_type, before.get(instance_type), after.get(instance_type))
                for instance_type in sorted(types)
                if before.get(instance_type) != after.get(instance_type)
            ]
    return changes


def _effective(table: PriceTable, region: str, component: str) -> dict[str, float]:
    hosting = dict(table.prices.get(region, {}))
    if component == HOSTING:
        return hosting
    return {**hosting, **table.components.get(region, {}).get(component, {})}
