"""Replay a workload under each policy: cost, tier mix, cache savings, quality risk, projection.

Every cohort keeps its recorded (or estimated) tokens and is priced on the model a policy picks, at
the prices in force on its requests' date, with the sheet's long-prompt, batch, geo and fast-mode
prices (fast only on a model that has it); cache reads and writes are priced at the new model's
cache rates. Quality risk is the share of labelled requests routed below the tier their label
asks for (the quality label where one is known, else the classifier's). The mix counts requests
by model and by the effort each policy sends them with.

What a ledger replay cannot know: recorded tokens include any discarded leg (a cascade's first
answer, a losing speculative call) and every iteration of a response (an advisor's tokens are
replayed on the policy's model); the cache reads each request made are assumed to happen on
whichever model a policy picks (the ledger keeps no conversation ids); and how many thinking
tokens another effort would have spent. Planned requests are replayed one by one through a
simulated prompt cache instead (`planned.py`). A request a policy keeps on a model the price
sheet does not know is counted as unpriced, never as $0.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from ..catalog.pricing import TIERS, PriceTable, Rates, Tier
from ..errors import UnknownModelError
from ..types import ZERO, TokenUsage
from .policies import ForecastPolicy, OraclePolicy, RecordedPolicy
from .workload import Cohort, CohortKey, Workload

_HUNDRED = Decimal(100)

#: (model, effort) → requests: the mix a policy ends with
Mix = dict[tuple[str, str | None], int]


@dataclass(slots=True)
class PolicyForecast:
    name: str
    requests: int = 0
    cost_usd: Decimal = ZERO  # the answering calls, plus the classifier where the policy classifies
    classifier_cost_usd: Decimal = ZERO
    cache_savings_usd: Decimal = ZERO
    tier_requests: dict[Tier, int] = field(default_factory=lambda: dict.fromkeys(TIERS, 0))
    mix: Mix = field(default_factory=dict)
    at_risk: int = 0  # requests below the tier their label asks for
    escalated: int = 0  # re-runs a cascade made
    labelled: int = 0
    unpriced: int = 0  # requests on a model the price sheet does not know: not in the cost
    monthly_usd: Decimal = ZERO

    @property
    def quality_risk_pct(self) -> Decimal:
        return Decimal(self.at_risk) * _HUNDRED / self.labelled if self.labelled else ZERO

    def tier_share_pct(self, tier: Tier) -> Decimal:
        return Decimal(self.tier_requests[tier]) * _HUNDRED / self.requests if self.requests else ZERO


@dataclass(frozen=True, slots=True)
class Forecast:
    workload: Workload
    days: int
    policies: tuple[PolicyForecast, ...]

    def baseline(self) -> PolicyForecast:
        """The yardstick: the recorded row when there is one, else the first policy."""
        return self.policies[0]


def replay(
    workload: Workload, policies: Sequence[ForecastPolicy], prices: PriceTable, *, days: int = 30
) -> Forecast:
    pricer = Pricer(prices)
    results = []
    for policy in policies:
        if isinstance(policy, RecordedPolicy) and not workload.recorded:
            continue  # traffic never sent has no recorded cost
        if isinstance(policy, OraclePolicy) and not workload.has_quality_labels:
            continue  # without quality labels the oracle is the classifier's own map
        result = PolicyForecast(policy.name)
        for cohort in workload.cohorts.values():
            model = policy.model_for(cohort.key)
            if model is not None:
                for earlier in policy.extra_models(cohort.key):  # legs a cascade paid for, then discarded
                    add_leg(result, cohort, earlier, pricer)
                recorded = isinstance(policy, RecordedPolicy)
                add_cohort(
                    result, cohort, model, pricer, recorded=recorded, effort=policy.effort_for(cohort.key)
                )
                if policy.classifies:
                    result.classifier_cost_usd += cohort.classifier_cost_usd
        results.append(finish(result, workload, days))
    return Forecast(workload, days, tuple(results))


def finish(result: PolicyForecast, workload: Workload, days: int) -> PolicyForecast:
    """Add the classifier's cost and project the total over `days`."""
    result.cost_usd += result.classifier_cost_usd
    result.monthly_usd = result.cost_usd * days / Decimal(str(workload.span_days))
    return result


def add_leg(result: PolicyForecast, cohort: Cohort, model: str, pricer: Pricer) -> None:
    """A call whose answer was thrown away (a cascade's cheaper attempt): its cost only."""
    rates = pricer.rates(model, cohort.key)
    if rates is not None:
        result.cost_usd += rates.charge(cohort.usage)
    result.escalated += cohort.requests


def add_cohort(
    result: PolicyForecast,
    cohort: Cohort,
    model: str,
    pricer: Pricer,
    *,
    recorded: bool = False,
    effort: str | None = None,
) -> None:
    """The cohort answered by `model` (with `effort`): cost, mix, cache savings and quality risk."""
    key = cohort.key
    result.requests += cohort.requests
    mix = (model, effort)
    result.mix[mix] = result.mix.get(mix, 0) + cohort.requests
    rates = pricer.rates(model, key)
    if rates is None or (recorded and not key.priced):
        result.unpriced += cohort.requests
        return
    tier = pricer.prices.tier_of(model)
    result.tier_requests[tier] = result.tier_requests.get(tier, 0) + cohort.requests
    result.cost_usd += cohort.recorded_cost_usd if recorded else rates.charge(cohort.usage)
    result.cache_savings_usd += _cache_savings(rates, cohort.usage)
    label = key.quality_label or key.label
    if label is not None:
        result.labelled += cohort.requests
        if tier.rank < Tier.for_label(label).rank:
            result.at_risk += cohort.requests


def _cache_savings(rates: Rates, usage: TokenUsage) -> Decimal:
    """The cache's saving against sending the same prompt tokens fresh (as the cost report has it)."""
    cached = usage.cache_write_tokens + usage.cache_read_tokens
    paid = (
        usage.cache_write_5m_tokens * rates.cache_write_5m
        + usage.cache_write_1h_tokens * rates.cache_write_1h
        + usage.cache_read_tokens * rates.cache_read
    )
    return cached * rates.input - paid


_PriceKey = tuple[str, int, bool, object, str | None, bool]


class Pricer:
    """Per-token rates by (model, long-prompt level, batch, price period, geo, speed), looked up
    once each; None for a model the price sheet does not know."""

    def __init__(self, prices: PriceTable) -> None:
        self.prices = prices
        self._cache: dict[_PriceKey, Rates | None] = {}

    def rates(self, model: str, key: CohortKey) -> Rates | None:
        lookup = (model, key.long_level, key.batch, key.period, key.geo, key.fast)
        if lookup in self._cache:
            return self._cache[lookup]
        try:
            found: Rates | None = self.prices.rates(
                model,
                on=key.period,
                batch=key.batch,
                fast=key.fast,
                geo=key.geo,
                long_level=key.long_level,
            )
        except UnknownModelError:
            found = None
        self._cache[lookup] = found
        return found
