"""Per-key rate limits: the buckets on a controlled clock, then 429s through the gateway under load."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import anthropic
import httpx2
import pytest

from claude_router.errors import RateLimitedError
from claude_router.gateway.keys import KeyInfo
from claude_router.gateway.limits import RateLimiter, estimated_tokens

from .conftest import SIMPLE, Gateway, ask


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def key(**limits: int) -> KeyInfo:
    return KeyInfo("vk_test", "acme", "abcd", datetime.now(UTC), **limits)  # type: ignore[arg-type]


def test_requests_per_minute_refill_at_the_limits_pace() -> None:
    clock = Clock()
    limiter = RateLimiter(clock)
    limited = key(rpm=2)
    limiter.admit(limited, 10)
    limiter.admit(limited, 10)
    with pytest.raises(RateLimitedError) as caught:
        limiter.admit(limited, 10)
    assert caught.value.retry_after_s == pytest.approx(30.0)
    assert "requests-per-minute" in caught.value.message
    clock.now += 30.0
    limiter.admit(limited, 10)


def test_a_refused_request_charges_nothing() -> None:
    clock = Clock()
    limiter = RateLimiter(clock)
    limited = key(rpm=10, tpm=1000)
    limiter.admit(limited, 900)
    for _ in range(5):  # refused on tokens: the request allowance is untouched
        with pytest.raises(RateLimitedError, match="tokens-per-minute"):
            limiter.admit(limited, 500)
    for _ in range(9):
        limiter.admit(limited, 10)


def test_a_request_bigger_than_the_limit_waits_a_minute() -> None:
    limiter = RateLimiter(Clock())
    with pytest.raises(RateLimitedError) as caught:
        limiter.admit(key(tpm=100), 101)
    assert caught.value.retry_after_s == 60.0


def test_keys_without_limits_are_never_limited() -> None:
    limiter = RateLimiter(Clock())
    for _ in range(1000):
        limiter.admit(key(), 10**6)


def test_token_estimate_counts_input_and_max_tokens() -> None:
    assert estimated_tokens(400, 256) == 356
    assert estimated_tokens(400, None) == 100


class TestThroughTheGateway:
    @pytest.fixture
    def gateway_sections(self) -> dict[str, Any]:
        return {"gateway": {"auth": True}}

    async def test_concurrent_requests_beyond_rpm_get_429_with_retry_after(self, gateway: Gateway) -> None:
        assert gateway.state.keys is not None
        new = await gateway.state.keys.create("acme", rpm=5)
        headers = {"x-api-key": new.key}
        async with httpx2.AsyncClient(base_url=gateway.url, headers=headers, timeout=30) as http:
            responses = await asyncio.gather(
                *(http.post("/v1/messages", json=ask(SIMPLE)) for _ in range(12))
            )
        statuses = sorted(r.status_code for r in responses)
        assert statuses == [200] * 5 + [429] * 7
        refused = [r for r in responses if r.status_code == 429]
        for response in refused:
            assert response.json()["error"]["type"] == "rate_limit_error"
            assert int(response.headers["retry-after"]) >= 1
        assert len(gateway.state.router.recent) == 5  # refused requests never reached the upstream

    async def test_tokens_per_minute_count_max_tokens(self, gateway: Gateway) -> None:
        assert gateway.state.keys is not None
        new = await gateway.state.keys.create("acme", tpm=500)
        async with anthropic.AsyncAnthropic(base_url=gateway.url, api_key=new.key, max_retries=0) as client:
            await client.messages.create(**ask(SIMPLE, max_tokens=300))
            with pytest.raises(anthropic.RateLimitError) as caught:
                await client.messages.create(**ask(SIMPLE, max_tokens=300))
        assert "tokens-per-minute" in caught.value.message
        assert caught.value.response.headers["retry-after"]
