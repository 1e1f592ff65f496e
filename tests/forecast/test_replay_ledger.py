"""Replaying a ledger: every policy's cost equals the per-request arithmetic it stands for."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction

from rich.console import Console

from claude_router.catalog.pricing import PriceTable, Tier
from claude_router.config import PolicySettings, RuleSettings, Settings
from claude_router.forecast import (
    RecordedPolicy,
    TierPolicy,
    candidate_policies,
    needs_minutes,
    read_ledger,
    replay,
)
from claude_router.forecast.render import render_html_page, render_table, to_json
from claude_router.ledger import SqlLedger
from claude_router.routing.accounting import Outcome, new_record
from claude_router.types import ClassifierSource, Label, RequestMeta, Route, TokenUsage, UsageRecord

PRICES = PriceTable.default()
HAIKU, SONNET, OPUS = "claude-haiku-4-5", "claude-sonnet-4-6", "claude-opus-4-8"
MODELS = {Label.SIMPLE: HAIKU, Label.MODERATE: SONNET, Label.COMPLEX: OPUS}
T0 = datetime(2026, 5, 1, tzinfo=UTC)
SEED = Settings(policy=PolicySettings(label_models=MODELS))  # the traffic below ran on the 4.x ladder


def traffic(n: int, seed: int = 7) -> list[UsageRecord]:
    """Routed requests as the router records them: label map, tag floor, cache, a long prompt, failures."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        label = rng.choice([Label.SIMPLE, Label.SIMPLE, Label.MODERATE, Label.COMPLEX])
        tags = ("customer_facing",) if i % 5 == 0 else ()
        model = SONNET if tags and label is Label.SIMPLE else MODELS[label]
        big = i == 3
        usage = TokenUsage(
            input_tokens=250_000 if big else rng.randint(50, 3000),
            output_tokens=rng.randint(5, 800),
            cache_write_5m_tokens=rng.choice([0, 0, 2048]),
            cache_read_tokens=rng.choice([0, 4096]),
        )
        ok = i % 17 != 5
        out.append(
            UsageRecord(
                request_id=f"r{i}",
                created_at=T0 + timedelta(hours=i),
                model_requested="auto",
                model_used=model if ok else None,
                tags=tags,
                label=label,
                classifier_source=ClassifierSource.LLM,
                status="ok" if ok else "overloaded_error",
                error_type=None if ok else "overloaded_error",
                batch=i % 7 == 0,
                usage=usage if ok else TokenUsage(),
                cost_usd=PRICES.cost(model, usage, batch=i % 7 == 0) if ok else Decimal(0),
                classifier_cost_usd=PRICES.cost(HAIKU, TokenUsage(300, 1)),
            )
        )
    return out


def ratio(model: str) -> Fraction:
    """The model's tokenizer generation: tokens per token of Haiku 4.5's for the same text."""
    return Fraction(PRICES.catalogue.resolve(model).token_ratio)


def same_text_on(model: str, r: UsageRecord) -> Fraction:
    """What request `r` costs on `model`: its tokens as `model` counts the same text (the recorded
    counts times the ratio of the two tokenizer generations, exactly), at `model`'s prices."""
    assert r.model_used is not None
    return Fraction(PRICES.cost(model, r.usage, batch=r.batch)) * ratio(model) / ratio(r.model_used)


def close(cost: Decimal, exact: Fraction) -> bool:
    """Equal to `Decimal`'s 28 significant digits (a 10/13 scale has no finite decimal)."""
    return abs(Fraction(cost) - exact) < Fraction(1, 10**20)


async def _ledger_with(url: str, records: list[UsageRecord]) -> SqlLedger:
    store = await SqlLedger.open(url)
    for rec in records:
        await store.record(rec)
    return store


