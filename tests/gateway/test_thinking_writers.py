"""Through the gateway, a conversation stays on the model that wrote its thinking when the
signatures are opaque (the emulator seals them here): the plain relay learns the writer from the
answer's bytes, the streamed one from its `signature_delta` events, and with Redis every gateway
sharing it knows what any of them learnt."""

from __future__ import annotations

from typing import Any

import anthropic
import pytest

from claude_router.catalog.signatures import origin
from claude_router.config import Settings
from claude_router.emulator.config import EmulatorConfig
from claude_router.gateway import create_app
from claude_router.gateway.server import running_gateway

from .conftest import COMPLEX, Gateway

WRITER = "claude-sonnet-5-5"  # thinks by default; COMPLEX alone routes to Opus 5.5


@pytest.fixture
def emulator_config() -> EmulatorConfig:
    return EmulatorConfig(opaque_signatures=True)


FIRST: dict[str, Any] = {
    "model": WRITER,
    "max_tokens": 4096,
    "messages": [{"role": "user", "content": "Hello."}],
}


def next_turn(answer: list[dict[str, Any]]) -> dict[str, Any]:
    history = [FIRST["messages"][0], {"role": "assistant", "content": answer}]
    return {"model": "auto", "max_tokens": 4096, "messages": [*history, {"role": "user", "content": COMPLEX}]}


async def answer_of(client: anthropic.AsyncAnthropic, *, stream: bool) -> list[dict[str, Any]]:
    if stream:
        async with client.messages.stream(**FIRST) as events:
            message = await events.get_final_message()
    else:
        message = await client.messages.create(**FIRST)
    content = [block.model_dump() for block in message.content]
    assert origin(next(b["signature"] for b in content if b["type"] == "thinking")) is None
    return content


async def routed(client: anthropic.AsyncAnthropic, body: dict[str, Any], *, stream: bool) -> tuple[str, str]:
    """The model that answered `body` and why, from the gateway's headers."""
    if stream:
        async with client.messages.with_streaming_response.create(**body, stream=True) as response:
            await response.read()
    else:
        async with client.messages.with_streaming_response.create(**body) as response:
            await response.read()
    return response.headers["x-router-model"], response.headers.get("x-router-reason", "")


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "streamed"])
async def test_the_next_turn_stays_on_the_writer_of_opaque_thinking(gateway: Gateway, stream: bool) -> None:
    async with gateway.client() as client:
        answer = await answer_of(client, stream=stream)
        assert await routed(client, next_turn(answer), stream=stream) == (
            WRITER,
            f"thinking_history:{WRITER}",
        )
        unknown = [{**answer[0], "signature": "c2VhbGVkIGJ5IHNvbWVvbmUgZWxzZQ=="}, *answer[1:]]
        assert (await routed(client, next_turn(unknown), stream=stream))[0] == "claude-opus-5-5"


@pytest.mark.redis
async def test_gateways_sharing_redis_share_what_they_learnt(
    settings: Settings, redis_url: str, redis_prefix: str
) -> None:
    gateway = {"auth": False, "redis_url": redis_url, "redis_prefix": f"{redis_prefix}:gw"}
    shared = settings.model_copy(update={"gateway": settings.gateway.model_copy(update=gateway)})
    async with running_gateway(create_app(shared)) as one, running_gateway(create_app(shared)) as two:
        first = anthropic.AsyncAnthropic(base_url=one, api_key="unused", max_retries=0)
        second = anthropic.AsyncAnthropic(base_url=two, api_key="unused", max_retries=0)
        async with first, second:
            answer = await answer_of(first, stream=False)
            assert (await routed(second, next_turn(answer), stream=True))[0] == WRITER
