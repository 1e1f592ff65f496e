"""`/v1/messages` through the unmodified SDK: plain, both stream styles, sync and async, headers."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import anthropic
import httpx2
import pytest
from anthropic.types import RawMessageStreamEvent

from claude_router.config import HAIKU, OPUS
from claude_router.types import Label

from .conftest import COMPLEX, SIMPLE, Gateway, ask


async def test_create_routes_and_reports_in_headers(gateway: Gateway) -> None:
    async with gateway.client() as client:
        raw = await client.messages.with_raw_response.create(**ask(SIMPLE))
    message = await raw.parse()
    assert message.type == "message"
    assert message.content[0].type == "text"
    assert message.content[0].text
    headers = raw.headers
    assert headers["x-router-label"] == Label.SIMPLE.value
    assert headers["x-router-model"] == HAIKU
    assert message.model.startswith(HAIKU)
    assert Decimal(headers["x-router-cost-usd"]) > 0
    assert 0.0 <= float(headers["x-router-confidence"]) <= 1.0
    assert headers["request-id"].startswith("req_")
    record = gateway.state.router.recent[-1]
    assert record.request_id == headers["x-router-request-id"]
    assert record.total_cost_usd == Decimal(headers["x-router-cost-usd"])
    assert record.usage.output_tokens == message.usage.output_tokens


async def test_complex_request_goes_to_the_top_tier(gateway: Gateway) -> None:
    async with gateway.client() as client:
        raw = await client.messages.with_raw_response.create(**ask(COMPLEX))
    assert raw.headers["x-router-label"] == Label.COMPLEX.value
    assert (await raw.parse()).model.startswith(OPUS)


async def test_concrete_model_passes_through_and_is_accounted(gateway: Gateway) -> None:
    async with gateway.client() as client:
        raw = await client.messages.with_raw_response.create(**ask(COMPLEX, model=HAIKU))
    assert (await raw.parse()).model.startswith(HAIKU)
    assert "x-router-label" not in raw.headers
    assert gateway.state.router.recent[-1].model_used == HAIKU


async def test_router_headers_become_request_meta(gateway: Gateway) -> None:
    headers = {
        "x-router-task-id": "t-42",
        "x-router-customer": "acme",
        "x-router-tags": "nightly, customer_facing",
        "x-router-floor": "complex",
        "x-router-session": "conv-1",
    }
    async with gateway.client(default_headers=headers) as client:
        message = await client.messages.create(**ask(SIMPLE))
    assert message.model.startswith(OPUS)  # the floor lifts a simple request
    record = gateway.state.router.recent[-1]
    assert record.task_id == "t-42"
    assert record.customer == "acme"
    assert record.tags == ("customer_facing", "nightly")


async def test_force_model_header(gateway: Gateway) -> None:
    async with gateway.client(default_headers={"x-router-force-model": HAIKU}) as client:
        message = await client.messages.create(**ask(COMPLEX))
    assert message.model.startswith(HAIKU)


async def test_sync_client(gateway: Gateway) -> None:
    def call() -> str:
        with gateway.sync_client() as client:
            message = client.messages.create(**ask(SIMPLE))
            with client.messages.stream(**ask(SIMPLE)) as stream:
                streamed = stream.get_final_message()
        assert streamed.model == message.model
        return message.model

    assert (await asyncio.to_thread(call)).startswith(HAIKU)


async def test_stream_helper_gives_the_final_message(gateway: Gateway) -> None:
    async with gateway.client() as client, client.messages.stream(**ask(COMPLEX, max_tokens=200)) as stream:
        texts = [text async for text in stream.text_stream]
        final = await stream.get_final_message()
    assert "".join(texts) == "".join(b.text for b in final.content if b.type == "text")
    assert final.model.startswith(OPUS)
    await asyncio.sleep(0)  # the relay accounts when the response closes
    record = gateway.state.router.recent[-1]
    assert record.ok
    assert record.model_used == OPUS
    assert record.usage.output_tokens == final.usage.output_tokens
    assert record.usage.input_tokens == final.usage.input_tokens


async def test_raw_stream_events_and_headers(gateway: Gateway) -> None:
    async with gateway.client() as client:
        raw = await client.messages.with_raw_response.create(**ask(SIMPLE), stream=True)
        assert raw.headers["content-type"].startswith("text/event-stream")
        assert raw.headers["x-router-label"] == "simple"
        assert raw.headers["x-router-model"] == HAIKU
        assert "x-router-cost-usd" not in raw.headers  # unknown before the body
        assert raw.headers["request-id"].startswith("req_")
        names = [name.lower() for name, _ in raw.headers.multi_items()]  # each name once
        assert len(names) == len(set(names)), names
        events: list[RawMessageStreamEvent] = [event async for event in await raw.parse()]
    kinds = [event.type for event in events]
    assert kinds[0] == "message_start"
    assert kinds[-1] == "message_stop"
    assert "content_block_delta" in kinds


async def test_client_stopping_early_cancels_upstream_and_still_accounts(gateway: Gateway) -> None:
    async with gateway.client() as client:
        stream = await client.messages.create(**ask(COMPLEX, max_tokens=2000), stream=True)
        async for event in stream:
            if event.type == "content_block_delta":
                break
        await stream.close()
    for _ in range(200):  # the gateway notices the disconnect on its own schedule
        if gateway.state.router.recent and gateway.state.router.recent[-1].model_used == OPUS:
            break
        await asyncio.sleep(0.01)
    record = gateway.state.router.recent[-1]
    assert record.model_used == OPUS
    assert record.usage.input_tokens > 0
    assert record.status in ("ok", "cancelled")


async def test_every_request_lands_in_the_ledger(gateway: Gateway) -> None:
    async with gateway.client() as client:
        await asyncio.gather(*(client.messages.create(**ask(SIMPLE)) for _ in range(5)))
    ledger = gateway.state.ledger
    assert ledger is not None
    await ledger.flush()  # type: ignore[attr-defined]
    rows = await ledger.rows()  # type: ignore[attr-defined]
    assert len(rows) == 5
    assert all(isinstance(r.cost_usd, Decimal) for r in rows)


async def test_upstream_key_is_not_the_clients(gateway: Gateway) -> None:
    # The client's key is not forwarded: the gateway answers with its own upstream key.
    async with anthropic.AsyncAnthropic(base_url=gateway.url, api_key="sk-client", max_retries=0) as client:
        message = await client.messages.create(**ask(SIMPLE))
    assert message.content


async def test_a_plain_answer_is_relayed_and_accounted_as_sent(gateway: Gateway) -> None:
    async with httpx2.AsyncClient(base_url=gateway.url, timeout=30) as http:
        answered = await http.post("/v1/messages", json=ask(SIMPLE))
    assert answered.status_code == 200
    body = answered.json()
    record = gateway.state.router.recent[-1]
    assert record.request_id == answered.headers["x-router-request-id"]
    assert (record.usage.input_tokens, record.usage.output_tokens) == (
        body["usage"]["input_tokens"],
        body["usage"]["output_tokens"],
    )
    assert answered.headers["x-router-model"] == record.model_used
    assert body["model"].startswith(record.model_used)
    assert answered.headers["request-id"].startswith("req_")


class TestThroughTheRouter:
    """Speculation needs the parsed answer: such requests take `Router.create`, with the same headers."""

    @pytest.fixture
    def gateway_sections(self) -> dict[str, Any]:
        return {"gateway": {"auth": False}, "policy": {"speculative": True}}

    async def test_a_speculative_request_is_answered_and_accounted(self, gateway: Gateway) -> None:
        async with gateway.client() as client:
            raw = await client.messages.with_raw_response.create(**ask(SIMPLE))
            message = await raw.parse()
        record = gateway.state.router.recent[-1]
        assert record.speculative
        assert raw.headers["x-router-request-id"] == record.request_id
        assert raw.headers["x-router-model"] == record.model_used
        assert message.usage.output_tokens == record.usage.output_tokens


class TestCacheAwareStreams:
    """A streamed conversation stays on the tier whose prompt cache is warm, as `Router.stream` does."""

    @pytest.fixture
    def gateway_sections(self) -> dict[str, Any]:
        # Staying warm pays on the seed's 4.x ladder; on 5.x, Haiku 5.5 is cheaper than a warm Opus read.
        ladder = {"simple": "claude-haiku-4-5", "moderate": "claude-sonnet-4-6", "complex": "claude-opus-4-8"}
        return {"gateway": {"auth": False}, "policy": {"cache_aware": True, "label_models": ladder}}

    async def test_the_second_turn_stays_warm(self, gateway: Gateway) -> None:
        manual = " ".join(
            f"Clause {i}: the parties agree to act in good faith in matter {i}." for i in range(800)
        )
        system = [{"type": "text", "text": manual, "cache_control": {"type": "ephemeral"}}]
        turns: list[dict[str, Any]] = [{"role": "user", "content": COMPLEX}]
        seen = []
        async with httpx2.AsyncClient(base_url=gateway.url, timeout=30) as http:
            for text in (None, SIMPLE):
                if text is not None:
                    turns += [{"role": "assistant", "content": "Noted."}, {"role": "user", "content": text}]
                body = {**ask("", stream=True, system=system), "messages": list(turns)}
                async with http.stream(
                    "POST", "/v1/messages", json=body, headers={"x-router-session": "s1"}
                ) as r:
                    assert r.status_code == 200
                    seen.append((r.headers["x-router-model"], r.headers["x-router-reason"]))
                    async for _ in r.aiter_raw():
                        pass
        (first_model, first_reason), (second_model, second_reason) = seen
        assert first_reason == "label"
        assert second_model == first_model  # a simple turn, kept on the warm complex tier
        assert second_reason != "label"
