"""Ledger benchmark: write throughput on SQLite and PostgreSQL, and a report over 1,000,000 rows.

    .venv/bin/python bench/ledger.py [--rows 30000] [--runs 3] [--report-rows 1000000] [--postgres URL]

Each figure is the best of a few runs (other work on a shared machine only ever slows a run
down), printed with a baseline measured in the same process, on the same machine and the
same schema, because absolute times on a shared machine mislead:

- writes: `BufferedLedger.record()` for every row, then `flush()`, against the bare driver
  inserting the same rows in the same 500-row transactions (sqlite3 `executemany`; asyncpg
  `executemany` and `COPY`). The ledger also keeps its daily rollups and tag rows, which the
  bare driver does not.
- report: the full cost report (`build_summary`, then the terminal and HTML renderers) against
  one plain GROUP BY scan of the `usage` table that computes only the totals per model.

Targets: >= 20,000 rows/s into SQLite, >= 10,000 rows/s into PostgreSQL, report < 2 s.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import sqlite3
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
from rich.console import Console
from sqlalchemy.engine import make_url

from claude_router.catalog import pricing
from claude_router.catalog.pricing import Tier
from claude_router.ledger import SqlLedger, open_ledger, record_to_row
from claude_router.ledger.schema import usage
from claude_router.report import build_summary, render_html, render_summary
from claude_router.types import ClassifierSource, Label, TokenUsage, UsageRecord

PG_DEFAULT = os.environ.get("CLAUDE_ROUTER_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
BATCH = 500
COLUMNS = [c.name for c in usage.columns]
MODELS = {
    Label.SIMPLE: "claude-haiku-4-5",
    Label.MODERATE: "claude-sonnet-4-6",
    Label.COMPLEX: "claude-opus-4-8",
}


def make_records(n: int) -> list[UsageRecord]:
    """Realistic rows: 60/30/10 tier mix, 200 customers, cache reads, 10% batch, some tags."""
    start = datetime.now(UTC) - timedelta(days=7)
    labels = [Label.SIMPLE] * 6 + [Label.MODERATE] * 3 + [Label.COMPLEX]
    classifier = TokenUsage(310, 2)
    classifier_cost = pricing.cost("claude-haiku-4-5", classifier)
    out = []
    for i in range(n):
        label = labels[i * 7 % 10]
        usage_ = TokenUsage(150 + i % 400, 5 + i % 300, 0, 0, 2000 * (i % 3 == 0))
        batch = i % 10 == 0
        out.append(
            UsageRecord(
                request_id=f"{uuid.uuid4()}",
                created_at=start + timedelta(seconds=i * 0.5),
                model_requested="auto",
                model_used=MODELS[label],
                task_id=f"task-{i}",
                customer=f"cust-{i * 31 % 200}",
                tags=("nightly",) if batch else (),
                label=label,
                confidence=0.9,
                classifier_source=ClassifierSource.LLM,
                batch=batch,
                usage=usage_,
                classifier_usage=classifier,
                cost_usd=pricing.cost(MODELS[label], usage_, batch=batch),
                classifier_cost_usd=classifier_cost,
                cost_if_opus_usd=pricing.what_if(usage_, Tier.OPUS, batch=batch),
                cost_if_sonnet_usd=pricing.what_if(usage_, Tier.SONNET, batch=batch),
                latency_s=0.8,
            )
        )
    return out


async def timed(work: Callable[[], Awaitable[Any]]) -> float:
    t0 = time.perf_counter()
    await work()
    return time.perf_counter() - t0


# ---- writes -----------------------------------------------------------------------------------


async def ledger_writes(url: str, records: Sequence[UsageRecord]) -> float:
    ledger = await open_ledger(url)

    async def run() -> None:
        for rec in records:
            await ledger.record(rec)
        await ledger.flush()

    try:
        return await timed(run)
    finally:
        await ledger.close()


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
    if isinstance(value, date):
        return value.isoformat()
    return value


async def sqlite_baseline(path: Path, rows: Sequence[dict[str, Any]]) -> float:
    await (await SqlLedger.open(path)).close()  # the same schema and indexes
    tuples = [tuple(_plain(r[c]) for c in COLUMNS) for r in rows]
    marks = ", ".join("?" * len(COLUMNS))
    sql = f"INSERT INTO usage ({', '.join(COLUMNS)}) VALUES ({marks}) ON CONFLICT DO NOTHING"
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    t0 = time.perf_counter()
    for i in range(0, len(tuples), BATCH):
        db.execute("BEGIN")
        db.executemany(sql, tuples[i : i + BATCH])
        db.execute("COMMIT")
    elapsed = time.perf_counter() - t0
    db.close()
    return elapsed


async def pg_baselines(url: str, rows: Sequence[dict[str, Any]]) -> tuple[float, float]:
    """(executemany seconds, COPY seconds) with bare asyncpg, into the same schema."""
    await (await SqlLedger.open(url)).close()
    conn = await asyncpg.connect(
        make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    )
    try:
        tuples = [tuple(r[c] for c in COLUMNS) for r in rows]
        params = ", ".join(f"${i + 1}" for i in range(len(COLUMNS)))
        sql = f"INSERT INTO usage ({', '.join(COLUMNS)}) VALUES ({params}) ON CONFLICT DO NOTHING"

        async def many() -> None:
            for i in range(0, len(tuples), BATCH):
                async with conn.transaction():
                    await conn.executemany(sql, tuples[i : i + BATCH])

        async def copy() -> None:
            for i in range(0, len(tuples), BATCH):
                await conn.copy_records_to_table("usage", records=tuples[i : i + BATCH], columns=COLUMNS)

        executemany_s = await timed(many)
        await conn.execute("TRUNCATE usage")
        return executemany_s, await timed(copy)
    finally:
        await conn.close()


class PgDatabase:
    """A throwaway database on the server at `url`."""

    def __init__(self, url: str) -> None:
        self.admin = make_url(url).set(drivername="postgresql")
        self.name = f"cr_bench_{uuid.uuid4().hex[:10]}"

    async def __aenter__(self) -> str:
        conn = await asyncpg.connect(self.admin.render_as_string(hide_password=False))
        await conn.execute(f'CREATE DATABASE "{self.name}"')
        await conn.close()
        return self.admin.set(database=self.name).render_as_string(hide_password=False)

    async def __aexit__(self, *exc: object) -> None:
        conn = await asyncpg.connect(self.admin.render_as_string(hide_password=False))
        await conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        await conn.close()


# ---- a million rows, generated in SQL ----------------------------------------------------------

# Deterministic traffic over 30 days: 60/30/10 tiers, 200 customers, cache reads on a third,
# 10% batch (tagged "nightly"), costs in nano-dollars from the sheet's per-token prices.
_GENERATE = """
WITH RECURSIVE seq(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM seq WHERE i < :n - 1),
t AS (
  SELECT i,
    CASE WHEN (i * 7) % 10 < 6 THEN 0 WHEN (i * 7) % 10 < 9 THEN 1 ELSE 2 END AS tier,
    150 + i % 400 AS inp, 5 + i % 300 AS outp, CASE WHEN i % 3 = 0 THEN 2000 ELSE 0 END AS cr,
    i % 10 = 0 AS batch,
    datetime(:t0, '+' || (i * 2592 / 1000) || ' seconds') AS ts
  FROM seq)
