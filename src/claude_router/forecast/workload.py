"""What a forecast replays: traffic folded into cohorts of requests that every policy treats alike.

A cohort is every request sharing what routing looks at (classifier label, quality label, tags,
route alias, batch, the UTC minute when a policy has time windows) and what pricing looks at
(the model it ran on, the tokenizer generation its tokens were counted by, how many long-prompt
thresholds its prompt crossed, the price period of its date, its inference_geo and speed). Its
tokens are summed, so replaying a million requests costs one price lookup per cohort and policy,
not per request: prices are constant within a period, and the long-prompt band is decided per
request before the sums are taken.

Token counts depend on the model: Claude 4.7 and later count the same text as about 1.3x the
tokens Haiku 4.5 counts (the catalogue's `token_ratio`). A cohort keeps its tokens as they were
counted, with the ratio they were counted at (`CohortKey.token_ratio`: the recorded model's for a
ledger, 1 for requests never sent), and the replay converts them to the ratio of the model that
would answer (`replay.Pricer`). The long-prompt band is therefore kept against every threshold as
every generation counts it (`long_thresholds`), so the band on any model is known exactly.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from fractions import Fraction

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
    long_level: int = 0  # how many of `long_thresholds` the prompt, as counted, crossed
    model: str | None = None  # the model it ran on (ledger) or was asked for (concrete model id)
    period: date | None = None  # the start of the price period of its date (None: today's prices)
    geo: str | None = None  # inference_geo as its usage reported it
    fast: bool = False  # its usage reported speed "fast"
    effort: str | None = None  # the effort it was sent with (ledger)
    priced: bool = True  # False: recorded on a model (or iteration) the price sheet does not know
    # The tokenizer generation the tokens were counted by, as the catalogue's `token_ratio` (tokens
    # per token of Haiku 4.5's): the recorded model's for a ledger, 1 for requests never sent; None
    # for a model the sheet does not know (its tokens are taken as any model would count them).
    token_ratio: Fraction | None = Fraction(1)


@dataclass(slots=True)
class Cohort:
    key: CohortKey
    requests: int = 0
    usage: TokenUsage = field(default_factory=TokenUsage)  # as counted at `key.token_ratio`
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


def token_ratio(prices: PriceTable, model: str | None) -> Fraction | None:
    """The tokenizer generation of `model` as an exact fraction (1.3 is 13/10); None for a model
    the price sheet does not know."""
    spec = None if model is None else prices.catalogue.get(model)
    return None if spec is None else Fraction(spec.token_ratio)


def token_ratios(prices: PriceTable) -> tuple[Fraction, ...]:
    """Every tokenizer generation of the price sheet, ascending."""
    return tuple(sorted({Fraction(spec.token_ratio) for spec in prices.catalogue}))


def long_thresholds(prices: PriceTable) -> tuple[int, ...]:
    """Every long-prompt and long-context threshold of the price sheet as a prompt counted by any of
    its tokenizer generations meets it on a model of any other, ascending and distinct.

    A prompt counted at ratio `c` holds `n * t / c` tokens on a model of ratio `t`, which exceeds
    that model's threshold `T` exactly when `n > floor(T * c / t)`: so knowing how many of these a
    prompt crossed (`long_level`) gives its band on every model (`crossed`)."""
    ratios = token_ratios(prices)
    return tuple(
        sorted(
            {
                _bound(t, counted, target)
                for t in prices.long_thresholds
                for counted in ratios
                for target in ratios
            }
        )
    )


def _bound(threshold: int, counted: Fraction, target: Fraction) -> int:
    """The most tokens counted at ratio `counted` that stay within `threshold` at ratio `target`."""
    return threshold * counted.numerator * target.denominator // (counted.denominator * target.numerator)


def crossed(
    level: int, thresholds: tuple[int, ...], threshold: int, counted: Fraction | None, target: Fraction | None
) -> bool:
    """Whether a prompt that crossed `level` of `thresholds`, counted at ratio `counted`, exceeds
    `threshold` as a model of ratio `target` counts it (an unknown ratio on either side: as counted).
    Exact when the two ratios are the sheet's; otherwise a prompt between two known thresholds is
    taken as below."""
    if counted is None or target is None:
        counted = target = Fraction(1)
    return level > 0 and thresholds[level - 1] >= _bound(threshold, counted, target)


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
