"""Replay planned requests (a JSONL file) one by one through the emulator's prompt cache.

Prompt caching depends on order and on the model: a conversation scattered across tiers writes its
prefix again on each. So planned traffic is not folded into cohorts: under each policy, every
request (and every leg of a cascade) is planned against a fresh copy of the emulator's prompt
cache on simulated time (the lines' `created_at`, else one second apart), which gives its cache
writes and reads on the model that policy picks. The "cache-aware" policy is the policy in force
with cache-aware routing (`CacheAffinity`) deciding on the same simulated caches.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..catalog.pricing import PriceTable
from ..config import CacheAffinitySettings
from ..emulator import EmulatorConfig, EmulatorError, Engine
from ..routing.cache_affinity import CacheAffinity
from ..types import RequestMeta, Route, TokenUsage
from .policies import ForecastPolicy, LabelPolicy, OraclePolicy, RecordedPolicy
from .replay import Forecast, PolicyForecast, Pricer, add_cohort, add_leg, finish
from .workload import Cohort, CohortKey, Workload

CACHE_AWARE = "cache-aware"


@dataclass(frozen=True, slots=True)
class PlannedRequest:
    params: dict[str, Any]  # the Messages API body as written
    key: CohortKey
    prompt_tokens: int
    output_tokens: int
    created_at: datetime | None
    session: str | None  # metadata.user_id: the conversation


@dataclass(slots=True)
class Planned:
    workload: Workload  # the same requests folded into cohorts (totals, labels, skipped lines)
    requests: list[PlannedRequest] = field(default_factory=list)

    def times(self) -> list[float]:
        """Seconds after the first request for each request, in file order."""
        first = next((r.created_at for r in self.requests if r.created_at is not None), None)
        out: list[float] = []
        for request in self.requests:
            if request.created_at is not None and first is not None:
                out.append((request.created_at - first).total_seconds())
            else:
                out.append(out[-1] + 1.0 if out else 0.0)
        return out


@dataclass(frozen=True, slots=True)
class CacheAwarePolicy:
    """The policy in force, with cache-aware routing on top (replayed on planned traffic only)."""

    base: LabelPolicy
    settings: CacheAffinitySettings = field(default_factory=CacheAffinitySettings)
    name: str = CACHE_AWARE
    classifies: bool = True

    def model_for(self, key: CohortKey) -> str | None:
        return self.base.model_for(key)

    def effort_for(self, key: CohortKey) -> str | None:
        return self.base.effort_for(key)

    def extra_models(self, key: CohortKey) -> tuple[str, ...]:
        return ()


class CacheSimulation:
    """The emulator's prompt cache, alone, on a clock the replay sets."""

    def __init__(self) -> None:
        self.now = 0.0
        self._engine = Engine(EmulatorConfig(), clock=lambda: self.now)

    def usage(self, request: PlannedRequest, model: str) -> TokenUsage:
        try:
            prompt = self._engine.parse({**request.params, "model": model})
        except EmulatorError:  # beyond this model's limits: priced as fresh input, uncached
            return TokenUsage(input_tokens=request.prompt_tokens, output_tokens=request.output_tokens)
        plan = self._engine.cache.plan(prompt)
        self._engine.cache.commit(plan)
        return TokenUsage(
            input_tokens=prompt.input_tokens - plan.read_tokens - plan.write_tokens,
            output_tokens=request.output_tokens,
            cache_write_5m_tokens=plan.write_5m_tokens,
            cache_write_1h_tokens=plan.write_1h_tokens,
            cache_read_tokens=plan.read_tokens,
        )


async def replay_planned(
    planned: Planned,
    policies: Sequence[ForecastPolicy],
    prices: PriceTable,
    *,
    days: int = 30,
    affinity: CacheAffinitySettings | None = None,
) -> Forecast:
    """Each policy over the planned requests in order, plus the first label policy made cache-aware
    (with `affinity`'s settings) right after it."""
    workload = planned.workload
    times = planned.times()
    chosen = [p for p in policies if not isinstance(p, RecordedPolicy)]
    chosen = [p for p in chosen if workload.has_quality_labels or not isinstance(p, OraclePolicy)]
    base = next((p for p in chosen if isinstance(p, LabelPolicy)), None)
    if base is not None:
        at = chosen.index(base) + 1
        chosen.insert(at, CacheAwarePolicy(base, affinity or CacheAffinitySettings()))
    pricer = Pricer(prices)
    results = []
    for policy in chosen:
        result = PolicyForecast(policy.name)
        if isinstance(policy, CacheAwarePolicy):
            await _replay_cache_aware(policy, planned, times, pricer, result)
        else:
            _replay_one(policy, planned, times, pricer, result)
        results.append(finish(result, workload, days))
    return Forecast(workload, days, tuple(results))


def _replay_one(
    policy: ForecastPolicy, planned: Planned, times: list[float], pricer: Pricer, result: PolicyForecast
) -> None:
    cache = CacheSimulation()
    for request, at in zip(planned.requests, times, strict=True):
        cache.now = at
        model = policy.model_for(request.key)
        if model is None:
            continue
        for earlier in policy.extra_models(request.key):
            add_leg(result, Cohort(request.key, 1, cache.usage(request, earlier)), earlier, pricer)
        usage = cache.usage(request, model)
        add_cohort(
            result, Cohort(request.key, 1, usage), model, pricer, effort=policy.effort_for(request.key)
        )


async def _replay_cache_aware(
    policy: CacheAwarePolicy, planned: Planned, times: list[float], pricer: Pricer, result: PolicyForecast
) -> None:
    cache = CacheSimulation()
    affinity = CacheAffinity(pricer.prices, policy.settings, clock=lambda: cache.now)
    for request, at in zip(planned.requests, times, strict=True):
        cache.now = at
        model = policy.model_for(request.key)
        if model is None:
            continue
        reason = "label" if request.key.label is not None else "concrete_model"
        meta = RequestMeta(session=request.session)
        route = await affinity.adjust(
            Route(model, label=request.key.label, reason=reason), request.params, meta
        )
        usage = cache.usage(request, route.model)
        await affinity.observe(request.params, meta, route.model, usage)
        add_cohort(
            result, Cohort(request.key, 1, usage), route.model, pricer, effort=policy.effort_for(request.key)
        )
    await affinity.aclose()
