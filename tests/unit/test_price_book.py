"""Live list prices: the weekly cache of Price List answers and the price book over it and the checked-in table."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest

from mlgov.domain.live_prices import CACHE_SCHEMA, MAX_AGE_DAYS, PriceBook, PriceCache
from mlgov.domain.pricing import PriceTable, PriceTableError
from tests.unit.test_pricing import sagemaker_product

TODAY = date(2026, 12, 2)
FALLBACK = PriceTable(
    as_of="2026-09-24",
    source="checked-in",
    currency="USD",
    prices={"us-east-1": {"ml.m5.xlarge": 0.23}},
    components={"us-east-1": {"training": {"ml.g5.xlarge": 1.408}}},
)


def _tokyo_products() -> list[dict]:
    return [
        sagemaker_product("ml.g5.xlarge", "APN1-Host:ml.g5.xlarge", "Hosting", "1.8220", region="ap-northeast-1"),
        sagemaker_product("ml.g5.xlarge", "APN1-Train:ml.g5.xlarge", "Training", "1.8210", region="ap-northeast-1"),
        sagemaker_product("ml.g5.xlarge", "APN1-Notebk:ml.g5.xlarge", "Notebook", "1.8230", region="ap-northeast-1"),
        # another type's product in the same answer is ignored
        sagemaker_product("ml.m5.large", "APN1-Host:ml.m5.large", "Hosting", "0.1490", region="ap-northeast-1"),
    ]


def test_a_recorded_answer_keeps_each_component_of_that_type_only():
    cache = PriceCache()

    cached = cache.record(("ap-northeast-1", "ml.g5.xlarge"), _tokyo_products(), TODAY)

    assert cached.prices == {"hosting": 1.822, "training": 1.821, "notebook": 1.823}
    assert set(cache.entries) == {("ap-northeast-1", "ml.g5.xlarge")}


def test_an_answer_without_products_is_remembered_so_it_is_not_asked_every_run():
    cache = PriceCache()
    cache.record(("eu-west-1", "ml.p5.48xlarge"), [], TODAY)

    assert cache.stale([("eu-west-1", "ml.p5.48xlarge")], TODAY) == []
    assert cache.table() is None


def test_entries_older_than_a_week_are_fetched_again():
    cache = PriceCache()
    cache.record(("ap-northeast-1", "ml.g5.xlarge"), _tokyo_products(), TODAY - timedelta(days=MAX_AGE_DAYS))
    cache.record(("us-east-1", "ml.m5.xlarge"), [], TODAY - timedelta(days=MAX_AGE_DAYS + 1))
    needed = [("ap-northeast-1", "ml.g5.xlarge"), ("us-east-1", "ml.m5.xlarge"), ("eu-west-1", "ml.c5.large")]

    assert cache.stale(needed, TODAY) == [("eu-west-1", "ml.c5.large"), ("us-east-1", "ml.m5.xlarge")]


def test_the_cache_survives_its_json_document():
    cache = PriceCache()
    cache.record(("ap-northeast-1", "ml.g5.xlarge"), _tokyo_products(), TODAY)

    again = PriceCache.from_document(json.loads(json.dumps(cache.to_document())))

    assert again.entries == cache.entries
    with pytest.raises(PriceTableError, match=CACHE_SCHEMA):
        PriceCache.from_document({"schema": "something else"})


def test_the_book_prices_from_the_price_list_first_and_says_so():
    cache = PriceCache()
    cache.record(("ap-northeast-1", "ml.g5.xlarge"), _tokyo_products(), TODAY)
    book = PriceBook(FALLBACK, cache.table())

    hosting = book.hourly("ml.g5.xlarge", "ap-northeast-1")
    fallback = book.hourly("ml.m5.xlarge", "us-east-1")

    assert (hosting.hourly_usd, hosting.source) == (1.822, "AWS Price List, fetched 2026-12-02")
    assert (fallback.hourly_usd, fallback.source) == (0.23, "table 2026-09-24")
    assert book.summary() == {
        "as_of": "2026-12-02",
        "currency": "USD",
        "source": "AWS Price List API GetProducts (AmazonSageMaker, on-demand USD per hour)",
        "fallback": "table 2026-09-24: checked-in",
        "live": "AWS Price List, fetched 2026-12-02",
    }


def test_a_published_component_price_beats_a_hosting_price_standing_in_for_it():
    """The Price List answered hosting only for ml.g5.xlarge in us-east-1; the fallback has its training price."""
    cache = PriceCache()
    cache.record(
        ("us-east-1", "ml.g5.xlarge"),
        [sagemaker_product("ml.g5.xlarge", "USE1-Host:ml.g5.xlarge", "Hosting", "1.4084")],
        TODAY,
    )
    book = PriceBook(FALLBACK, cache.table())

    training = book.hourly("ml.g5.xlarge", "us-east-1", "training")
    processing = book.hourly("ml.g5.xlarge", "us-east-1", "processing")

    assert (training.hourly_usd, training.source) == (1.408, "table 2026-09-24")
    assert (processing.hourly_usd, processing.source) == (1.4084, "AWS Price List, fetched 2026-12-02")
    assert "hosting rate" in processing.reason


def test_unpriced_names_both_sources_and_offline_names_itself():
    cache = PriceCache()
    cache.record(("ap-northeast-1", "ml.g5.xlarge"), _tokyo_products(), TODAY)
    book = PriceBook(FALLBACK, cache.table(), live_problem="offline (--offline)")

    lookup = book.hourly("ml.p5.48xlarge", "ap-northeast-1")

    assert lookup.hourly_usd is None and lookup.source is None
    assert "AWS Price List, fetched 2026-12-02" in lookup.reason and "fallback table 2026-09-24" in lookup.reason
    assert book.summary()["live_problem"] == "offline (--offline)"
    assert PriceBook(FALLBACK).hourly("ml.p5.48xlarge", "us-east-1").reason.startswith("no price for ml.p5.48xlarge")


def test_a_published_component_price_equal_to_hosting_is_kept_and_wins_over_the_table():
    """The Price List prices training like hosting for this type: that is still the published training price."""
    cache = PriceCache()
    cache.record(
        ("us-east-1", "ml.g5.xlarge"),
        [
            sagemaker_product("ml.g5.xlarge", "USE1-Host:ml.g5.xlarge", "Hosting", "0.80", sku="H"),
            sagemaker_product("ml.g5.xlarge", "USE1-Train:ml.g5.xlarge", "Training", "0.80", sku="T"),
        ],
        TODAY,
    )
    book = PriceBook(FALLBACK, cache.table())

    training = book.hourly("ml.g5.xlarge", "us-east-1", "training")

    assert cache.entries[("us-east-1", "ml.g5.xlarge")].prices == {"hosting": 0.8, "training": 0.8}
    assert (training.hourly_usd, training.source) == (0.8, "AWS Price List, fetched 2026-12-02")


def test_merging_keeps_the_newer_answer_of_each_key():
    older, newer = PriceCache(), PriceCache()
    older.record(("eu-west-1", "ml.c5.large"), [], TODAY - timedelta(days=3))
    older.record(("ap-northeast-1", "ml.g5.xlarge"), _tokyo_products(), TODAY - timedelta(days=3))
    newer.record(("eu-west-1", "ml.c5.large"), [], TODAY)

    older.merge(newer)

    assert older.entries[("eu-west-1", "ml.c5.large")].fetched_on == TODAY
    assert older.entries[("ap-northeast-1", "ml.g5.xlarge")].fetched_on == TODAY - timedelta(days=3)
