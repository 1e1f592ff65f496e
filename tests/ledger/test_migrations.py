"""Migrations from an empty database and from the first released schema, on both backends."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import sqlalchemy as sa

from claude_router.errors import LedgerError
from claude_router.ledger import Dimension, SqlLedger, merge_groups, migrate, migration_names, record_to_row
from claude_router.ledger.engine import create_engine, resolve_url
from claude_router.ledger.migrations import applied
from claude_router.ledger.schema import metadata, usage

from .records import traffic
from .test_store import assert_same, expected_totals


def _shape(sync: sa.Connection) -> dict[str, tuple[set[str], set[str]]]:
    inspector = sa.inspect(sync)
    return {
        name: (
            {c["name"] for c in inspector.get_columns(name)},
            {i["name"] for i in inspector.get_indexes(name)},
        )
        for name in inspector.get_table_names()
    }


async def test_from_empty_builds_the_current_schema(ledger_url: str) -> None:
    engine = create_engine(resolve_url(ledger_url))
    try:
        assert await migrate(engine) == migration_names()
        assert await migrate(engine) == []  # idempotent
        async with engine.connect() as conn:
            shape = await conn.run_sync(_shape)
            assert await applied(conn) == migration_names()
        for table in metadata.sorted_tables:
            columns, indexes = shape[table.name]
            assert columns == {c.name for c in table.columns}, table.name
            assert indexes >= {str(i.name) for i in table.indexes}, table.name
        assert "ix_usage_customer_created_at" in shape["usage"][1]
    finally:
        await engine.dispose()


async def test_from_the_first_schema_keeps_and_rolls_up_old_rows(ledger_url: str) -> None:
    records = traffic(300)
    engine = create_engine(resolve_url(ledger_url))
    try:
        assert await migrate(engine, upto="m001_usage") == ["m001_usage"]
        async with engine.begin() as conn:  # rows written by the first release
            await conn.execute(sa.insert(usage), [record_to_row(r) for r in records])
        assert await migrate(engine) == migration_names()[1:]
    finally:
        await engine.dispose()
    ledger = await SqlLedger.open(ledger_url)
    try:
        assert len(await ledger.rows()) == len(records)
        assert_same(merge_groups(await ledger.totals()), expected_totals(records))
        tags = {g.key[Dimension.TAG]: g.totals.requests for g in await ledger.totals([Dimension.TAG])}
        assert tags == {"batch-job": 75, "customer_facing": 43, None: sum(1 for r in records if not r.tags)}
        await ledger.record(traffic(301)[-1])  # and the migrated ledger takes new rows
        assert merge_groups(await ledger.totals()).requests == 301
    finally:
        await ledger.close()


async def test_concurrent_openers_migrate_once(tmp_path: Path) -> None:
    path = str(tmp_path / "shared.db")
    ledgers = await asyncio.gather(*(SqlLedger.open(path) for _ in range(4)))
    try:
        async with ledgers[0].engine.connect() as conn:
            assert await applied(conn) == migration_names()
    finally:
        for ledger in ledgers:
            await ledger.close()


async def test_a_newer_database_is_refused(tmp_path: Path) -> None:
    engine = create_engine(resolve_url(tmp_path / "new.db"))
    try:
        await migrate(engine)
        async with engine.begin() as conn:
            await conn.execute(sa.text("INSERT INTO schema_migrations VALUES ('m999_future', '2030-01-01')"))
        with pytest.raises(LedgerError, match="m999_future"):
            await migrate(engine)
        with pytest.raises(LedgerError, match="unknown migration"):
            await migrate(engine, upto="m000_nothing")
    finally:
        await engine.dispose()
