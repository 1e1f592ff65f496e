"""What a forecast replays: traffic folded into cohorts of requests that every policy treats alike.

A cohort is every request sharing what routing looks at (classifier label, quality label, tags,
route alias, batch, the UTC minute when a policy has time windows) and what pricing looks at
(the model it ran on, how many long-prompt thresholds its prompt crossed, the price period of its
date, its inference_geo and speed). Its tokens are summed, so replaying a million requests costs
one price lookup per cohort and policy, not per request: prices are constant within a period, and
the long-prompt band is decided per request before the sums are taken.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from ..catalog.pricing import PriceTable
from ..types import ZERO, Label, TokenUsage


@dataclass(frozen=True, slots=True)
class CohortKey:
    label: Label | None  # the classifier's label; None for a request that named its model
    quality_label: Label | None = None  # the tier the request really needed, where known
    tags: frozenset[str] = frozenset()
    alias: str | None = None  # the route alias it was sent to (without "router:")
    batch: bool = False
    minute: int | None = None  # minutes after midnight UTC; only kept for timed rules
    long_level: int = 0  # how many of the price sheet's long-prompt thresholds the prompt crossed
    model: str | None = None  # the model it ran on (ledger) or was asked for (concrete model id)
    period: date | None = None  # the start of the price period of its date (None: today's prices)
    geo: str | None = None  # inference_geo as its usage reported it
    fast: bool = False  # its usage reported speed "fast"
    effort: str | None = None  # the effort it was sent with (ledger)
    priced: bool = True  # False: recorded on a model (or iteration) the price sheet does not know


@dataclass(slots=True)
class Cohort:
    key: CohortKey
    requests: int = 0
    usage: TokenUsage = field(default_factory=TokenUsage)
    recorded_cost_usd: Decimal = ZERO  # what the ledger says the answering calls cost
    classifier_cost_usd: Decimal = ZERO

    def add(self, requests: int, usage: TokenUsage, cost: Decimal, classifier_cost: Decimal) -> None:
        self.requests += requests
        self.usage = self.usage + usage
        self.recorded_cost_usd += cost
        self.classifier_cost_usd += classifier_cost


@dataclass(slots=True)
class Workload:
    """The replayable traffic, plus what was left out of it and over how long it was seen."""

    source: str
    cohorts: dict[CohortKey, Cohort] = field(default_factory=dict)
    span_days: float = 1.0  # the time the traffic covers (at least one day)
    skipped: int = 0  # input lines that could not be read
    problems: list[str] = field(default_factory=list)  # the first few reasons, with line numbers
    excluded: int = 0  # requests that failed and are not replayed
    recorded: bool = False  # costs and models come from a ledger (a "recorded" row makes sense)

    def add(
        self,
        key: CohortKey,
        usage: TokenUsage,
        *,
        requests: int = 1,
        cost: Decimal = ZERO,
        classifier_cost: Decimal = ZERO,
    ) -> None:
        cohort = self.cohorts.get(key)
        if cohort is None:
            cohort = self.cohorts[key] = Cohort(key)
        cohort.add(requests, usage, cost, classifier_cost)

    @property
    def requests(self) -> int:
        return sum(c.requests for c in self.cohorts.values())

    @property
    def has_quality_labels(self) -> bool:
        return any(key.quality_label is not None for key in self.cohorts)


MAX_PROBLEMS = 20


def long_thresholds(prices: PriceTable) -> tuple[int, ...]:
    """The price sheet's distinct long-prompt and long-context thresholds, ascending."""
    return prices.long_thresholds


def period_of(day: date | None, prices: PriceTable) -> date | None:
    """The start of the price period `day` falls in (the sheet's latest price date on or before
    it; its first before any); None for None (today's prices)."""
    if day is None or not prices.price_dates:
        return None
    found = prices.price_dates[0]
    for start in prices.price_dates:
        if start > day:
            break
        found = start
    return found


def long_level(prompt_tokens: int, thresholds: Iterable[int]) -> int:
    return sum(1 for t in thresholds if prompt_tokens > t)
