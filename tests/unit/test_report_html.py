"""The self-contained HTML scan report: structure, chart data, ordering, escaping, offline-only, empty reports."""

from __future__ import annotations

import copy
import json
from html.parser import HTMLParser
from pathlib import Path

import jsonschema
import pytest

from mlgov.report_html import MAX_BARS, capped, cost_by_tag, render_html

SCHEMA = json.loads((Path(__file__).resolve().parents[2] / "lambdas/mlgov/data/scan_report.schema.json").read_text())
ACCOUNT = "123456789012"
XSS = "<script>alert('pwned')</script>"


def finding(name, status, waste, monthly, team=None, model=None, owner="alice@example.com", **extra) -> dict:
    tags = {key: value for key, value in (("ml:team", team), ("ml:model", model)) if value is not None}
    return {
        "arn": f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:endpoint/{name.lower()}",
        "account": ACCOUNT,
        "region": "us-east-1",
        "resource_type": "endpoint",
        "name": name,
        "status": status,
        "reason": f"{status} because of a test",
        "instance_type": "ml.m5.xlarge",
        "instance_count": 2,
        "monthly_cost_usd": monthly,
        "waste_usd_month": waste,
        "tags": tags,
        "owner": owner,
        "evidence": {},
        **extra,
    }


REPORT: dict = {
    "schema": "mlgov.scan/1",
    "generated_at": "2026-11-24T12:00:00Z",
    "scope": {"accounts": [ACCOUNT, "210987654321"], "regions": ["eu-west-1", "us-east-1"]},
    "summary": {
        "resources": 5,
        "monthly_cost_usd": 2100.0,
        "waste_usd_month": 1500.0,
        "tag_compliance_pct": 60.0,
        "by_status": {"active": 1, "expired": 1, "idle": 1, "untagged": 0, "zombie": 2},
    },
    "attribution": {
        "by_tag": {
            "ml:team": {"fraud": 1200.0, "(untagged)": 600.0, "search": 300.0},
            "ml:model": {"churn": 1500.0, "(untagged)": 600.0},
        },
        "by_owner": {"alice@example.com": 2100.0},
        "untagged_usd_month": 600.0,
        "tag_compliance_usd_pct": 71.4,
        "unpriced_resources": 0,
    },
    "pricing": {"source": "offline price file", "as_of": "2026-11-01"},
    "findings": [
        finding("small-zombie", "zombie", 200.0, 200.0, team="fraud", model="churn"),
        finding("big-zombie", "zombie", 1000.0, 1000.0, team="fraud", model="churn", owner=None),
        finding("stale", "expired", 300.0, 300.0, team="search", model="churn"),
        finding("quiet", "idle", 0.0, 600.0),
        finding("busy", "active", 0.0, 0.0, team="fraud"),
    ],
    "errors": [
        {
            "account": "210987654321",
            "region": "eu-west-1",
            "operation": "ListEndpoints",
            "message": "AccessDenied: not authorized",
        }
    ],
}


