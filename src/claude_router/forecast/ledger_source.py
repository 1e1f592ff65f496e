"""Read a ledger as a workload: one GROUP BY in the database, never a Python object per request.

The query folds the `usage` table into cohorts (label, tags, alias, batch, model, long-prompt
level, price period, inference_geo, speed, effort, priced and, only when a policy has time
windows, the UTC minute) with summed tokens and money, so a million rows come back as a few
hundred. The long-prompt level and the price period are computed per row in SQL, so every request
is re-priced on its own band and at the prices of its date. Failed requests are counted but not
replayed.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from ..catalog.pricing import PriceTable
from ..ledger import SqlLedger, from_nano
from ..ledger.schema import TOKEN_COLUMNS, usage
from ..types import Label, TokenUsage
from .workload import CohortKey, Workload, long_thresholds

_ALIAS_PREFIX = "router:"
_DAY_S = 86_400.0


def _minute_expr(engine: AsyncEngine) -> sa.ColumnElement[Any]:
    created: sa.ColumnElement[Any] = usage.c.created_at
    if engine.dialect.name == "postgresql":  # timestamptz: read the clock in UTC, whatever the session says
        created = sa.func.timezone("UTC", created)
    return sa.extract("hour", created) * 60 + sa.extract("minute", created)


def _level_expr(prices: PriceTable) -> sa.ColumnElement[Any]:
    prompt = usage.c.input_tokens + usage.c.cache_write_5m_tokens
    prompt = prompt + usage.c.cache_write_1h_tokens + usage.c.cache_read_tokens
    level: sa.ColumnElement[Any] = sa.literal(0)
    for threshold in long_thresholds(prices):
        level = level + sa.case((prompt > threshold, 1), else_=0)
    return level


def _period_expr(prices: PriceTable) -> sa.ColumnElement[Any]:
    """The start of the price period of each row's day, as ISO text (the first period's before any)."""
    dates = prices.price_dates
    if not dates:
        return sa.null()
    whens = [(usage.c.day >= start, sa.literal(start.isoformat())) for start in reversed(dates[1:])]
    return (
        sa.case(*whens, else_=sa.literal(dates[0].isoformat())) if whens else sa.literal(dates[0].isoformat())
    )


def _window(stmt: sa.Select[Any], since: datetime | None, until: datetime | None) -> sa.Select[Any]:
    if since is not None:
        stmt = stmt.where(usage.c.created_at >= since)
    if until is not None:
        stmt = stmt.where(usage.c.created_at < until)
    return stmt


async def read_ledger(
    store: SqlLedger,
    prices: PriceTable,
    *,
    by_minute: bool = False,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Workload:
    """The ledger's successful requests in [since, until) as a workload."""
    alias = sa.case(
        (usage.c.model_requested.like(_ALIAS_PREFIX + "%"), usage.c.model_requested), else_=sa.null()
    )
    keys: list[sa.ColumnElement[Any]] = [
        usage.c.label,
        usage.c.tags,
        alias.label("alias"),
        usage.c.batch,
        usage.c.model_used,
        _level_expr(prices).label("long_level"),
        _period_expr(prices).label("period"),
        usage.c.inference_geo,
        usage.c.speed,
        usage.c.effort,
        usage.c.priced,
    ]
    if by_minute:
        keys.append(_minute_expr(store.engine).label("minute"))
    sums = [sa.func.sum(usage.c[name]).label(name) for name in TOKEN_COLUMNS]
    money = [sa.func.sum(usage.c[name]).label(name) for name in ("cost_nusd", "classifier_cost_nusd")]
    grouped = sa.select(*keys, sa.func.count().label("requests"), *sums, *money)
    grouped = _window(grouped.where(usage.c.status == "ok"), since, until).group_by(*keys)
    span = _window(
        sa.select(
            sa.func.min(usage.c.created_at),
            sa.func.max(usage.c.created_at),
            sa.func.sum(sa.case((usage.c.status != "ok", 1), else_=0)),
        ),
        since,
        until,
    )
    workload = Workload(source=store.url, recorded=True)
    async with store.engine.connect() as conn:
        for row in (await conn.execute(grouped)).mappings():
            _add_row(workload, row)
        first, last, failed = (await conn.execute(span)).one()
    workload.excluded = int(failed or 0)
    workload.span_days = _span_days(first, last)
    return workload


def _add_row(workload: Workload, row: Any) -> None:
    alias = row["alias"]
    minute = row.get("minute")
    key = CohortKey(
        label=Label(row["label"]) if row["label"] else None,
        tags=frozenset(json.loads(row["tags"] or "[]")),
        alias=alias[len(_ALIAS_PREFIX) :] if alias else None,
        batch=bool(row["batch"]),
        minute=None if minute is None else int(minute),
        long_level=int(row["long_level"]),
        model=row["model_used"],
        period=date.fromisoformat(row["period"]) if row["period"] else None,
        geo=row["inference_geo"],
        fast=row["speed"] == "fast",
        effort=row["effort"],
        priced=bool(row["priced"]),
    )
    fresh, output, write_5m, write_1h, read = (int(row[name] or 0) for name in TOKEN_COLUMNS)
    tokens = TokenUsage(fresh, output, write_5m, write_1h, read)
    workload.add(
        key,
        tokens,
        requests=int(row["requests"]),
        cost=from_nano(int(row["cost_nusd"] or 0)),
        classifier_cost=from_nano(int(row["classifier_cost_nusd"] or 0)),
    )


def _span_days(first: Any, last: Any) -> float:
    """Days between the first and last request, at least one (a short sample counts as a day)."""
    if not isinstance(first, datetime) or not isinstance(last, datetime):
        first, last = _parse(first), _parse(last)
    if first is None or last is None:
        return 1.0
    return max(float((last - first).total_seconds()) / _DAY_S, 1.0)


def _parse(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        return datetime.fromisoformat(value)
    return None
