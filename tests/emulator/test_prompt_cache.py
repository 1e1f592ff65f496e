"""The simulated prompt cache: writes then reads, TTL breakdown, minimum lengths, lookback, expiry."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from typing import Any

import anthropic
import pytest
from anthropic.types import Usage

from claude_router.emulator.config import EmulatorConfig
from claude_router.emulator.engine import Engine
from claude_router.emulator.server import running_emulator

from .support import HAIKU, OPUS, SONNET, user


@pytest.fixture
async def emulator_url() -> AsyncIterator[str]:
    """A fresh emulator per test: each starts with an empty prompt cache."""
    async with running_emulator() as url:
        yield url


MANUAL = "Section text of the operations manual, kept word for word. " * 88
MANUAL_TOKENS = 1_298  # 5,192 characters at 4 per token
PREFIX = 3 + MANUAL_TOKENS  # the request's own 3 tokens, then the system block


def cached(text: str, ttl: str | None = None) -> dict[str, Any]:
    control: dict[str, str] = {"type": "ephemeral"}
    if ttl:
        control["ttl"] = ttl
    return {"type": "text", "text": text, "cache_control": control}


def request(model: str, question: str, **extra: Any) -> dict[str, Any]:
    return {"model": model, "max_tokens": 50, "system": [cached(MANUAL)], "messages": user(question), **extra}


async def total_tokens(sdk: anthropic.AsyncAnthropic, body: dict[str, Any]) -> int:
    counted = await sdk.messages.count_tokens(
        **{k: v for k, v in body.items() if k not in ("max_tokens", "stream")}
    )
    return counted.input_tokens


def all_input(usage: Usage) -> int:
    return (
        usage.input_tokens + (usage.cache_creation_input_tokens or 0) + (usage.cache_read_input_tokens or 0)
    )


async def test_first_call_writes_and_second_reads(sdk: anthropic.AsyncAnthropic) -> None:
    first_body, second_body = request(SONNET, "What is step one?"), request(SONNET, "And step two?")
    first = (await sdk.messages.create(**first_body)).usage
    second = (await sdk.messages.create(**second_body)).usage

    assert first.cache_creation_input_tokens == PREFIX
    assert first.cache_creation is not None
    assert first.cache_creation.ephemeral_5m_input_tokens == PREFIX
    assert first.cache_creation.ephemeral_1h_input_tokens == 0
    assert first.cache_read_input_tokens == 0
    assert second.cache_read_input_tokens == PREFIX
    assert second.cache_creation_input_tokens == 0
    assert all_input(first) == await total_tokens(sdk, first_body)
    assert all_input(second) == await total_tokens(sdk, second_body)


async def test_one_hour_writes_are_reported_apart(sdk: anthropic.AsyncAnthropic) -> None:
    tool = {
        "name": "lookup",
        "description": "Find a manual section. " * 200,
        "input_schema": {"type": "object", "properties": {"section": {"type": "string"}}},
        "cache_control": {"type": "ephemeral", "ttl": "1h"},
    }
    body = request(SONNET, "Which section covers backups?", tools=[tool], tool_choice={"type": "none"})
    usage = (await sdk.messages.create(**body)).usage

    assert usage.cache_creation is not None
    one_hour, five_minutes = (
        usage.cache_creation.ephemeral_1h_input_tokens,
        usage.cache_creation.ephemeral_5m_input_tokens,
    )
    assert one_hour > 1_024  # the tools prefix, up to the 1h breakpoint
    assert five_minutes == MANUAL_TOKENS  # the system block after it, up to the 5m breakpoint
    assert usage.cache_creation_input_tokens == one_hour + five_minutes


async def test_below_the_minimum_nothing_is_cached(sdk: anthropic.AsyncAnthropic) -> None:
    # Haiku 4.5 caches prefixes of 4,096 tokens or more; this one has 1,301.
    first = (await sdk.messages.create(**request(HAIKU, "Step one?"))).usage
    second = (await sdk.messages.create(**request(HAIKU, "Step one?"))).usage

    for usage in (first, second):
        assert usage.cache_creation_input_tokens == 0
        assert usage.cache_read_input_tokens == 0
    assert first.input_tokens == second.input_tokens == PREFIX + 4 + 3  # + the user turn


async def test_caches_are_per_model(sdk: anthropic.AsyncAnthropic) -> None:
    await sdk.messages.create(**request(SONNET, "Step one?"))
    other = (await sdk.messages.create(**request(OPUS, "Step one?"))).usage

    # Opus 4.8 has a newer tokenizer: the same system block is 1.3x as many of its tokens.
    assert other.cache_creation_input_tokens == 3 + math.ceil(MANUAL_TOKENS * 1.3)
    assert other.cache_read_input_tokens == 0


async def test_a_growing_conversation_reads_the_previous_prefix(sdk: anthropic.AsyncAnthropic) -> None:
    turn_one = [{"role": "user", "content": [cached(MANUAL + " Summarize it.")]}]
    turn_two = [
        {"role": "user", "content": [{"type": "text", "text": MANUAL + " Summarize it."}]},
        {"role": "assistant", "content": "It describes daily operations."},
        {"role": "user", "content": [cached("Which part is about backups?")]},
    ]
    first = (await sdk.messages.create(model=SONNET, max_tokens=50, messages=turn_one)).usage
    second = (await sdk.messages.create(model=SONNET, max_tokens=50, messages=turn_two)).usage

    assert first.cache_creation_input_tokens == all_input(first)
    assert second.cache_read_input_tokens == first.cache_creation_input_tokens
    assert second.cache_creation_input_tokens == all_input(second) - all_input(first)
    assert second.input_tokens == 0


async def test_top_level_cache_control_caches_the_whole_prompt(sdk: anthropic.AsyncAnthropic) -> None:
    body = {
        "model": SONNET,
        "max_tokens": 50,
        "system": MANUAL,
        "messages": user("Step one?"),
        "cache_control": {"type": "ephemeral"},
    }
    first = (await sdk.messages.create(**body)).usage
    second = (await sdk.messages.create(**body)).usage

    assert first.cache_creation_input_tokens == all_input(first) == await total_tokens(sdk, body)
    assert second.cache_read_input_tokens == all_input(first)
    assert second.input_tokens == 0


async def test_streams_report_the_cache_counters(sdk: anthropic.AsyncAnthropic) -> None:
    await sdk.messages.create(**request(SONNET, "Step one?"))
    async with sdk.messages.stream(**request(SONNET, "Step two?")) as stream:
        start = None
        async for event in stream:
            if event.type == "message_start":
                start = event.message.usage
        final = (await stream.get_final_message()).usage

    assert start is not None
    assert start.cache_read_input_tokens == final.cache_read_input_tokens == PREFIX


async def test_entries_expire_after_their_ttl_and_reads_refresh_them() -> None:
    now = [0.0]
    engine = Engine(EmulatorConfig(), clock=lambda: now[0])

    async def usage_at(moment: float, ttl: str | None = None) -> dict[str, Any]:
        now[0] = moment
        body = {"model": SONNET, "max_tokens": 5, "system": [cached(MANUAL, ttl)], "messages": user("Hi")}
        message = await engine.complete(body)
        return dict(message["usage"])

    assert (await usage_at(0))["cache_creation_input_tokens"] == PREFIX
    assert (await usage_at(200))["cache_read_input_tokens"] == PREFIX  # refreshed: now lives until 500
    assert (await usage_at(450))["cache_read_input_tokens"] == PREFIX
    assert (await usage_at(751))["cache_creation_input_tokens"] == PREFIX  # expired at 750
    written = await usage_at(2_000, "1h")
    assert written["cache_creation"] == {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": PREFIX}
    assert (await usage_at(2_000 + 3_000, "1h"))["cache_read_input_tokens"] == PREFIX
