"""Renders a scan report as a terminal table (rich), CSV or JSON."""

from __future__ import annotations

import csv
import io
import json

from mlgov.domain.report import UNPRICED, usd

CSV_COLUMNS = (
    "status",
    "resource_type",
    "name",
    "account",
    "region",
    "instance_type",
    "instance_count",
    "monthly_cost_usd",
    "waste_usd_month",
    "billed_cost_usd",
    "effective_cost_usd",
    "allocated_cost_usd_month",
    "price_source",
    "owner",
    "ml:team",
    "ml:model",
    "ml:experiment",
    "ml:environment",
    "reason",
    "arn",
)


def render_json(report: dict) -> str:
    return json.dumps(report, indent=2) + "\n"


def render_csv(report: dict) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for finding in report["findings"]:
        row = {**finding, **{key: finding["tags"].get(key, "") for key in CSV_COLUMNS if key.startswith("ml:")}}
        row["price_source"] = (finding.get("evidence") or {}).get("price_source")
        for money in ("monthly_cost_usd", "waste_usd_month"):
            row[money] = UNPRICED if row.get(money) is None else row[money]
        writer.writerow({key: "" if row.get(key) is None else row.get(key) for key in CSV_COLUMNS})
    return buffer.getvalue()


def _monthly(finding: dict) -> str:
    """Its monthly cost; an inference component's share of its endpoint in parentheses (already in the endpoint's
    figure, so not added to the total)."""
    share = finding.get("allocated_cost_usd_month")
    return f"({usd(share)} share)" if share is not None else usd(finding["monthly_cost_usd"])


def render_table(report: dict, width: int = 160) -> str:
    from rich.console import Console
    from rich.table import Table

    summary = report["summary"]
    table = Table(title=f"mlgov scan — {summary['resources']} resources", show_footer=True, expand=False)
    table.add_column("status", footer="total")
    table.add_column("type")
    table.add_column("name", overflow="fold")
    table.add_column("account")
    table.add_column("region")
    table.add_column("instances", overflow="fold")
    table.add_column("$/month", justify="right", footer=usd(summary["monthly_cost_usd"]))
    table.add_column("waste/month", justify="right", footer=usd(summary["waste_usd_month"]))
    table.add_column("owner", overflow="fold")
    table.add_column("team")
    for finding in report["findings"]:
        instances = f"{finding['instance_count']} × {finding['instance_type']}" if finding["instance_type"] else ""
        table.add_row(
            finding["status"],
            finding["resource_type"],
            finding["name"],
            finding["account"],
            finding["region"],
            instances,
            _monthly(finding),
            "" if finding["waste_usd_month"] == 0 else usd(finding["waste_usd_month"]),
            finding["owner"] or "",
            finding["tags"].get("ml:team", ""),
        )
    console = Console(file=io.StringIO(), width=width, force_terminal=False, color_system=None)
    console.print(table)
    lines = [console.file.getvalue().rstrip("\n")]
    attribution = report.get("attribution", {})
    by_status = ", ".join(f"{status} {count}" for status, count in summary["by_status"].items())
    lines.append(f"status: {by_status or 'nothing found'}")
    lines.append(
        f"tag compliance: {summary['tag_compliance_pct']}% of resources, "
        f"{attribution.get('tag_compliance_usd_pct', 100.0)}% of spend; "
        f"untagged spend {usd(attribution.get('untagged_usd_month', 0.0))}/month"
    )
    teams = attribution.get("by_tag", {}).get("ml:team", {})
    if teams:
        lines.append("by team: " + ", ".join(f"{team} {usd(amount)}" for team, amount in list(teams.items())[:8]))
    for error in report["errors"]:
        lines.append(f"error: {error['account']} {error['region']} {error['operation']}: {error['message']}")
    billed = report.get("billed")
    if billed:
        compliance = billed["tag_compliance_usd_pct"]
        lines.append(
            f"billed {billed['month']} (cost export): {usd(billed['billed_cost_usd'])} billed, "
            f"{usd(billed['effective_cost_usd'])} effective for {billed['matched_findings']} resources "
            f"estimated at {usd(billed['estimated_usd_month'])}/month; billed tag compliance "
            f"{'n/a' if compliance is None else f'{compliance}%'}"
        )
    around = report.get("around")
    if around:
        logs, buckets = around["logs_usd_month"], around["artifact_buckets_usd_month"]
        lines.append(
            f"around the endpoints (not in the totals): logs {usd(logs['billed'])} billed + "
            f"{usd(logs['estimated'])} estimated/month; {around['artifact_buckets']} artifact buckets "
            f"{usd(buckets['billed'])} billed + {usd(buckets['estimated'])} estimated/month"
            + (f"; {around['unpriced']} unpriced" if around["unpriced"] else "")
        )
    pricing = report.get("pricing") or {}
    if pricing:
        lines.append(f"prices: {pricing.get('live') or pricing.get('source', '')} ({pricing.get('as_of', '')})")
    if pricing.get("live"):
        lines.append(f"fallback prices: {pricing.get('fallback', '')}")
    if pricing.get("live_problem"):
        lines.append(f"live prices: {pricing['live_problem']}")
    return "\n".join(lines) + "\n"
