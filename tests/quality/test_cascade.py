"""The answer-quality cascade against the emulator, over real HTTP with the real SDK."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from anthropic.types import Message
from pydantic import SecretStr

from claude_router.catalog.pricing import PriceTable
from claude_router.config import Settings
from claude_router.emulator.config import EmulatorConfig
from claude_router.emulator.server import running_emulator
from claude_router.ledger import SqlLedger
from claude_router.quality import LocalChecks
from claude_router.routing.router import RoutedResponse, Router
from claude_router.types import TokenUsage

HAIKU, SONNET, OPUS = "claude-haiku-5-5", "claude-sonnet-5-5", "claude-opus-5-5"
PRICES = PriceTable.default()
SIMPLE = "Is the sentiment of this review positive or negative? 'Great blender.'"
COMPLEX = (
    "Analyse this contract clause and state which party carries more of the risk, whether the "
    "indemnification scope is unusual, and whether the limitation of liability is market-standard: "
    "'The Supplier shall indemnify the Customer against all losses arising from any breach.'"
)


@pytest.fixture
async def emulator_url() -> AsyncIterator[str]:
    async with running_emulator(EmulatorConfig()) as url:
        yield url


def make_router(url: str, ledger: SqlLedger | None = None, **quality: Any) -> Router:
    settings = Settings(
        upstream={"base_url": url, "api_key": SecretStr("sk-ant-quality-test-0123"), "max_retries": 0},
        classifier={"kind": "llm"},
        policy={"aliases": {"careful": {}}},
        quality={"auto": True, **quality},
    )  # type: ignore[arg-type]
    return Router(settings, ledger=ledger)


def ask(text: str, max_tokens: int = 256, **extra: Any) -> dict[str, Any]:
    return {
        "model": "auto",
        "max_tokens": max_tokens,
        "messages": [{"role": "user", "content": text}],
        **extra,
    }


def minus(total: TokenUsage, part: TokenUsage) -> TokenUsage:
    return TokenUsage(
        total.input_tokens - part.input_tokens,
        total.output_tokens - part.output_tokens,
        total.cache_write_5m_tokens - part.cache_write_5m_tokens,
        total.cache_write_1h_tokens - part.cache_write_1h_tokens,
        total.cache_read_tokens - part.cache_read_tokens,
    )


def assert_two_legs_accounted(routed: RoutedResponse, cheap: str, upper: str) -> None:
    rec = routed.record
    answer = TokenUsage.from_api(routed.message.usage)
    first_leg = minus(rec.usage, answer)
    assert first_leg.input_tokens > 0
    assert first_leg.output_tokens > 0
    assert rec.model_used == upper
    assert rec.escalated
    assert rec.cost_usd == PRICES.cost(cheap, first_leg) + PRICES.cost(upper, answer)


async def test_an_answer_that_is_not_the_json_asked_for_is_rerun_one_tier_up(
    emulator_url: str, tmp_path: Path
) -> None:
    store = await SqlLedger.open(tmp_path / "ledger.db")
    try:
        async with make_router(emulator_url, ledger=store) as router:
            routed = await router.create(**ask(SIMPLE, system="Reply with a JSON object only."))
        rows = await store.rows()
    finally:
        await store.close()
    assert_two_legs_accounted(routed, HAIKU, SONNET)
    assert routed.message.model.startswith(SONNET)
    assert [(r.escalated, r.model_used, r.cost_usd) for r in rows] == [(True, SONNET, routed.record.cost_usd)]


async def test_a_truncated_answer_is_rerun(emulator_url: str) -> None:
    async with make_router(emulator_url) as router:
        routed = await router.create(**ask(SIMPLE, max_tokens=1))
    assert_two_legs_accounted(routed, HAIKU, SONNET)


async def test_a_sound_answer_is_returned_as_it_is(emulator_url: str) -> None:
    async with make_router(emulator_url) as router:
        routed = await router.create(**ask(SIMPLE))
    rec = routed.record
    assert not rec.escalated
    assert rec.model_used == HAIKU
    assert rec.usage == TokenUsage.from_api(routed.message.usage)
    assert rec.cost_usd == PRICES.cost(HAIKU, rec.usage)


async def test_the_top_tier_has_nowhere_to_go(emulator_url: str) -> None:
    async with make_router(emulator_url) as router:
        # asking for thinking keeps a 3-token answer on Opus (a short answer without it moves down)
        routed = await router.create(**ask(COMPLEX, max_tokens=3, thinking={"type": "adaptive"}))
    assert routed.model_used == OPUS
    assert routed.message.stop_reason == "max_tokens"
    assert not routed.record.escalated


async def test_the_cascade_is_opt_in_per_alias(emulator_url: str) -> None:
    async with make_router(emulator_url, auto=False, aliases=["careful"]) as router:
        plain = await router.create(**ask(SIMPLE, max_tokens=1))
        careful = await router.create(**{**ask(SIMPLE, max_tokens=1), "model": "router:careful"})
    assert (plain.model_used, plain.record.escalated) == (HAIKU, False)
    assert (careful.model_used, careful.record.escalated) == (SONNET, True)


async def test_the_judge_is_accounted_and_abstains_when_it_gives_no_grade(emulator_url: str) -> None:
    async with make_router(emulator_url, judge=True) as router:
        routed = await router.create(**ask(SIMPLE))
    rec = routed.record
    judge = minus(rec.usage, TokenUsage.from_api(routed.message.usage))
    # The emulator's judge answers prose, not a grade: it abstains and the local checks decide.
    assert not rec.escalated
    assert judge.input_tokens > 0
    assert rec.cost_usd == PRICES.cost(HAIKU, routed.record.usage)
    assert rec.cost_usd > PRICES.cost(HAIKU, TokenUsage.from_api(routed.message.usage))


def message(content: list[dict[str, Any]], stop_reason: str = "end_turn") -> Message:
    return Message.model_validate(
        {
            "id": "msg_1",
            "type": "message",
            "role": "assistant",
            "model": HAIKU,
            "content": content,
            "stop_reason": stop_reason,
            "stop_sequence": None,
            "usage": {"input_tokens": 1, "output_tokens": 1},
        }
    )


def text(value: str) -> list[dict[str, Any]]:
    return [{"type": "text", "text": value}]


@pytest.mark.parametrize(
    ("params", "answer", "failed"),
    [
        (ask("hi"), message(text("Hello there.")), ()),
        (ask("hi"), message([]), ("empty",)),
        (ask("hi"), message(text("Hello th"), "max_tokens"), ("truncated",)),
        (ask("hi"), message(text("I'm unable to help with that request."), "end_turn"), ("refusal",)),
        (ask("hi"), message([], "refusal"), ("empty", "refusal")),
        (ask("Return JSON: the colour"), message(text('```json\n{"colour": "red"}\n```')), ()),
        (ask("Return JSON: the colour"), message(text("The colour is red.")), ("invalid_json",)),
        (ask("x", output_format={"type": "json_schema", "schema": {}}), message(text("[1, 2]")), ()),
        (
            ask("x", tools=[{"name": "f", "input_schema": {"type": "object"}}], tool_choice={"type": "any"}),
            message(text("I would call f.")),
            ("missing_tool",),
        ),
        (
            ask("x", tools=[{"name": "f", "input_schema": {"type": "object"}}], tool_choice={"type": "any"}),
            message([{"type": "tool_use", "id": "toolu_1", "name": "f", "input": {}}], "tool_use"),
            (),
        ),
    ],
)
def test_local_checks(params: dict[str, Any], answer: Message, failed: tuple[str, ...]) -> None:
    score = LocalChecks.load().check(params, answer)
    assert score.reasons == failed
    assert (score.value == 1.0) is (not failed)
    assert score.value is not None
    assert score.value < 0.5 or not failed  # any failed check alone sinks the default threshold
