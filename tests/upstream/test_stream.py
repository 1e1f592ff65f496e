"""Upstream.stream and relay_stream on the emulator: relay, usage, fallback before the first event,
errors after it, early stops and cancellation."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import anthropic
import pytest
from anthropic.types import RawMessageStreamEvent

from claude_router.emulator.config import EmulatorConfig, TierLatency
from claude_router.upstream import Upstream, WireError, failure_of

from .conftest import HAIKU, OPUS, SONNET, UpstreamFactory, ask, fault_on

# Haiku streams slowly enough to be stopped mid-answer; the other lines answer at once.
SLOW = TierLatency(ttft_s=0.02, output_tokens_per_s=40.0)
LONG = "Write a detailed essay on the history of distributed consensus algorithms and their trade-offs."


@pytest.fixture
def emulator_config() -> EmulatorConfig:
    return EmulatorConfig(latency={"haiku": SLOW})


async def collect(upstream: Upstream, params: dict[str, Any], **route: Any) -> list[RawMessageStreamEvent]:
    async with upstream.stream(params, **route) as stream:
        return [event async for event in stream]


async def test_events_are_relayed_and_usage_is_accounted(make_upstream: UpstreamFactory) -> None:
    upstream = make_upstream()
    params = ask(LONG, max_tokens=300)
    async with upstream.stream(params, model=SONNET, fallbacks=(HAIKU,)) as stream:
        events = [event async for event in stream]
    result = stream.result()
    assert events[0].type == "message_start"
    assert events[-1].type == "message_stop"
    assert any(e.type == "content_block_delta" for e in events)

    plain = await upstream.create(params, model=SONNET)  # the emulator answers deterministically
    assert result.usage == plain.usage
    assert result.usage.input_tokens > 0
    assert result.usage.output_tokens > 1  # the final message_delta's count, not message_start's
    assert result.completed
    assert not result.cancelled
    assert result.stop_reason == plain.message.stop_reason
    assert (result.model_used, result.fallback, result.retries) == (SONNET, False, 0)
    assert result.ttft_s is not None
    assert 0 < result.ttft_s <= result.latency_s
    assert result.request_id is not None
    assert stream.closed


async def test_529_before_the_first_event_falls_back(make_upstream: UpstreamFactory) -> None:
    upstream = make_upstream(max_retries=1, cooldown_after=10)
    params = ask(extra_headers=fault_on(OPUS, "529"))
    async with upstream.stream(params, model=OPUS, fallbacks=(SONNET,)) as stream:
        events = [event async for event in stream]
    result = stream.result()
    assert result.model_used == SONNET
    assert result.fallback
    assert result.fallback_from == OPUS
    assert result.retries == 2
    assert [(a.model, a.status) for a in result.attempts] == [(OPUS, 529), (OPUS, 529), (SONNET, 200)]
    start = events[0]
    assert start.type == "message_start"
    assert start.message.model.startswith(SONNET)
    assert result.completed


async def test_a_bad_request_fails_on_entry_without_fallback(make_upstream: UpstreamFactory) -> None:
    upstream = make_upstream()
    with pytest.raises(anthropic.BadRequestError) as caught:
        await collect(upstream, ask(messages=[]), model=OPUS, fallbacks=(SONNET,))
    failure = failure_of(caught.value)
    assert failure is not None
    assert failure.models_tried == (OPUS,)


async def test_a_drop_after_the_first_event_is_an_error_with_the_usage_so_far(
    make_upstream: UpstreamFactory,
) -> None:
    upstream = make_upstream()
    params = ask(LONG, max_tokens=300, extra_headers=fault_on(SONNET, "drop"))
    received: list[RawMessageStreamEvent] = []
    stream = upstream.stream(params, model=SONNET, fallbacks=(HAIKU,))

    async def relay() -> None:
        async with stream:
            async for event in stream:
                received.append(event)

    with pytest.raises(anthropic.APIConnectionError) as caught:
        await relay()
    assert received[0].type == "message_start"
    result = stream.result()
    assert result.error is caught.value
    assert result.model_used == SONNET  # no fallback once output has been seen
    assert not result.completed
    assert result.usage.input_tokens > 0
    failure = failure_of(caught.value)
    assert failure is not None
    assert failure.usage == result.usage
    assert failure.usage_model == SONNET
    assert stream.closed


async def test_stopping_early_closes_the_response_and_keeps_the_usage(make_upstream: UpstreamFactory) -> None:
    upstream = make_upstream()
    params = ask(LONG, max_tokens=400)
    seen: list[RawMessageStreamEvent] = []
    async with upstream.stream(params, model=HAIKU) as stream:
        async for event in stream:
            seen.append(event)
            if event.type == "content_block_delta":
                break
    result = stream.result()
    assert stream.closed
    assert result.cancelled
    assert not result.completed
    assert result.error is None
    start = seen[0]
    assert start.type == "message_start"
    assert result.usage.output_tokens == start.message.usage.output_tokens  # no message_delta yet
    short = await upstream.create({**params, "max_tokens": 1}, model=HAIKU)
    assert result.usage.input_tokens == short.usage.input_tokens  # exact from message_start


async def test_cancelling_the_consumer_closes_the_response_and_keeps_the_usage(
    make_upstream: UpstreamFactory,
) -> None:
    upstream = make_upstream()
    streaming = asyncio.Event()
    stream = upstream.stream(ask(LONG, max_tokens=400), model=HAIKU)

    async def consume() -> None:
        async with stream:
            async for event in stream:
                if event.type == "content_block_delta":
                    streaming.set()

    task = asyncio.create_task(consume())
    await streaming.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    result = stream.result()
    assert stream.closed
    assert result.cancelled
    assert not result.completed
    assert result.usage.input_tokens > 0
    assert result.ttft_s is not None


def parse_sse(wire: bytes) -> list[tuple[str, dict[str, Any]]]:
    frames = []
    for chunk in wire.decode().split("\n\n"):
        if not chunk.strip():
            continue
        fields = dict(line.split(": ", 1) for line in chunk.splitlines())
        frames.append((fields["event"], json.loads(fields["data"])))
    return frames


async def test_the_relay_stream_passes_bytes_with_the_same_accounting(make_upstream: UpstreamFactory) -> None:
    upstream = make_upstream(max_retries=0)
    overload = {"x-emulator-fault": "529", "x-emulator-fault-model": OPUS}
    stream = upstream.relay_stream(
        ask(LONG, max_tokens=300), model=OPUS, fallbacks=(SONNET,), headers=overload
    )
    await stream.open()
    try:
        chunks = [chunk async for chunk in stream.chunks()]
    finally:
        await stream.aclose()
    frames = parse_sse(b"".join(chunks))
    names = [name for name, _ in frames]
    assert names[0] == "message_start"
    assert names[-1] == "message_stop"
    assert "ping" in names  # relayed as the API sent it

    typed = await collect(upstream, ask(LONG, max_tokens=300), model=SONNET)
    assert [n for n in names if n != "ping"] == [e.type for e in typed]
    result = stream.result()
    assert (result.model_used, result.fallback, result.retries) == (SONNET, True, 1)
    plain = await upstream.create(ask(LONG, max_tokens=300), model=SONNET)
    assert result.usage == plain.usage
    assert result.completed


async def test_a_relay_stream_broken_midway_keeps_what_it_used(make_upstream: UpstreamFactory) -> None:
    upstream = make_upstream(max_retries=0)
    stream = upstream.relay_stream(
        ask(LONG, max_tokens=300), model=SONNET, headers={"x-emulator-fault": "drop"}
    )
    await stream.open()
    chunks: list[bytes] = []

    async def read_all() -> None:
        async for chunk in stream.chunks():
            chunks.append(chunk)

    with pytest.raises(WireError) as broken:
        await read_all()
    await stream.aclose()
    assert chunks  # the first events went through before the connection dropped
    result = stream.result()
    assert not result.completed
    assert result.error is broken.value
    assert result.usage.input_tokens > 0  # message_start's count, accounted
    failure = failure_of(broken.value)
    assert failure is not None
    assert failure.usage == result.usage
