"""The daily scan digest as Slack Block Kit: totals, the top waste, new zombies, errors and a link to the report."""

from __future__ import annotations

from collections.abc import Mapping

from mlgov.domain.report import WASTE_STATUSES, usd

HEADER_MAX = 150  # Block Kit: header text (plain_text)
SECTION_TEXT_MAX = 3000  # section text
FIELD_TEXT_MAX = 2000  # each section field
MAX_BLOCKS = 50  # blocks per message
TOP_WASTE = 5
SHOWN_ERRORS = 3


def digest_blocks(report: Mapping, report_url: str, *, new_zombies: int = 0) -> list[dict]:
    """Block Kit blocks for one merged scan report; every user-controlled string is escaped and bounded."""
    summary = report["summary"]
    day = str(report.get("generated_at", ""))[:10]
    blocks: list[dict] = [
        {"type": "header", "text": {"type": "plain_text", "text": _cut(f"mlgov scan {day}".strip(), HEADER_MAX)}},
        {
            "type": "section",
            "fields": [
                _field(f"*Resources*\n{summary['resources']:,}"),
                _field(f"*Monthly cost*\n{usd(summary['monthly_cost_usd'])}"),
                _field(f"*Waste*\n{usd(summary['waste_usd_month'])}/month"),
                _field(f"*Tag compliance*\n{summary['tag_compliance_pct']}%"),
            ],
        },
    ]
    by_status = ", ".join(f"{status} {count:,}" for status, count in summary.get("by_status", {}).items())
    if by_status:
        blocks.append(_context(f"By status: {_escape(by_status)}"))
    blocks.append(_section(_top_waste_text(report)))
    errors = report.get("errors", [])
    blocks.append(
        _section(
            f"*New zombies:* {new_zombies:,}   *Errors:* {len(errors):,}" + _errors_text(errors),
        )
    )
    blocks.append(_section(f"*Report:* {_link(report_url, 'open the full report')}"))
    return blocks[:MAX_BLOCKS]


def digest_text(report: Mapping, *, new_zombies: int = 0) -> str:
    """The notification fallback (`text`): what a phone or screen reader shows instead of the blocks."""
    summary = report["summary"]
    return _cut(
        f"mlgov scan: {summary['resources']:,} resources, {usd(summary['monthly_cost_usd'])}/month, "
        f"waste {usd(summary['waste_usd_month'])}/month, {new_zombies:,} new zombies, "
        f"{len(report.get('errors', [])):,} errors",
        SECTION_TEXT_MAX,
    )


def _top_waste_text(report: Mapping) -> str:
    findings = report.get("findings", [])
    wasteful = [f for f in findings if (f.get("waste_usd_month") or 0) > 0][:TOP_WASTE]
    # Should not be running, price unknown: listed by name, never ranked as if it cost nothing.
    unpriced = [f for f in findings if f.get("status") in WASTE_STATUSES and f.get("waste_usd_month") is None]
    unpriced_text = ""
    if unpriced:
        names = ", ".join(_escape(_cut(f["name"], 60)) for f in unpriced[:TOP_WASTE])
        more = f" and {len(unpriced) - TOP_WASTE:,} more" if len(unpriced) > TOP_WASTE else ""
        unpriced_text = f"\n*Unpriced* ({len(unpriced):,} should not be running, price unknown): {names}{more}"
    if not wasteful:
        return ("*Top waste:* none priced" + unpriced_text) if unpriced else "*Top waste:* nothing wasted"
    lines = ["*Top waste*"]
    for rank, finding in enumerate(wasteful, start=1):
        tags = finding.get("tags") or {}
        lines.append(
            f"{rank}. *{_escape(_cut(finding['name'], 120))}* ({_escape(finding['resource_type'])}, "
            f"{finding['status']}) {usd(finding['waste_usd_month'])}/month · "
            f"{_escape(finding['account'])} {_escape(finding['region'])} · "
            f"owner {_escape(_cut(finding.get('owner') or 'unknown', 100))} · "
            f"team {_escape(_cut(tags.get('ml:team') or 'untagged', 64))}"
        )
    return "\n".join(lines) + unpriced_text


def _errors_text(errors: list) -> str:
    if not errors:
        return ""
    lines = []
    for error in errors[:SHOWN_ERRORS]:
        where = f"{error['account']} {error['region']} {error['operation']}"
        lines.append(f"\n• {_escape(where)}: {_escape(_cut(error['message'], 200))}")
    more = len(errors) - SHOWN_ERRORS
    return "".join(lines) + (f"\n… and {more:,} more in the report" if more > 0 else "")


def _link(url: str, label: str) -> str:
    if url.startswith(("https://", "http://")):
        return f"<{_escape(url)}|{_escape(label)}>"
    return f"`{_escape(url)}`"


def _section(text: str) -> dict:
    return {"type": "section", "text": {"type": "mrkdwn", "text": _cut(text, SECTION_TEXT_MAX)}}


def _field(text: str) -> dict:
    return {"type": "mrkdwn", "text": _cut(text, FIELD_TEXT_MAX)}


def _context(text: str) -> dict:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": _cut(text, SECTION_TEXT_MAX)}]}


def notice_blocks(text: str, emoji: str = ":warning:", max_blocks: int = MAX_BLOCKS) -> list[dict]:
    """A plain notice (budget alert, expiry reminder) as sections within Slack's limits: escaped, taken verbatim
    (no auto-links), its lines packed into sections of SECTION_TEXT_MAX and at most `max_blocks` of them (a message
    with buttons leaves room for its actions blocks)."""
    sections: list[str] = []
    for line in _escape(f"{emoji} {text}").splitlines():
        line = _cut(line, SECTION_TEXT_MAX)
        if sections and len(sections[-1]) + 1 + len(line) <= SECTION_TEXT_MAX:
            sections[-1] += "\n" + line
        else:
            sections.append(line)
    if len(sections) > max_blocks:
        left = len(sections) - max_blocks + 1
        sections = [*sections[: max_blocks - 1], f"… {left} more section{'s' if left != 1 else ''}: see the report"]
    return [{"type": "section", "text": {"type": "mrkdwn", "text": part, "verbatim": True}} for part in sections]


def _escape(text: str) -> str:
    """Slack's control characters in mrkdwn: a resource name like `<!channel>` must not ping anyone."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