async def test_each_policy_costs_what_its_requests_cost_one_by_one(ledger_url: str) -> None:
    records = traffic(120)
    store = await _ledger_with(ledger_url, records)
    try:
        workload = await read_ledger(store, PRICES)
    finally:
        await store.close()
    draft = PolicySettings(label_models={**MODELS, Label.MODERATE: HAIKU}, tag_floors={})
    policies = candidate_policies(SEED, [("cheap", draft)], PRICES)
    result = {r.name: r for r in replay(workload, policies, PRICES, days=30).policies}
    ok = [r for r in records if r.ok]

    assert workload.requests == len(ok)
    assert workload.excluded == len(records) - len(ok)
    assert list(result) == ["recorded", "current", "cheap", "all-haiku", "all-sonnet", "all-opus", "cascade"]
    classifier = sum((r.classifier_cost_usd for r in ok), Decimal(0))
    assert result["recorded"].cost_usd == sum((r.cost_usd for r in ok), Decimal(0)) + classifier
    # The policy in force, replayed, reproduces what the router recorded (same map, same tag floor).
    assert result["current"].cost_usd == result["recorded"].cost_usd
    # Opus 4.8 counts the text Haiku 4.5 and Sonnet 4.6 counted as 1.3x the tokens, and the other way
    assert (ratio(HAIKU), ratio(SONNET), ratio(OPUS)) == (1, 1, Fraction(13, 10))
    for tier, model in ((Tier.HAIKU, HAIKU), (Tier.SONNET, SONNET), (Tier.OPUS, OPUS)):
        expected = sum((same_text_on(model, r) for r in ok), Fraction(0))  # batch priced per row
        assert close(result[f"all-{tier.value}"].cost_usd, expected), tier
        assert result[f"all-{tier.value}"].tier_requests[tier] == len(ok)
    on_own_counts = sum((PRICES.cost(OPUS, r.usage, batch=r.batch) for r in ok), Decimal(0))
    assert result["all-opus"].cost_usd > on_own_counts  # not the recorded counts, unscaled

    def cheap_model(r: UsageRecord) -> str:
        return HAIKU if r.label is Label.MODERATE else MODELS[r.label or Label.SIMPLE]

    expected_cheap = sum((PRICES.cost(cheap_model(r), r.usage, batch=r.batch) for r in ok), Decimal(0))
    assert result["cheap"].cost_usd == expected_cheap + classifier
    above_simple = sum(1 for r in ok if r.label is not Label.SIMPLE)
    assert result["all-haiku"].at_risk == above_simple
    assert result["cheap"].at_risk == sum(1 for r in ok if r.label is Label.MODERATE)
    assert result["current"].at_risk == 0
    assert result["all-opus"].quality_risk_pct == 0
    span = (max(r.created_at for r in ok) - min(r.created_at for r in ok)).total_seconds() / 86400
    assert abs(
        result["current"].monthly_usd - result["current"].cost_usd * 30 / Decimal(str(span))
    ) < Decimal("1e-9")
    assert result["all-opus"].cache_savings_usd > result["all-haiku"].cache_savings_usd > 0


async def test_timed_rules_replay_at_the_minute_each_request_was_made(ledger_url: str) -> None:
    records = traffic(48)
    store = await _ledger_with(ledger_url, records)
    night = PolicySettings(
        label_models=MODELS, rules=[RuleSettings(name="night", model=HAIKU, window="22:00-06:00")]
    )
    policies = candidate_policies(SEED, [("night", night)], PRICES)
    assert needs_minutes(policies)
    try:
        workload = await read_ledger(store, PRICES, by_minute=True)
    finally:
        await store.close()
    result = {r.name: r for r in replay(workload, policies, PRICES).policies}
    ok = [r for r in records if r.ok]

    def at_night(r: UsageRecord) -> bool:
        return r.created_at.hour >= 22 or r.created_at.hour < 6

    def night_model(r: UsageRecord) -> str:
        if not at_night(r):
            return r.model_used or ""
        return SONNET if r.tags else HAIKU  # the customer_facing floor still lifts the night rule

    night_rows = [r for r in ok if at_night(r) and not r.tags]
    assert result["night"].tier_requests[Tier.HAIKU] >= len(night_rows) > 0
    expected = sum((PRICES.cost(night_model(r), r.usage, batch=r.batch) for r in ok), Decimal(0))
    classifier = sum((r.classifier_cost_usd for r in ok), Decimal(0))
    assert result["night"].cost_usd == expected + classifier


async def test_an_empty_ledger_forecasts_nothing(tmp_path: object) -> None:
    store = await SqlLedger.open(str(tmp_path) + "/empty.db")
    try:
        workload = await read_ledger(store, PRICES)
    finally:
        await store.close()
    result = replay(workload, candidate_policies(SEED, [], PRICES), PRICES)
    assert all(r.cost_usd == 0 and r.requests == 0 for r in result.policies)
    assert workload.span_days == 1.0


