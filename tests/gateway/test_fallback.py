"""An overloaded model (529) before the first byte falls back, streamed or not, through the gateway."""

from __future__ import annotations

from collections.abc import AsyncIterator

import anthropic
import pytest

from claude_router.config import OPUS, SONNET, Settings
from claude_router.gateway import create_app
from claude_router.gateway.server import running_gateway
from claude_router.routing.router import Router
from claude_router.upstream import Upstream

from .conftest import COMPLEX, UPSTREAM_KEY, Gateway, ask


@pytest.fixture
async def gateway(settings: Settings, emulator_url: str) -> AsyncIterator[Gateway]:
    # The emulator answers 529 to every attempt at Opus (and only Opus), whichever way it is sent.
    overload = {"x-emulator-fault": "529", "x-emulator-fault-model": OPUS}
    client = anthropic.AsyncAnthropic(
        base_url=emulator_url, api_key=UPSTREAM_KEY, max_retries=0, default_headers=overload
    )
    router = Router(settings, upstream=Upstream(settings.upstream, client=client))
    app = create_app(settings, router=router)
    try:
        async with running_gateway(app) as url:
            yield Gateway(url, app)
    finally:
        await router.aclose()
        await client.close()


async def test_a_stream_falls_back_before_its_first_byte(gateway: Gateway) -> None:
    async with gateway.client() as client:
        raw = await client.messages.with_raw_response.create(**ask(COMPLEX), stream=True)
        assert raw.headers["x-router-label"] == "complex"
        assert raw.headers["x-router-model"] == SONNET  # the model that answered
        events = [event.type async for event in await raw.parse()]
    assert events[-1] == "message_stop"
    record = gateway.state.router.recent[-1]
    assert record.fallback
    assert record.model_used == SONNET


async def test_a_plain_call_falls_back_too(gateway: Gateway) -> None:
    async with gateway.client() as client:
        raw = await client.messages.with_raw_response.create(**ask(COMPLEX))
    assert raw.headers["x-router-model"] == SONNET
    assert (await raw.parse()).model.startswith(SONNET)
