"""Renders a `mlgov.scan/1` report as one self-contained, offline HTML page (inline CSS, inline SVG charts, no JS)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from html import escape

from mlgov.domain.attribution import UNTAGGED
from mlgov.domain.report import STATUSES, usd

MAX_BARS = 12  # bars beyond this are summed into one "(N others)" bar so a chart stays readable
_LABEL_CHARS = 28
_CHART_WIDTH, _LABEL_WIDTH, _VALUE_WIDTH, _BAR_HEIGHT, _BAR_GAP = 640, 190, 110, 20, 6
_STATUS_COLOURS = {
    "zombie": "#b3261e",
    "idle": "#e8710a",
    "expired": "#a142f4",
    "untagged": "#f9ab00",
    "active": "#188038",
    "stopped": "#5f6368",
    "unknown": "#80868b",
}
_BAR_COLOUR = "#1a73e8"
_COLUMN_CLASSES = {"waste $/month": "num", "reason": "reason"}
# Nothing may be fetched or run: the page is data, whatever a tag value contains.
_CSP = "default-src 'none'; style-src 'unsafe-inline'"
_STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;padding:24px 32px;color:#202124;
background:#fff;line-height:1.4}
h1{font-size:1.5em;margin:0 0 4px}h2{font-size:1.15em;margin:28px 0 8px;border-bottom:1px solid #dadce0;
padding-bottom:4px}
.meta{color:#5f6368;font-size:.9em;margin:2px 0}
.tiles{display:flex;flex-wrap:wrap;gap:12px;margin:20px 0}
.tile{border:1px solid #dadce0;border-radius:8px;padding:12px 16px;min-width:150px}
.tile .value{font-size:1.6em;font-weight:600}.tile .label{color:#5f6368;font-size:.85em}
.tile.waste .value{color:#b3261e}
.charts{display:flex;flex-wrap:wrap;gap:24px}.chart{flex:1 1 640px;max-width:680px}
.chart h3{font-size:1em;margin:8px 0}
svg text{font-size:12px;fill:#202124}svg text.value{fill:#5f6368}
table{border-collapse:collapse;width:100%;font-size:.88em;margin:6px 0}
th,td{border-bottom:1px solid #e8eaed;padding:5px 8px;text-align:left;vertical-align:top}
th{background:#f1f3f4;font-weight:600}td.num,th.num{text-align:right;white-space:nowrap}
td.reason{max-width:420px}
.status{display:inline-block;border-radius:4px;padding:0 6px;color:#fff;font-size:.85em}
.empty{color:#5f6368;font-style:italic}
.note{color:#5f6368;font-size:.85em}
@media print{body{padding:0}.tile{break-inside:avoid}}
"""


def render_html(report: Mapping) -> str:
    """The whole page for `report`; the same report always gives the same bytes."""
    summary = report.get("summary") or {}
    findings = list(report.get("findings") or [])
    sections = [
        _header(report),
        _tiles(summary, report.get("attribution") or {}),
        _charts(report, findings, summary),
        _zombies(findings),
        _idle_expired(findings),
        _errors(report.get("errors") or []),
        _footer(report),
    ]
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>mlgov scan report {_e(report.get('generated_at', ''))}</title>\n"
        f"<style>{_STYLE}</style>\n</head>\n<body>\n" + "\n".join(sections) + "\n</body>\n</html>\n"
    )


def cost_by_tag(report: Mapping, key: str) -> list[tuple[str, float]]:
    """Monthly USD per value of tag `key`, largest first; resources without the tag go to "(untagged)".

    The report's attribution block is used when it splits by `key`; otherwise the priced findings are summed.
    """
    attributed = ((report.get("attribution") or {}).get("by_tag") or {}).get(key)
    if attributed is not None:
        totals: Mapping[str, float] = attributed
    else:
        summed: defaultdict[str, float] = defaultdict(float)
        for finding in report.get("findings") or []:
            monthly = finding.get("monthly_cost_usd")
            if monthly is not None:
                summed[(finding.get("tags") or {}).get(key) or UNTAGGED] += monthly
        totals = summed
    return sorted(((str(label), round(float(usd), 2)) for label, usd in totals.items()), key=lambda kv: (-kv[1], kv[0]))


def status_counts(summary: Mapping) -> list[tuple[str, int]]:
    """Non-zero counts per status, in the report's status order (unknown statuses last, by name)."""
    by_status = summary.get("by_status") or {}
    order = {status: index for index, status in enumerate(STATUSES)}
    ranked = sorted(by_status, key=lambda status: (order.get(status, len(order)), status))
    return [(status, int(by_status[status])) for status in ranked if by_status[status]]