async def test_a_window_replays_only_its_requests(tmp_path: object) -> None:
    records = traffic(60)
    store = await _ledger_with(str(tmp_path) + "/window.db", records)
    since, until = T0 + timedelta(hours=10), T0 + timedelta(hours=40)
    try:
        workload = await read_ledger(store, PRICES, since=since, until=until)
    finally:
        await store.close()
    inside = [r for r in records if since <= r.created_at < until]
    assert workload.requests == sum(1 for r in inside if r.ok)
    assert workload.excluded == sum(1 for r in inside if not r.ok)
    assert workload.span_days == 29 / 24  # hours 10 to 39: the first and last request inside
    result = {r.name: r for r in replay(workload, candidate_policies(SEED, [], PRICES), PRICES).policies}
    expected = sum((r.cost_usd + r.classifier_cost_usd for r in inside if r.ok), Decimal(0))
    assert result["recorded"].cost_usd == expected


# ---- today's pricing rules, per request: date, band, geo, fast; unpriced models; effort ------

LADDER_5 = {
    Label.SIMPLE: "claude-haiku-5-5",
    Label.MODERATE: "claude-sonnet-5-5",
    Label.COMPLEX: "claude-opus-5-5",
}


def _routed(
    rid: str, model: str, usage: TokenUsage, day: datetime, *, label: Label | None, effort: str | None = None
) -> UsageRecord:
    """A record as the router accounts it (prices of its date, geo and speed from the usage)."""
    route = None if label is None else Route(model, label=label, effort=effort)
    return new_record(
        PRICES,
        request_id=rid,
        model_requested="auto" if label is not None else model,
        meta=RequestMeta(),
        decision=None,
        route=route,
        outcome=Outcome(model_used=model, answer=usage),
        created_at=day,
    )


async def test_replays_price_each_request_at_its_date_band_geo_and_speed(ledger_url: str) -> None:
    before, after = datetime(2026, 10, 6, 12, tzinfo=UTC), datetime(2026, 10, 7, 12, tzinfo=UTC)
    reads = TokenUsage(1_000, 200, cache_read_tokens=500_000)
    records = [
        _routed("sonnet-before", "claude-sonnet-5-5", reads, before, label=Label.MODERATE),
        _routed("sonnet-after", "claude-sonnet-5-5", reads, after, label=Label.MODERATE),
        # Haiku 5.5 at exactly 100,000 prompt tokens, and one above (the band, per request)
        _routed(
            "haiku-at",
            "claude-haiku-5-5",
            TokenUsage(90_000, 50, cache_read_tokens=10_000),
            after,
            label=Label.SIMPLE,
            effort="low",
        ),
        _routed(
            "haiku-above",
            "claude-haiku-5-5",
            TokenUsage(90_001, 50, cache_read_tokens=10_000),
            after,
            label=Label.SIMPLE,
            effort="low",
        ),
        _routed(
            "opus-us-fast",
            "claude-opus-5-5",
            TokenUsage(3_000, 900, inference_geo="us", speed="fast"),
            after,
            label=Label.COMPLEX,
        ),
        _routed("unknown", "claude-nova-1", TokenUsage(100, 10), after, label=Label.SIMPLE),
    ]
    assert not records[-1].priced
    assert all(r.priced for r in records[:-1])
    store = await _ledger_with(ledger_url, records)
    try:
        workload = await read_ledger(store, PRICES)
    finally:
        await store.close()
    settings = Settings(policy=PolicySettings(label_models=LADDER_5))
    result = {r.name: r for r in replay(workload, candidate_policies(settings, [], PRICES), PRICES).policies}

    priced = records[:-1]
    assert result["recorded"].cost_usd == sum((r.cost_usd for r in priced), Decimal(0))
    assert result["recorded"].unpriced == 1
    # the policy in force routes by label, like the router did; the unknown model's request with it
    assert result["current"].cost_usd == result["recorded"].cost_usd + PRICES.cost(
        "claude-haiku-5-5", TokenUsage(100, 10), on=after.date()
    )
    assert result["current"].unpriced == 0
    for tier, model in zip(("haiku", "sonnet", "opus"), LADDER_5.values(), strict=True):
        # the same tokens on that model (fast only where it has fast mode), at their date's prices
        expected = sum((PRICES.what_if(r.usage, model, on=r.created_at.date()) for r in records), Decimal(0))
        assert result[f"all-{tier}"].cost_usd == expected, tier
    # the hand-made figures behind those sums: Sonnet 5.5 reads at $0.20 before 2026-10-07, $0.10 after
    sonnet = [r.cost_usd for r in records[:2]]
    assert sonnet[0] - sonnet[1] == 500_000 * (Decimal("0.20") - Decimal("0.10")) / 1_000_000
    haiku_at, haiku_above = records[2].cost_usd, records[3].cost_usd
    assert haiku_at == (90_000 * Decimal("0.10") + 50 * Decimal("0.50") + 10_000 * Decimal("0.01")) / 10**6
    assert (
        haiku_above
        == 5 * (90_001 * Decimal("0.10") + 50 * Decimal("0.50") + 10_000 * Decimal("0.01")) / 10**6
    )
    assert records[4].cost_usd == (3_000 * 8 + 900 * 40) * Decimal("1.1") / 10**6  # fast, "us"
    # effort shows in the mix; unpriced requests are counted, in every format
    assert result["recorded"].mix[("claude-haiku-5-5", "low")] == 2
    forecast = replay(workload, candidate_policies(settings, [], PRICES), PRICES)
    doc = to_json(forecast)
    recorded = next(p for p in doc["policies"] if p["name"] == "recorded")
    assert recorded["unpriced_requests"] == 1
    assert {"model": "claude-haiku-5-5", "effort": "low", "requests": 2} in recorded["mix"]
    console = Console(record=True, width=120)
    render_table(console, forecast)
    text = console.export_text()
    assert "Mix by model and effort" in text
    assert "recorded: 1 requests unpriced" in text
    assert 'id="forecast-mix"' in render_html_page(forecast)