class Page(HTMLParser):
    """Collects what the tests look at: bars, table rows per section, resource references, text, tags."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.bars: dict[str, list[tuple[str, float]]] = {}
        self.rows: dict[str, list[list[str]]] = {}
        self.tiles: dict[str, str] = {}
        self.references: list[tuple[str, str, str]] = []
        self.script_text: list[str] = []
        self.text: list[str] = []
        self._chart: str | None = None
        self._section: str | None = None
        self._cell: list[str] | None = None
        self._tile: str | None = None
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        self.tags.append(tag)
        for name, value in attrs:
            if name in ("href", "src", "xlink:href", "action", "data", "poster", "srcset") and value is not None:
                self.references.append((tag, name, value))
        if tag == "script":
            self._in_script = True
        if tag == "div" and "chart" in (attributes.get("class") or "").split():
            self._chart = attributes["id"]
            self.bars[self._chart] = []
        if tag == "g" and attributes.get("class") == "bar":
            self.bars[self._chart].append((attributes["data-label"], float(attributes["data-value"])))
        if tag == "section" and attributes.get("id"):
            self._section = attributes["id"]
            self.rows[self._section] = []
        if tag == "tr" and self._section:
            self.rows[self._section].append([])
        if tag == "td":
            self._cell = []
        if tag == "div" and attributes.get("data-tile"):
            self._tile = attributes["data-tile"]

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False
        if tag == "td" and self._cell is not None:
            self.rows[self._section][-1].append("".join(self._cell))
            self._cell = None
        if tag == "section":
            self._section = None

    def handle_data(self, data):
        self.text.append(data)
        if self._in_script:
            self.script_text.append(data)
        if self._cell is not None:
            self._cell.append(data)
        if self._tile and data.strip():
            self.tiles[self._tile] = data
            self._tile = None


def parse(report: dict) -> Page:
    page = Page()
    page.feed(render_html(report))
    page.close()
    return page


def data_rows(page: Page, section: str) -> list[list[str]]:
    return [row for row in page.rows.get(section, []) if row]  # the header row has <th> cells only


def test_fixture_is_a_valid_scan_report():
    assert [error.message for error in jsonschema.Draft202012Validator(SCHEMA).iter_errors(REPORT)] == []


def test_page_is_one_html_document_with_inline_style_and_svg_charts():
    html = render_html(REPORT)
    page = parse(REPORT)

    assert html.startswith("<!DOCTYPE html>")
    assert page.tags.count("html") == 1 and page.tags.count("style") == 1
    assert page.tags.count("svg") == 3
    assert "script" not in page.tags and "link" not in page.tags and "img" not in page.tags


def test_page_references_nothing_outside_itself():
    html = render_html(REPORT)
    page = parse(REPORT)

    assert page.references == []
    assert "http://" not in html and "https://" not in html
    assert "@import" not in html and "url(" not in html
    assert "default-src 'none'" in html  # CSP: even a missed escape could not fetch or run anything


def test_header_names_the_time_and_scope():
    text = " ".join(parse(REPORT).text)

    assert "2026-11-24T12:00:00Z" in text
    assert f"{ACCOUNT}, 210987654321" in text and "eu-west-1, us-east-1" in text


def test_summary_tiles_show_the_totals():
    tiles = parse(REPORT).tiles

    assert tiles["resources"] == "5"
    assert tiles["monthly-cost"] == "$2,100.00"
    assert tiles["waste"] == "$1,500.00"
    assert tiles["tag-compliance"] == "60.0%"
    assert tiles["spend-compliance"] == "71.4%"


def test_cost_charts_have_one_bar_per_attributed_value_largest_first():
    bars = parse(REPORT).bars

    assert bars["cost-by-team"] == [("fraud", 1200.0), ("(untagged)", 600.0), ("search", 300.0)]
    assert bars["cost-by-model"] == [("churn", 1500.0), ("(untagged)", 600.0)]


def test_bar_lengths_are_proportional_to_the_values():
    html = render_html(REPORT)
    chart = html[html.index('id="cost-by-team"') :]
    widths = [float(seg.split('width="')[1].split('"')[0]) for seg in chart.split("<rect ")[1:4]]

    assert widths[0] == pytest.approx(2 * widths[1]) and widths[1] == pytest.approx(2 * widths[2])


def test_status_chart_counts_each_non_zero_status_in_report_order():
    assert parse(REPORT).bars["status-counts"] == [("zombie", 2), ("idle", 1), ("expired", 1), ("active", 1)]


def test_without_attribution_cost_is_summed_from_priced_findings_with_an_untagged_bucket():
    report = copy.deepcopy(REPORT)
    del report["attribution"]
    report["findings"].append(finding("unpriced", "unknown", 0.0, None, team="fraud"))

    bars = parse(report).bars

    assert bars["cost-by-team"] == [("fraud", 1200.0), ("(untagged)", 600.0), ("search", 300.0)]
    assert cost_by_tag(report, "ml:model") == [("churn", 1500.0), ("(untagged)", 600.0)]
    assert "1 unpriced resource(s)" in render_html(report)


def test_many_values_are_capped_with_an_others_bar_that_keeps_the_total():
    rows = [(f"team-{index:02d}", float(100 - index)) for index in range(MAX_BARS + 5)]

    shown = capped(rows)

    assert len(shown) == MAX_BARS
    assert shown[-1][0] == "(6 others)"
    assert sum(value for _, value in shown) == pytest.approx(sum(value for _, value in rows))


def test_zombie_rows_are_sorted_by_waste_with_instances_and_owner():
    rows = data_rows(parse(REPORT), "zombies")

    assert [row[0] for row in rows] == ["big-zombie", "small-zombie"]
    assert rows[0] == [
        "big-zombie",
        ACCOUNT,
        "us-east-1",
        "ml.m5.xlarge × 2",
        "$1,000.00",
        "zombie because of a test",
        "",
    ]
    assert rows[1][-1] == "alice@example.com"


def test_idle_and_expired_findings_are_listed_apart_from_zombies():
    rows = data_rows(parse(REPORT), "idle-expired")

    assert [(row[0], row[1]) for row in rows] == [("expired", "stale"), ("idle", "quiet")]


def test_errors_table_lists_each_error():
    assert data_rows(parse(REPORT), "errors") == [
        ["210987654321", "eu-west-1", "ListEndpoints", "AccessDenied: not authorized"]
    ]


def test_user_controlled_text_is_escaped_everywhere():
    report = copy.deepcopy(REPORT)
    report["findings"][1].update(name=XSS, reason=XSS, owner=XSS, tags={"ml:team": XSS, "ml:model": XSS})
    report["attribution"]["by_tag"]["ml:team"] = {XSS: 1234567.89, '"><svg onload=x>': 5.0}
    report["errors"][0]["message"] = XSS

    html = render_html(report)
    page = parse(report)

    assert "<script" not in html and "<svg onload" not in html
    assert "&lt;script&gt;" in html
    assert page.script_text == [] and "script" not in page.tags
    assert page.bars["cost-by-team"] == [(XSS, 1234567.89), ('"><svg onload=x>', 5.0)]  # attributes round-trip
    assert data_rows(page, "zombies")[0][0] == XSS
    assert data_rows(page, "errors")[0][-1] == XSS


def test_empty_report_renders_with_empty_states():
    report = {
        "schema": "mlgov.scan/1",
        "generated_at": "2026-11-24T12:00:00Z",
        "scope": {"accounts": [], "regions": []},
        "summary": {
            "resources": 0,
            "monthly_cost_usd": 0.0,
            "waste_usd_month": 0.0,
            "tag_compliance_pct": 100.0,
            "by_status": {},
        },
        "findings": [],
        "errors": [],
    }
    jsonschema.validate(report, SCHEMA)

    page = parse(report)
    text = " ".join(page.text)

    assert page.bars == {"cost-by-team": [], "cost-by-model": [], "status-counts": []}
    assert "svg" not in page.tags
    assert "no zombies found" in text and "no idle or expired resources" in text and "no errors" in text
    assert page.tiles["resources"] == "0" and page.tiles["tag-compliance"] == "100.0%"


def test_same_report_renders_the_same_bytes():
    shuffled = copy.deepcopy(REPORT)
    shuffled["findings"].reverse()

    assert render_html(REPORT) == render_html(copy.deepcopy(REPORT))
    assert data_rows(parse(shuffled), "zombies") == data_rows(parse(REPORT), "zombies")


def test_a_report_built_by_build_report_renders_its_zombie_and_team_split(real_schema):
    from datetime import UTC, datetime

    from mlgov.domain.costing import Cost
    from mlgov.domain.inventory import Resource, Variant
    from mlgov.domain.report import Verdict, build_report

    now = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
    tags = {
        "ml:team": "fraud",
        "ml:model": "churn",
        "ml:experiment": "q4",
        "ml:environment": "prod",
        "auto-delete-after": "2027-01-31",
    }
    resource = Resource(
        arn=f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:endpoint/churn",
        account=ACCOUNT,
        region="us-east-1",
        resource_type="endpoint",
        name="churn",
        status="InService",
        created=datetime(2026, 10, 1, tzinfo=UTC),
        tags=tags,
        running=True,
        variants=(Variant("AllTraffic", "ml.m5.xlarge", 2),),
    )
    cost = Cost(0.46, 300.0, 335.8, None, None, "test price")  # 730 h × 0.46
    report = build_report(
        [(resource, cost, Verdict("zombie", "0 invocations for 30 days"))],
        [],
        {"accounts": [ACCOUNT], "regions": ["us-east-1"]},
        real_schema,
        now,
        {},
    )

    page = parse(report)

    assert page.bars["cost-by-team"] == [("fraud", 335.8)]
    assert page.bars["status-counts"] == [("zombie", 1)]
    assert data_rows(page, "zombies")[0][:5] == ["churn", ACCOUNT, "us-east-1", "ml.m5.xlarge × 2", "$335.80"]
