"""Requests on a model the price sheet does not know are shown as unpriced (with a count), never
as $0, in every report; effort shows in the tier mix; the baseline is named after the ladder's top."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import typer
from rich.console import Console
from typer.testing import CliRunner

from claude_router.catalog.pricing import PriceTable
from claude_router.ledger import Dimension, SqlLedger, Totals, open_ledger
from claude_router.report import (
    Summary,
    build_summary,
    print_run_report,
    render_html,
    render_summary,
    to_csv,
    to_json,
)
from claude_router.report.commands import logs, record_json
from claude_router.report.terminal import logs_table
from claude_router.routing.accounting import Baseline, Outcome, new_record
from claude_router.types import Label, RequestMeta, Route, TokenUsage, UsageRecord

PRICES = PriceTable.default()
T0 = datetime(2026, 11, 20, 9, tzinfo=UTC)
LADDER_5 = Baseline("claude-opus-5-5", "claude-sonnet-5-5")


def _record(i: int, model: str, label: Label, effort: str | None, usage: TokenUsage) -> UsageRecord:
    return new_record(
        PRICES,
        request_id=f"r{i}",
        model_requested="auto",
        meta=RequestMeta(task_id=f"task-{i}"),
        decision=None,
        route=Route(model, label=label, effort=effort),
        outcome=Outcome(model_used=model, answer=usage),
        created_at=T0 + timedelta(minutes=i),
        baseline=LADDER_5,
    )


@pytest.fixture
def records() -> list[UsageRecord]:
    return [
        _record(0, "claude-haiku-5-5", Label.SIMPLE, "low", TokenUsage(400, 30)),
        _record(1, "claude-haiku-5-5", Label.SIMPLE, "low", TokenUsage(500, 20)),
        _record(2, "claude-sonnet-5-5", Label.MODERATE, None, TokenUsage(900, 300)),
        _record(3, "claude-opus-5-5", Label.COMPLEX, "high", TokenUsage(1_200, 2_000)),
        _record(4, "claude-nova-1", Label.SIMPLE, "low", TokenUsage(700, 50)),  # not on the sheet
    ]


@pytest.fixture
async def path(tmp_path: Path, records: list[UsageRecord]) -> Path:
    target = tmp_path / "ledger.db"
    async with await open_ledger(target) as ledger:
        for rec in records:
            await ledger.record(rec)
    return target


async def _summary(path: Path, by: list[Dimension]) -> Summary:
    store = await SqlLedger.open(path)
    try:
        return await build_summary(store, by=by, baseline=LADDER_5)
    finally:
        await store.close()


async def test_the_summary_counts_unpriced_requests_apart_from_the_money(
    path: Path, records: list[UsageRecord]
) -> None:
    summary = await _summary(path, [Dimension.MODEL])
    priced = [r for r in records if r.priced]
    assert summary.totals.unpriced == 1
    assert summary.totals.requests == 5
    assert summary.actual_usd == sum((r.total_cost_usd for r in priced), Decimal(0))
    assert summary.totals.cost_if_opus_usd == sum((r.cost_if_opus_usd for r in priced), Decimal(0))
    mix = {
        (g.key[Dimension.MODEL], g.key[Dimension.EFFORT]): g.totals.requests for g in summary.by_model_effort
    }
    assert mix == {
        ("claude-haiku-5-5", "low"): 2,
        ("claude-sonnet-5-5", None): 1,
        ("claude-opus-5-5", "high"): 1,
        ("claude-nova-1", "low"): 1,
    }


async def test_terminal_json_csv_and_html_show_unpriced(path: Path) -> None:
    summary = await _summary(path, [Dimension.MODEL])
    console = Console(record=True, width=160)
    render_summary(console, summary)
    text = console.export_text()
    assert "Cost if all Opus 5.5" in text
    assert "Savings vs all Sonnet 5.5" in text
    assert "Unpriced requests" in text
    assert "By model and effort" in text
    nova = next(line for line in text.splitlines() if "claude-nova-1" in line or "Nova 1" in line)
    assert "unpriced" in nova
    assert "$0.00" not in nova

    doc = json.loads(json.dumps(to_json(summary)))
    assert doc["totals"]["unpriced_requests"] == 1
    assert doc["baseline"] == {"top": "claude-opus-5-5", "middle": "claude-sonnet-5-5"}
    assert any(g["effort"] == "high" for g in doc["by_model_effort"])

    rows = {r["model"]: r for r in csv.DictReader(io.StringIO(to_csv(summary)))}
    assert rows["claude-nova-1"]["unpriced_requests"] == "1"
    assert rows["TOTAL"]["unpriced_requests"] == "1"

    page = render_html(summary)
    assert 'id="model-effort"' in page
    assert "1 unpriced" in page
    assert "All on Opus 5.5" in page


async def test_logs_and_the_run_report_say_unpriced(path: Path, records: list[UsageRecord]) -> None:
    nova = records[-1]
    assert record_json(nova)["cost_usd"] is None
    assert record_json(nova)["priced"] is False
    assert record_json(records[0])["effort"] == "low"
    console = Console(record=True, width=200)
    console.print(logs_table(records))
    line = next(line for line in console.export_text().splitlines() if "task-4" in line)
    assert "unpriced" in line

    store = await SqlLedger.open(path)
    console = Console(record=True, width=200)
    try:
        totals = await print_run_report(
            console, store, [r.request_id for r in records], top="claude-opus-5-5"
        )
    finally:
        await store.close()
    text = console.export_text()
    assert isinstance(totals, Totals)
    assert totals.unpriced == 1
    assert "Cost if all Opus 5.5 (USD)" in text
    assert "Unpriced" in text
    assert "Haiku 5.5 · low" in text
    row = next(line for line in text.splitlines() if line.strip().startswith("task-4"))
    assert "unpriced" in row


def test_the_logs_command_prints_unpriced(
    path: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("CLAUDE_ROUTER_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("COLUMNS", "200")
    app = typer.Typer()
    app.command()(logs)
    app.command("noop")(lambda: None)  # two commands: `logs` stays a subcommand
    result = CliRunner().invoke(app, ["logs", "--ledger", str(path), "--json"])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["cost_usd"] for line in lines if not line["priced"]] == [None]