async def test_a_ledger_is_repriced_in_each_models_own_tokens_and_long_prompt_band(ledger_url: str) -> None:
    # Recorded on Haiku 4.5 (the base tokenizer) and on Opus 4.8 (1.3x), replayed on Haiku 5.5 (1.3x,
    # every token class at 5x above 100,000 prompt tokens) and on Sonnet 4.5 (the base, long-context
    # prices above 200,000): each band is decided on the count of the model that would answer.
    day = datetime(2026, 10, 7, 12, tzinfo=UTC)
    rows = {
        "haiku-76k": (HAIKU, TokenUsage(76_000, 100)),  # 98,800 on Haiku 5.5: below its threshold
        "haiku-80k": (HAIKU, TokenUsage(80_000, 100)),  # 104,000 on Haiku 5.5: above
        "opus-260k": (OPUS, TokenUsage(260_000, 130)),  # 200,000 on Sonnet 4.5: not above
        "opus-260k+13": (OPUS, TokenUsage(260_013, 130)),  # 200,010 on Sonnet 4.5: above
    }
    records = [_routed(rid, model, u, day, label=Label.SIMPLE) for rid, (model, u) in rows.items()]
    store = await _ledger_with(ledger_url, records)
    try:
        workload = await read_ledger(store, PRICES)
    finally:
        await store.close()
    policies = [
        RecordedPolicy(),
        TierPolicy("on-haiku-5-5", "claude-haiku-5-5"),
        TierPolicy("on-sonnet-4-5", "claude-sonnet-4-5"),
    ]
    result = {r.name: r for r in replay(workload, policies, PRICES).policies}
    assert result["recorded"].cost_usd == sum((r.cost_usd for r in records), Decimal(0))

    def on(target: str, recorded: str, usage: TokenUsage) -> Decimal:
        """The bill, as the price sheet makes it, for the same text counted by `target`."""
        scale = ratio(target) / ratio(recorded)
        counted = TokenUsage(*(int(n * scale) for n in (usage.input_tokens, usage.output_tokens)))
        assert counted.input_tokens == usage.input_tokens * scale  # whole tokens, chosen so
        return PRICES.cost(target, counted, on=day.date())

    for name, target in (("on-haiku-5-5", "claude-haiku-5-5"), ("on-sonnet-4-5", "claude-sonnet-4-5")):
        bills = {rid: on(target, model, u) for rid, (model, u) in rows.items()}
        assert close(result[name].cost_usd, Fraction(sum(bills.values(), Decimal(0)))), name
    haiku_5_5 = {rid: on("claude-haiku-5-5", model, u) for rid, (model, u) in rows.items()}
    assert haiku_5_5["haiku-80k"] == 5 * (104_000 * Decimal("0.10") + 130 * Decimal("0.50")) / 10**6
    assert haiku_5_5["haiku-76k"] == (98_800 * Decimal("0.10") + 130 * Decimal("0.50")) / 10**6
    sonnet_4_5 = {rid: on("claude-sonnet-4-5", model, u) for rid, (model, u) in rows.items()}
    assert sonnet_4_5["opus-260k"] == (200_000 * 3 + 100 * 15) / Decimal(10**6)
    assert sonnet_4_5["opus-260k+13"] == (200_010 * 6 + 100 * Decimal("22.50")) / 10**6
