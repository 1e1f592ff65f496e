"""Turn what a routed call consumed into one `UsageRecord`, priced to the nano-dollar.

Costs come only from the usage the API returned: the answering call, any leg that was cancelled
(a speculative Haiku call that lost), and the classifier's own call. The what-if columns price the
answering call's tokens at the Opus and Sonnet tiers, so savings compare like with like.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from ..catalog.pricing import PriceTable, Tier
from ..types import ZERO, ClassifierSource, Decision, RequestMeta, Route, TokenUsage, UsageRecord


@dataclass(frozen=True, slots=True)
class Leg:
    """Tokens one model consumed for this request (the answer, or a cancelled speculative call)."""

    model: str
    usage: TokenUsage


@dataclass(frozen=True, slots=True)
class Outcome:
    """How the upstream part of a request ended."""

    model_used: str | None  # None when no model answered
    answer: TokenUsage  # the answering call's tokens
    extra_legs: Sequence[Leg] = ()  # tokens spent elsewhere (a cancelled speculative leg)
    retries: int = 0
    fallback: bool = False
    latency_s: float = 0.0
    ttft_s: float | None = None
    error_type: str | None = None  # None: success
    speculative: bool = False


def new_record(
    prices: PriceTable,
    *,
    request_id: str,
    model_requested: str,
    meta: RequestMeta,
    decision: Decision | None,
    route: Route | None,
    outcome: Outcome,
    batch: bool = False,
    created_at: datetime | None = None,
) -> UsageRecord:
    """The ledger row for one request: every token it consumed and what each cost."""
    cost = prices.cost(outcome.model_used, outcome.answer, batch=batch) if outcome.model_used else ZERO
    for leg in outcome.extra_legs:
        cost += prices.cost(leg.model, leg.usage, batch=batch)
    record = UsageRecord(
        request_id=request_id,
        created_at=created_at or datetime.now(UTC),
        model_requested=model_requested,
        model_used=outcome.model_used,
        task_id=meta.task_id,
        customer=meta.customer,
        key_id=meta.key_id,
        tags=tuple(sorted(meta.tags)),
        label=route.label if route is not None else None,
        fallback=outcome.fallback,
        retries=outcome.retries,
        status="ok" if outcome.error_type is None else outcome.error_type,
        error_type=outcome.error_type,
        batch=batch,
        usage=_total(outcome),
        cost_usd=cost,
        cost_if_opus_usd=prices.what_if(outcome.answer, Tier.OPUS, batch=batch),
        cost_if_sonnet_usd=prices.what_if(outcome.answer, Tier.SONNET, batch=batch),
        latency_s=outcome.latency_s,
        ttft_s=outcome.ttft_s,
        speculative=outcome.speculative,
    )
    if decision is not None:
        record.label = decision.label if route is None or route.label is None else route.label
        record.confidence = decision.confidence
        record.classifier_source = decision.source
        record.classifier_usage = decision.usage
        record.classifier_cost_usd = classifier_cost(prices, decision, batch=batch)
    return record


def classifier_cost(prices: PriceTable, decision: Decision, *, batch: bool = False) -> Decimal:
    """What the classifier call behind `decision` cost (zero for cache hits and local labels)."""
    if decision.model is None or decision.source is ClassifierSource.CACHE:
        return ZERO
    return prices.cost(decision.model, decision.usage, batch=batch)


def _total(outcome: Outcome) -> TokenUsage:
    usage = outcome.answer
    for leg in outcome.extra_legs:
        usage = usage + leg.usage
    return usage