INSERT INTO usage (request_id, created_at, day, task_id, customer, key_id, tags, label, confidence,
  classifier_source, model_requested, model_used, fallback, retries, status, batch, input_tokens,
  output_tokens, cache_read_tokens, classifier_input_tokens, classifier_output_tokens, cost_nusd,
  classifier_cost_nusd, cost_if_opus_nusd, cost_if_sonnet_nusd, latency_s, speculative, escalated)
SELECT printf('bench-%08d', i), ts || '.000000', substr(ts, 1, 10), 'task-' || i,
  'cust-' || ((i * 31) % 200), 'key-1', CASE WHEN batch THEN '["nightly"]' ELSE '[]' END,
  CASE tier WHEN 0 THEN 'simple' WHEN 1 THEN 'moderate' ELSE 'complex' END, 0.9, 'llm', 'auto',
  CASE tier WHEN 0 THEN 'claude-haiku-4-5' WHEN 1 THEN 'claude-sonnet-4-6' ELSE 'claude-opus-4-8' END,
  i % 97 = 0, i % 13 = 0, CASE WHEN i % 211 = 0 THEN 'overloaded_error' ELSE 'ok' END, batch, inp, outp, cr,
  310, 2,
  (inp * r_in + outp * r_in * 5 + cr * r_in / 10) / (CASE WHEN batch THEN 2 ELSE 1 END),
  320000,
  (inp * 5000 + outp * 25000 + cr * 500) / (CASE WHEN batch THEN 2 ELSE 1 END),
  (inp * 3000 + outp * 15000 + cr * 300) / (CASE WHEN batch THEN 2 ELSE 1 END),
  0.4 + tier, 0, 0
FROM (SELECT *, CASE tier WHEN 0 THEN 1000 WHEN 1 THEN 3000 ELSE 5000 END AS r_in FROM t)
"""

_SCAN = """
SELECT model_used, count(*), sum(input_tokens), sum(output_tokens), sum(cache_read_tokens),
  sum(cost_nusd), sum(classifier_cost_nusd), sum(cost_if_opus_nusd), sum(cost_if_sonnet_nusd)
