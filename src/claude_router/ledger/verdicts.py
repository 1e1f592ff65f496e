"""Quality verdicts: one row per sampled request in `quality_verdicts`, SQLite or PostgreSQL.

A verdict compares the answer a routed request got with the answer the tier above gave to the
same body, as a judge model scored them against the rubric. Scores are kept per criterion as a
JSON object (the rubric's criteria are data) and as a sum, for SQL. What the re-run and the judge
cost is stored with the verdict, so monitoring spend is accounted apart from routed traffic.

    store = VerdictStore(ledger.engine)
    await store.write(verdict)                  # a second verdict for the same request is ignored
    groups = await store.by_label(since=week_ago)
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from ..types import ZERO, TokenUsage
from .engine import SQLITE_BEGIN
from .money import from_nano, to_nano
from .schema import UtcDateTime, metadata


class Better(StrEnum):
    """Which answer the judge preferred. `UNKNOWN`: no usable verdict (garbage, or a failed call)."""

    CHEAPER = "cheaper"
    HIGHER = "higher"
    TIE = "tie"
    UNKNOWN = "unknown"


def _count(name: str) -> sa.Column[Any]:
    return sa.Column(name, sa.BigInteger, nullable=False, server_default="0")


quality_verdicts = sa.Table(
    "quality_verdicts",
    metadata,
    sa.Column("request_id", sa.String(128), primary_key=True),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("label", sa.String(16)),
    sa.Column("model", sa.String(128), nullable=False),  # the routed (cheaper) model
    sa.Column("higher_model", sa.String(128), nullable=False),
    sa.Column("better", sa.String(16), nullable=False),
    sa.Column("cheaper_scores", sa.Text, nullable=False, server_default="{}"),  # JSON {criterion: n}
    sa.Column("higher_scores", sa.Text, nullable=False, server_default="{}"),
    sa.Column("cheaper_total", sa.Integer),
    sa.Column("higher_total", sa.Integer),
    sa.Column("judge_model", sa.String(128), nullable=False),
    _count("judge_input_tokens"),
    _count("judge_output_tokens"),
    _count("judge_cost_nusd"),
    _count("rerun_input_tokens"),  # every prompt token, fresh or cached
    _count("rerun_output_tokens"),
    _count("rerun_cost_nusd"),
    sa.Column("rubric", sa.String(64), nullable=False),  # the rubric's version
    sa.Column("reason", sa.String(256)),  # why the verdict is unknown
    sa.Index("ix_quality_verdicts_created_at", "created_at"),
)


@dataclass(frozen=True, slots=True)
class Verdict:
    """One sampled request, re-run on `higher_model` and judged. Money is exact `Decimal` USD."""

    request_id: str
    created_at: datetime
    label: str | None
    model: str
    higher_model: str
    better: Better
    judge_model: str
    rubric: str
    cheaper_scores: Mapping[str, int] = field(default_factory=dict)
    higher_scores: Mapping[str, int] = field(default_factory=dict)
    judge_usage: TokenUsage = field(default_factory=TokenUsage)
    judge_cost_usd: Decimal = ZERO
    rerun_usage: TokenUsage = field(default_factory=TokenUsage)
    rerun_cost_usd: Decimal = ZERO
    reason: str | None = None

    @property
    def cheaper_worse(self) -> bool:
        return self.better is Better.HIGHER

    @property
    def cost_usd(self) -> Decimal:
        """What monitoring this request cost: the re-run and the judge."""
        return self.rerun_cost_usd + self.judge_cost_usd


@dataclass(frozen=True, slots=True)
class LabelQuality:
    """Verdicts for one label. `judged` excludes unknown verdicts; shares are of `judged`."""

    label: str | None
    samples: int = 0
    judged: int = 0
    cheaper_worse: int = 0
    ties: int = 0
    cheaper_better: int = 0
    judge_cost_usd: Decimal = ZERO
    rerun_cost_usd: Decimal = ZERO

    @property
    def unknown(self) -> int:
        return self.samples - self.judged

    @property
    def worse_share(self) -> Decimal:
        return Decimal(self.cheaper_worse) / self.judged if self.judged else ZERO

    @property
    def cost_usd(self) -> Decimal:
        return self.judge_cost_usd + self.rerun_cost_usd


class VerdictSink(Protocol):
    """Where finished verdicts go (`VerdictStore` implements it)."""

    async def write(self, verdict: Verdict) -> None: ...


class VerdictStore:
    """Verdicts on the ledger's database (migrated by `migrations.m004_quality_verdicts`)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._dialect = sqlite if engine.dialect.name == "sqlite" else postgresql

    async def write(self, verdict: Verdict) -> None:
        stmt = self._dialect.insert(quality_verdicts).on_conflict_do_nothing()
        async with self.engine.connect() as raw:
            conn = await raw.execution_options(**{SQLITE_BEGIN: "IMMEDIATE"})
            async with conn.begin():
                await conn.execute(stmt, [verdict_to_row(verdict)])

    async def rows(
        self, *, since: datetime | None = None, until: datetime | None = None, limit: int | None = None
    ) -> list[Verdict]:
        """Verdicts in [since, until), newest first."""
        stmt = _window(sa.select(quality_verdicts), since, until)
        stmt = stmt.order_by(quality_verdicts.c.created_at.desc(), quality_verdicts.c.request_id).limit(limit)
        async with self.engine.connect() as conn:
            return [row_to_verdict(row) for row in (await conn.execute(stmt)).mappings()]

    async def by_label(
        self, *, since: datetime | None = None, until: datetime | None = None
    ) -> list[LabelQuality]:
        """Counts and spend per label (one GROUP BY), simple → complex, unlabelled last."""
        v = quality_verdicts.c

        def when(condition: sa.ColumnElement[bool]) -> sa.ColumnElement[Any]:
            return sa.func.sum(sa.case((condition, 1), else_=0))

        stmt = _window(
            sa.select(
                v.label,
                sa.func.count().label("samples"),
                when(v.better != Better.UNKNOWN.value).label("judged"),
                when(v.better == Better.HIGHER.value).label("worse"),
                when(v.better == Better.TIE.value).label("ties"),
                when(v.better == Better.CHEAPER.value).label("better"),
                sa.func.sum(v.judge_cost_nusd).label("judge"),
                sa.func.sum(v.rerun_cost_nusd).label("rerun"),
            ),
            since,
            until,
        ).group_by(v.label)
        async with self.engine.connect() as conn:
            groups = [
                LabelQuality(
                    label=row["label"],
                    samples=int(row["samples"]),
                    judged=int(row["judged"] or 0),
                    cheaper_worse=int(row["worse"] or 0),
                    ties=int(row["ties"] or 0),
                    cheaper_better=int(row["better"] or 0),
                    judge_cost_usd=from_nano(int(row["judge"] or 0)),
                    rerun_cost_usd=from_nano(int(row["rerun"] or 0)),
                )
                for row in (await conn.execute(stmt)).mappings()
            ]
        return sorted(groups, key=lambda g: _LABEL_ORDER.get(g.label or "", len(_LABEL_ORDER)))


