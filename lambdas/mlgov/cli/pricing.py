"""`mlgov pricing refresh|show`: rebuild the SageMaker price table from the AWS Price List, or print it."""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from mlgov.domain.pricing import (
    COMPONENTS,
    HOSTING,
    REGION,
    PriceTable,
    compare_tables,
    price_table_from_products,
)
from mlgov.price_files import PACKAGED_PRICES_PATH, load_price_table, write_price_table

ClientFactory = Callable[[argparse.Namespace], object]
MAX_LISTED_CHANGES = 15


class PricingError(ValueError):
    """A pricing command cannot go on; printed as one line, exit status 2."""


def add_pricing_commands(
    commands, common: argparse.ArgumentParser, client_factory: ClientFactory | None = None
) -> None:
    """Add `pricing refresh` and `pricing show` to the `mlgov` subparsers; `client_factory(args)` makes the
    Price List client (tests inject a stubbed one)."""
    pricing = commands.add_parser(
        "pricing", help="the SageMaker price table: refresh it from the AWS Price List, show it"
    )
    pricing_commands = pricing.add_subparsers(title="pricing commands")

    refresh = pricing_commands.add_parser(
        "refresh", parents=[common], help="rebuild the price table from the AWS Price List API (pricing:GetProducts)"
    )
    refresh.add_argument(
        "--regions", nargs="+", metavar="REGION", help="regions to price (default: those already in the table)"
    )
    refresh.add_argument("--output", type=Path, help=f"table to write (default: {PACKAGED_PRICES_PATH})")
    refresh.add_argument("--dry-run", action="store_true", help="show what would change, write nothing")
    refresh.set_defaults(run=_refresh, client_factory=client_factory or _default_client)

    show = pricing_commands.add_parser(
        "show", parents=[common], help="print the price table; --region and --instance-type narrow it"
    )
    show.add_argument("--instance-type", metavar="TYPE", help="e.g. ml.g5.xlarge: its price in every region")
    show.add_argument("--table", type=Path, metavar="PATH", help="a price table file (default: the packaged one)")
    show.set_defaults(run=_show)


def _default_client(args: argparse.Namespace):
    import boto3
    from botocore.exceptions import ProfileNotFound

    from mlgov.aws.price_list import pricing_client

    try:
        session = boto3.Session(profile_name=getattr(args, "profile", None))
    except ProfileNotFound as err:
        raise PricingError(str(err)) from None
    return pricing_client(session, getattr(args, "endpoint_url", None))


def _regions(names: Sequence[str]) -> list[str]:
    bad = [name for name in names if not REGION.match(name)]
    if bad:
        raise PricingError(f"{bad[0]!r} is not an AWS region code like us-east-1")
    return list(dict.fromkeys(names))


def _refresh(args: argparse.Namespace) -> int:
    from mlgov.aws.price_list import fetch_sagemaker_products

    output = args.output or PACKAGED_PRICES_PATH
    current = load_price_table(output if output.exists() else None)
    regions = _regions(args.regions or current.regions())
    products = fetch_sagemaker_products(args.client_factory(args), regions)
    table = price_table_from_products(products, as_of=datetime.now(UTC).date().isoformat())
    missing = [region for region in regions if region not in table.regions()]
    if missing:
        raise PricingError(
            f"the Price List returned no SageMaker instance prices for {', '.join(missing)} "
            "(is it a region code SageMaker runs in?); nothing written"
        )
    print(f"{len(products)} Price List products for {len(regions)} regions; {table.source}")
    for region in table.regions():
        print(f"  {_region_summary(table, region)}")
    _print_changes(current, table, output if output.exists() else "the packaged table")
    if args.dry_run:
        print("dry run: nothing written")
        return 0
    write_price_table(table, output)
    print(f"wrote {output}")
    return 0


def _region_summary(table: PriceTable, region: str) -> str:
    overrides = table.components.get(region, {})
    parts = [f"{len(table.prices.get(region, {}))} hosting"] + [
        f"{len(overrides[component])} {component}" for component in COMPONENTS if component in overrides
    ]
    count = len(table.instance_types(region))
    return f"{region:15} {count:4} instance type{'' if count == 1 else 's'} ({', '.join(parts)} prices)"


def _print_changes(current: PriceTable, table: PriceTable, where: object) -> None:
    changes = compare_tables(current, table)
    print(f"changes against {where} (table {current.as_of}):")
    if not changes:
        print("  none")
    for region in [r for r in current.regions() if r not in table.regions()]:
        print(f"  {region}: dropped (not in --regions)")
    for region in table.regions():
        in_region = [change for change in changes if change.region == region]
        if not in_region:
            continue
        counts = Counter("added" if c.old is None else "removed" if c.new is None else "changed" for c in in_region)
        print(f"  {region}: " + ", ".join(f"{counts[kind]} {kind}" for kind in ("added", "removed", "changed")))
        # Changed prices first: they are what moves a cost; then prices that disappear.
        worth_listing = [c for c in in_region if c.old is not None and c.new is not None]
        worth_listing += [c for c in in_region if c.new is None]
        for change in worth_listing[:MAX_LISTED_CHANGES]:
            after = "gone" if change.new is None else f"${change.new:g}"
            print(f"    {change.instance_type:24} {change.component:10} ${change.old:g} -> {after}")
        if len(worth_listing) > MAX_LISTED_CHANGES:
            print(f"    ... and {len(worth_listing) - MAX_LISTED_CHANGES} more")


def _show(args: argparse.Namespace) -> int:
    table = load_price_table(args.table)
    print(f"price table {table.as_of} ({table.currency} per instance-hour, on-demand)")
    print(f"source: {table.source}")
    region = getattr(args, "region", None)
    if not region and not args.instance_type:
        for note in table.notes:
            print(f"note: {note}")
    if region and region not in table.regions():
        raise PricingError(
            f"no prices for {region}: the price table ({table.as_of}) covers only {', '.join(table.regions())}; "
            f"run `mlgov pricing refresh --regions {' '.join([*table.regions(), region])}`"
        )
    regions = [region] if region else table.regions()
    if args.instance_type:
        return _show_instance_type(table, args.instance_type, regions)
    if not region:
        for name in regions:
            print(f"  {_region_summary(table, name)}")
        return 0
    overrides = table.components.get(region, {})
    columns = [component for component in COMPONENTS if component == HOSTING or component in overrides]
    print(f"{'instance type':24}" + "".join(f"{column:>12}" for column in columns))
    for instance_type in table.instance_types(region):
        cells = [_cell(table, instance_type, region, column) for column in columns]
        print(f"{instance_type:24}" + "".join(f"{cell:>12}" for cell in cells))
    print("(a component column shows the hosting price where the table has no separate price for it)")
    return 0


def _cell(table: PriceTable, instance_type: str, region: str, component: str) -> str:
    price = table.hourly(instance_type, region, component).hourly_usd
    return "-" if price is None else f"{price:g}"


def _show_instance_type(table: PriceTable, instance_type: str, regions: list[str]) -> int:
    priced = False
    for region in regions:
        overrides = table.components.get(region, {})
        lookups = [table.hourly(instance_type, region)] + [
            table.hourly(instance_type, region, component)
            for component in COMPONENTS
            if instance_type in overrides.get(component, {})
        ]
        for lookup in lookups:
            print(f"  {lookup.reason}")
        priced = priced or any(lookup.hourly_usd is not None for lookup in lookups)
    if not priced:
        print(f"mlgov: no price for {instance_type} in the price table", file=sys.stderr)
    return 0 if priced else 1
