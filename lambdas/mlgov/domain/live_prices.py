"""Live list prices: the cache of AWS Price List answers per (region, instance type), and the price book that prices
from them first and from the checked-in table (the offline/demo fallback) after.

A cache entry holds what GetProducts returned for one instance type in one region, reduced to an hourly on-demand
USD price per component, and the day it was fetched; an empty entry records that the Price List has no such product
(so it is not asked again every run). Entries older than `MAX_AGE_DAYS` are fetched again.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta

from mlgov.domain.pricing import (
    COMPONENTS,
    CURRENCY,
    HOSTING,
    INSTANCE_TYPE,
    REGION,
    PriceLookup,
    PriceTable,
    PriceTableError,
    price_table_from_products,
)

CACHE_SCHEMA = "mlgov.price-cache/1"
MAX_AGE_DAYS = 7
LIVE_SOURCE = "AWS Price List API GetProducts (AmazonSageMaker, on-demand USD per hour)"

PriceKey = tuple[str, str]  # (region, instance type)


@dataclass(frozen=True)
class CachedPrices:
    fetched_on: date
    prices: Mapping[str, float]  # component -> $/h; {} = the Price List has no product for it


@dataclass
class PriceCache:
    entries: dict[PriceKey, CachedPrices] = field(default_factory=dict)

    @classmethod
    def from_document(cls, raw: object) -> PriceCache:
        """The cache a `to_document()` wrote; PriceTableError (one line) for anything else."""
        if not isinstance(raw, Mapping) or raw.get("schema") != CACHE_SCHEMA:
            raise PriceTableError(f"not a price cache (schema {CACHE_SCHEMA})")
        entries: dict[PriceKey, CachedPrices] = {}
        for key, entry in (raw.get("entries") or {}).items():
            region, _, instance_type = str(key).partition("|")
            try:
                fetched = date.fromisoformat(entry["fetched_on"])
                prices = {c: float(p) for c, p in entry["prices"].items() if c in COMPONENTS and float(p) > 0}
            except (KeyError, TypeError, ValueError, AttributeError):
                raise PriceTableError(f"price cache entry {key!r} is malformed") from None
            if REGION.match(region) and INSTANCE_TYPE.match(instance_type):
                entries[(region, instance_type)] = CachedPrices(fetched, prices)
        return cls(entries)

    def to_document(self) -> dict:
        return {
            "schema": CACHE_SCHEMA,
            "entries": {
                f"{region}|{instance_type}": {
                    "fetched_on": cached.fetched_on.isoformat(),
                    "prices": dict(cached.prices),
                }
                for (region, instance_type), cached in sorted(self.entries.items())
            },
        }

    def stale(self, needed: Iterable[PriceKey], today: date, max_age_days: int = MAX_AGE_DAYS) -> list[PriceKey]:
        """The keys to fetch: never fetched, or fetched more than `max_age_days` ago."""
        oldest = today - timedelta(days=max_age_days)
        return sorted(key for key in set(needed) if key not in self.entries or self.entries[key].fetched_on < oldest)

    def record(self, key: PriceKey, products: Iterable[Mapping], today: date) -> CachedPrices:
        """Keeps the price of every component the Price List published for `key` (other regions and types are
        ignored) — a component priced like hosting included: it is a published price, not a stand-in."""
        region, instance_type = key
        prices: dict[str, float] = {}
        # One product at a time: a table of several drops a component override equal to its hosting price.
        for product in products:
            table = price_table_from_products([product], as_of=today.isoformat())
            for component in COMPONENTS:
                price = (
                    table.prices.get(region, {}).get(instance_type)
                    if component == HOSTING
                    else table.components.get(region, {}).get(component, {}).get(instance_type)
                )
                if price is not None:
                    prices[component] = max(price, prices.get(component, 0.0))  # never understate
        self.entries[key] = CachedPrices(today, prices)
        return self.entries[key]

    def merge(self, other: PriceCache) -> None:
        """Entries of `other` this cache lacks or holds older (concurrent scan tasks writing one cache object)."""
        for key, cached in other.entries.items():
            mine = self.entries.get(key)
            if mine is None or mine.fetched_on < cached.fetched_on:
                self.entries[key] = cached

    def table(self, keys: Iterable[PriceKey] | None = None) -> PriceTable | None:
        """The cached prices of `keys` (all by default) as a price table labelled with the oldest fetch day."""
        chosen = {k: self.entries[k] for k in (self.entries if keys is None else keys) if k in self.entries}
        priced = {k: v for k, v in chosen.items() if v.prices}
        if not priced:
            return None
        oldest = min(v.fetched_on for v in priced.values()).isoformat()
        hosting: dict[str, dict[str, float]] = {}
        components: dict[str, dict[str, dict[str, float]]] = {}
        for (region, instance_type), cached in priced.items():
            for component, price in cached.prices.items():
                if component == HOSTING:
                    hosting.setdefault(region, {})[instance_type] = price
                else:
                    components.setdefault(region, {}).setdefault(component, {})[instance_type] = price
        return PriceTable(
            as_of=oldest,
            source=LIVE_SOURCE,
            currency=CURRENCY,
            prices=hosting,
            components=components,
            label=f"AWS Price List, fetched {oldest}",
        )


@dataclass(frozen=True)
class PriceBook:
    """Prices from the live table first, then the fallback. A component price (training, notebook, ...) published in
    either wins over a hosting price standing in for it; a hosting stand-in comes from the live table first."""

    fallback: PriceTable
    live: PriceTable | None = None
    live_problem: str | None = None  # why live prices are missing or partial ("offline", an API error)

    @property
    def as_of(self) -> str:
        return self.live.as_of if self.live else self.fallback.as_of

    @property
    def currency(self) -> str:
        return self.fallback.currency

    def hourly(self, instance_type: str, region: str, component: str = HOSTING) -> PriceLookup:
        tables = [t for t in (self.live, self.fallback) if t is not None]
        lookups = [table.hourly(instance_type, region, component) for table in tables]
        exact = [
            lookup
            for table, lookup in zip(tables, lookups, strict=True)
            if lookup.hourly_usd is not None
            and (component == HOSTING or instance_type in table.components.get(region, {}).get(component, {}))
        ]
        if exact:
            return exact[0]
        priced = [lookup for lookup in lookups if lookup.hourly_usd is not None]
        if priced:
            return priced[0]
        if self.live is None:
            return lookups[-1]
        what = instance_type if component == HOSTING else f"{instance_type} ({component})"
        return PriceLookup(
            None, f"no price for {what} in {region} in the {self.live.name} nor in the fallback {self.fallback.name}"
        )

    def summary(self) -> dict[str, str]:
        """The report's `pricing` section: every source used, with its date."""
        summary = {
            "as_of": self.as_of,
            "currency": self.currency,
            "source": self.live.source if self.live else self.fallback.source,
            "fallback": f"{self.fallback.name}: {self.fallback.source}",
        }
        if self.live is not None:
            summary["live"] = self.live.name
        if self.live_problem:
            summary["live_problem"] = self.live_problem
        return summary
