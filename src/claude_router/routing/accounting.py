"""Turn what a routed call consumed into one `UsageRecord`, priced to the nano-dollar.

Costs come only from the usage the API returned (geo, speed and iterations included), at the
prices in force on the request's date: the answering call, any leg that was cancelled (a
speculative call that lost), and the classifier's own call. The what-if columns price the
answering call's tokens on the ladder's top and middle models (`Baseline`: the models the router
routes complex and moderate requests to), so savings compare like with like.

A model the price sheet does not know (a new release, a typo the API accepted) is never priced at
$0: its record says `priced=False` and its cost and what-if columns stay out of every sum.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

from ..catalog.adapt import EFFORT_DROPPED
from ..catalog.pricing import Baseline, PriceTable
from ..errors import PricingError, UnknownModelError
from ..types import ZERO, ClassifierSource, Decision, RequestMeta, Route, TokenUsage, UsageRecord

logger = logging.getLogger(__name__)


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
    adapted: tuple[str, ...] = ()  # what was changed in the body for the model it was sent to
    effort: str | None = None  # the effort the answering model was sent (after adaptation)
    signatures: tuple[str, ...] = ()  # of the answer's thinking blocks, written by `model_used`


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
    baseline: Baseline | None = None,
) -> UsageRecord:
    """The ledger row for one request: every token it consumed and what each cost, at the prices
    of its date; what-ifs on `baseline` (None: the catalogue's tiers)."""
    created_at = created_at or datetime.now(UTC)
    day = created_at.astimezone(UTC).date() if created_at.tzinfo else created_at.date()
    baseline = baseline or Baseline.of_catalogue(prices)
    priced = _priced(prices, outcome, baseline, batch=batch, on=day, request_id=request_id)
    record = UsageRecord(
        request_id=request_id,
        created_at=created_at,
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
        cost_usd=priced[0] if priced else ZERO,
        cost_if_opus_usd=priced[1] if priced else ZERO,
        cost_if_sonnet_usd=priced[2] if priced else ZERO,
        latency_s=outcome.latency_s,
        ttft_s=outcome.ttft_s,
        speculative=outcome.speculative,
        effort=_effort(outcome, route),
        adapted=outcome.adapted,
        priced=priced is not None,
        session=meta.session,
    )
    if decision is not None:
        record.label = decision.label if route is None or route.label is None else route.label
        record.confidence = decision.confidence
        record.classifier_source = decision.source
        record.classifier_usage = decision.usage
        record.classifier_cost_usd = classifier_cost(prices, decision, batch=batch, on=day)
    return record


def _priced(
    prices: PriceTable, outcome: Outcome, baseline: Baseline, *, batch: bool, on: date, request_id: str
) -> tuple[Decimal, Decimal, Decimal] | None:
    """(cost, cost on the top model, cost on the middle model), or None when a model that
    answered (or an iteration of its usage) has no price on the sheet."""
    try:
        cost = (
            prices.cost(outcome.model_used, outcome.answer, batch=batch, on=on)
            if outcome.model_used
            else ZERO
        )
        for leg in outcome.extra_legs:
            cost += prices.cost(leg.model, leg.usage, batch=batch, on=on)
        top = prices.what_if(outcome.answer, baseline.top, batch=batch, on=on)
        middle = prices.what_if(outcome.answer, baseline.middle, batch=batch, on=on)
    except (UnknownModelError, PricingError) as exc:
        logger.warning("request %s is recorded unpriced: %s", request_id, exc)
        return None
    return cost, top, middle


def classifier_cost(
    prices: PriceTable, decision: Decision, *, batch: bool = False, on: date | None = None
) -> Decimal:
    """What the classifier call behind `decision` cost (zero for cache hits and local labels)."""
    if decision.model is None or decision.source is ClassifierSource.CACHE:
        return ZERO
    return prices.cost(decision.model, decision.usage, batch=batch, on=on)


def _effort(outcome: Outcome, route: Route | None) -> str | None:
    """The effort the answering call was sent: none when adaptation dropped it for that model,
    else the call's own, else the route's (a call that never reported one)."""
    if EFFORT_DROPPED in outcome.adapted:
        return None
    return outcome.effort or (route.effort if route is not None else None)


def _total(outcome: Outcome) -> TokenUsage:
    """Every token the request consumed, with the answering call's geo and speed."""
    answer = usage = outcome.answer
    for leg in outcome.extra_legs:
        usage = usage + leg.usage
    if usage is answer:
        return answer
    return TokenUsage(
        usage.input_tokens,
        usage.output_tokens,
        usage.cache_write_5m_tokens,
        usage.cache_write_1h_tokens,
        usage.cache_read_tokens,
        inference_geo=answer.inference_geo,
        speed=answer.speed,
    )