FROM usage WHERE created_at >= ? GROUP BY model_used
"""


async def million_rows(path: Path, n: int) -> float:
    store = await SqlLedger.open(path)
    await store.close()
    t0 = time.perf_counter()
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    start = (datetime.now(UTC) - timedelta(days=30)).strftime("%Y-%m-%d 00:00:00")
    db.execute("BEGIN")
    db.execute(_GENERATE, {"n": n, "t0": start})
    db.execute("INSERT INTO usage_tags SELECT request_id, 'nightly' FROM usage WHERE batch")
    db.execute("COMMIT")
    db.close()
    store = await SqlLedger.open(path)
    try:
        await store.rebuild_rollups()
    finally:
        await store.close()
    return time.perf_counter() - t0


async def report_once(path: Path, since: datetime | None) -> float:
    store = await SqlLedger.open(path)
    sink = Console(file=io.StringIO(), width=140)

    async def run() -> None:
        summary = await build_summary(store, since=since, name=store.url)
        render_summary(sink, summary)
        render_html(summary)

    try:
        return await timed(run)
    finally:
        await store.close()


def scan_once(path: Path, since: datetime | None) -> float:
    db = sqlite3.connect(path)
    t0 = time.perf_counter()
    db.execute(_SCAN, (since.strftime("%Y-%m-%d %H:%M:%S") if since else "",)).fetchall()
    elapsed = time.perf_counter() - t0
    db.close()
    return elapsed


# ---- main ----------------------------------------------------------------------------------------


def line(what: str, value: str, baseline: str, ratio: float, target: str) -> None:
    print(f"{what:<44} {value:>16}   {baseline:<34} ratio {ratio:5.2f}   {target}")


async def sqlite_runs(
    home: Path, records: Sequence[UsageRecord], rows: Sequence[dict[str, Any]], runs: int
) -> None:
    """Best of `runs` for each side, alternating, each into a fresh file."""
    led = raw = float("inf")
    for i in range(runs):
        led = min(led, await ledger_writes(str(home / f"ledger-{i}.db"), records))
        raw = min(raw, await sqlite_baseline(home / f"raw-{i}.db", rows))
    n = len(records)
    line(
        "SQLite writes (BufferedLedger)",
        f"{n / led:,.0f} rows/s",
        f"sqlite3 executemany {n / raw:,.0f}/s",
        raw / led,
        "target >= 20,000 rows/s",
    )


async def postgres_runs(
    server: str, records: Sequence[UsageRecord], rows: Sequence[dict[str, Any]], runs: int
) -> None:
    led = many = copy = float("inf")
    for _ in range(runs):
        async with PgDatabase(server) as url_a, PgDatabase(server) as url_b:
            led = min(led, await ledger_writes(url_a, records))
            many_s, copy_s = await pg_baselines(url_b, rows)
            many, copy = min(many, many_s), min(copy, copy_s)
    n = len(records)
    line(
        "PostgreSQL writes (BufferedLedger)",
        f"{n / led:,.0f} rows/s",
        f"asyncpg executemany {n / many:,.0f}/s",
        many / led,
        "target >= 10,000 rows/s",
    )
    line("", "", f"asyncpg COPY {n / copy:,.0f}/s", copy / led, "")


async def main(args: argparse.Namespace) -> int:
    records = make_records(args.rows)
    rows = [record_to_row(r) for r in records]
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        await sqlite_runs(home, records, rows, args.runs)
        if args.postgres:
            try:
                await postgres_runs(args.postgres, records, rows, args.runs)
            except (OSError, asyncpg.PostgresError) as exc:
                print(f"PostgreSQL writes: skipped ({type(exc).__name__}: no usable server at --postgres)")
        path = home / "million.db"
        gen = await million_rows(path, args.report_rows)
        print(f"generated {args.report_rows:,} rows in SQL and rolled them up in {gen:.1f} s")
        for label, since in (("all", None), ("last 7d", datetime.now(UTC) - timedelta(days=7, hours=5))):
            report = min([await report_once(path, since) for _ in range(3)])
            scan = min(scan_once(path, since) for _ in range(2))
            line(
                f"Report over {args.report_rows:,} rows ({label})",
                f"{report * 1000:,.0f} ms",
                f"one GROUP BY scan {scan * 1000:,.0f} ms",
                scan / report,
                "target < 2,000 ms",
            )
    print("ratio: baseline time / ledger time (above 1: the ledger is faster than the baseline)")
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rows", type=int, default=30_000, help="rows written to each backend per run")
    parser.add_argument("--runs", type=int, default=3, help="write runs per backend (the best one counts)")
    parser.add_argument("--report-rows", type=int, default=1_000_000, help="rows in the report database")
    parser.add_argument("--postgres", default=PG_DEFAULT, help="PostgreSQL server URL ('' to skip)")
    sys.exit(asyncio.run(main(parser.parse_args())))
