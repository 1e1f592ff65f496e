"""Accounting: a request's record priced at its date, against the ladder's top, unpriced when its
model is not on the sheet; and the router pricing with a user's corrections to the sheet."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from claude_router.catalog.pricing import Baseline, PriceTable
from claude_router.config import Settings
from claude_router.routing.accounting import Leg, Outcome, new_record
from claude_router.routing.router import Router
from claude_router.types import ClassifierSource, Decision, Label, RequestMeta, Route, TokenUsage, UsageRecord

from .conftest import SIMPLE, RouterFactory, ask, settings_for

PRICES = PriceTable.default()
M = 1_000_000
AFTER = datetime(2026, 12, 1, tzinfo=UTC)
LADDER_4 = {
    Label.SIMPLE: "claude-haiku-4-5",
    Label.MODERATE: "claude-sonnet-4-6",
    Label.COMPLEX: "claude-opus-4-8",
}


def record(
    model: str | None,
    usage: TokenUsage,
    *,
    outcome: Outcome | None = None,
    decision: Decision | None = None,
    route: Route | None = None,
    created_at: datetime = AFTER,
    baseline: Baseline | None = None,
) -> UsageRecord:
    return new_record(
        PRICES,
        request_id="r1",
        model_requested="auto",
        meta=RequestMeta(),
        decision=decision,
        route=route,
        outcome=outcome or Outcome(model_used=model, answer=usage),
        created_at=created_at,
        baseline=baseline,
    )


def test_what_ifs_price_the_tokens_on_the_ladders_top_and_middle() -> None:
    usage = TokenUsage(1_000, 100)
    rec = record("claude-haiku-5-5", usage)  # no ladder given: the catalogue's tiers (today's models)
    assert rec.cost_usd == (1_000 * Decimal("0.10") + 100 * Decimal("0.50")) / M
    assert rec.cost_if_opus_usd == (1_000 * 4 + 100 * 20) / Decimal(M)  # Opus 5.5
    assert rec.cost_if_sonnet_usd == (1_000 * 2 + 100 * 10) / Decimal(M)  # Sonnet 5.5
    old = record("claude-haiku-4-5", usage, baseline=Baseline.of_ladder(LADDER_4))
    assert old.cost_if_opus_usd == (1_000 * 5 + 100 * 25) / Decimal(M)  # Opus 4.8
    assert old.cost_if_sonnet_usd == (1_000 * 3 + 100 * 15) / Decimal(M)  # Sonnet 4.6


def test_a_request_is_priced_at_the_prices_of_its_date() -> None:
    usage = TokenUsage(0, 0, cache_read_tokens=M)
    before = record("claude-sonnet-5-5", usage, created_at=datetime(2026, 10, 6, 23, 59, tzinfo=UTC))
    after = record("claude-sonnet-5-5", usage, created_at=datetime(2026, 10, 7, tzinfo=UTC))
    assert (before.cost_usd, after.cost_usd) == (Decimal("0.20"), Decimal("0.10"))


def test_effort_and_adaptations_are_copied_and_geo_and_speed_kept() -> None:
    usage = TokenUsage(100, 10, inference_geo="us", speed="fast")
    outcome = Outcome(
        model_used="claude-opus-5-5",
        answer=usage,
        extra_legs=(Leg("claude-haiku-5-5", TokenUsage(50, 5)),),
        adapted=("thinking: enabled → adaptive",),
        effort="high",
    )
    route = Route("claude-opus-5-5", label=Label.COMPLEX, effort="high")
    rec = record("claude-opus-5-5", usage, outcome=outcome, route=route)
    assert (rec.effort, rec.adapted, rec.priced) == ("high", ("thinking: enabled → adaptive",), True)
    assert (rec.usage.inference_geo, rec.usage.speed, rec.usage.input_tokens) == ("us", "fast", 150)
    # fast "us" on Opus 5.5 ($8 / $40 x 1.1) plus the cancelled Haiku 5.5 leg
    assert (
        rec.cost_usd
        == (100 * 8 + 10 * 40) * Decimal("1.1") / M + (50 * Decimal("0.10") + 5 * Decimal("0.50")) / M
    )


def test_an_effort_adaptation_dropped_is_recorded_as_none() -> None:
    usage = TokenUsage(100, 10)
    outcome = Outcome(model_used="claude-haiku-4-5", answer=usage, adapted=("effort:dropped",))
    route = Route("claude-haiku-5-5", label=Label.SIMPLE, effort="low")  # fell back to Haiku 4.5
    assert record("claude-haiku-4-5", usage, outcome=outcome, route=route).effort is None
    kept = Outcome(model_used="claude-haiku-5-5", answer=usage)
    assert record("claude-haiku-5-5", usage, outcome=kept, route=route).effort == "low"


@pytest.mark.parametrize(
    "answer",
    [
        TokenUsage(100, 10),
        TokenUsage.from_api(
            {
                "input_tokens": 100,
                "output_tokens": 10,
                "iterations": [{"type": "advisor_message", "model": "claude-nova-1", "input_tokens": 5}],
            }
        ),
    ],
)
def test_an_unknown_model_is_recorded_unpriced_never_at_zero(
    answer: TokenUsage, caplog: pytest.LogCaptureFixture
) -> None:
    model = "claude-nova-1" if not answer.iterations else "claude-haiku-5-5"
    decision = Decision(Label.SIMPLE, 0.9, ClassifierSource.LLM, TokenUsage(300, 1), model="claude-haiku-5-5")
    with caplog.at_level(logging.WARNING):
        rec = record(model, answer, decision=decision)
    assert not rec.priced
    assert (rec.cost_usd, rec.cost_if_opus_usd, rec.cost_if_sonnet_usd) == (0, 0, 0)  # out of every sum
    assert rec.usage.input_tokens == answer.input_tokens  # its tokens are kept
    assert rec.classifier_cost_usd == (300 * Decimal("0.10") + 1 * Decimal("0.50")) / M  # priced as before
    assert "claude-nova-1" in caplog.text


def test_a_failed_request_with_no_answer_is_priced_at_nothing() -> None:
    rec = record(
        None, TokenUsage(), outcome=Outcome(model_used=None, answer=TokenUsage(), error_type="api_error")
    )
    assert rec.priced
    assert rec.cost_usd == 0


# ---- through the router ------------------------------------------------------------------------


async def test_the_routers_baseline_is_its_ladders_top(make_router: RouterFactory) -> None:
    router = make_router(policy={"label_models": LADDER_4})
    routed = await router.create(**ask(SIMPLE))
    rec = routed.record
    assert router.baseline == Baseline("claude-opus-4-8", "claude-sonnet-4-6")
    assert rec.cost_if_opus_usd == PRICES.what_if(rec.usage, "claude-opus-4-8", on=rec.created_at.date())
    assert rec.cost_if_opus_usd > rec.cost_usd > 0


async def test_a_corrected_price_in_the_catalog_file_takes_effect(tmp_path: Path, emulator_url: str) -> None:
    # The ladder's simple model at a corrected price: $7 / $70 per million instead of the sheet's.
    model = Settings().policy.label_models[Label.SIMPLE]
    spec = PRICES.catalogue.resolve(model)
    path = tmp_path / "models.toml"
    start = spec.prices[0].start.isoformat()
    path.write_text(f"[models.{spec.id}]\nprices = [{{ from = {start}, input = 7, output = 70 }}]\n")
    async with Router(settings_for(emulator_url, catalog={"path": str(path)})) as router:
        routed = await router.create(**ask(SIMPLE))
    rec = routed.record
    assert rec.model_used == spec.id
    u = rec.usage
    assert rec.cost_usd == (u.input_tokens * 7 + u.output_tokens * 70) / Decimal(M)
    assert rec.cost_usd > 0
