"""JSON and CSV shapes, the HTML page and its charts, and the terminal tables."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import shutil
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

import pytest
from rich.console import Console

from claude_router.ledger import Dimension, SqlLedger, Totals
from claude_router.report import (
    Summary,
    build_summary,
    print_run_report,
    render_html,
    render_summary,
    to_csv,
    to_json,
)
from claude_router.types import UsageRecord

SCRIPT = Path(__file__).parents[2] / "scripts" / "screenshot_report.sh"


async def summary_of(path: Path, by: list[Dimension]) -> Summary:
    store = await SqlLedger.open(path)
    try:
        return await build_summary(store, by=by)
    finally:
        await store.close()


async def test_json_shape_and_exact_money(ledger_path: Path, records: list[UsageRecord]) -> None:
    doc = json.loads(json.dumps(to_json(await summary_of(ledger_path, [Dimension.CUSTOMER]))))
    total = Totals.of(records)
    assert doc["totals"]["requests"] == 1200
    assert Decimal(doc["actual_cost_usd"]) == total.total_cost_usd
    assert Decimal(doc["totals"]["cost_if_opus_usd"]) == total.cost_if_opus_usd
    assert Decimal(doc["savings_vs_opus_usd"]) == total.cost_if_opus_usd - total.total_cost_usd
    assert [t["tier"] for t in doc["tier_mix"]] == ["haiku", "sonnet", "opus"]
    assert sum(Decimal(t["share_pct"]) for t in doc["tier_mix"]) == 100
    assert doc["by"] == ["customer"]
    assert sum(Decimal(g["total_cost_usd"]) for g in doc["breakdown"]) == total.total_cost_usd
    assert {"day", "model", "total_cost_usd"} <= doc["daily"][0].keys()
    assert doc["breakdown"][0]["customer"] in {"cust-0", "cust-1", "cust-2", "cust-3", "cust-4", None}


async def test_csv_rows_sum_to_the_total_row(ledger_path: Path, records: list[UsageRecord]) -> None:
    text = to_csv(await summary_of(ledger_path, [Dimension.DAY, Dimension.MODEL]))
    rows = list(csv.DictReader(io.StringIO(text)))
    header = text.splitlines()[0].split(",")
    assert header[:4] == ["day", "model", "requests", "input_tokens"]
    total_row = rows.pop()
    assert total_row["day"] == "TOTAL"
    assert len(rows) == len({(r.created_at.date(), r.model_used) for r in records})
    assert sum(int(r["requests"]) for r in rows) == int(total_row["requests"]) == 1200
    assert sum(Decimal(r["total_cost_usd"]) for r in rows) == Decimal(total_row["total_cost_usd"])
    assert Decimal(total_row["total_cost_usd"]) == Totals.of(records).total_cost_usd


class _Page(HTMLParser):
    """Collects the charts, their shapes, and anything that would load from outside."""

    def __init__(self) -> None:
        super().__init__()
        self.charts: dict[str, dict[str, int]] = {}
        self.current: str | None = None
        self.external: list[str] = []
        self.scripts = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "svg":
            self.current = a.get("id") or "?"
            self.charts[self.current] = {}
        elif self.current is not None:
            self.charts[self.current][tag] = self.charts[self.current].get(tag, 0) + 1
        if tag == "script":
            self.scripts += 1
        for name in ("src", "href"):
            if a.get(name) and "://" in str(a[name]):
                self.external.append(str(a[name]))

    def handle_endtag(self, tag: str) -> None:
        if tag == "svg":
            self.current = None


async def test_html_is_self_contained_with_the_charts(ledger_path: Path, records: list[UsageRecord]) -> None:
    summary = await summary_of(ledger_path, [Dimension.MODEL])
    page = _Page()
    page.feed(render_html(summary))
    assert set(page.charts) == {"spend-per-day", "tier-mix", "savings", "cache-hit-rate", "top-customers"}
    cells = {(r.created_at.date(), r.model_used) for r in records}
    assert page.charts["spend-per-day"]["rect"] == len(cells)  # one segment per day and model
    assert page.charts["tier-mix"]["circle"] == 1 + 3  # the track and three tiers
    assert page.charts["savings"]["rect"] == 3
    assert page.charts["cache-hit-rate"]["polyline"] == 1
    assert page.charts["top-customers"]["rect"] == 6  # five customers and "(none)"
    assert page.external == []
    assert page.scripts == 0


async def test_html_renders_in_headless_chromium(ledger_path: Path, tmp_path: Path) -> None:
    if shutil.which("chromium") is None and shutil.which("chromium-browser") is None:
        pytest.skip("Chromium is not installed (apt-get install -y chromium); the HTML is checked by parsing")
    html = tmp_path / "report.html"
    html.write_text(render_html(await summary_of(ledger_path, [Dimension.DAY])), encoding="utf-8")
    png = tmp_path / "report.png"
    proc = await asyncio.create_subprocess_exec("bash", str(SCRIPT), str(html), str(png), "1200,1600")
    assert await asyncio.wait_for(proc.wait(), 50) == 0
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data) > 20_000  # a page of charts, not a blank screen


async def test_terminal_report(ledger_path: Path) -> None:
    console = Console(record=True, width=160)
    render_summary(console, await summary_of(ledger_path, [Dimension.LABEL]))
    text = console.export_text()
    for heading in (
        "Tier mix",
        "Cost if all Opus",
        "Savings vs all Sonnet",
        "Cache savings",
        "Top customers",
    ):
        assert heading in text
    assert "By label" in text
    assert "complex" in text


async def test_run_report_reads_its_totals_back_from_the_ledger(
    ledger_path: Path, records: list[UsageRecord]
) -> None:
    run = records[:8]
    store = await SqlLedger.open(ledger_path)
    console = Console(record=True, width=200)
    try:
        totals = await print_run_report(console, store, [r.request_id for r in run] + ["never-recorded"])
    finally:
        await store.close()
    text = console.export_text()
    assert totals.total_cost_usd == sum((r.total_cost_usd for r in run), Decimal(0))
    assert totals.requests == 8
    assert f"${totals.total_cost_usd:.6f}" in text
    for r in run:
        assert (r.task_id or r.request_id) in text
    lines = [line for line in text.splitlines() if line.strip().startswith("task-")]
    ids = [r.task_id for r in run]
    assert [line.split()[0] for line in lines] == ids + ids  # both tables, in the order asked
    assert "1 request(s) not found" in text
    assert "Classifier" in text
    assert "Retries / fallbacks" in text
