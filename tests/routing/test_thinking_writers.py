"""A conversation stays on the model that wrote its thinking when the signatures name no model (the
real API's are opaque): the router remembers the writer of each signature it passes on. The
emulator here seals its signatures, so the catalogue cannot read them."""

from __future__ import annotations

from typing import Any

import anthropic
import pytest

from claude_router import router_middleware
from claude_router.catalog.signatures import digest, in_answer, origin, signature
from claude_router.emulator.config import EmulatorConfig
from claude_router.routing.thinking_writers import MemoryWriterStore, ThinkingWriters
from claude_router.routing.thinking_writers_redis import RedisWriterStore

from .conftest import COMPLEX, TEST_KEY, RouterFactory

WRITER = "claude-sonnet-5-5"  # thinks by default; COMPLEX alone routes to Opus 5.5
KEPT = ("claude-sonnet-5-5", "thinking_history:claude-sonnet-5-5")


@pytest.fixture
def emulator_config() -> EmulatorConfig:
    return EmulatorConfig(opaque_signatures=True)


def first_turn() -> dict[str, Any]:
    return {"model": WRITER, "max_tokens": 4096, "messages": [{"role": "user", "content": "Hello."}]}


def next_turn(answer: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "model": "auto",
        "max_tokens": 4096,
        "messages": [
            {"role": "user", "content": "Hello."},
            {"role": "assistant", "content": answer},
            {"role": "user", "content": COMPLEX},
        ],
    }


def opaque_thinking(content: list[dict[str, Any]]) -> str:
    """The signature of the answer's thinking block, checked to name no model."""
    sig = next(b["signature"] for b in content if b["type"] == "thinking")
    assert origin(sig) is None
    return str(sig)


async def test_a_conversation_stays_on_the_model_that_wrote_its_opaque_thinking(
    make_router: RouterFactory,
) -> None:
    router = make_router()
    first = await router.create(**first_turn())
    content = [b.model_dump() for b in first.message.content]
    opaque_thinking(content)
    kept = await router.create(**next_turn(content))
    assert (kept.model_used, kept.route.reason) == KEPT
    # A router that never saw the answer cannot tell who wrote it: the label decides.
    assert (await make_router().create(**next_turn(content))).model_used == "claude-opus-5-5"


async def test_a_streamed_answer_teaches_the_writer_as_it_passes(make_router: RouterFactory) -> None:
    router = make_router()
    async with router.stream(
        **first_turn(), thinking={"type": "adaptive", "display": "summarized"}
    ) as stream:
        events = [event async for event in stream]
    signed = [
        e.delta.signature
        for e in events
        if e.type == "content_block_delta" and e.delta.type == "signature_delta"
    ]
    assert len(signed) == 1
    assert origin(signed[0]) is None
    answer = [{"type": "thinking", "thinking": "", "signature": signed[0]}, {"type": "text", "text": "Hi."}]
    async with router.stream(**next_turn(answer)) as kept:
        _ = [event async for event in kept]
    assert (kept.record and kept.record.model_used, kept.route and kept.route.reason) == KEPT


@pytest.mark.parametrize("stream", [False, True])
async def test_the_sdk_middleware_learns_the_writer_too(
    make_router: RouterFactory, emulator_url: str, stream: bool
) -> None:
    router = make_router()
    client = anthropic.AsyncAnthropic(
        base_url=emulator_url, api_key=TEST_KEY, middleware=[router_middleware(router)]
    )
    async with client:
        if stream:
            async with client.messages.stream(**first_turn()) as events:
                content = [b.model_dump() for b in (await events.get_final_message()).content]
        else:
            content = [b.model_dump() for b in (await client.messages.create(**first_turn())).content]
        opaque_thinking(content)
        await client.messages.create(**next_turn(content))
    assert router.recent[-1].model_used == WRITER  # the label alone would have sent it to Opus


def test_only_an_answer_holding_a_signature_is_parsed() -> None:
    assert in_answer(b'{"content": [{"type": "text", "text": "x"}]}') == ()
    assert in_answer(b'{"content": [{"type": "thinking", "thinking": "", "signature": "abc"}]}') == ("abc",)
    assert in_answer(b'{"content": [{"type": "redacted_thinking", "data": "xyz"}]}') == ("xyz",)
    assert in_answer(b'"signature" not json') == ()


async def test_the_memory_is_bounded_and_skips_signatures_that_name_their_model() -> None:
    store = MemoryWriterStore(max_keys=2)
    writers = ThinkingWriters(store)
    await writers.learn([signature(WRITER, "x")], WRITER)  # it names its model: nothing to keep
    assert len(store) == 0
    await writers.learn(["one", "two", "three"], WRITER)
    assert len(store) == 2
    assert await store.recall(digest("one")) is None
    assert await store.recall(digest("three")) == WRITER


@pytest.mark.redis
async def test_redis_shares_the_writers_and_an_outage_forgets_quietly(
    redis_url: str, redis_prefix: str
) -> None:
    one, two = (RedisWriterStore(redis_url, prefix=f"{redis_prefix}:thinking:") for _ in range(2))
    await ThinkingWriters(one).learn(["opaque"], WRITER)
    history = next_turn([{"type": "thinking", "thinking": "", "signature": "opaque"}])
    assert await ThinkingWriters(two).known(history) == {digest("opaque"): WRITER}
    await one.aclose()
    await two.aclose()
    down = ThinkingWriters(RedisWriterStore("redis://127.0.0.1:1/0"))
    await down.learn(["opaque"], WRITER)
    assert await down.known(history) == {}
    await down.aclose()
