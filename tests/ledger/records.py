"""Usage records priced with the packaged price sheet, as the router would build them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from claude_router.catalog import pricing
from claude_router.catalog.pricing import Tier
from claude_router.types import ClassifierSource, Label, TokenUsage, UsageRecord

HAIKU, SONNET, OPUS = "claude-haiku-4-5", "claude-sonnet-4-6", "claude-opus-4-8"
T0 = datetime(2025, 6, 1, tzinfo=UTC)
_MODELS = {Label.SIMPLE: HAIKU, Label.MODERATE: SONNET, Label.COMPLEX: OPUS}
DEFAULT_USAGE = TokenUsage(300, 20)
CLASSIFIER_USAGE = TokenUsage(310, 2)
_LABELS = (Label.SIMPLE, Label.SIMPLE, Label.MODERATE, Label.COMPLEX, Label.SIMPLE)


def priced(
    request_id: str,
    *,
    model: str = HAIKU,
    usage: TokenUsage = DEFAULT_USAGE,
    classifier_usage: TokenUsage = CLASSIFIER_USAGE,
    batch: bool = False,
    created_at: datetime = T0,
    **fields: object,
) -> UsageRecord:
    """A record whose cost columns come from `pricing`, exactly as the router computes them."""
    return UsageRecord(
        request_id=request_id,
        created_at=created_at,
        model_requested="auto",
        model_used=model,
        usage=usage,
        classifier_usage=classifier_usage,
        batch=batch,
        classifier_source=ClassifierSource.LLM,
        cost_usd=pricing.cost(model, usage, batch=batch),
        classifier_cost_usd=pricing.cost(HAIKU, classifier_usage),
        cost_if_opus_usd=pricing.what_if(usage, Tier.OPUS, batch=batch),
        cost_if_sonnet_usd=pricing.what_if(usage, Tier.SONNET, batch=batch),
        **fields,  # type: ignore[arg-type]
    )


def traffic(n: int, *, start: datetime = T0, step: timedelta = timedelta(minutes=7)) -> list[UsageRecord]:
    """`n` varied records: three tiers, five customers (one absent), tags, cache and batch rows."""
    out = []
    for i in range(n):
        label = _LABELS[i % len(_LABELS)]
        usage = TokenUsage(
            200 + i % 97, 5 + i % 41, (i % 5 == 0) * 1500, (i % 11 == 0) * 900, (i % 3 == 0) * 4000
        )
        out.append(
            priced(
                f"req-{i:06d}",
                model=_MODELS[label],
                usage=usage,
                batch=i % 4 == 0,
                created_at=start + i * step,
                label=label,
                confidence=0.5 + (i % 5) / 10,
                customer=None if i % 6 == 5 else f"cust-{i % 5}",
                tags=tuple(t for t, on in (("batch-job", i % 4 == 0), ("customer_facing", i % 7 == 0)) if on),
                task_id=f"task-{i}",
                retries=int(i % 3 == 0),
                fallback=i % 13 == 0,
                status="ok" if i % 17 else "overloaded_error",
                latency_s=0.25 + (i % 9) / 10,
                ttft_s=None if i % 2 else 0.1,
            )
        )
    return out
