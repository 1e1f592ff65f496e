"""The report's "Classifier" section: where labels came from, per day (per week over long windows).

A request's label comes from the local model, the LLM classifier (when the local model was unsure),
the classifier cache or a fallback (the LLM call failed); requests that named a model were not
classified (bypass) and are left out of the shares. A rising local share is the learning loop at
work (`train --from-ledger`): fewer LLM classifier calls for the same traffic.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from html import escape
from typing import Any, Protocol, runtime_checkable

from rich import box
from rich.table import Table

from ..ledger.sources import SourceCount
from ..types import ClassifierSource
from .columns import Column, fitted_table
from .fmt import tokens

#: The sources a share is taken over (a bypass was never classified), in display order.
CLASSIFIED = (ClassifierSource.LOCAL, ClassifierSource.LLM, ClassifierSource.CACHE, ClassifierSource.FALLBACK)
WEEKLY_AFTER_DAYS = 31  # longer windows are shown a week a row
NOTE = "Shares of the classified requests; a rising local share means fewer LLM classifier calls."


@runtime_checkable
class SourceReader(Protocol):
    """A ledger that can count requests per day by label source (`SqlLedger`, `BufferedLedger`)."""

    async def sources(
        self, *, since: datetime | None = None, until: datetime | None = None, customer: str | None = None
    ) -> list[SourceCount]: ...


@dataclass(frozen=True, slots=True)
class SourcePeriod:
    """Requests of one day (or week, from `start`) by label source."""

    start: date
    counts: Mapping[str, int]
    weekly: bool = False

    @property
    def classified(self) -> int:
        return sum(self.counts.get(s.value, 0) for s in CLASSIFIED)

    def share(self, source: ClassifierSource) -> float:
        """`source`'s share of the classified requests (0 when none were classified)."""
        return self.counts.get(source.value, 0) / self.classified if self.classified else 0.0

    @property
    def label(self) -> str:
        return f"week of {self.start.isoformat()}" if self.weekly else self.start.isoformat()


@dataclass(frozen=True, slots=True)
class SourcesSummary:
    periods: list[SourcePeriod]
    total: SourcePeriod


def summarise(counts: Sequence[SourceCount]) -> SourcesSummary | None:
    """Per day (per ISO week when the days span more than a month), and over the whole window."""
    if not counts:
        return None
    days = sorted({c.day for c in counts})
    weekly = (days[-1] - days[0]).days >= WEEKLY_AFTER_DAYS
    buckets: dict[date, dict[str, int]] = {}
    total: dict[str, int] = {}
    for c in counts:
        start = c.day - timedelta(days=c.day.weekday()) if weekly else c.day
        bucket = buckets.setdefault(start, {})
        bucket[c.source] = bucket.get(c.source, 0) + c.requests
        total[c.source] = total.get(c.source, 0) + c.requests
    periods = [SourcePeriod(start, buckets[start], weekly) for start in sorted(buckets)]
    return SourcesSummary(periods, SourcePeriod(days[0], total))


async def build_sources(
    ledger: object, *, since: datetime | None, until: datetime | None, customer: str | None
) -> SourcesSummary | None:
    """The section's numbers, when `ledger` can count label sources (None otherwise, or when empty)."""
    if not isinstance(ledger, SourceReader):
        return None
    return summarise(await ledger.sources(since=since, until=until, customer=customer))


def _share(period: SourcePeriod, source: ClassifierSource) -> str:
    return f"{period.share(source):.1%}" if period.classified else "-"


def sources_table(s: SourcesSummary, width: int) -> Table:
    """By period, fitted to `width`: the local and LLM shares always, the rarer sources as room allows."""
    columns = [
        Column("Period", "id"),
        Column("Classified", "number"),
        Column("Local", "number"),
        Column("LLM", "number"),
        Column("Cache", "number", drop=2),
        Column("Fallback", "number", drop=3),
        Column("Not classified", "number", drop=1),
    ]
    rows = []
    for p in [*s.periods, s.total]:
        cells = [
            "Total" if p is s.total else p.label,
            tokens(p.classified),
            *(_share(p, source) for source in CLASSIFIED),
            tokens(p.counts.get(ClassifierSource.BYPASS.value, 0)),
        ]
        rows.append([f"[bold]{cell}[/]" for cell in cells] if p is s.total else cells)
    return fitted_table(
        columns,
        rows,
        width,
        title="Classifier: where labels came from",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        title_style="bold",
        caption=NOTE,
        caption_justify="left",
    )


def sources_card(s: SourcesSummary) -> str:
    """The HTML card: the same table."""
    names = ("Classified", "Local", "LLM", "Cache", "Fallback", "Not classified")
    head = "<tr><th>Period</th>" + "".join(f'<th class="num">{n}</th>' for n in names) + "</tr>"
    rows = []
    for p in [*s.periods, s.total]:
        name = "Total" if p is s.total else p.label
        nums = (
            tokens(p.classified),
            *(_share(p, source) for source in CLASSIFIED),
            tokens(p.counts.get(ClassifierSource.BYPASS.value, 0)),
        )
        cells = "".join(f'<td class="num">{escape(n)}</td>' for n in nums)
        rows.append(f"<tr><td>{escape(name)}</td>{cells}</tr>")
    table = (
        f'<table class="data" id="classifier-sources"><thead>{head}</thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )
    return (
        f'<section class="card wide"><h2>Classifier: where labels came from</h2>{table}'
        f'<p class="note">{escape(NOTE)}</p></section>'
    )


def sources_json(s: SourcesSummary) -> dict[str, Any]:
    def one(p: SourcePeriod) -> dict[str, Any]:
        return {
            "start": p.start.isoformat(),
            "classified": p.classified,
            "requests": dict(sorted(p.counts.items())),
            "shares": {source.value: round(p.share(source), 4) for source in CLASSIFIED},
        }

    weekly = bool(s.periods) and s.periods[0].weekly
    return {
        "period": "week" if weekly else "day",
        "periods": [one(p) for p in s.periods],
        "total": one(s.total),
    }


__all__ = [
    "CLASSIFIED",
    "SourcePeriod",
    "SourceReader",
    "SourcesSummary",
    "build_sources",
    "sources_card",
    "sources_json",
    "sources_table",
    "summarise",
]
