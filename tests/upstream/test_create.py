"""Upstream.create on the emulator: retries, retry-after, fallback, cooldown, pass-through, accounting."""

from __future__ import annotations

import asyncio
from typing import Any

import anthropic
import pytest
from anthropic import APIRequest, AsyncAPIResponse, AsyncCallNext, Middleware
from pydantic import SecretStr

from claude_router.config import UpstreamSettings
from claude_router.emulator.config import EmulatorConfig, FaultConfig
from claude_router.types import TokenUsage
from claude_router.upstream import Upstream, failure_of

from .conftest import HAIKU, OPUS, SONNET, UpstreamFactory, ask, fault_on

RETRY_AFTER_S = 1


@pytest.fixture
def emulator_config() -> EmulatorConfig:
    return EmulatorConfig(faults=FaultConfig(retry_after_s=RETRY_AFTER_S))


async def test_an_answer_and_its_accounting(make_upstream: UpstreamFactory) -> None:
    upstream = make_upstream()
    result = await upstream.create(ask(), model=HAIKU, fallbacks=(SONNET,))
    assert isinstance(result.message, anthropic.types.Message)
    assert result.model_used == HAIKU
    assert not result.fallback
    assert result.fallback_from is None
    assert result.retries == 0
    assert result.usage == TokenUsage.from_api(result.message.usage)
    assert result.usage.input_tokens > 0
    assert result.usage.output_tokens > 0
    assert [a.status for a in result.attempts] == [200]
    assert result.request_id is not None
    assert result.request_id == result.attempts[0].request_id
    assert result.latency_s > 0


async def test_upstream_builds_its_own_client_from_settings(emulator_url: str) -> None:
    settings = UpstreamSettings(api_key=SecretStr("sk-ant-own"), base_url=emulator_url, max_retries=0)
    upstream = Upstream(settings)
    try:
        result = await upstream.create(ask(), model=HAIKU)
    finally:
        await upstream.aclose()
    assert result.model_used == HAIKU
    assert result.attempts[0].status == 200


class Recorder(Middleware):
    """Keeps the body of every attempt the SDK sends."""

    def __init__(self) -> None:
        self.bodies: list[Any] = []
        self.headers: list[dict[str, Any]] = []

    async def handle_async(self, request: APIRequest, call_next: AsyncCallNext) -> AsyncAPIResponse[Any]:
        self.bodies.append(request.json)
        self.headers.append(dict(request.headers))
        return await call_next(request)


async def test_everything_else_passes_through_unchanged(emulator_url: str) -> None:
    recorder = Recorder()
    client = anthropic.AsyncAnthropic(api_key="sk-ant-x", base_url=emulator_url, middleware=[recorder])
    upstream = Upstream(UpstreamSettings(max_retries=0), client=client)
    tools = [
        {
            "name": "get_weather",
            "description": "Weather for a city.",
            "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
        }
    ]
    params = ask(
        "What is the weather in Paris?",
        system=[{"type": "text", "text": "Be brief."}],
        tools=tools,
        tool_choice={"type": "auto"},
        stop_sequences=["END"],
        temperature=0.3,
        top_p=0.9,
        metadata={"user_id": "u-42"},
        # sampling parameters are valid only under the older API version
        extra_headers={"x-trace": "abc", "anthropic-version": "2023-06-01"},
    )
    try:
        # as a caller that named the model sends it; Sonnet 4.6 still takes sampling parameters
        await upstream.create(params, model="claude-sonnet-4-6", as_written=True)
    finally:
        await client.close()
    sent = recorder.bodies[0]
    expected = {k: v for k, v in params.items() if k != "extra_headers"}
    assert {k: sent[k] for k in expected} == expected
    assert sent["model"] == "claude-sonnet-4-6"
    assert recorder.headers[0]["x-trace"] == "abc"


async def test_429_waits_for_retry_after_then_succeeds(make_upstream: UpstreamFactory) -> None:
    upstream = make_upstream(max_retries=2)
    result = await upstream.create(
        ask(extra_headers=fault_on(OPUS, "429", times=1)), model=OPUS, fallbacks=(SONNET,)
    )
    assert result.model_used == OPUS
    assert not result.fallback
    assert result.retries == 1
    first, second = result.attempts
    assert (first.status, second.status) == (429, 200)
    waited = second.started_at - (first.started_at + first.duration_s)
    assert waited >= RETRY_AFTER_S
    assert result.latency_s >= RETRY_AFTER_S