def capped(rows: Sequence[tuple[str, float]], limit: int = MAX_BARS) -> list[tuple[str, float]]:
    """The first `limit - 1` rows and one "(N others)" row summing the rest, when there are more than `limit`."""
    if len(rows) <= limit:
        return list(rows)
    rest = rows[limit - 1 :]
    return [*rows[: limit - 1], (f"({len(rest)} others)", round(sum(value for _, value in rest), 2))]


def _header(report: Mapping) -> str:
    scope = report.get("scope") or {}
    accounts, regions = list(scope.get("accounts") or []), list(scope.get("regions") or [])
    return (
        "<header>\n<h1>mlgov scan report</h1>\n"
        f'<p class="meta">generated at <time>{_e(report.get("generated_at", "unknown"))}</time>'
        f" · schema {_e(report.get('schema', ''))}</p>\n"
        f'<p class="meta">accounts ({len(accounts)}): {_e(", ".join(accounts)) or "none"}</p>\n'
        f'<p class="meta">regions ({len(regions)}): {_e(", ".join(regions)) or "none"}</p>\n</header>'
    )


def _tiles(summary: Mapping, attribution: Mapping) -> str:
    tiles = [
        ("resources", f"{int(summary.get('resources', 0)):,}", "resources", ""),
        ("monthly-cost", usd(summary.get("monthly_cost_usd", 0.0)), "monthly cost", ""),
        ("waste", usd(summary.get("waste_usd_month", 0.0)), "waste per month", " waste"),
        ("tag-compliance", f"{float(summary.get('tag_compliance_pct', 100.0)):.1f}%", "tag compliance", ""),
    ]
    if "tag_compliance_usd_pct" in attribution:
        tiles.append(
            ("spend-compliance", f"{float(attribution['tag_compliance_usd_pct']):.1f}%", "of spend tag-compliant", "")
        )
    if "untagged_usd_month" in attribution:
        tiles.append(("untagged-spend", usd(attribution["untagged_usd_month"]), "untagged spend per month", ""))
    body = "\n".join(
        f'<div class="tile{extra}" data-tile="{name}"><div class="value">{_e(value)}</div>'
        f'<div class="label">{_e(label)}</div></div>'
        for name, value, label, extra in tiles
    )
    return f'<section class="tiles">\n{body}\n</section>'


def _charts(report: Mapping, findings: Sequence[Mapping], summary: Mapping) -> str:
    unpriced = (report.get("attribution") or {}).get("unpriced_resources")
    if unpriced is None:
        unpriced = sum(1 for finding in findings if finding.get("monthly_cost_usd") is None)
    note = f'<p class="note">{unpriced} unpriced resource(s) are left out of the cost charts.</p>' if unpriced else ""
    charts = [
        _bar_chart("cost-by-team", "Monthly cost by team (ml:team)", capped(cost_by_tag(report, "ml:team")), usd),
        _bar_chart("cost-by-model", "Monthly cost by model (ml:model)", capped(cost_by_tag(report, "ml:model")), usd),
        _bar_chart(
            "status-counts",
            "Resources by status",
            status_counts(summary),
            lambda count: f"{int(count):,}",
            colours=_STATUS_COLOURS,
        ),
    ]
    return (
        f'<section>\n<h2>Where the money goes</h2>\n{note}<div class="charts">\n'
        + "\n".join(charts)
        + "\n</div>\n</section>"
    )


def _bar_chart(
    chart_id: str,
    title: str,
    rows: Sequence[tuple[str, float]],
    fmt,
    colours: Mapping[str, str] | None = None,
) -> str:
    heading = f'<div class="chart" id="{chart_id}">\n<h3>{_e(title)}</h3>\n'
    if not rows:
        return heading + '<p class="empty">no data</p>\n</div>'
    peak = max((value for _, value in rows), default=0.0) or 1.0
    span = _CHART_WIDTH - _LABEL_WIDTH - _VALUE_WIDTH
    height = len(rows) * (_BAR_HEIGHT + _BAR_GAP) + _BAR_GAP
    parts = [
        f'<svg role="img" aria-label="{_e(title)}" width="{_CHART_WIDTH}" height="{height}" '
        f'viewBox="0 0 {_CHART_WIDTH} {height}">'
    ]
    for index, (label, value) in enumerate(rows):
        y = _BAR_GAP + index * (_BAR_HEIGHT + _BAR_GAP)
        width = max(0.0, value) / peak * span
        colour = (colours or {}).get(label, _BAR_COLOUR)
        shown = label if len(label) <= _LABEL_CHARS else label[: _LABEL_CHARS - 1] + "…"
        text_y = y + _BAR_HEIGHT * 0.7
        parts.append(
            f'<g class="bar" data-label="{_e(label)}" data-value="{_plain(value)}">'
            f"<title>{_e(label)}: {_e(fmt(value))}</title>"
            f'<text x="{_LABEL_WIDTH - 8}" y="{text_y:.1f}" text-anchor="end">{_e(shown)}</text>'
            f'<rect x="{_LABEL_WIDTH}" y="{y}" width="{width:.1f}" height="{_BAR_HEIGHT}" fill="{colour}"></rect>'
            f'<text class="value" x="{_LABEL_WIDTH + width + 6:.1f}" y="{text_y:.1f}">{_e(fmt(value))}</text></g>'
        )
    parts.append("</svg>")
    return heading + "\n".join(parts) + "\n</div>"