_LABEL_ORDER = {"simple": 0, "moderate": 1, "complex": 2}


def _window(stmt: sa.Select[Any], since: datetime | None, until: datetime | None) -> sa.Select[Any]:
    if since is not None:
        stmt = stmt.where(quality_verdicts.c.created_at >= since)
    if until is not None:
        stmt = stmt.where(quality_verdicts.c.created_at < until)
    return stmt


def _total(scores: Mapping[str, int]) -> int | None:
    return sum(scores.values()) if scores else None


def verdict_to_row(v: Verdict) -> dict[str, Any]:
    return {
        "request_id": v.request_id,
        "created_at": v.created_at,
        "label": v.label,
        "model": v.model,
        "higher_model": v.higher_model,
        "better": v.better.value,
        "cheaper_scores": json.dumps(dict(v.cheaper_scores), sort_keys=True),
        "higher_scores": json.dumps(dict(v.higher_scores), sort_keys=True),
        "cheaper_total": _total(v.cheaper_scores),
        "higher_total": _total(v.higher_scores),
        "judge_model": v.judge_model,
        "judge_input_tokens": v.judge_usage.total_input_tokens,
        "judge_output_tokens": v.judge_usage.output_tokens,
        "judge_cost_nusd": to_nano(v.judge_cost_usd),
        "rerun_input_tokens": v.rerun_usage.total_input_tokens,
        "rerun_output_tokens": v.rerun_usage.output_tokens,
        "rerun_cost_nusd": to_nano(v.rerun_cost_usd),
        "rubric": v.rubric,
        "reason": v.reason,
    }


def row_to_verdict(row: Mapping[str, Any]) -> Verdict:
    return Verdict(
        request_id=row["request_id"],
        created_at=row["created_at"],
        label=row["label"],
        model=row["model"],
        higher_model=row["higher_model"],
        better=Better(row["better"]),
        judge_model=row["judge_model"],
        rubric=row["rubric"],
        cheaper_scores=json.loads(row["cheaper_scores"]),
        higher_scores=json.loads(row["higher_scores"]),
        judge_usage=TokenUsage(int(row["judge_input_tokens"]), int(row["judge_output_tokens"])),
        judge_cost_usd=from_nano(int(row["judge_cost_nusd"])),
        rerun_usage=TokenUsage(int(row["rerun_input_tokens"]), int(row["rerun_output_tokens"])),
        rerun_cost_usd=from_nano(int(row["rerun_cost_nusd"])),
        reason=row["reason"],
    )
