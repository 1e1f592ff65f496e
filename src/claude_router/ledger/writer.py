"""How a batch reaches the tables, per dialect.

PostgreSQL takes each step of a batch as one Core statement over column arrays
(`INSERT ... SELECT * FROM unnest(...)`); `ON CONFLICT DO NOTHING RETURNING` tells which request
ids were new even with other writers racing, and the rollup upserts arrive sorted by key, so
concurrent writers lock rollup rows in the same order.

SQLite serialises writers (`BEGIN IMMEDIATE`), so reading which ids already exist and then
inserting the rest is exact; and its driver's C `executemany` is several times faster than
SQLAlchemy's per-row parameter processing, which dominated a batch's cost. There the same
Core statements are compiled once and executed at driver level with plain tuples (dates and
times formatted exactly as SQLAlchemy stores them, so either path reads the other's rows), all
in one call into the driver's worker thread rather than a thread hop per statement.
"""

from __future__ import annotations

import operator
import sqlite3
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any, cast

import aiosqlite
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from .aggregate import MEASURES, batch_rollups
from .schema import UtcDateTime, usage, usage_daily, usage_daily_tags, usage_tags
from .sources import source_rollups, source_upsert, usage_daily_sources

Row = Mapping[str, Any]
_SQLITE_DATETIME = "%Y-%m-%d %H:%M:%S.%f"  # SQLAlchemy's own SQLite storage format
_IDS_PER_QUERY = 500  # well under SQLite's bound-parameter limit


def _sqlite_datetime(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).strftime(_SQLITE_DATETIME)


