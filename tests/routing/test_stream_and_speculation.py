"""Router.stream and speculative execution against the emulator."""

from __future__ import annotations

import anthropic
import pytest

from claude_router.catalog.pricing import PriceTable
from claude_router.emulator.config import EmulatorConfig
from claude_router.types import Label, RequestMeta, TokenUsage

from .conftest import COMPLEX, SIMPLE, RouterFactory, ask

PRICES = PriceTable.default()


async def test_a_stream_relays_events_and_accounts_their_usage(make_router: RouterFactory) -> None:
    router = make_router()
    async with router.stream(**ask(COMPLEX, max_tokens=200), meta=RequestMeta(task_id="s-1")) as stream:
        kinds = [event.type async for event in stream]
    assert kinds[0] == "message_start"
    assert kinds[-1] == "message_stop"
    assert "content_block_delta" in kinds
    record = stream.record
    assert record is not None
    assert record.ok
    assert record.task_id == "s-1"
    assert record.label is Label.COMPLEX
    assert record.model_used == "claude-opus-5-5"
    assert record.usage.input_tokens > 0
    assert record.usage.output_tokens > 0
    assert record.ttft_s is not None
    assert record.ttft_s <= record.latency_s
    assert record.cost_usd == PRICES.cost("claude-opus-5-5", record.usage)

    plain = await router.create(**ask(COMPLEX, max_tokens=200))
    assert plain.record.usage == record.usage  # same request, same tokens, streamed or not


async def test_a_stream_left_early_still_records_what_it_used(make_router: RouterFactory) -> None:
    router = make_router()
    async with router.stream(**ask(COMPLEX, max_tokens=400)) as stream:
        async for event in stream:
            if event.type == "content_block_delta":
                break
    record = stream.record
    assert record is not None
    assert record.status == "cancelled"
    assert record.usage.input_tokens > 0
    assert record.cost_usd > 0


async def test_an_upstream_error_while_opening_a_stream_is_recorded(make_router: RouterFactory) -> None:
    router = make_router()
    with pytest.raises(anthropic.BadRequestError):
        async with router.stream(**{**ask(SIMPLE), "messages": []}):
            pass
    assert router.recent[-1].status == "invalid_request_error"


@pytest.fixture
def emulator_config() -> EmulatorConfig:
    return EmulatorConfig.realistic()


async def test_speculation_keeps_haikus_answer_for_a_simple_request(make_router: RouterFactory) -> None:
    router = make_router(classifier={"kind": "llm", "cache": "none"})
    result = await router.create(**ask(SIMPLE, max_tokens=8), meta=RequestMeta(speculative=True))
    assert result.label is Label.SIMPLE
    assert result.model_used == "claude-haiku-5-5"
    assert result.record.speculative
    assert result.record.usage == TokenUsage.from_api(result.message.usage)  # nothing discarded


async def test_speculation_cancels_haiku_for_a_complex_request_and_accounts_it(
    make_router: RouterFactory,
) -> None:
    router = make_router(classifier={"kind": "llm", "cache": "none"})
    result = await router.create(**ask(COMPLEX, max_tokens=300), meta=RequestMeta(speculative=True))
    assert result.label is Label.COMPLEX
    assert result.model_used == "claude-opus-5-5"
    answer = TokenUsage.from_api(result.message.usage)
    discarded_input = result.record.usage.input_tokens - answer.input_tokens
    assert discarded_input > 0  # the cancelled Haiku call had already been billed its prompt
    spent_on_haiku = TokenUsage(
        input_tokens=discarded_input, output_tokens=result.record.usage.output_tokens - answer.output_tokens
    )
    assert result.record.cost_usd == PRICES.cost("claude-opus-5-5", answer) + PRICES.cost(
        "claude-haiku-5-5", spent_on_haiku
    )
