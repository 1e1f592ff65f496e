"""The write buffer: batches by size and time, backpressure instead of drops, retries, close."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Sequence
from pathlib import Path

import pytest
from sqlalchemy import text

from claude_router.errors import LedgerError
from claude_router.ledger import BufferedLedger, SqlLedger, open_ledger
from claude_router.types import UsageRecord

from .records import traffic


async def test_a_lone_record_is_written_after_the_interval(tmp_path: Path) -> None:
    ledger = await open_ledger(tmp_path / "l.db", interval_s=0.05)
    try:
        await ledger.record(traffic(1)[0])
        assert ledger.pending == 1
        for _ in range(100):
            await asyncio.sleep(0.02)
            if ledger.pending == 0:
                break
        assert len(await ledger.store.rows()) == 1  # read the store directly: no flush
    finally:
        await ledger.close()


async def test_full_batches_are_written_without_waiting(tmp_path: Path) -> None:
    batches: list[int] = []

    async def count(records: Sequence[UsageRecord]) -> None:
        batches.append(len(records))

    ledger = await open_ledger(tmp_path / "l.db", batch_rows=50, interval_s=60)
    ledger.subscribe(count)
    try:
        for rec in traffic(120):
            await ledger.record(rec)
        for _ in range(200):
            await asyncio.sleep(0.01)
            if len(batches) == 2:
                break
        assert batches == [50, 50]  # the remaining 20 wait for the (long) interval
        await ledger.flush()
        assert batches == [50, 50, 20]
    finally:
        await ledger.close()


async def test_backpressure_when_the_database_is_locked(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    ledger = BufferedLedger(await SqlLedger.open(path), batch_rows=10, capacity=20, interval_s=0.01)
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    records = traffic(60)
    try:
        producer = asyncio.create_task(_record_all(ledger, records))
        await asyncio.sleep(0.5)
        assert not producer.done()  # waiting for room, not dropping
        assert ledger.pending <= 20
        blocker.execute("ROLLBACK")
        await asyncio.wait_for(producer, 30)
        await ledger.flush()
        assert len(await ledger.rows()) == 60
    finally:
        blocker.close()
        await ledger.close()


async def _record_all(ledger: BufferedLedger, records: list[UsageRecord]) -> None:
    for rec in records:
        await ledger.record(rec)


async def test_writes_retry_until_the_database_is_back(pg_url: str, caplog: pytest.LogCaptureFixture) -> None:
    ledger = await open_ledger(pg_url, interval_s=0.01)
    records = traffic(30)
    engine = ledger.store.engine
    try:
        async with engine.begin() as conn:  # the writer's new connections give up on a lock at once
            await conn.execute(text(f'ALTER DATABASE "{engine.url.database}" SET lock_timeout = 20'))
        await engine.dispose()
        async with engine.connect() as locker:
            await locker.execute(text("SET lock_timeout = 0"))
            await locker.execute(text("LOCK TABLE usage IN ACCESS EXCLUSIVE MODE"))
            for rec in records:
                await ledger.record(rec)
            await asyncio.sleep(0.5)
            assert ledger.pending == 30
            await locker.rollback()
        await asyncio.wait_for(ledger.flush(), 20)
        assert len(await ledger.rows()) == 30
        assert any("retrying" in r.getMessage() for r in caplog.records)
    finally:
        await ledger.close()


async def test_close_flushes_and_then_refuses(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    ledger = await open_ledger(path, interval_s=60)
    records = traffic(25)
    for rec in records:
        await ledger.record(rec)
    await ledger.close()
    with pytest.raises(LedgerError, match="closed"):
        await ledger.record(records[0])
    async with await open_ledger(path) as again:
        assert len(await again.rows()) == 25
