"""A command that reads never writes: it opens the ledger (or queue) read-only, and a missing or
empty one is one clear line, never a new file, directory or table."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path

import asyncpg

from claude_router.ledger import SqlLedger
from cli_support import invoke

NO_KEYS = "no keys yet: create one with `claude-router keys create --customer NAME`\n"


def tables(path: Path) -> set[str]:
    with sqlite3.connect(path) as db:
        return {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def test_reading_a_fresh_home_leaves_nothing_behind(tmp_path: Path) -> None:
    home = tmp_path / "home"  # does not exist yet
    for args in (("report",), ("logs",), ("keys", "list"), ("forecast",)):
        result = invoke(*args, home=home)
        assert result.exit_code == 1, args
        assert (
            result.output
            == f"error: no ledger at {home / 'ledger.db'}: nothing has been recorded there yet\n"
        )
    status = invoke("batch", "status", "--json", home=home)
    assert status.exit_code == 0
    assert json.loads(status.output)["queued"] == 0  # an empty queue, said as one
    for args in (("batch", "status", "b1"), ("batch", "results", "b1")):
        result = invoke(*args, home=home)
        assert (result.exit_code, result.output) == (2, "error: no batch 'b1' in this queue\n")
    assert not home.exists()


def test_listing_keys_of_a_ledger_without_keys_creates_no_table(tmp_path: Path) -> None:
    ledger = tmp_path / "ledger.db"
    asyncio.run(_empty_ledger(ledger))
    before = tables(ledger)
    listed = invoke("keys", "list", "--ledger", str(ledger), home=tmp_path)
    assert listed.exit_code == 0
    assert listed.output == NO_KEYS
    as_json = invoke("keys", "list", "--json", "--ledger", str(ledger), home=tmp_path)
    assert json.loads(as_json.stdout) == []
    for args in (("report",), ("logs",)):
        assert invoke(*args, "--ledger", str(ledger), home=tmp_path).exit_code == 0
    assert tables(ledger) == before  # no key tables, no migrations


async def _empty_ledger(path: Path) -> None:
    store = await SqlLedger.open(path)
    await store.close()


async def _tables(url: str) -> set[str]:
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    finally:
        await conn.close()
    return {row["tablename"] for row in rows}


def test_a_report_on_an_empty_postgresql_database_creates_no_table(pg_url: str, tmp_path: Path) -> None:
    for args in (("report",), ("logs",)):
        result = invoke(*args, "--ledger", pg_url, home=tmp_path)
        assert result.exit_code == 1, result.output
        assert result.output.startswith("error: no ledger in postgresql://")
        assert result.output.endswith(": nothing has been recorded there yet\n")
    listed = invoke("keys", "list", "--ledger", pg_url, home=tmp_path)
    assert (listed.exit_code, listed.output) == (0, NO_KEYS)
    assert asyncio.run(_tables(pg_url)) == set()
