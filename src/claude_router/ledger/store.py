"""`SqlLedger`: the ledger on SQLite or PostgreSQL, one code path (SQLAlchemy Core, async).

A write inserts a batch of `usage` rows with `ON CONFLICT DO NOTHING` (so a retried write never
doubles a row), and in the same transaction adds the rows it really inserted to the daily
rollups. Reports read whole days from the rollups and only the partial days at the edges of
their time window from `usage` itself, so their cost grows with the number of days, customers
and models, not with the number of requests.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from ..errors import LedgerError
from ..types import UsageRecord
from .aggregate import backfill_rollups, rollup_measures, usage_key_columns, usage_measures
from .base import Dimension, Group, Key, Totals
from .engine import (
    DATABASE_ERRORS,
    cannot_open,
    create_engine,
    describe,
    ensure_wal,
    readonly_engine,
    resolve_url,
)
from .migrations import MIGRATIONS, migrate, missing
from .rows import record_to_row, row_to_record
from .schema import alert_state, usage, usage_daily, usage_daily_tags, usage_tags
from .sources import SourceCount, backfill_sources, usage_daily_sources, usage_source_columns
from .writer import writer_for

Row = Mapping[str, Any]
_NULLABLE_KEYS = frozenset(
    {Dimension.CUSTOMER, Dimension.MODEL, Dimension.LABEL, Dimension.EFFORT, Dimension.SESSION}
)


class SqlLedger:
    """The ledger's database. Each `record()` is its own transaction; wrap it in a
    `BufferedLedger` so that requests never wait for the disk."""

    def __init__(self, engine: AsyncEngine, *, url: str | None = None) -> None:
        self.engine = engine
        # For people: the SQLite path, or the URL without its password (`url`: as opened).
        self.url = describe(url or engine.url.render_as_string(hide_password=False))
        self._dialect = sqlite if engine.dialect.name == "sqlite" else postgresql
        self._writer = writer_for(engine.dialect)

    @classmethod
    async def open(cls, url_or_path: str | Path | None = None, *, home: Path | None = None) -> SqlLedger:
        """Connect to (creating and migrating as needed) the ledger at a SQLite path or
        `postgresql://` URL; `LedgerError` naming the cause when it cannot be opened."""
        url = resolve_url(url_or_path, home=home)
        engine = create_engine(url)
        try:
            await ensure_wal(engine)
            await migrate(engine)
        except BaseException as exc:
            await engine.dispose()
            if isinstance(exc, DATABASE_ERRORS):
                raise cannot_open(url, exc) from exc
            raise
        return cls(engine, url=url)

    @classmethod
    async def open_readonly(
        cls, url_or_path: str | Path | None = None, *, home: Path | None = None
    ) -> SqlLedger:
        """Connect to an existing ledger to read it, writing nothing: no file, table or migration is
        created. `LedgerError` when there is no ledger there, or one this version cannot read."""
        url, engine = readonly_engine(url_or_path, home=home)
        try:
            lacking = await missing(engine)
        except BaseException as exc:
            await engine.dispose()
            if isinstance(exc, DATABASE_ERRORS):
                raise cannot_open(url, exc) from exc
            raise
        if lacking:
            await engine.dispose()
            raise _not_readable(describe(url), lacking)
        return cls(engine, url=url)

    # ---- write side ----------------------------------------------------------------------

    async def record(self, rec: UsageRecord) -> None:
        await self.write([record_to_row(rec)])

    async def flush(self) -> None:
        """Nothing is buffered here."""

    async def close(self) -> None:
        await self.engine.dispose()

    async def write(self, rows: Sequence[Row]) -> int:
        """Insert `usage` rows (from `record_to_row`), skipping known request ids; return how many
        were new. The rollups change in the same transaction."""
        first: dict[str, Row] = {}
        for row in rows:  # a request id repeated within one batch counts once
            first.setdefault(row["request_id"], row)
        if not first:
            return 0
        return await self._writer.write(self.engine, list(first.values()))

    async def rebuild_rollups(self) -> None:
        """Recompute the daily rollups from `usage` (after a bulk import that bypassed `write`)."""
        async with self.engine.begin() as conn:
            await conn.execute(sa.delete(usage_daily))
            await conn.execute(sa.delete(usage_daily_tags))
            await conn.execute(sa.delete(usage_daily_sources))
            await backfill_rollups(conn)
            await backfill_sources(conn)

    async def claim_alert(self, period: str, scope: str, *, threshold_nusd: int, spent_nusd: int) -> bool:
        """Record that an alert fired for (period, scope); False if it had already fired."""
        row = {
            "period": period,
            "scope": scope,
            "threshold_nusd": threshold_nusd,
            "spent_nusd": spent_nusd,
            "fired_at": datetime.now(UTC),
        }
        stmt = self._dialect.insert(alert_state).on_conflict_do_nothing().returning(alert_state.c.scope)
        async with self.engine.begin() as conn:
            return (await conn.execute(stmt, row)).first() is not None

    # ---- read side -----------------------------------------------------------------------

    async def rows(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        customer: str | None = None,
        request_ids: Sequence[str] | None = None,
        limit: int | None = None,
    ) -> list[UsageRecord]:
        stmt = _filtered(sa.select(usage), since, until, customer)
        if request_ids is not None:
            stmt = stmt.where(usage.c.request_id.in_(list(request_ids)))
        stmt = stmt.order_by(usage.c.created_at.desc(), usage.c.request_id.desc()).limit(limit)
        async with self.engine.connect() as conn:
            result = await conn.execute(stmt)
            return [row_to_record(row) for row in result.mappings()]

    async def iter_rows(
        self, *, since: datetime | None = None, until: datetime | None = None, customer: str | None = None
    ) -> AsyncIterator[UsageRecord]:
        """Every record in the window, oldest first, streamed (for replays over millions of rows)."""
        stmt = _filtered(sa.select(usage), since, until, customer).order_by(usage.c.created_at)
        async with self.engine.connect() as conn:
            result = await conn.stream(stmt.execution_options(yield_per=2000))
            async for row in result.mappings():
                yield row_to_record(row)

    async def totals(
        self,
        by: Sequence[Dimension] = (),
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        customer: str | None = None,
    ) -> list[Group]:
        dims = [Dimension(d) for d in dict.fromkeys(by)]
        # Sessions are too many to roll up by day: a breakdown by session reads `usage` (its index).
        days, edges = (None, [(since, until)]) if Dimension.SESSION in dims else split_window(since, until)
        selects = [self._raw_select(dims, lo, hi, customer) for lo, hi in edges]
        if days is not None:
            selects.append(_rollup_select(dims, days, customer))
        if Dimension.TAG in dims:  # requests without a tag: a group of their own (tag None)
            selects.append(_untagged_select(dims, since, until, customer))
        merged: dict[tuple[Key, ...], Totals] = {}
        async with self.engine.connect() as conn:
            for stmt in selects:
                for row in (await conn.execute(stmt)).mappings():
                    key = tuple(_key_value(d, row[d.value]) for d in dims)
                    merged[key] = merged.get(key, Totals()) + Totals.from_sums(row)
        if not dims and not merged:
            merged[()] = Totals()
        return [Group(dict(zip(dims, key, strict=True)), t) for key, t in merged.items()]

    async def sources(
        self, *, since: datetime | None = None, until: datetime | None = None, customer: str | None = None
    ) -> list[SourceCount]:
        """Requests per UTC day and classifier source (local, llm, cache, fallback, bypass), oldest
        day first: whole days from their rollup, the partial days at the window's edges from `usage`."""
        days, edges = split_window(since, until)
        day, source = usage_source_columns()[0], usage_source_columns()[2]
        selects: list[sa.Select[Any]] = []
        for lo, hi in edges:
            raw = sa.select(day, source, sa.func.count().label("requests"))
            selects.append(_filtered(raw, lo, hi, customer).group_by(usage.c.day, usage.c.classifier_source))
        if days is not None:
            t = usage_daily_sources.c
            rolled = sa.select(t.day, t.classifier_source, sa.func.sum(t.requests).label("requests"))
            first, stop = days
            if first is not None:
                rolled = rolled.where(t.day >= first)
            if stop is not None:
                rolled = rolled.where(t.day < stop)
            if customer is not None:
                rolled = rolled.where(t.customer == customer)
            selects.append(rolled.group_by(t.day, t.classifier_source))
        counts: dict[tuple[date, str], int] = {}
        async with self.engine.connect() as conn:
            for stmt in selects:
                for row in (await conn.execute(stmt)).mappings():
                    key_day = row["day"]
                    key_day = date.fromisoformat(key_day) if isinstance(key_day, str) else key_day
                    key = (key_day, str(row["classifier_source"]))
                    counts[key] = counts.get(key, 0) + int(row["requests"])
        return [SourceCount(d, s, n) for (d, s), n in sorted(counts.items())]

    def _raw_select(
        self, dims: Sequence[Dimension], lo: datetime | None, hi: datetime | None, customer: str | None
    ) -> sa.Select[Any]:
        keys = usage_key_columns()
        exprs = [keys[d.value].label(d.value) for d in dims]
        stmt = sa.select(*exprs, *usage_measures())
        if Dimension.TAG in dims:
            stmt = stmt.select_from(usage.join(usage_tags, usage_tags.c.request_id == usage.c.request_id))
        return _filtered(stmt, lo, hi, customer).group_by(*(keys[d.value] for d in dims))


