"""Rate limits: per-key token buckets, the anthropic-ratelimit-* headers, 429 with retry-after."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import anthropic
import httpx2
import pytest

from claude_router.emulator.config import EmulatorConfig, RateLimits
from claude_router.emulator.server import running_emulator

from .support import API_KEY, HAIKU, user

BODY = {"model": HAIKU, "max_tokens": 20, "messages": user("Is the sky blue?")}


def limited(**limits: int) -> EmulatorConfig:
    return EmulatorConfig(rate_limits=RateLimits(**limits))


async def test_headers_count_down_then_429_with_retry_after() -> None:
    async with (
        running_emulator(limited(requests_per_minute=3)) as url,
        anthropic.AsyncAnthropic(base_url=url, api_key=API_KEY, max_retries=0) as sdk,
    ):
        remaining = []
        for _ in range(3):
            raw = await sdk.messages.with_raw_response.create(**BODY)
            remaining.append(raw.headers["anthropic-ratelimit-requests-remaining"])
        with pytest.raises(anthropic.RateLimitError) as caught:
            await sdk.messages.create(**BODY)

    assert remaining == ["2", "1", "0"]
    headers = caught.value.response.headers
    assert caught.value.type == "rate_limit_error"
    assert int(headers["retry-after"]) == 20  # one request refills in 60 s / 3
    assert headers["anthropic-ratelimit-requests-limit"] == "3"
    assert headers["anthropic-ratelimit-requests-remaining"] == "0"
    reset = datetime.fromisoformat(headers["anthropic-ratelimit-requests-reset"])
    assert reset > datetime.now(UTC)


async def test_keys_have_separate_buckets() -> None:
    async with running_emulator(limited(requests_per_minute=1)) as url:
        async with anthropic.AsyncAnthropic(base_url=url, api_key="key-a", max_retries=0) as first:
            await first.messages.create(**BODY)
            with pytest.raises(anthropic.RateLimitError):
                await first.messages.create(**BODY)
        async with anthropic.AsyncAnthropic(base_url=url, api_key="key-b", max_retries=0) as second:
            message = await second.messages.create(**BODY)

    assert message.type == "message"


async def test_the_sdk_waits_for_retry_after_then_succeeds() -> None:
    async with running_emulator(limited(requests_per_minute=30)) as url:
        async with httpx2.AsyncClient(base_url=url, headers={"x-api-key": API_KEY}) as http:
            for _ in range(300):  # empty the bucket (it refills one request every 2 s)
                refused = await http.post("/v1/messages", json=BODY)
                if refused.status_code == 429:
                    break
        async with anthropic.AsyncAnthropic(base_url=url, api_key=API_KEY, max_retries=3) as sdk:
            started = time.perf_counter()
            raw = await sdk.messages.with_raw_response.create(**BODY)
            waited = time.perf_counter() - started

    assert refused.status_code == 429
    assert refused.headers["retry-after"] in {"1", "2"}
    assert raw.retries_taken >= 1
    assert waited >= 0.9  # slept for retry-after (>= 1 s), not the SDK's own 0.5 s first backoff


async def test_input_tokens_per_minute() -> None:
    prompt = {"model": HAIKU, "max_tokens": 5, "messages": user("word " * 60)}  # 82 input tokens
    async with (
        running_emulator(limited(input_tokens_per_minute=120)) as url,
        anthropic.AsyncAnthropic(base_url=url, api_key=API_KEY, max_retries=0) as sdk,
    ):
        raw = await sdk.messages.with_raw_response.create(**prompt)
        with pytest.raises(anthropic.RateLimitError) as caught:
            await sdk.messages.create(**prompt)

    assert raw.headers["anthropic-ratelimit-input-tokens-remaining"] == "38"
    assert raw.headers["anthropic-ratelimit-tokens-limit"] == "120"
    assert "input tokens per minute" in (caught.value.api_message or "")
    assert int(caught.value.response.headers["retry-after"]) == 22  # 44 tokens at 2 per second


async def test_output_tokens_are_charged_after_the_answer() -> None:
    essay = {"model": HAIKU, "max_tokens": 200, "messages": user("Write a detailed essay about tides.")}
    async with (
        running_emulator(limited(output_tokens_per_minute=50)) as url,
        anthropic.AsyncAnthropic(base_url=url, api_key=API_KEY, max_retries=0) as sdk,
    ):
        first = await sdk.messages.create(**essay)
        with pytest.raises(anthropic.RateLimitError) as caught:
            await sdk.messages.create(**essay)

    assert first.usage.output_tokens > 50  # the first answer overdraws the bucket
    assert caught.value.response.headers["anthropic-ratelimit-output-tokens-remaining"] == "0"


async def test_no_limits_no_headers(sdk: anthropic.AsyncAnthropic) -> None:
    raw = await sdk.messages.with_raw_response.create(**BODY)

    assert not [name for name in raw.headers if name.startswith("anthropic-ratelimit-")]
