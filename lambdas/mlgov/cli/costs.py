"""`mlgov costs`: SageMaker's billed cost from the organization's FOCUS export, by account, tag, region or resource."""

from __future__ import annotations

import argparse
import csv
import io
import json
from datetime import UTC, datetime
from pathlib import Path

from mlgov.cli.output import emit
from mlgov.domain.cost_export import DIMENSIONS, CostExportError, month_of
from mlgov.domain.report import usd


def add_cost_commands(commands, common: argparse.ArgumentParser) -> None:
    costs = commands.add_parser(
        "costs",
        parents=[common],
        help="billed and effective SageMaker cost from a FOCUS 1.2 export (AWS Data Exports), last full month and "
        "month to date",
    )
    source = costs.add_mutually_exclusive_group(required=True)
    source.add_argument("--cost-export", metavar="PATH|s3://...", help="Parquet file(s) of the export (DuckDB)")
    source.add_argument(
        "--athena-table", metavar="DATABASE.TABLE", help="the export's Glue table (the hub's, with --workgroup)"
    )
    costs.add_argument("--workgroup", default="mlgov", help="Athena workgroup (default mlgov, the hub's)")
    costs.add_argument("--by", choices=DIMENSIONS, default="team", help="group by (default team)")
    costs.add_argument("--month", help="YYYY-MM (default: the last full month)")
    costs.add_argument("--format", choices=["table", "json", "csv", "html"], default="table")
    costs.add_argument("--output", type=Path, help="write here instead of stdout")
    costs.set_defaults(run=_costs)


def cost_engine(args: argparse.Namespace):
    """The engine `--cost-export` / `--athena-table` names (also used by `mlgov scan --cost-export`); a profile,
    region or credential problem is one line (CostExportError)."""
    import boto3
    from botocore.exceptions import BotoCoreError

    from mlgov.aws.cost_export import AthenaExport, DuckDbExport

    try:
        session = boto3.Session(profile_name=getattr(args, "profile", None), region_name=getattr(args, "region", None))
        if getattr(args, "athena_table", None):
            database, _, table = args.athena_table.partition(".")
            if not database or not table:
                raise CostExportError(f"--athena-table must be DATABASE.TABLE, got {args.athena_table!r}")
            client = session.client("athena", endpoint_url=getattr(args, "endpoint_url", None))
            return AthenaExport(client, database, table, args.workgroup)
        return DuckDbExport(args.cost_export, session)
    except BotoCoreError as err:  # ProfileNotFound, NoRegionError, NoCredentialsError...
        hint = " (pass --region: the hub's region, where the table and workgroup are)" if "region" in str(err) else ""
        raise CostExportError(f"{err}{hint}") from None


def _costs(args: argparse.Namespace) -> int:
    from mlgov.repo_files import PolicyFiles, load_schema
    from mlgov.services.costs import billed_costs

    schema = load_schema(PolicyFiles(args.policies_dir).schema_path)
    month = month_of(args.month) if args.month else None
    report = billed_costs(cost_engine(args), args.by, datetime.now(UTC), schema, month=month)
    text = {"json": _json, "csv": _csv, "table": _table, "html": _html}[args.format](report)
    emit(text, args.output, f"{len(report['rows'])} rows")
    return 0


COLUMNS = (
    ("billed_cost_usd", "billed"),
    ("effective_cost_usd", "effective"),
    ("list_cost_usd", "list"),
    ("month_to_date_billed_usd", "MTD billed"),
    ("month_to_date_effective_usd", "MTD effective"),
)


def _json(report: dict) -> str:
    return json.dumps(report, indent=2) + "\n"


def _csv(report: dict) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([report["by"], *(field for field, _ in COLUMNS)])
    for row in report["rows"]:
        writer.writerow([row["key"], *(row[field] for field, _ in COLUMNS)])
    return buffer.getvalue()


def _table(report: dict) -> str:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    month, current = report["month"]["label"], report["month_to_date"]["label"]
    table = Table(title=f"SageMaker cost by {report['by']}: {month}, and {current} to date", show_footer=True)
    table.add_column(report["by"], footer="total")
    for field, label in COLUMNS:
        table.add_column(label, justify="right", footer=usd(report["totals"][field]))
    for row in report["rows"]:
        table.add_row(escape(row["key"]), *(usd(row[field]) for field, _ in COLUMNS))
    console = Console(file=io.StringIO(), width=160, force_terminal=False, color_system=None)
    console.print(table)
    lines = [console.file.getvalue().rstrip("\n")]
    lines.append(f"tag compliance: {_pct(report['tag_compliance_usd_pct'])} of {month}'s usage dollars")
    coverage = report["savings_plan_coverage_pct"]
    if coverage is not None:
        lines.append(f"Savings Plans coverage: {coverage}% of {month}'s usage at on-demand (list) prices")
    hours = report.get("savings_plan_coverage_hours")
    if hours:
        lines.append(
            f"Savings Plans coverage in hours: {hours['pct']}% — {hours['committed_hours']:,} covered, "
            f"{hours['not_covered_hours']:,} not covered"
        )
    lines.append(f"source: {report['source']} (billed = invoiced; effective = after discounts and amortization)")
    return "\n".join(lines) + "\n"


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value}%"


def _hours(report: dict) -> str:
    hours = report.get("savings_plan_coverage_hours")
    if not hours:
        return "hours n/a"
    return f"{hours['pct']}% of hours: {hours['committed_hours']:,} covered, {hours['not_covered_hours']:,} not covered"


def _html(report: dict) -> str:
    from html import escape

    header = "".join(f"<th>{escape(label)}</th>" for _, label in COLUMNS)
    body = "".join(
        f"<tr><td>{escape(row['key'])}</td>" + "".join(f"<td>{usd(row[f])}</td>" for f, _ in COLUMNS) + "</tr>"
        for row in report["rows"]
    )
    title = f"SageMaker cost by {escape(report['by'])}, {escape(report['month']['label'])}"
    return (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{title}</title></head><body><h1>{title}</h1>"
        f"<table><thead><tr><th>{escape(report['by'])}</th>{header}</tr></thead><tbody>{body}</tbody></table>"
        f"<p>tag compliance: {_pct(report['tag_compliance_usd_pct'])} · Savings Plans coverage: "
        f"{_pct(report['savings_plan_coverage_pct'])} ({_hours(report)}) · source: {escape(report['source'])}</p>"
        "</body></html>\n"
    )
