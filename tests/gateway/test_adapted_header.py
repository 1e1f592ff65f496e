"""`x-router-adapted`: what the gateway changed in a routed body for the model it was sent to."""

from __future__ import annotations

import anthropic
import httpx2
import pytest

from claude_router.config import HAIKU

from .conftest import COMPLEX, SIMPLE, Gateway, ask


async def test_a_routed_request_says_what_was_adapted(gateway: Gateway) -> None:
    async with gateway.client() as client:
        raw = await client.messages.with_raw_response.create(
            **ask(SIMPLE, 2048, extra_body={"temperature": 0.2})
        )
    assert raw.headers["x-router-adapted"] == "sampling:dropped"
    assert gateway.state.router.recent[-1].adapted == ("sampling:dropped",)


async def test_a_stream_says_it_before_the_first_event(gateway: Gateway) -> None:
    body = {**ask(SIMPLE, 2048, stream=True), "temperature": 0.2}
    async with (
        httpx2.AsyncClient(base_url=gateway.url, timeout=30) as http,
        http.stream("POST", "/v1/messages", json=body) as response,
    ):
        assert response.status_code == 200
        assert response.headers["x-router-adapted"] == "sampling:dropped"
        async for _ in response.aiter_raw():
            pass


async def test_nothing_adapted_means_no_header(gateway: Gateway) -> None:
    async with gateway.client() as client:
        raw = await client.messages.with_raw_response.create(**ask(SIMPLE, 2048))
    assert "x-router-adapted" not in raw.headers


async def test_a_named_model_gets_the_body_as_written(gateway: Gateway) -> None:
    async with gateway.client() as client:
        with pytest.raises(anthropic.BadRequestError, match="temperature"):
            await client.messages.create(**ask(SIMPLE, model=HAIKU, extra_body={"temperature": 0.2}))


async def test_count_tokens_counts_the_body_as_its_model_would_get_it(gateway: Gateway) -> None:
    # Budgeted thinking: no 5.x tier takes it as written, so the route stays and the body is adapted.
    async with gateway.client() as client:
        raw = await client.messages.with_raw_response.count_tokens(
            model="auto",
            messages=[{"role": "user", "content": COMPLEX}],
            thinking={"type": "enabled", "budget_tokens": 2048},
        )
    assert raw.headers["x-router-model"] == "claude-opus-5-5"
    assert (await raw.parse()).input_tokens > 0
