"""The report's Quality section: per label, samples and the share where the cheaper tier lost."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
import typer
from rich.console import Console
from typer.testing import CliRunner

from claude_router.ledger import SqlLedger
from claude_router.ledger.verdicts import Better, Verdict, VerdictStore
from claude_router.report import build_summary, render_html, render_summary
from claude_router.report.commands import logs, report
from claude_router.types import TokenUsage

WHEN = datetime(2025, 6, 2, 12, tzinfo=UTC)
SCORES = {"correctness": 3, "completeness": 3, "instruction_following": 3}


def verdict(n: int, label: str, better: Better) -> Verdict:
    model, higher = (
        ("claude-haiku-4-5", "claude-sonnet-4-6")
        if label == "simple"
        else ("claude-sonnet-4-6", "claude-opus-4-8")
    )
    return Verdict(
        request_id=f"req_{label}_{n}",
        created_at=WHEN,
        label=label,
        model=model,
        higher_model=higher,
        better=better,
        judge_model="claude-sonnet-4-6",
        rubric="rubric-test",
        cheaper_scores={} if better is Better.UNKNOWN else SCORES,
        higher_scores={} if better is Better.UNKNOWN else SCORES,
        judge_usage=TokenUsage(1000, 60),
        judge_cost_usd=Decimal("0.0039"),
        rerun_usage=TokenUsage(100, 200),
        rerun_cost_usd=Decimal("0.0033"),
        reason="unparsed judge reply" if better is Better.UNKNOWN else None,
    )


# simple: 4 judged, 2 worse (50%: flagged) and one unknown; moderate: 4 judged, none worse.
VERDICTS = [
    verdict(0, "simple", Better.HIGHER),
    verdict(1, "simple", Better.HIGHER),
    verdict(2, "simple", Better.TIE),
    verdict(3, "simple", Better.CHEAPER),
    verdict(4, "simple", Better.UNKNOWN),
    *(verdict(n, "moderate", b) for n, b in enumerate([Better.TIE, Better.CHEAPER, Better.TIE, Better.TIE])),
]


@pytest.fixture
async def filled(store: SqlLedger, verdicts: VerdictStore) -> VerdictStore:
    for v in [*VERDICTS, VERDICTS[0]]:  # a repeated request id is stored once
        await verdicts.write(v)
    return verdicts


async def test_counts_per_label_and_spend(filled: VerdictStore) -> None:
    groups = {g.label: g for g in await filled.by_label()}
    simple, moderate = groups["simple"], groups["moderate"]
    assert (simple.samples, simple.judged, simple.unknown, simple.cheaper_worse, simple.ties) == (
        5,
        4,
        1,
        2,
        1,
    )
    assert simple.worse_share == Decimal("0.5")
    assert (moderate.samples, moderate.cheaper_worse, moderate.worse_share) == (4, 0, 0)
    assert simple.cost_usd == 5 * (Decimal("0.0039") + Decimal("0.0033"))
    assert [v.request_id for v in await filled.rows(since=WHEN, limit=2)] == sorted(
        v.request_id for v in VERDICTS
    )[:2]


async def test_terminal_and_html_show_the_section_and_flag_the_label(
    store: SqlLedger, filled: VerdictStore
) -> None:
    summary = await build_summary(store, verdicts=filled, flag_share=0.25)
    assert summary.quality is not None
    console = Console(record=True, width=140)
    render_summary(console, summary)
    text = console.export_text()
    assert "Quality" in text
    [simple_line] = [line for line in text.splitlines() if " simple " in line and "%" in line]
    [moderate_line] = [line for line in text.splitlines() if " moderate " in line and "%" in line]
    assert "50.0%" in simple_line
    assert "FLAG" in simple_line
    assert "0.0%" in moderate_line
    assert "FLAG" not in moderate_line
    assert "Monitoring spend $0.0648" in text  # 9 verdicts x ($0.0039 + $0.0033), apart from actual cost
    html = render_html(summary)
    assert '<table class="data" id="quality">' in html
    assert html.count(">FLAG</td>") == 1
    assert '<tr class="flagged"><td>simple</td>' in html


async def test_without_verdicts_the_report_has_no_quality_section(
    store: SqlLedger, verdicts: VerdictStore
) -> None:
    summary = await build_summary(store, verdicts=verdicts)
    console = Console(record=True, width=140)
    render_summary(console, summary)
    assert "Quality" not in console.export_text()
    assert 'id="quality"' not in render_html(summary)


def test_the_report_command_reads_the_verdicts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLAUDE_ROUTER_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("CLAUDE_ROUTER_CONFIG", raising=False)
    path = tmp_path / "ledger.db"

    async def fill() -> None:
        ledger = await SqlLedger.open(path)
        for v in VERDICTS:
            await VerdictStore(ledger.engine).write(v)
        await ledger.close()

    asyncio.run(fill())
    app = typer.Typer()
    app.command()(report)
    app.command()(logs)
    result = CliRunner().invoke(app, ["report", "--ledger", str(path), "--since", "all", "-f", "json"])
    assert result.exit_code == 0, result.output
    quality = json.loads(result.stdout)["quality"]
    flags = {row["label"]: (row["samples"], row["flagged"]) for row in quality["labels"]}
    assert flags == {"simple": (5, True), "moderate": (4, False)}
    assert Decimal(quality["monitoring_cost_usd"]) == Decimal("0.0648")