def _sqlite_date(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def _sqlite_converter(column: sa.Column[Any]) -> Callable[[Any], Any] | None:
    if isinstance(column.type, UtcDateTime):
        return _sqlite_datetime
    if isinstance(column.type, sa.Date):
        return _sqlite_date
    return None  # int, float, str, None and bool go through the sqlite3 module as they are


class DriverStatement:
    """A Core statement compiled once for SQLite and run as a driver-level `executemany`."""

    def __init__(self, stmt: Any, table: sa.Table, dialect: Dialect) -> None:
        compiled = stmt.compile(dialect=dialect)
        self.sql = str(compiled)
        names = list(compiled.positiontup or ())
        # One C-level lookup of every column per row; only the few columns that need it are converted.
        self._get = operator.itemgetter(*names)
        self._convert = [
            (i, conv)
            for i, name in enumerate(names)
            if (conv := _sqlite_converter(table.c[name])) is not None
        ]
        self._single = len(names) == 1

    def _params(self, row: Row) -> tuple[Any, ...]:
        got = self._get(row)
        values = [got] if self._single else list(got)
        for i, conv in self._convert:
            values[i] = conv(values[i])
        return tuple(values)

    def executemany(self, db: sqlite3.Connection, rows: Sequence[Row]) -> None:
        db.executemany(self.sql, [self._params(row) for row in rows])


def upsert(table: sa.Table, dialect_insert: Callable[[sa.Table], Any]) -> Any:
    """Add each row's measures to its rollup row, creating it if needed."""
    stmt = dialect_insert(table)
    return stmt.on_conflict_do_update(
        index_elements=[c.name for c in table.primary_key],
        set_={name: table.c[name] + stmt.excluded[name] for name in MEASURES},
    )


class SqliteWriter:
    """A whole batch is one call into the driver's worker thread: the transaction's statements run
    there back to back, and the event loop stays free (to queue the next batch) meanwhile."""

    def __init__(self, dialect: Dialect) -> None:
        insert = sqlite.insert
        self._usage = DriverStatement(insert(usage).on_conflict_do_nothing(), usage, dialect)
        self._tags = DriverStatement(insert(usage_tags).on_conflict_do_nothing(), usage_tags, dialect)
        self._daily = DriverStatement(upsert(usage_daily, insert), usage_daily, dialect)
        self._daily_tags = DriverStatement(upsert(usage_daily_tags, insert), usage_daily_tags, dialect)
        self._sources = DriverStatement(source_upsert(insert), usage_daily_sources, dialect)
        rid = usage.c.request_id.name
        self._known = f"SELECT {rid} FROM {usage.name} WHERE {rid} IN "

    async def write(self, engine: AsyncEngine, rows: Sequence[Row]) -> int:
        async with engine.connect() as conn:
            driver = (await conn.get_raw_connection()).driver_connection
            assert isinstance(driver, aiosqlite.Connection)
            try:
                # aiosqlite's own way of running a function in its thread (SQLAlchemy uses it too).
                run = cast(Callable[..., Awaitable[int]], driver._execute)
                return await run(self._transaction, driver._conn, rows)
            except sqlite3.Error as exc:  # as SQLAlchemy would raise it, so retries see the same types
                raise sa.exc.DBAPIError.instance(None, None, exc, sqlite3.Error) from exc

    def _transaction(self, db: sqlite3.Connection, rows: Sequence[Row]) -> int:
        """Runs in the driver's thread. `BEGIN IMMEDIATE` takes the write lock first, so reading
        which ids exist and then inserting the rest is exact."""
        db.execute("BEGIN IMMEDIATE")
        try:
            new = self._insert_new(db, rows)
            if new:
                daily, tag_rows, tag_sums = batch_rollups(new)
                self._daily.executemany(db, daily)
                self._sources.executemany(db, source_rollups(new))
                if tag_rows:
                    self._tags.executemany(db, tag_rows)
                    self._daily_tags.executemany(db, tag_sums)
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        return len(new)

    def _insert_new(self, db: sqlite3.Connection, rows: Sequence[Row]) -> list[Row]:
        ids = [row["request_id"] for row in rows]
        existing: set[str] = set()
        for i in range(0, len(ids), _IDS_PER_QUERY):
            chunk = ids[i : i + _IDS_PER_QUERY]
            query = self._known + f"({', '.join('?' * len(chunk))})"
            existing.update(found for (found,) in db.execute(query, chunk))
        new = [row for row in rows if row["request_id"] not in existing] if existing else list(rows)
        if new:
            self._usage.executemany(db, new)
        return new


def _unnest_insert(table: sa.Table) -> Any:
    """INSERT INTO table SELECT * FROM unnest(:col1, :col2, ...): a whole batch in one statement,
    one array parameter per column."""
    cols = list(table.columns)
    arrays = [sa.bindparam(c.name, type_=postgresql.ARRAY(c.type)) for c in cols]
    source = sa.func.unnest(*arrays).table_valued(*(c.name for c in cols)).render_derived()
    select = sa.select(*(source.c[c.name] for c in cols))
    return postgresql.insert(table).from_select([c.name for c in cols], select)


def _arrays(table: sa.Table, rows: Sequence[Row]) -> dict[str, list[Any]]:
    return {c.name: [row[c.name] for row in rows] for c in table.columns}


class PostgresWriter:
    """Each step is one statement over column arrays: a round trip per table, not per row."""

    def __init__(self) -> None:
        self._new = _unnest_insert(usage).on_conflict_do_nothing().returning(usage.c.request_id)
        self._sources = source_upsert(_unnest_insert)
        self._inserts: dict[str, Any] = {}
        self._upserts: dict[str, Any] = {}

    async def write(self, engine: AsyncEngine, rows: Sequence[Row]) -> int:
        async with engine.begin() as conn:
            new = await self._insert_new(conn, rows)
            if new:
                daily, tag_rows, tag_sums = batch_rollups(new)
                await self._add(conn, usage_daily, daily)
                await conn.execute(self._sources, _arrays(usage_daily_sources, source_rollups(new)))
                if tag_rows:
                    await self._insert(conn, usage_tags, tag_rows)
                    await self._add(conn, usage_daily_tags, tag_sums)
        return len(new)

    async def _insert_new(self, conn: AsyncConnection, batch: Sequence[Row]) -> list[Row]:
        result = await conn.execute(self._new, _arrays(usage, batch))
        inserted = set(result.scalars())
        return [row for row in batch if row["request_id"] in inserted]

    async def _insert(self, conn: AsyncConnection, table: sa.Table, rows: Sequence[Row]) -> None:
        if table.name not in self._inserts:
            self._inserts[table.name] = _unnest_insert(table).on_conflict_do_nothing()
        await conn.execute(self._inserts[table.name], _arrays(table, rows))

    async def _add(self, conn: AsyncConnection, table: sa.Table, rows: Sequence[Row]) -> None:
        if table.name not in self._upserts:
            self._upserts[table.name] = upsert(table, _unnest_insert)
        await conn.execute(self._upserts[table.name], _arrays(table, rows))


Writer = SqliteWriter | PostgresWriter


def writer_for(dialect: Dialect) -> Writer:
    return SqliteWriter(dialect) if dialect.name == "sqlite" else PostgresWriter()