def _not_readable(where: str, lacking: list[str]) -> LedgerError:
    if len(lacking) == len(MIGRATIONS):
        return LedgerError(f"no ledger in {where}: nothing has been recorded there yet")
    return LedgerError(
        f"the ledger in {where} was written by an older claude-router (it lacks {', '.join(lacking)}):"
        " run a command that writes to it once (serve, worker, demo --ledger) to upgrade it"
    )


def _filtered(
    stmt: sa.Select[Any], since: datetime | None, until: datetime | None, customer: str | None
) -> sa.Select[Any]:
    if since is not None:
        stmt = stmt.where(usage.c.created_at >= since)
    if until is not None:
        stmt = stmt.where(usage.c.created_at < until)
    if customer is not None:
        stmt = stmt.where(usage.c.customer == customer)
    return stmt


def _untagged_select(
    dims: Sequence[Dimension], since: datetime | None, until: datetime | None, customer: str | None
) -> sa.Select[Any]:
    """Sums over the window's untagged requests (no rollup holds them), their tag NULL. A scan of
    `usage`, so paid for only by a breakdown by tag."""
    keys = usage_key_columns() | {Dimension.TAG.value: sa.null()}
    others = [keys[d.value] for d in dims if d is not Dimension.TAG]
    stmt = sa.select(*(keys[d.value].label(d.value) for d in dims), *usage_measures())
    stmt = _filtered(stmt.where(usage.c.tags == "[]"), since, until, customer)
    return stmt.group_by(*others)


