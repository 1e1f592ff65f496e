"""Ordered, named schema migrations, recorded in `schema_migrations`.

`migrate()` applies the pending ones in order, all in one transaction, under a lock
(`BEGIN IMMEDIATE` on SQLite, an advisory lock on PostgreSQL) so that several processes
opening the same ledger at once apply each migration exactly once. A released migration never
changes: a schema change is a new function appended to `MIGRATIONS`.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.schema import CreateColumn

from ..errors import LedgerError
from .aggregate import backfill_rollups
from .engine import SQLITE_BEGIN
from .schema import (
    ADDED_M005,
    ADDED_M007,
    alert_state,
    classifier_examples,
    metadata,
    schema_migrations,
    usage,
    usage_daily,
    usage_daily_tags,
    usage_tags,
)
from .sources import backfill_sources, usage_daily_sources
from .verdicts import quality_verdicts

Migration = Callable[[AsyncConnection], Awaitable[None]]
_PG_LOCK_KEY = 0x636C_726F_7574_6572  # "clrouter": one ledger migrates at a time per database


async def _create(conn: AsyncConnection, *tables: sa.Table) -> None:
    await conn.run_sync(lambda sync: metadata.create_all(sync, tables=list(tables)))


async def m001_usage(conn: AsyncConnection) -> None:
    """One row per request, with its time, customer and model indexes."""
    await _create(conn, usage)


async def m002_rollups(conn: AsyncConnection) -> None:
    """Tags as rows, and daily rollups (plain and per tag), back-filled from existing requests."""
    await _create(conn, usage_tags, usage_daily, usage_daily_tags)
    tagged = await conn.execute(sa.select(usage.c.request_id, usage.c.tags).where(usage.c.tags != "[]"))
    tag_rows = [{"request_id": rid, "tag": tag} for rid, tags in tagged for tag in json.loads(tags)]
    if tag_rows:
        await conn.execute(sa.insert(usage_tags), tag_rows)
    await backfill_rollups(conn)


async def m003_alert_state(conn: AsyncConnection) -> None:
    """Which spend alerts fired in which period, so a restart never re-alerts."""
    await _create(conn, alert_state)


async def m004_quality_verdicts(conn: AsyncConnection) -> None:
    """Quality monitoring's verdicts: one row per sampled request, with what monitoring it cost."""
    await _create(conn, quality_verdicts)


async def m005_effort_adapted_priced(conn: AsyncConnection) -> None:
    """Per request: the effort it was sent with, how its body was adapted, whether its model was
    priced, and the inference_geo / speed its usage reported (to re-price it on its date). The
    rollups gain `effort` as a key and an `unpriced` count, and are rebuilt from `usage`. Rows
    written before this hold no effort, no adaptation, priced = true (only priced models were
    accepted then) and no geo / speed (standard)."""
    await _add_usage_columns(conn, ADDED_M005)
    await conn.run_sync(lambda sync: metadata.drop_all(sync, tables=[usage_daily, usage_daily_tags]))
    await _create(conn, usage_daily, usage_daily_tags)
    await backfill_rollups(conn)


async def m006_classifier_learning(conn: AsyncConnection) -> None:
    """The LLM classifier's labels kept as training examples, and requests per day by where their
    label came from (back-filled from `usage`). Reads only `usage` columns of the first release."""
    await _create(conn, classifier_examples, usage_daily_sources)
    await backfill_sources(conn)


async def m007_session(conn: AsyncConnection) -> None:
    """Per request: its session (Claude Code's session id, or the caller's conversation id), indexed
    with the time for `report --by session`. Rows written before this hold no session."""
    await _add_usage_columns(conn, ADDED_M007)
    index = next(i for i in usage.indexes if i.name == "ix_usage_session_created_at")
    await conn.run_sync(lambda sync: index.create(sync, checkfirst=True))


async def _add_usage_columns(conn: AsyncConnection, names: tuple[str, ...]) -> None:
    """Add `usage` columns as the current schema defines them; a ledger created by this version
    already has them (m001 builds the current table)."""
    present = await conn.run_sync(lambda sync: {c["name"] for c in sa.inspect(sync).get_columns(usage.name)})
    for name in names:
        if name not in present:
            column = CreateColumn(usage.c[name]).compile(dialect=conn.dialect)
            await conn.execute(sa.text(f"ALTER TABLE {usage.name} ADD COLUMN {column}"))


MIGRATIONS: tuple[Migration, ...] = (
    m001_usage,
    m002_rollups,
    m003_alert_state,
    m004_quality_verdicts,
    m005_effort_adapted_priced,
    m006_classifier_learning,
    m007_session,
)


def migration_names() -> list[str]:
    return [m.__name__ for m in MIGRATIONS]


async def applied(conn: AsyncConnection) -> list[str]:
    """Names of the migrations recorded in the database, in the order they ran."""
    exists = await conn.run_sync(lambda sync: sa.inspect(sync).has_table(schema_migrations.name))
    if not exists:
        return []
    result = await conn.execute(
        sa.select(schema_migrations.c.name).order_by(schema_migrations.c.applied_at, schema_migrations.c.name)
    )
    return list(result.scalars())


async def migrate(engine: AsyncEngine, *, upto: str | None = None) -> list[str]:
    """Apply every pending migration (or those up to and including `upto`); return their names."""
    names = migration_names()
    if upto is not None and upto not in names:
        raise LedgerError(f"unknown migration {upto!r}; known: {', '.join(names)}")
    wanted = MIGRATIONS if upto is None else MIGRATIONS[: names.index(upto) + 1]
    async with engine.connect() as raw:
        conn = await raw.execution_options(**{SQLITE_BEGIN: "IMMEDIATE"})
        async with conn.begin():
            if conn.dialect.name == "postgresql":
                await conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
            await _create(conn, schema_migrations)
            done = set(await applied(conn))
            _check_known(done, names)
            ran = [m for m in wanted if m.__name__ not in done]
            for step in ran:
                await step(conn)
                await conn.execute(sa.insert(schema_migrations), [_applied_row(step.__name__)])
    return [m.__name__ for m in ran]


async def missing(engine: AsyncEngine) -> list[str]:
    """The migrations the database lacks, in order (all of them when it holds no ledger), found by
    reading only."""
    async with engine.connect() as conn:
        done = set(await applied(conn))
    names = migration_names()
    _check_known(done, names)
    return [name for name in names if name not in done]


def _applied_row(name: str) -> dict[str, Any]:
    return {"name": name, "applied_at": datetime.now(UTC)}


def _check_known(done: set[str], names: list[str]) -> None:
    unknown = done - set(names)
    if unknown:
        raise LedgerError(
            f"the ledger database has migrations this version does not know ({', '.join(sorted(unknown))}):"
            " it was written by a newer claude-router"
        )
