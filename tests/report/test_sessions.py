"""`report --by session`: what each coding session cost, its tier mix and its cache savings."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from claude_router.catalog.pricing import PriceTable
from claude_router.cli import app
from claude_router.ledger import open_ledger
from claude_router.types import TokenUsage, UsageRecord
from ledger.records import T0, priced

HAIKU, OPUS = "claude-haiku-4-5", "claude-opus-4-8"
PRICES = PriceTable.default()
MAIN = TokenUsage(input_tokens=300, output_tokens=200, cache_write_5m_tokens=2000, cache_read_tokens=20_000)
SIDE = TokenUsage(input_tokens=400, output_tokens=20)


def _session(name: str, main_turns: int, side_calls: int) -> list[UsageRecord]:
    main = [priced(f"{name}-m{i}", model=OPUS, usage=MAIN, session=name) for i in range(main_turns)]
    side = [priced(f"{name}-s{i}", model=HAIKU, usage=SIDE, session=name) for i in range(side_calls)]
    return main + side


@pytest.fixture
async def ledger_path(tmp_path: Path) -> Path:
    path = tmp_path / "ledger.db"
    records = [
        *_session("cc-long", 6, 3),
        *_session("cc-short", 2, 1),
        priced("plain", model=HAIKU, usage=SIDE),
    ]
    async with await open_ledger(path) as ledger:
        for rec in records:
            await ledger.record(rec)
    return path


def _report(ledger_path: Path, *args: str, window: tuple[str, ...] = ("--since", "all")) -> str:
    runner = CliRunner()
    base = ["report", "--ledger", str(ledger_path), *window, "--by", "session", *args]
    result = runner.invoke(app, base, env={"COLUMNS": "160"})
    assert result.exit_code == 0, result.output
    return result.stdout


def test_each_session_has_its_cost_tier_mix_and_cache_savings(ledger_path: Path) -> None:
    doc = json.loads(_report(ledger_path, "--format", "json"))
    sessions = {s["session"]: s for s in doc["sessions"]}
    assert [s["session"] for s in doc["sessions"]] == ["cc-long", "cc-short", None]  # costliest first
    long = sessions["cc-long"]
    assert long["requests"] == 9
    assert long["tiers"] == {"haiku": 3, "opus": 6}
    opus = PRICES.resolve(OPUS).rates
    reads_saved = 6 * MAIN.cache_read_tokens * (opus.input - opus.cache_read)
    writes_premium = 6 * MAIN.cache_write_5m_tokens * (opus.cache_write_5m - opus.input)
    assert Decimal(long["cache_read_saved_usd"]) == reads_saved
    assert Decimal(long["cache_net_saved_usd"]) == reads_saved - writes_premium
    cost = 6 * PRICES.cost(OPUS, MAIN) + 3 * PRICES.cost(HAIKU, SIDE)
    assert Decimal(long["cost_usd"]) == cost
    assert sessions[None]["requests"] == 1  # requests without a session: one line of their own
    assert Decimal(sessions[None]["cache_read_saved_usd"]) == 0


def test_the_table_shows_one_line_per_session(ledger_path: Path) -> None:
    out = _report(ledger_path)
    assert "By session" in out
    line = next(row for row in out.splitlines() if "cc-long" in row)
    assert "haiku 3 · opus 6" in line
    assert any("(no session)" in row for row in out.splitlines())


def test_csv_breaks_down_by_session(ledger_path: Path) -> None:
    rows = _report(ledger_path, "--format", "csv").splitlines()
    assert rows[0].startswith("session,")
    assert {row.split(",")[0] for row in rows[1:]} == {"cc-long", "cc-short", "", "TOTAL"}


def test_sessions_of_today_come_from_the_raw_rows(ledger_path: Path) -> None:
    """A window of whole days (read from rollups elsewhere) still finds every session."""
    since, until = T0.date().isoformat(), (T0 + timedelta(days=1)).date().isoformat()
    doc = json.loads(_report(ledger_path, "--format", "json", window=("--since", since, "--until", until)))
    assert sum(s["requests"] for s in doc["sessions"]) == 13
