"""Migrations from an empty database and from the first released schema, on both backends."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from claude_router.errors import LedgerError
from claude_router.ledger import Dimension, SqlLedger, merge_groups, migrate, migration_names, record_to_row
from claude_router.ledger.engine import create_engine, resolve_url
from claude_router.ledger.migrations import applied
from claude_router.ledger.schema import (
    ADDED_M005,
    ADDED_M007,
    metadata,
    rollup_columns,
    usage,
    usage_columns,
    usage_daily,
    usage_daily_tags,
)

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


# ---- m005: effort, adaptations, priced, geo and speed; rollups keyed by effort ----------------

_NEW_ROLLUP_COLUMNS = ("effort", "unpriced")


def _previous(name: str, columns: Iterable[sa.Column[Any]], dropped: Iterable[str]) -> sa.Table:
    """A table as the release before m005 defined it: today's columns less those m005 added."""
    gone = set(dropped)
    return sa.Table(name, sa.MetaData(), *(c for c in columns if c.name not in gone))


async def _previous_schema(engine: AsyncEngine) -> None:
    """A ledger exactly as the release before m005 left it: migrated to m004, usage without the
    m005 columns, rollups without effort and unpriced."""
    await migrate(engine, upto="m004_quality_verdicts")
    async with engine.begin() as conn:
        for name in ADDED_M005:  # this version's m001 creates them; the previous one did not
            await conn.execute(sa.text(f"ALTER TABLE usage DROP COLUMN {name}"))
        for table, tagged in ((usage_daily, False), (usage_daily_tags, True)):
            await conn.execute(sa.text(f"DROP TABLE {table.name}"))
            old = _previous(table.name, rollup_columns(tagged=tagged), _NEW_ROLLUP_COLUMNS)
            await conn.run_sync(old.create)
            # a stale rollup row: m005 must rebuild the rollups from `usage`, not keep these
            keys = {c.name: _filler(c) for c in old.columns}
            await conn.execute(sa.insert(old), [{**keys, "requests": 999}])


def _filler(column: sa.Column[Any]) -> Any:
    if isinstance(column.type, sa.Date):
        return date(2025, 6, 1)
    if isinstance(column.type, sa.Boolean):
        return False
    if isinstance(column.type, sa.String):
        return "stale"
    return 0


async def test_m005_from_the_previous_schema_keeps_old_rows_priced_and_rebuilds_rollups(
    ledger_url: str,
) -> None:
    records = traffic(200)
    old_usage = _previous(usage.name, usage_columns(), ADDED_M005)
    engine = create_engine(resolve_url(ledger_url))
    try:
        await _previous_schema(engine)
        async with engine.begin() as conn:
            shape = await conn.run_sync(_shape)
            assert not set(ADDED_M005) & shape["usage"][0]
            rows = [{k: v for k, v in record_to_row(r).items() if k not in ADDED_M005} for r in records]
            await conn.execute(sa.insert(old_usage), rows)
        names = migration_names()
        assert await migrate(engine) == names[names.index("m005_effort_adapted_priced") :]
        async with engine.connect() as conn:
            shape = await conn.run_sync(_shape)
        for table in metadata.sorted_tables:
            assert shape[table.name][0] == {c.name for c in table.columns}, table.name
    finally:
        await engine.dispose()
    ledger = await SqlLedger.open(ledger_url)
    try:
        back = await ledger.rows()
        assert len(back) == len(records)
        assert all(r.priced and r.effort is None and r.adapted == () for r in back)
        assert_same(merge_groups(await ledger.totals()), expected_totals(records))
        (group,) = await ledger.totals([Dimension.EFFORT])
        assert group.key[Dimension.EFFORT] is None
        assert group.totals.unpriced == 0
        new = dataclasses.replace(
            traffic(201)[-1], effort="low", adapted=("effort: max → high",), priced=False
        )
        await ledger.record(new)
        await ledger.flush()
        by_effort = {g.key[Dimension.EFFORT]: g.totals for g in await ledger.totals([Dimension.EFFORT])}
        assert (by_effort["low"].requests, by_effort["low"].unpriced) == (1, 1)
        assert (await ledger.rows(request_ids=[new.request_id]))[0].adapted == ("effort: max → high",)
    finally:
        await ledger.close()


# ---- m007: the session column, indexed --------------------------------------------------------


async def test_m007_adds_an_indexed_session_to_a_ledger_with_old_rows(ledger_url: str) -> None:
    records = traffic(50)
    old_usage = _previous(usage.name, usage_columns(), ADDED_M007)
    engine = create_engine(resolve_url(ledger_url))
    try:
        await migrate(engine, upto="m006_classifier_learning")
        async with engine.begin() as conn:  # as the release before m007 left it
            await conn.execute(sa.text("DROP INDEX ix_usage_session_created_at"))
            await conn.execute(sa.text("ALTER TABLE usage DROP COLUMN session"))
            rows = [{k: v for k, v in record_to_row(r).items() if k not in ADDED_M007} for r in records]
            await conn.execute(sa.insert(old_usage), rows)
        assert await migrate(engine) == ["m007_session"]
        async with engine.connect() as conn:
            columns, indexes = (await conn.run_sync(_shape))["usage"]
        assert "session" in columns
        assert "ix_usage_session_created_at" in indexes
    finally:
        await engine.dispose()
    ledger = await SqlLedger.open(ledger_url)
    try:
        assert all(r.session is None for r in await ledger.rows())
        await ledger.record(dataclasses.replace(traffic(51)[-1], session="cc-session-1"))
        by_session = {
            g.key[Dimension.SESSION]: g.totals.requests for g in await ledger.totals([Dimension.SESSION])
        }
        assert by_session == {None: 50, "cc-session-1": 1}
        (back,) = await ledger.rows(request_ids=[traffic(51)[-1].request_id])
        assert back.session == "cc-session-1"
    finally:
        await ledger.close()
