"""Forecasting requests never sent: token estimates, skipped lines, quality labels and the oracle."""

from __future__ import annotations

import json
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import anthropic

from claude_router.catalog.pricing import PriceTable, Tier
from claude_router.classify.local import LocalClassifier
from claude_router.config import CacheAffinitySettings, Settings
from claude_router.emulator.config import EmulatorConfig
from claude_router.emulator.server import running_emulator
from claude_router.emulator.tokens import scaled
from claude_router.forecast import PolicyForecast, candidate_policies, read_jsonl, read_lines, replay_planned
from claude_router.forecast.jsonl_source import output_estimates
from claude_router.types import Label

# The cache economics below are worked on the seed's 4.x ladder (one line of config away).
SEED = Settings(
    policy={
        "label_models": {
            "simple": "claude-haiku-4-5",
            "moderate": "claude-sonnet-4-6",
            "complex": "claude-opus-4-8",
        }
    }
)  # type: ignore[arg-type]
PRICES = PriceTable.default().for_ladder(SEED.policy.label_models)  # the ladder in force
SIMPLE = "Is the sentiment of this review positive or negative? 'Great blender.'"
COMPLEX = (
    "Analyse this contract clause and state which party carries more of the risk, whether the "
    "indemnification scope is unusual, and whether the limitation of liability is market-standard: "
    "'The Supplier shall indemnify the Customer against all losses arising from any breach.'"
)


def body(text: str, **extra: object) -> dict[str, object]:
    return {"model": "auto", "max_tokens": 2000, "messages": [{"role": "user", "content": text}], **extra}


async def test_prompt_estimates_match_the_emulators_count_tokens() -> None:
    bodies = [
        body(SIMPLE),
        body(COMPLEX, system="You are a careful lawyer."),
        body(
            "Look this up", tools=[{"name": "lookup", "description": "d", "input_schema": {"type": "object"}}]
        ),
    ]
    planned = read_lines((json.dumps(b) for b in bodies), LocalClassifier.from_file(), PRICES, source="t")
    workload = planned.workload
    async with running_emulator(EmulatorConfig()) as url:
        client = anthropic.AsyncAnthropic(base_url=url, api_key="test-key")
        counted = 0
        for b in bodies:
            params = {**b, "model": "claude-haiku-4-5"}
            params.pop("max_tokens")
            counted += (await client.messages.count_tokens(**params)).input_tokens  # type: ignore[arg-type]
        await client.close()
    assert sum(c.usage.input_tokens for c in workload.cohorts.values()) == counted


