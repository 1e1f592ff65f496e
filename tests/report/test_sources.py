"""The report's classifier section: local, LLM and cache shares per day, in every format."""

from __future__ import annotations

import dataclasses
import json
from datetime import date, timedelta
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from claude_router.ledger import open_ledger
from claude_router.ledger.sources import SourceCount
from claude_router.report.commands import logs, report
from claude_router.report.sources import summarise
from claude_router.types import ClassifierSource, UsageRecord
from ledger.records import traffic

from .conftest import START

L, M, C, B = ClassifierSource.LOCAL, ClassifierSource.LLM, ClassifierSource.CACHE, ClassifierSource.BYPASS


def _learning_traffic() -> list[UsageRecord]:
    """Three days of 40 requests: the LLM classifier's share falls as the local model learns."""
    days = [
        [M] * 20 + [L] * 16 + [C] * 2 + [B] * 2,
        [M] * 10 + [L] * 26 + [C] * 2 + [B] * 2,
        [L] * 36 + [C] * 4,
    ]
    records = []
    for d, sources in enumerate(days):
        for i, (rec, source) in enumerate(
            zip(
                traffic(40, start=START + timedelta(days=d), step=timedelta(minutes=30)), sources, strict=True
            )
        ):
            records.append(dataclasses.replace(rec, request_id=f"d{d}-{i}", classifier_source=source))
    return records


@pytest.fixture
async def learning_ledger(tmp_path: Path) -> Path:
    path = tmp_path / "learning.db"
    async with await open_ledger(path) as ledger:
        for rec in _learning_traffic():
            await ledger.record(rec)
    return path


def _run(path: Path, *args: str) -> str:
    app = typer.Typer()
    app.command()(report)
    app.command()(logs)
    result = CliRunner().invoke(app, ["report", "--ledger", str(path), "--since", "all", *args])
    assert result.exit_code == 0, result.output
    return result.stdout


def test_the_json_report_gives_the_shares_per_day(
    learning_ledger: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CLAUDE_ROUTER_CONFIG", raising=False)

    doc = json.loads(_run(learning_ledger, "--format", "json"))

    section = doc["classifier_sources"]
    assert section["period"] == "day"
    days = section["periods"]
    assert [d["start"] for d in days] == [(START.date() + timedelta(days=n)).isoformat() for n in range(3)]
    assert [d["classified"] for d in days] == [38, 38, 40]  # a named model is not classified
    assert [d["shares"]["llm"] for d in days] == [round(20 / 38, 4), round(10 / 38, 4), 0.0]
    assert [d["shares"]["local"] for d in days] == [round(16 / 38, 4), round(26 / 38, 4), 0.9]
    assert section["total"]["requests"] == {"bypass": 4, "cache": 8, "llm": 30, "local": 78}


def test_the_table_and_the_page_show_the_section(
    learning_ledger: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CLAUDE_ROUTER_CONFIG", raising=False)
    monkeypatch.setenv("COLUMNS", "180")

    table = _run(learning_ledger)
    assert "Classifier: where labels came from" in table
    assert "52.6%" in table  # day one's LLM share
    page = learning_ledger.parent / "report.html"
    _run(learning_ledger, "--format", "html", "--out", str(page))
    assert 'id="classifier-sources"' in page.read_text(encoding="utf-8")


def test_long_windows_are_shown_a_week_a_row() -> None:
    monday = date(2025, 6, 2)
    counts = [SourceCount(monday + timedelta(days=n), "local", 3) for n in range(40)]
    counts += [SourceCount(monday + timedelta(days=n), "llm", 1) for n in range(40)]

    summary = summarise(counts)

    assert summary is not None
    assert [p.label for p in summary.periods][:2] == ["week of 2025-06-02", "week of 2025-06-09"]
    assert summary.periods[0].counts == {"local": 21, "llm": 7}
    assert summary.total.share(ClassifierSource.LOCAL) == 0.75
    assert summarise([]) is None