DayRange = tuple[date | None, date | None]


def _rollup_select(dims: Sequence[Dimension], days: DayRange, customer: str | None) -> sa.Select[Any]:
    table = usage_daily_tags if Dimension.TAG in dims else usage_daily
    stmt = sa.select(*(table.c[d.value] for d in dims), *rollup_measures(table))
    first, stop = days
    if first is not None:
        stmt = stmt.where(table.c.day >= first)
    if stop is not None:
        stmt = stmt.where(table.c.day < stop)
    if customer is not None:
        stmt = stmt.where(table.c.customer == customer)
    return stmt.group_by(*(table.c[d.value] for d in dims))


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def split_window(
    since: datetime | None, until: datetime | None
) -> tuple[DayRange | None, list[tuple[datetime | None, datetime | None]]]:
    """Split [since, until) into whole UTC days (read from the rollups) and the partial days at
    either edge (read from `usage`). Returns (day range or None, raw time ranges)."""
    since = None if since is None else _utc(since)
    until = None if until is None else _utc(until)
    first = None if since is None else since.date() + timedelta(days=1 if since.time() != time() else 0)
    stop = None if until is None else until.date()
    if first is not None and stop is not None and first >= stop:
        return None, [(since, until)]
    edges: list[tuple[datetime | None, datetime | None]] = []
    if since is not None and first is not None and since < _midnight(first):
        edges.append((since, _midnight(first)))
    if until is not None and stop is not None and until > _midnight(stop):
        edges.append((_midnight(stop), until))
    return (first, stop), edges


def _key_value(dim: Dimension, value: Any) -> Key:
    if dim in _NULLABLE_KEYS:
        return value or None
    if dim is Dimension.BATCH:
        return bool(value)
    if dim is Dimension.DAY and isinstance(value, str):  # a raw SQLite date string
        return date.fromisoformat(value)
    assert value is None or isinstance(value, str | date)
    return value


def as_mapping(group: Group) -> Mapping[str, Key]:
    return {dim.value: value for dim, value in group.key.items()}