def test_malformed_lines_are_reported_by_number_and_skipped(tmp_path: Path) -> None:
    path = tmp_path / "requests.jsonl"
    lines = [
        json.dumps(body(SIMPLE)),
        "{not json",
        json.dumps({"messages": []}),
        "",
        json.dumps(["a list"]),
        json.dumps({"params": body(COMPLEX), "quality_label": "complex", "tags": ["x"]}),
        json.dumps({"params": body(SIMPLE), "label": "enormous"}),
        json.dumps({"messages": [{"role": "user"}]}),
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    workload = read_jsonl(path, LocalClassifier.from_file(), PRICES).workload
    assert workload.requests == 2
    assert workload.skipped == 5
    numbers = [p.split(":")[0] for p in workload.problems]
    assert numbers == ["line 2", "line 3", "line 5", "line 7", "line 8"]
    assert "not JSON" in workload.problems[0]
    assert "content" in workload.problems[4]  # the emulator's own wording of the missing field


async def test_the_oracle_routes_by_quality_label_and_risk_counts_requests_below_it() -> None:
    # The classifier labels both simple; the quality labels say one of them needs Opus.
    lines = [
        json.dumps({"params": body(SIMPLE, max_tokens=10), "quality_label": "simple"}),
        json.dumps({"params": body(SIMPLE + " Please.", max_tokens=10), "quality_label": "complex"}),
        json.dumps({"params": body(SIMPLE + " Thanks.", max_tokens=10), "quality_label": "moderate"}),
    ]
    classifier = LocalClassifier.from_file()
    planned = read_lines(lines, classifier, PRICES, source="t")
    workload = planned.workload
    assert workload.has_quality_labels
    policies = candidate_policies(SEED, [], PRICES)
    result = {r.name: r for r in (await replay_planned(planned, policies, PRICES)).policies}
    assert "recorded" not in result  # nothing was ever sent
    oracle = result["oracle"]
    assert [oracle.tier_requests[t] for t in (Tier.HAIKU, Tier.SONNET, Tier.OPUS)] == [1, 1, 1]
    assert oracle.at_risk == 0
    assert result["all-haiku"].at_risk == 2
    assert result["all-sonnet"].at_risk == 1
    labels = {c.key.label for c in workload.cohorts.values()}
    if labels == {Label.SIMPLE}:  # the classifier's view: everything on Haiku, two of three at risk
        assert result["current"].at_risk == 2
    # Output estimates are the label's typical length, capped by max_tokens.
    assert all(
        c.usage.output_tokens == min(10, output_estimates()[Label.SIMPLE]) * c.requests
        for c in workload.cohorts.values()
        if c.key.label is Label.SIMPLE
    )


MANUAL = " ".join(f"Clause {i}: the parties agree to act in good faith in matter {i}." for i in range(800))


def conversation_lines(user: str, texts: list[str], manual: str = MANUAL) -> list[str]:
    """One conversation, a turn per line, each sending the whole history and a cached manual."""
    system = [{"type": "text", "text": manual, "cache_control": {"type": "ephemeral"}}]
    lines, messages = [], []
    for text in texts:
        messages.append({"role": "user", "content": text})
        turn = {"model": "auto", "max_tokens": 64, "system": system, "messages": list(messages)}
        lines.append(json.dumps({**turn, "metadata": {"user_id": user}}))
        messages.append({"role": "assistant", "content": "Noted."})
    return lines


async def forecast_of(lines: list[str], **affinity: int) -> dict[str, PolicyForecast]:
    planned = read_lines(lines, LocalClassifier.from_file(), PRICES, source="t")
    policies = candidate_policies(SEED, [], PRICES)
    settings = CacheAffinitySettings(**affinity)
    return {r.name: r for r in (await replay_planned(planned, policies, PRICES, affinity=settings)).policies}


def per_million(*tokens_at_price: tuple[int, str]) -> Decimal:
    """USD for token counts at prices per million tokens."""
    return sum((n * Decimal(price) for n, price in tokens_at_price), Decimal(0)) / 1_000_000


async def test_planned_conversations_replay_their_prompt_caching_and_the_cache_aware_saving() -> None:
    # Two conversations, each on its own cached manual: complex turns go to Opus 4.8, which writes
    # it, and simple ones to Haiku 4.5 under the current policy, which has never seen it. The manual
    # is 13,150 tokens as Haiku 4.5 counts them and 17,095 as Opus 4.8 does (1.3x); a simple turn
    # adds 100 tokens (131 on Opus) and answers 60 (78 on Opus, cut at max_tokens 64). Each simple
    # turn costs, at the catalogue's prices:
    haiku_writes = per_million((13_150, "1.25"), (100, "1"), (60, "5"))  # $0.0168375
    opus_reads = per_million((17_095, "0.50"), (131, "5"), (64, "25"))  # $0.0108025
    # so staying on Opus's warm copy saves $0.006035 a turn; every other turn is the same.
    lines = conversation_lines("a", [COMPLEX, SIMPLE, COMPLEX], "Case a. " + MANUAL)
    lines += conversation_lines("b", [COMPLEX, SIMPLE], "Case b. " + MANUAL)
    planned = read_lines(lines, LocalClassifier.from_file(), PRICES, source="t")
    labels = [r.key.label for r in planned.requests]
    assert labels == [Label.COMPLEX, Label.SIMPLE, Label.COMPLEX, Label.COMPLEX, Label.SIMPLE]
    result = await forecast_of(lines)
    assert list(result) == ["current", "cache-aware", "all-haiku", "all-sonnet", "all-opus", "cascade"]
    current, aware = result["current"], result["cache-aware"]
    # All-Opus reads the manual from its cache on every turn after each conversation's first.
    assert result["all-opus"].cache_savings_usd > 0
    # The current policy sends simple turns to Haiku, which writes the manual again; the
    # cache-aware one keeps them on Opus's warm copy, and costs less.
    assert (current.tier_requests[Tier.HAIKU], aware.tier_requests[Tier.OPUS]) == (2, 5)
    assert current.cost_usd - aware.cost_usd == 2 * (haiku_writes - opus_reads) > 0
    assert aware.cache_savings_usd > current.cache_savings_usd


async def test_a_manual_shared_across_conversations_shows_what_one_turn_cannot_see() -> None:
    # The same turns on one manual for both conversations. Staying on Opus is still cheaper for
    # each simple turn taken alone, but the current policy's Haiku write in conversation a is then
    # read by b's simple turn at $0.10/M:
    haiku_writes = per_million((13_148, "1.25"), (100, "1"), (60, "5"))  # $0.016835
    haiku_reads = per_million((13_148, "0.10"), (100, "1"), (60, "5"))  # $0.0017148
    opus_reads = per_million((17_092, "0.50"), (131, "5"), (64, "25"))  # $0.010801
    # Together the two stays cost $0.0030522 more than the write and the read they avoid.
    lines = conversation_lines("a", [COMPLEX, SIMPLE, COMPLEX]) + conversation_lines("b", [COMPLEX, SIMPLE])
    greedy = await forecast_of(lines)
    extra = 2 * opus_reads - (haiku_writes + haiku_reads)
    assert greedy["cache-aware"].cost_usd - greedy["current"].cost_usd == extra > 0
    # Weighing two turns (a write then a read on Haiku against two reads on Opus, each tier in its
    # own tokenizer's count), moving to Haiku wins for conversation a, and b then reads its copy.
    looking_ahead = await forecast_of(lines, horizon_turns=2)
    assert looking_ahead["cache-aware"].cost_usd == looking_ahead["current"].cost_usd


async def test_each_tier_of_a_mixed_generation_ladder_is_priced_on_its_own_token_count() -> None:
    # The ladder in force mixes tokenizer generations: Haiku 4.5 and Sonnet 4.6 count like the
    # base, Opus 4.8 counts the same text as 1.3x the tokens. Each tier pays its own count.
    line = body(COMPLEX, system="You are a careful lawyer.")
    planned = read_lines([json.dumps(line)], LocalClassifier.from_file(), PRICES, source="t")
    label = planned.requests[0].key.label
    assert label is Label.COMPLEX
    result = {
        r.name: r
        for r in (await replay_planned(planned, candidate_policies(SEED, [], PRICES), PRICES)).policies
    }
    ladder = {tier: PRICES.tier_model(tier) for tier in (Tier.HAIKU, Tier.SONNET, Tier.OPUS)}
    assert list(ladder.values()) == ["claude-haiku-4-5", "claude-sonnet-4-6", "claude-opus-4-8"]
    async with running_emulator(EmulatorConfig()) as url:
        client = anthropic.AsyncAnthropic(base_url=url, api_key="test-key")
        counted = {}
        for model in ladder.values():
            params = {k: v for k, v in line.items() if k != "max_tokens"}
            reply = await client.messages.count_tokens(**{**params, "model": model})  # type: ignore[arg-type]
            counted[model] = reply.input_tokens
        await client.close()
    assert counted["claude-opus-4-8"] > counted["claude-haiku-4-5"] * 1.25  # not the same count
    costs = {}
    for tier, model in ladder.items():
        ratio = Fraction(PRICES.catalogue.resolve(model).token_ratio)
        answer = min(scaled(output_estimates()[label], ratio), 2000)  # 900, or 1,170 on Opus 4.8
        rates = PRICES.resolve(model).per_million
        costs[tier] = (counted[model] * rates.input + answer * rates.output) / 1_000_000
        assert result[f"all-{tier.value}"].cost_usd == costs[tier], tier
    assert result["current"].cost_usd == costs[Tier.OPUS]  # a complex request goes to Opus
    assert result["cascade"].cost_usd == sum(costs.values())  # every leg on its own model's count


async def test_the_forecast_shows_when_a_one_turn_horizon_stays_too_long() -> None:
    # Three simple turns after a complex one: staying on Opus wins each turn taken alone, but moving
    # once to Haiku and reading its cache after that wins over the three.
    lines = conversation_lines("a", [COMPLEX, SIMPLE, SIMPLE, SIMPLE])
    greedy = await forecast_of(lines)
    assert greedy["cache-aware"].cost_usd > greedy["current"].cost_usd
    looking_ahead = await forecast_of(lines, horizon_turns=3)
    assert looking_ahead["cache-aware"].cost_usd == looking_ahead["current"].cost_usd


async def test_a_route_alias_in_a_planned_request_is_replayed_under_that_alias() -> None:
    draft = Settings(policy={"aliases": {"premium": {"floor": "complex"}}})  # type: ignore[arg-type]
    lines = [json.dumps(body(SIMPLE, model="router:premium")), json.dumps(body(SIMPLE))]
    planned = read_lines(lines, LocalClassifier.from_file(), PRICES, source="t")
    assert [r.key.alias for r in planned.requests] == ["premium", None]
    result = {
        r.name: r
        for r in (await replay_planned(planned, candidate_policies(draft, [], PRICES), PRICES)).policies
    }
    assert result["current"].tier_requests[Tier.OPUS] == 1  # the alias's floor lifts its request
    assert result["current"].tier_requests[Tier.HAIKU] == 1