async def test_529_exhausts_retries_then_falls_back(make_upstream: UpstreamFactory) -> None:
    upstream = make_upstream(max_retries=1, cooldown_after=10)
    result = await upstream.create(
        ask(extra_headers=fault_on(OPUS, "529")), model=OPUS, fallbacks=(SONNET, HAIKU)
    )
    assert result.model_used == SONNET
    assert result.fallback
    assert result.fallback_from == OPUS
    assert [(a.model, a.status) for a in result.attempts] == [(OPUS, 529), (OPUS, 529), (SONNET, 200)]
    assert result.retries == 2
    assert result.usage == TokenUsage.from_api(result.message.usage)


async def test_server_error_and_connection_drop_fall_back(make_upstream: UpstreamFactory) -> None:
    upstream = make_upstream(max_retries=0)
    for fault in ("500", "drop"):
        result = await upstream.create(
            ask(extra_headers=fault_on(OPUS, fault)), model=OPUS, fallbacks=(HAIKU,)
        )
        assert result.model_used == HAIKU, fault
        assert result.retries == 1
    dropped = result.attempts[0]
    assert dropped.status is None
    assert dropped.error is not None


async def test_the_last_models_error_is_raised_unchanged(make_upstream: UpstreamFactory) -> None:
    upstream = make_upstream(max_retries=0, cooldown_after=10)
    with pytest.raises(anthropic.InternalServerError) as caught:
        await upstream.create(ask(extra_headers={"x-emulator-fault": "529"}), model=OPUS, fallbacks=(SONNET,))
    assert caught.value.status_code == 529
    failure = failure_of(caught.value)
    assert failure is not None
    assert failure.models_tried == (OPUS, SONNET)
    assert failure.retries == 1


async def test_a_bad_request_is_raised_at_once_without_fallback(make_upstream: UpstreamFactory) -> None:
    upstream = make_upstream(max_retries=2)
    with pytest.raises(anthropic.BadRequestError) as caught:
        await upstream.create(ask(messages=[]), model=OPUS, fallbacks=(SONNET, HAIKU))
    assert caught.value.status_code == 400
    failure = failure_of(caught.value)
    assert failure is not None
    assert failure.models_tried == (OPUS,)
    assert len(failure.attempts) == 1


async def test_an_unknown_model_is_not_replaced_by_a_fallback(make_upstream: UpstreamFactory) -> None:
    upstream = make_upstream()
    with pytest.raises(anthropic.NotFoundError):
        await upstream.create(ask(), model="claude-nonexistent-9", fallbacks=(HAIKU,))


async def test_repeated_overloads_cool_a_model_down(make_upstream: UpstreamFactory) -> None:
    upstream = make_upstream(max_retries=1, cooldown_after=2, cooldown_s=60.0)
    first = await upstream.create(ask(extra_headers=fault_on(OPUS, "529")), model=OPUS, fallbacks=(SONNET,))
    assert first.model_used == SONNET
    assert upstream.cooldowns.cooling(OPUS)

    second = await upstream.create(ask(), model=OPUS, fallbacks=(SONNET,))
    assert second.model_used == SONNET
    assert second.fallback
    assert second.fallback_from == OPUS
    assert [a.model for a in second.attempts] == [SONNET]  # Opus skipped, not tried
    assert second.retries == 0

    # With nothing else to try, a cooling model is still called, and its success ends the cooldown.
    third = await upstream.create(ask(), model=OPUS)
    assert third.model_used == OPUS
    assert not upstream.cooldowns.cooling(OPUS)


async def test_concurrent_calls_keep_their_own_accounts(make_upstream: UpstreamFactory) -> None:
    upstream = make_upstream(max_retries=1, cooldown_after=0)

    async def call(i: int) -> tuple[int, Any]:
        headers = fault_on(OPUS, "529") if i % 2 else {}
        return i, await upstream.create(ask(extra_headers=headers), model=OPUS, fallbacks=(HAIKU,))

    results = await asyncio.gather(*(call(i) for i in range(8)))
    for i, result in results:
        if i % 2:
            assert (result.model_used, result.retries, len(result.attempts)) == (HAIKU, 2, 3)
        else:
            assert (result.model_used, result.retries, len(result.attempts)) == (OPUS, 0, 1)
