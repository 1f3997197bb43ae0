"""The Slack digest: valid Block Kit within Slack's limits, the top waste with owner and team, escaped names."""

from __future__ import annotations

import pytest
from slack_sdk.models.blocks import Block

from mlgov.domain.slack_digest import digest_blocks, digest_text

URL = "https://s3.console.aws.amazon.com/s3/object/archive?region=eu-west-1&prefix=reports%2F2026-11-24%2Frun-1.json"


def _finding(name: str, waste: float, cost: float, status="zombie", owner="alice@example.com", team="fraud") -> dict:
    return {
        "arn": f"arn:aws:sagemaker:eu-west-1:111111111111:endpoint/{name}",
        "account": "111111111111",
        "region": "eu-west-1",
        "resource_type": "endpoint",
        "name": name,
        "status": status,
        "reason": "0 invocations",
        "instance_type": "ml.m5.xlarge",
        "instance_count": 1,
        "monthly_cost_usd": cost,
        "waste_usd_month": waste,
        "tags": {"ml:team": team} if team else {},
        "owner": owner,
        "evidence": {},
    }


def _report(findings: list[dict], errors: list[dict] | None = None) -> dict:
    return {
        "schema": "mlgov.scan/1",
        "generated_at": "2026-11-24T06:00:00Z",
        "scope": {"accounts": ["111111111111"], "regions": ["eu-west-1"]},
        "summary": {
            "resources": 1234,
            "monthly_cost_usd": 12345.67,
            "waste_usd_month": 2345.6,
            "tag_compliance_pct": 87.5,
            "by_status": {"active": 1000, "untagged": 200, "zombie": 34},
        },
        "findings": findings,
        "errors": errors or [],
    }


def _validate(blocks: list[dict]) -> None:
    """slack-sdk's own Block Kit models: header ≤ 150, section text ≤ 3000, ≤ 10 fields, ... (raises otherwise)."""
    assert 0 < len(blocks) <= 50
    for block in blocks:
        parsed = Block.parse(block)
        assert parsed is not None, block
        parsed.validate_json()
        assert parsed.to_dict() == block  # nothing the model does not know about


def _over_limits(blocks: list[dict]) -> list[str]:
    """Block Kit's documented limits, checked directly: header 150, section text 3000, ≤ 10 fields of ≤ 2000."""
    problems = []
    for block in blocks:
        text = (block.get("text") or {}).get("text", "")
        if len(text) > (150 if block["type"] == "header" else 3000):
            problems.append(f"{block['type']} text of {len(text)} characters")
        fields = block.get("fields", [])
        if len(fields) > 10 or any(len(field["text"]) > 2000 for field in fields):
            problems.append(f"{block['type']} fields over the limits")
    return problems


def _texts(blocks: list[dict]) -> str:
    parts = []
    for block in blocks:
        if "text" in block:
            parts.append(block["text"]["text"])
        parts += [field["text"] for field in block.get("fields", [])]
        parts += [element["text"] for element in block.get("elements", [])]
    return "\n".join(parts)


def test_digest_has_header_totals_top_waste_counts_and_link():
    findings = [_finding(f"zombie-{n}", waste=100.0 * n, cost=100.0 * n) for n in range(8, 0, -1)]
    findings.append(_finding("busy", waste=0.0, cost=9999.0, status="active"))

    blocks = digest_blocks(_report(findings), URL, new_zombies=3)

    _validate(blocks)
    assert blocks[0] == {"type": "header", "text": {"type": "plain_text", "text": "mlgov scan 2026-11-24"}}
    text = _texts(blocks)
    for expected in ("1,234", "$12,345.67", "$2,345.60/month", "87.5%", "*New zombies:* 3", "*Errors:* 0"):
        assert expected in text
    top = next(b["text"]["text"] for b in blocks if b.get("text", {}).get("text", "").startswith("*Top waste*"))
    lines = top.splitlines()[1:]
    assert [line.split("*")[1] for line in lines] == ["zombie-8", "zombie-7", "zombie-6", "zombie-5", "zombie-4"]
    assert "owner alice@example.com" in lines[0] and "team fraud" in lines[0] and "$800.00/month" in lines[0]
    assert "busy" not in top  # no waste, not in the top waste list
    assert f"<{URL.replace('&', '&amp;')}|open the full report>" in text


def test_owner_and_team_fall_back_when_missing():
    blocks = digest_blocks(_report([_finding("orphan", 50.0, 50.0, owner=None, team=None)]), URL)

    assert "owner unknown" in _texts(blocks) and "team untagged" in _texts(blocks)


def test_names_cannot_mention_or_link():
    blocks = digest_blocks(_report([_finding("<!channel>&<https://evil.example|x>", 10.0, 10.0)]), URL)

    text = _texts(blocks)
    assert "<!channel>" not in text and "&lt;!channel&gt;&amp;&lt;https://evil.example|x&gt;" in text


def test_errors_are_counted_and_the_first_few_shown():
    errors = [
        {"account": f"11111111111{n}", "region": "eu-west-1", "operation": "AssumeRole", "message": "AccessDenied"}
        for n in range(5)
    ]

    blocks = digest_blocks(_report([], errors=errors), URL)

    _validate(blocks)
    text = _texts(blocks)
    assert "*Errors:* 5" in text and text.count("AssumeRole: AccessDenied") == 3 and "and 2 more" in text
    assert "*Top waste:* nothing wasted" in text


def test_s3_uri_is_shown_as_code_not_a_link():
    blocks = digest_blocks(_report([]), "s3://archive/reports/2026-11-24/run-1.json")

    assert "`s3://archive/reports/2026-11-24/run-1.json`" in _texts(blocks)


@pytest.mark.parametrize("size", [1, 300, 5000])
def test_long_names_errors_and_owners_stay_within_block_kit_limits(size):
    long = "n" * size
    findings = [_finding(long + str(n), 10.0 + n, 10.0, owner="o" * size, team="t" * size) for n in range(5)]
    errors = [{"account": "1" * 12, "region": "r" * size, "operation": "Op", "message": "m" * size}] * 10
    report = _report(findings, errors)
    report["generated_at"] = "2026-11-24T06:00:00Z" + "x" * size

    blocks = digest_blocks(report, URL + "x" * size, new_zombies=10**9)

    _validate(blocks)
    assert _over_limits(blocks) == []


def test_fallback_text_summarises_the_run():
    text = digest_text(
        _report([], errors=[{"account": "1", "region": "r", "operation": "o", "message": "m"}]), new_zombies=2
    )

    assert text == "mlgov scan: 1,234 resources, $12,345.67/month, waste $2,345.60/month, 2 new zombies, 1 errors"


def test_unpriced_zombies_are_named_not_ranked_as_free():
    findings = [
        _finding("priced", 500.0, 500.0),
        _finding("p5-fleet", None, None),
        _finding("busy-unpriced", 0.0, None, status="active"),
    ]
    blocks = digest_blocks(_report(findings), URL)
    text = _texts(blocks)
    _validate(blocks)

    assert "1. *priced*" in text and "p5-fleet* (" not in text  # not in the ranking
    assert "*Unpriced* (1 should not be running, price unknown): p5-fleet" in text
    assert "busy-unpriced" not in text  # active: nothing wasted, priced or not
    only_unpriced = _texts(digest_blocks(_report([_finding("p5-fleet", None, None)]), URL))
    assert "nothing wasted" not in only_unpriced and "none priced" in only_unpriced and "p5-fleet" in only_unpriced