def _zombies(findings: Sequence[Mapping]) -> str:
    zombies = _by_waste(f for f in findings if f.get("status") == "zombie")
    rows = [_finding_row(f) for f in zombies]
    return _table_section("zombies", f"Zombies ({len(rows)})", FINDING_COLUMNS, rows, "no zombies found")


def _idle_expired(findings: Sequence[Mapping]) -> str:
    flagged = _by_waste(f for f in findings if f.get("status") in ("idle", "expired"))
    columns = ("status", FINDING_COLUMNS[0], "type", *FINDING_COLUMNS[1:])
    rows = [
        (_status_badge(f.get("status", "")), name, _e(f.get("resource_type", "")), *rest)
        for f in flagged
        for name, *rest in [_finding_row(f)]
    ]
    return _table_section(
        "idle-expired", f"Idle and expired ({len(rows)})", columns, rows, "no idle or expired resources"
    )


FINDING_COLUMNS = ("name", "account", "region", "instances", "waste $/month", "reason", "owner")


def _finding_row(finding: Mapping) -> tuple[str, ...]:
    return (
        _e(finding.get("name", "")),
        _e(finding.get("account", "")),
        _e(finding.get("region", "")),
        _e(_instances(finding)),
        _e(usd(finding.get("waste_usd_month"))),
        _e(finding.get("reason", "")),
        _e(finding.get("owner") or ""),
    )


def _errors(errors: Sequence[Mapping]) -> str:
    columns = ("account", "region", "operation", "message")
    rows = [tuple(_e(error.get(column, "")) for column in columns) for error in errors]
    return _table_section(
        "errors", f"Errors ({len(rows)})", columns, rows, "no errors: every account and region answered"
    )


def _footer(report: Mapping) -> str:
    pricing = report.get("pricing") or {}
    if not pricing:
        return '<footer class="note">generated by mlgov</footer>'
    described = ", ".join(f"{key}: {value}" for key, value in sorted(pricing.items()))
    return f'<footer class="note">prices — {_e(described)}</footer>'


def _table_section(
    section_id: str, title: str, columns: Sequence[str], rows: Sequence[Sequence[str]], empty: str
) -> str:
    """`rows` hold already-escaped HTML cells."""
    heading = f'<section id="{section_id}">\n<h2>{_e(title)}</h2>\n'
    if not rows:
        return heading + f'<p class="empty">{_e(empty)}</p>\n</section>'
    classes = [_COLUMN_CLASSES.get(column, "") for column in columns]
    head = "".join(
        f'<th{_class(css)} scope="col">{_e(column)}</th>' for column, css in zip(columns, classes, strict=True)
    )
    body = "\n".join(
        "<tr>" + "".join(f"<td{_class(css)}>{cell}</td>" for cell, css in zip(row, classes, strict=True)) + "</tr>"
        for row in rows
    )
    return heading + f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n{body}\n</tbody>\n</table>\n</section>"


def _class(css: str) -> str:
    return f' class="{css}"' if css else ""


def _by_waste(findings: Iterable[Mapping]) -> list[Mapping]:
    return sorted(
        findings,
        key=lambda f: (-(f.get("waste_usd_month") or 0.0), str(f.get("name", "")), str(f.get("arn", ""))),
    )


def _instances(finding: Mapping) -> str:
    instance_type = finding.get("instance_type")
    return f"{instance_type} × {finding.get('instance_count', 0)}" if instance_type else ""


def _status_badge(status: str) -> str:
    colour = _STATUS_COLOURS.get(status, _BAR_COLOUR)
    return f'<span class="status" style="background:{colour}">{_e(status)}</span>'


def _plain(value: float) -> str:
    """A number for a data attribute: never scientific notation, no trailing zeros."""
    return f"{float(value):.2f}".rstrip("0").rstrip(".")


def _e(value: object) -> str:
    return escape(str(value), quote=True)
