"""Rate-limit headers exposed from the emulator's limiter; spend-limit 429s neither retried nor
sent to another model.

The emulator has no spend limits, so those tests are answered by a tiny Anthropic-shaped app
served by uvicorn, still over real HTTP with the real SDK.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import anthropic
import pytest
import uvicorn
from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from claude_router.config import UpstreamSettings
from claude_router.emulator.config import EmulatorConfig, RateLimits
from claude_router.upstream import Upstream, failure_of

from .conftest import HAIKU, OPUS, SONNET, UpstreamFactory, ask

RPM = 50


@pytest.fixture
def emulator_config() -> EmulatorConfig:
    limits = RateLimits(
        requests_per_minute=RPM, input_tokens_per_minute=100_000, output_tokens_per_minute=50_000
    )
    return EmulatorConfig(rate_limits=limits)


async def test_the_latest_rate_limit_headers_are_exposed(make_upstream: UpstreamFactory) -> None:
    upstream = make_upstream()
    assert upstream.rate_limits() is None
    first = await upstream.create(ask(), model=HAIKU)
    second = await upstream.create(ask(), model=SONNET)
    assert first.rate_limits is not None
    assert second.rate_limits is not None
    assert first.rate_limits.limit("requests") == RPM
    assert first.rate_limits.limit("input-tokens") == 100_000
    before, after = first.rate_limits.remaining("requests"), second.rate_limits.remaining("requests")
    assert before is not None
    assert after is not None
    assert after < before
    reset = second.rate_limits.reset("tokens")
    assert isinstance(reset, datetime)
    assert reset.tzinfo is not None
    assert upstream.rate_limits() == second.rate_limits
    assert upstream.rate_limits(HAIKU) == first.rate_limits
    assert upstream.rate_limits(OPUS) is None


@dataclass
class Refusing:
    """Answers every request with one 429 body and its headers; records the model of each attempt."""

    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    models: list[str] = field(default_factory=list)

    async def messages(self, request: Request) -> JSONResponse:
        self.models.append((await request.json())["model"])
        return JSONResponse(self.body, status_code=429, headers=self.headers)


@asynccontextmanager
async def serve(app_state: Refusing) -> AsyncIterator[str]:
    app = Starlette(routes=[Route("/v1/messages", app_state.messages, methods=["POST"])])
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off", ws="none"))
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        await task
        sock.close()


def error(message: str, code: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"type": "rate_limit_error", "message": message}
    if code is not None:
        body["details"] = {"error_code": code}
    return {"type": "error", "error": body, "request_id": "req_test"}


async def attempts_against(refusing: Refusing) -> tuple[BaseException, list[str]]:
    async with serve(refusing) as base_url:
        settings = UpstreamSettings(api_key=SecretStr("sk-ant-test"), base_url=base_url, max_retries=2)
        upstream = Upstream(settings)
        try:
            with pytest.raises(anthropic.RateLimitError) as caught:
                await upstream.create(ask(), model=OPUS, fallbacks=(SONNET,))
        finally:
            await upstream.aclose()
    return caught.value, refusing.models


async def test_a_spend_limit_code_is_neither_retried_nor_sent_elsewhere() -> None:
    refusing = Refusing(
        error("This organization has crossed its monthly usage threshold.", "enforced_spend_limit_reached"),
        headers={"retry-after": "0"},
    )
    exc, models = await attempts_against(refusing)
    assert isinstance(exc, anthropic.EnforcedSpendLimitReachedError)
    assert models == [OPUS]
    failure = failure_of(exc)
    assert failure is not None
    assert failure.attempts[0].spend_limited


async def test_a_usage_limit_message_without_retry_after_is_not_retried() -> None:
    refusing = Refusing(
        error("You have reached your specified API usage limits. You will regain access soon.")
    )
    exc, models = await attempts_against(refusing)
    assert type(exc) is anthropic.RateLimitError
    assert models == [OPUS]


async def test_the_same_message_with_retry_after_is_an_ordinary_rate_limit() -> None:
    refusing = Refusing(
        error("You have reached your specified API usage limits."), headers={"retry-after-ms": "10"}
    )
    _, models = await attempts_against(refusing)
    assert models == [OPUS, OPUS, OPUS, SONNET, SONNET, SONNET]  # retried, then the fallback


async def test_another_rate_limit_code_is_retried() -> None:
    refusing = Refusing(
        error("Usage is growing too fast.", "ramp_limit_exceeded"), headers={"retry-after-ms": "10"}
    )
    exc, models = await attempts_against(refusing)
    assert isinstance(exc, anthropic.RampLimitExceededError)
    assert models == [OPUS, OPUS, OPUS, SONNET, SONNET, SONNET]


async def test_a_spend_limited_stream_is_not_retried_either() -> None:
    refusing = Refusing(error("Your spend limit for this month has been reached."))
    async with serve(refusing) as base_url:
        settings = UpstreamSettings(api_key=SecretStr("sk-ant-test"), base_url=base_url, max_retries=2)
        upstream = Upstream(settings)

        async def open_stream() -> None:
            async with upstream.stream(ask(), model=OPUS, fallbacks=(SONNET,)):
                pass

        try:
            with pytest.raises(anthropic.RateLimitError):
                await open_stream()
        finally:
            await upstream.aclose()
    assert refusing.models == [OPUS]
