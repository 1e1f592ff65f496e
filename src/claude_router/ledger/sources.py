"""Where each request's label came from (local model, LLM classifier, cache, fallback), per day.

`usage.classifier_source` says it for one request; `usage_daily_sources` counts requests per UTC
day, customer and source, kept in the same transaction as each `usage` insert (like the other
rollups), so the report's "how much does the local model answer alone" section reads a few rows
a day however many requests there were. `SqlLedger.sources` reads it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from .schema import metadata, usage

Row = dict[str, Any]

usage_daily_sources = sa.Table(
    "usage_daily_sources",
    metadata,
    sa.Column("day", sa.Date, primary_key=True),
    sa.Column("customer", sa.String(256), primary_key=True),  # '' for none
    sa.Column("classifier_source", sa.String(16), primary_key=True),
    sa.Column("requests", sa.BigInteger, nullable=False, server_default="0"),
)

_KEYS = ("day", "customer", "classifier_source")


@dataclass(frozen=True, slots=True)
class SourceCount:
    """Requests of one UTC day whose label came from `source` (a `ClassifierSource` value)."""

    day: date
    source: str
    requests: int


def source_rollups(rows: Sequence[Mapping[str, Any]]) -> list[Row]:
    """Counts per (day, customer, source) of freshly inserted `usage` rows, sorted by key (so that
    concurrent writers lock rollup rows in the same order)."""
    counts: dict[tuple[Any, str, str], int] = {}
    for row in rows:
        key = (row["day"], row["customer"] or "", row["classifier_source"])
        counts[key] = counts.get(key, 0) + 1
    ordered = sorted(counts, key=lambda k: (str(k[0]), k[1], k[2]))
    return [dict(zip(_KEYS, key, strict=True), requests=counts[key]) for key in ordered]


def source_upsert(dialect_insert: Callable[[sa.Table], Any]) -> Any:
    """Add each row's count to its rollup row, creating it if needed."""
    stmt = dialect_insert(usage_daily_sources)
    return stmt.on_conflict_do_update(
        index_elements=list(_KEYS),
        set_={"requests": usage_daily_sources.c.requests + stmt.excluded.requests},
    )


def usage_source_columns() -> list[sa.ColumnElement[Any]]:
    """The rollup's keys as expressions over `usage` (NULL customer as '')."""
    return [
        usage.c.day.label("day"),
        sa.func.coalesce(usage.c.customer, "").label("customer"),
        usage.c.classifier_source.label("classifier_source"),
    ]


async def backfill_sources(conn: AsyncConnection) -> None:
    """Fill the (empty) rollup from `usage` with one INSERT ... SELECT ... GROUP BY."""
    keys = usage_source_columns()
    select = sa.select(*keys, sa.func.count().label("requests")).group_by(*keys)
    await conn.execute(sa.insert(usage_daily_sources).from_select([*_KEYS, "requests"], select))


__all__ = [
    "SourceCount",
    "backfill_sources",
    "source_rollups",
    "source_upsert",
    "usage_daily_sources",
    "usage_source_columns",
]
