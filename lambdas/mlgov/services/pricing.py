"""Live list prices for a scan (one use case for `mlgov scan` and the scanner Lambda): which instance types the
resources need, which of them the cache lacks or holds stale, fetch those from the AWS Price List, and the price
book that prices from them first and from the checked-in table after."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date

from mlgov.aws.price_list import PriceListError
from mlgov.domain.costing import instance_types_to_price
from mlgov.domain.inventory import Resource
from mlgov.domain.live_prices import PriceBook, PriceCache, PriceKey
from mlgov.domain.pricing import PriceTable, PriceTableError
from mlgov.services.local_cache import read_json, write_json_atomically

FETCH_THREADS = 4  # GetProducts calls in flight (the Price List API throttles well below SageMaker's rates)

# (region, instance type) -> the AmazonSageMaker products of that type there (aws.price_list.fetch_instance_products)
FetchProducts = Callable[[str, str], list[dict]]


@dataclass(frozen=True)
class LivePricing:
    book: PriceBook
    fetched: int  # (region, type) pairs asked from the Price List this time
    cache_changed: bool


def live_price_book(
    resources: Iterable[Resource],
    fallback: PriceTable,
    cache: PriceCache,
    today: date,
    fetch: FetchProducts | None,
    offline_reason: str = "offline: live prices not fetched",
    threads: int = FETCH_THREADS,
) -> LivePricing:
    """Prices for `resources`: cached Price List answers younger than a week, the stale or missing ones fetched
    (`fetch` None = offline: the cache as it is), the checked-in table for whatever the Price List does not price.
    A Price List failure (no permission, no network) stops fetching and is named in the book, never fatal."""
    needed = instance_types_to_price(resources)
    problem = None if fetch is not None else offline_reason
    stale = cache.stale(needed, today) if fetch is not None else []
    fetched = 0
    if stale and fetch is not None:
        fetched, problem = _fetch_into(cache, stale, today, fetch, threads)
    live = cache.table(needed)
    return LivePricing(PriceBook(fallback, live, problem), fetched, cache_changed=fetched > 0)


def _fetch_into(
    cache: PriceCache, keys: list[PriceKey], today: date, fetch: FetchProducts, threads: int
) -> tuple[int, str | None]:
    def one(key: PriceKey) -> tuple[PriceKey, list[dict] | None, str | None]:
        try:
            return key, fetch(*key), None
        except PriceListError as err:
            return key, None, str(err)

    done, problems = 0, []
    # One call first: a Price List out of reach (no permission, no network) fails it, and nothing more is tried.
    first = one(keys[0])
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="mlgov-prices") as pool:
        rest = pool.map(one, keys[1:]) if first[1] is not None else []
        for key, products, problem in [first, *rest]:
            if products is None:
                problems.append(problem)
                continue
            cache.record(key, products, today)
            done += 1
    if not problems:
        return done, None
    untried = len(keys) - done - len(problems)
    more = f"; {len(problems) - 1} more failed" if len(problems) > 1 else ""
    more += f"; {untried} not tried" if untried else ""
    return done, f"{problems[0]}{more}: those prices come from the fallback table"


def load_price_cache(document: object) -> PriceCache:
    """A cache document (the CLI's file, the hub's archive object); anything unusable starts an empty cache."""
    try:
        return PriceCache.from_document(document)
    except PriceTableError:
        return PriceCache()


def read_price_cache_file(path) -> PriceCache:
    return load_price_cache(read_json(path))


def write_price_cache_file(cache: PriceCache, path) -> None:
    write_json_atomically(path, cache.to_document())
