"""The ledger's measures, defined once: as SQL over `usage` rows, as SQL over rollup rows, and in
Python over a batch of freshly inserted rows (to keep the rollups in step with `usage`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from .schema import (
    FLAGS,
    NOT_FLAGS,
    ROLLUP_KEYS,
    SUMMED,
    rollup_columns,
    usage,
    usage_daily,
    usage_daily_tags,
    usage_tags,
)

MEASURES: tuple[str, ...] = ("requests", *SUMMED, *FLAGS, *NOT_FLAGS, "errors", "latency_s")

RollupKey = tuple[Any, ...]
Row = Mapping[str, Any]


def usage_key_columns() -> dict[str, sa.ColumnElement[Any]]:
    """Rollup keys as expressions over `usage`: NULL becomes '' so it can sit in a primary key."""
    return {
        "day": usage.c.day,
        "tag": usage_tags.c.tag,
        "customer": sa.func.coalesce(usage.c.customer, ""),
        "model": sa.func.coalesce(usage.c.model_used, ""),
        "label": sa.func.coalesce(usage.c.label, ""),
        "batch": usage.c.batch,
        "effort": sa.func.coalesce(usage.c.effort, ""),
        "session": sa.func.coalesce(usage.c.session, ""),
    }


def usage_measures() -> list[sa.ColumnElement[Any]]:
    """Every measure as an aggregate over `usage` rows, labelled with its rollup column name."""
    one, zero = sa.literal(1), sa.literal(0)
    exprs: list[sa.ColumnElement[Any]] = [sa.func.count().label("requests")]
    exprs += [sa.func.coalesce(sa.func.sum(usage.c[name]), 0).label(name) for name in SUMMED]
    exprs += [
        sa.func.coalesce(sa.func.sum(sa.case((usage.c[col], one), else_=zero)), 0).label(name)
        for name, col in FLAGS.items()
    ]
    exprs += [
        sa.func.coalesce(sa.func.sum(sa.case((usage.c[col], zero), else_=one)), 0).label(name)
        for name, col in NOT_FLAGS.items()
    ]
    errors = sa.func.sum(sa.case((usage.c.status != "ok", one), else_=zero))
    exprs.append(sa.func.coalesce(errors, 0).label("errors"))
    exprs.append(sa.func.coalesce(sa.func.sum(usage.c.latency_s), 0.0).label("latency_s"))
    return exprs


def rollup_measures(table: sa.Table) -> list[sa.ColumnElement[Any]]:
    """Every measure as a sum over rollup rows."""
    return [sa.func.coalesce(sa.func.sum(table.c[name]), 0).label(name) for name in MEASURES]


def row_measures(row: Row) -> dict[str, Any]:
    """One `usage` row's contribution to its rollup row."""
    out: dict[str, Any] = {"requests": 1}
    for name in SUMMED:
        out[name] = row[name]
    for name, col in FLAGS.items():
        out[name] = 1 if row[col] else 0
    for name, col in NOT_FLAGS.items():
        out[name] = 0 if row[col] else 1
    out["errors"] = 0 if row["status"] == "ok" else 1
    out["latency_s"] = row["latency_s"]
    return out


def row_key(row: Row, tag: str | None = None) -> RollupKey:
    """The rollup key of a `usage` row (with `tag` for the tag rollup)."""
    key = (
        row["day"],
        row["customer"] or "",
        row["model_used"] or "",
        row["label"] or "",
        row["batch"],
        row["effort"] or "",
    )
    return key if tag is None else (key[0], tag, *key[1:])


def rollup(rows: Iterable[tuple[RollupKey, Row]], key_names: Sequence[str]) -> list[dict[str, Any]]:
    """Sum rows' measures per key; the result is sorted by key, so concurrent writers take the
    rollup rows' locks in the same order (no deadlock on PostgreSQL)."""
    sums: dict[RollupKey, dict[str, Any]] = {}
    for key, row in rows:
        measures = row_measures(row)
        acc = sums.get(key)
        if acc is None:
            sums[key] = measures
        else:
            for name, value in measures.items():
                acc[name] += value
    return [dict(zip(key_names, key, strict=True), **sums[key]) for key in sorted(sums, key=_sortable)]


Rows = list[dict[str, Any]]


def batch_rollups(rows: Sequence[Row]) -> tuple[Rows, Rows, Rows]:
    """For freshly inserted `usage` rows: (daily rollup sums, `usage_tags` rows, daily tag rollup sums)."""
    daily = rollup(((row_key(row), row) for row in rows), rollup_key_names(tagged=False))
    tagged = [(row, tag) for row in rows if row["tags"] != "[]" for tag in json.loads(row["tags"])]
    if not tagged:
        return daily, [], []
    tag_rows = [{"request_id": row["request_id"], "tag": tag} for row, tag in tagged]
    tag_sums = rollup(((row_key(row, tag), row) for row, tag in tagged), rollup_key_names(tagged=True))
    return daily, tag_rows, tag_sums


def _sortable(key: RollupKey) -> tuple[str, ...]:
    return tuple(str(part) for part in key)


def rollup_key_names(*, tagged: bool) -> tuple[str, ...]:
    return ("day", "tag", *ROLLUP_KEYS[1:]) if tagged else ROLLUP_KEYS


async def backfill_rollups(conn: AsyncConnection) -> None:
    """Fill the (empty) rollup tables from `usage` and `usage_tags` with INSERT ... SELECT ... GROUP BY."""
    keys = usage_key_columns()
    for table, tagged in ((usage_daily, False), (usage_daily_tags, True)):
        names = [c.name for c in rollup_columns(tagged=tagged) if c.primary_key]
        select = sa.select(*(keys[n].label(n) for n in names), *usage_measures())
        if tagged:
            select = select.select_from(usage.join(usage_tags, usage_tags.c.request_id == usage.c.request_id))
        select = select.group_by(*(keys[n] for n in names))
        await conn.execute(
            sa.insert(table).from_select([*names, *(m.name for m in usage_measures())], select)
        )
