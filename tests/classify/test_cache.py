"""CachedClassifier: key, LRU backend, Redis backend (live server), fallbacks, shared misses."""

from __future__ import annotations

import asyncio
import logging
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from urllib.parse import urlparse

import pytest
from redis import asyncio as aioredis

from claude_router.classify import CachedClassifier, ClassifierInput, LRUCache, cache_key
from claude_router.classify.cache import cached_decision
from claude_router.classify.cache_redis import REDIS_PREFIX, RedisCache
from claude_router.types import ClassifierSource, Decision, Label, TokenUsage

PAID = TokenUsage(input_tokens=420, output_tokens=1)


def llm_decision(label: Label = Label.SIMPLE, confidence: float = 0.8) -> Decision:
    return Decision(label, confidence, ClassifierSource.LLM, usage=PAID, model="claude-haiku-4-5")


FAILED = Decision(Label.MODERATE, 0.0, ClassifierSource.FALLBACK, model="claude-haiku-4-5", error="X 529")


class Scripted:
    """A classifier that answers from a script and records what it was asked."""

    def __init__(self, *answers: Decision, version: str = "v1") -> None:
        self.answers = list(answers)
        self.version = version
        self.calls: list[ClassifierInput] = []
        self.gate = asyncio.Event()
        self.gate.set()

    async def classify(self, item: ClassifierInput) -> Decision:
        self.calls.append(item)
        await self.gate.wait()
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, BaseException):
            raise answer
        return answer


ITEM = ClassifierInput("Is this review positive? 'Great blender.'", system="Be brief.")


# --- the key ---------------------------------------------------------------------------------


@pytest.mark.slow
def test_key_is_stable_across_processes() -> None:
    """Replicas sharing Redis must compute the same key: no per-process hash seed may leak in."""
    code = (
        "from claude_router.classify import ClassifierInput, cache_key;"
        "print(cache_key(ClassifierInput('héllo \\ud800', system='sys', has_tools=True), 'v9').hex())"
    )
    # This process hashes strings with a random seed; the other one with a fixed seed.
    there = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env={"PYTHONHASHSEED": "1"}
    ).stdout.strip()
    here = cache_key(ClassifierInput("héllo \ud800", system="sys", has_tools=True), "v9").hex()
    assert there == here
    assert len(bytes.fromhex(here)) == 32


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (ClassifierInput("ab", system="c"), ClassifierInput("a", system="bc")),
        (ClassifierInput("a", system=None), ClassifierInput("a", system="")),
        (ClassifierInput("a"), ClassifierInput("a", has_tools=True)),
        (ClassifierInput("a", system="b"), ClassifierInput("b", system="a")),
        (ClassifierInput("Simple"), ClassifierInput("simple")),
    ],
)
def test_key_tells_apart_inputs_that_a_naive_encoding_would_merge(
    a: ClassifierInput, b: ClassifierInput
) -> None:
    assert cache_key(a, "v1") != cache_key(b, "v1")


def test_key_depends_on_version_and_not_on_object_identity() -> None:
    same = ClassifierInput(ITEM.text, system=ITEM.system)
    assert cache_key(ITEM, "v1") == cache_key(same, "v1")
    assert cache_key(ITEM, "v1") != cache_key(ITEM, "v2")
    # The version's own boundary is encoded too: ("v1", "2...") is not ("v12", "...").
    assert cache_key(ClassifierInput("2x"), "v1") != cache_key(ClassifierInput("x"), "v12")


# --- CachedClassifier over the LRU -----------------------------------------------------------


async def test_hit_returns_stored_label_from_cache_at_zero_tokens() -> None:
    inner = Scripted(llm_decision(Label.COMPLEX, 0.8))
    cached = CachedClassifier(inner, LRUCache())
    first = await cached.classify(ITEM)
    second = await cached.classify(ClassifierInput(ITEM.text, system=ITEM.system))
    assert first.source is ClassifierSource.LLM
    assert first.usage == PAID
    assert (second.label, second.confidence, second.source) == (Label.COMPLEX, 0.8, ClassifierSource.CACHE)
    assert second.usage == TokenUsage()
    assert second.model is None
    assert len(inner.calls) == 1
    assert cached.version == inner.version


async def test_fallback_decisions_are_not_cached() -> None:
    inner = Scripted(FAILED, llm_decision(Label.SIMPLE))
    cached = CachedClassifier(inner, LRUCache())
    assert (await cached.classify(ITEM)).source is ClassifierSource.FALLBACK
    retried = await cached.classify(ITEM)
    assert retried.source is ClassifierSource.LLM
    assert retried.label is Label.SIMPLE
    assert (await cached.classify(ITEM)).source is ClassifierSource.CACHE
    assert len(inner.calls) == 2


async def test_a_new_classifier_version_never_reads_old_entries() -> None:
    backend = LRUCache()
    old = CachedClassifier(Scripted(llm_decision(Label.SIMPLE), version="prompt-1"), backend)
    new_inner = Scripted(llm_decision(Label.MODERATE), version="prompt-2")
    new = CachedClassifier(new_inner, backend)
    await old.classify(ITEM)
    decision = await new.classify(ITEM)
    assert decision.label is Label.MODERATE
    assert decision.source is ClassifierSource.LLM
    assert len(new_inner.calls) == 1
    assert len(backend) == 2


async def test_lru_is_bounded_and_evicts_the_least_recently_used() -> None:
    lru = LRUCache(max_entries=3)
    keys = [cache_key(ClassifierInput(f"request {i}"), "v1") for i in range(5)]
    for key in keys[:3]:
        await lru.set(key, cached_decision(Label.SIMPLE, 0.8))
    assert await lru.get(keys[0]) is not None  # now 0 is the most recently used
    await lru.set(keys[3], cached_decision(Label.COMPLEX, 0.8))
    assert len(lru) == 3
    assert keys[1] not in lru
    assert all(k in lru for k in (keys[0], keys[2], keys[3]))
    await lru.set(keys[2], cached_decision(Label.MODERATE, 0.8))  # overwriting refreshes, no growth
    await lru.set(keys[4], cached_decision(Label.SIMPLE, 0.8))
    assert len(lru) == 3
    assert keys[0] not in lru
    assert keys[2] in lru
    assert (await lru.get(keys[2])) == cached_decision(Label.MODERATE, 0.8)


async def test_an_evicted_request_is_classified_again() -> None:
    inner = Scripted(llm_decision())
    cached = CachedClassifier(inner, LRUCache(max_entries=2))
    items = [ClassifierInput(f"question {i}") for i in range(3)]
    for item in items:
        await cached.classify(item)
    assert (await cached.classify(items[2])).source is ClassifierSource.CACHE
    assert (await cached.classify(items[0])).source is ClassifierSource.LLM
    assert len(inner.calls) == 4


def test_lru_refuses_a_zero_bound() -> None:
    with pytest.raises(ValueError, match="max_entries"):
        LRUCache(max_entries=0)


# --- concurrent misses -----------------------------------------------------------------------


async def test_concurrent_misses_on_one_key_make_one_inner_call() -> None:
    inner = Scripted(llm_decision(Label.COMPLEX))
    inner.gate.clear()
    cached = CachedClassifier(inner, LRUCache())
    tasks = [asyncio.create_task(cached.classify(ITEM)) for _ in range(5)]
    await asyncio.sleep(0.01)
    inner.gate.set()
    decisions = await asyncio.gather(*tasks)
    assert len(inner.calls) == 1
    assert [d.label for d in decisions] == [Label.COMPLEX] * 5
    paid = [d for d in decisions if d.usage != TokenUsage()]
    assert len(paid) == 1
    assert paid[0].source is ClassifierSource.LLM
    assert {d.source for d in decisions if d is not paid[0]} == {ClassifierSource.CACHE}


async def test_followers_of_a_failing_call_classify_on_their_own() -> None:
    inner = Scripted(RuntimeError("boom"), llm_decision(Label.SIMPLE))  # type: ignore[arg-type]
    inner.gate.clear()
    cached = CachedClassifier(inner, LRUCache())
    leader = asyncio.create_task(cached.classify(ITEM))
    await asyncio.sleep(0)
    follower = asyncio.create_task(cached.classify(ITEM))
    await asyncio.sleep(0.01)
    inner.gate.set()
    with pytest.raises(RuntimeError, match="boom"):
        await leader
    assert (await follower).label is Label.SIMPLE
    assert len(inner.calls) == 2


async def test_cancelling_a_follower_leaves_the_leader_alone() -> None:
    inner = Scripted(llm_decision(Label.SIMPLE))
    inner.gate.clear()
    cached = CachedClassifier(inner, LRUCache())
    leader = asyncio.create_task(cached.classify(ITEM))
    await asyncio.sleep(0)
    follower = asyncio.create_task(cached.classify(ITEM))
    await asyncio.sleep(0.01)
    follower.cancel()
    inner.gate.set()
    assert (await leader).label is Label.SIMPLE
    with pytest.raises(asyncio.CancelledError):
        await follower
    assert (await cached.classify(ITEM)).source is ClassifierSource.CACHE


# --- Redis (live server) ---------------------------------------------------------------------


@pytest.fixture
async def redis_client(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(redis_url)
    yield client
    await client.aclose()


@pytest.fixture
def prefix(redis_prefix: str) -> str:
    """The cache's prefix in these tests: under the test's own, never the default one."""
    return f"{redis_prefix}:clf:"


async def stored_keys(client: aioredis.Redis, redis_prefix: str) -> list[bytes]:
    return [key async for key in client.scan_iter(match=f"{redis_prefix}:*")]


def test_redis_keys_start_with_the_default_prefix_unless_given_another() -> None:
    key = cache_key(ITEM, "v1")
    assert RedisCache("redis://127.0.0.1:1/0").redis_key(key) == REDIS_PREFIX.encode() + key.hex().encode()
    assert (
        RedisCache("redis://127.0.0.1:1/0", prefix="staging:").redis_key(key)
        == b"staging:" + key.hex().encode()
    )


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.mark.redis
async def test_redis_entries_are_shared_prefixed_compact_and_expire(
    redis_url: str, redis_client: aioredis.Redis, redis_prefix: str, prefix: str
) -> None:
    writer = RedisCache(redis_url, ttl_s=120, prefix=prefix)
    inner = Scripted(llm_decision(Label.COMPLEX, 0.8))
    await CachedClassifier(inner, writer).classify(ITEM)

    keys = await stored_keys(redis_client, redis_prefix)
    assert keys == [prefix.encode() + cache_key(ITEM, "v1").hex().encode()]
    assert 0 < await redis_client.ttl(keys[0]) <= 120
    assert len(await redis_client.get(keys[0])) <= 16

    # Another process (another client, another classifier object) reads the same entry.
    reader = RedisCache(redis_url, ttl_s=120, prefix=prefix)
    other_inner = Scripted(llm_decision(Label.SIMPLE))
    hit = await CachedClassifier(other_inner, reader).classify(ClassifierInput(ITEM.text, system=ITEM.system))
    assert (hit.label, hit.confidence, hit.source, hit.usage) == (
        Label.COMPLEX,
        0.8,
        ClassifierSource.CACHE,
        TokenUsage(),
    )
    assert other_inner.calls == []
    await writer.aclose()
    await reader.aclose()


@pytest.mark.redis
async def test_redis_does_not_store_fallbacks_and_ignores_foreign_values(
    redis_url: str, redis_client: aioredis.Redis, redis_prefix: str, prefix: str
) -> None:
    cache = RedisCache(redis_client, ttl_s=60, prefix=prefix)
    inner = Scripted(FAILED, llm_decision(Label.SIMPLE))
    cached = CachedClassifier(inner, cache)
    await cached.classify(ITEM)
    assert await stored_keys(redis_client, redis_prefix) == []

    await redis_client.set(cache.redis_key(cache_key(ITEM, "v1")), b"not a label")
    assert (await cached.classify(ITEM)).source is ClassifierSource.LLM
    assert (await cached.classify(ITEM)).source is ClassifierSource.CACHE
    await cache.aclose()  # a client we were given stays open for its owner
    assert await redis_client.ping()


@pytest.mark.redis
async def test_redis_down_is_a_miss_logged_once_without_secrets(caplog: pytest.LogCaptureFixture) -> None:
    port = closed_port()
    url = f"redis://:hunter2secret@127.0.0.1:{port}/15"
    cache = RedisCache(url, ttl_s=60, retry_after_s=0.0)
    inner = Scripted(llm_decision(Label.SIMPLE))
    cached = CachedClassifier(inner, cache)
    with caplog.at_level(logging.DEBUG, logger="claude_router"):
        decisions = [await cached.classify(ClassifierInput(f"q{i % 2}")) for i in range(4)]
    assert [d.source for d in decisions] == [ClassifierSource.LLM] * 4
    assert len(inner.calls) == 4
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1
    assert "Redis unavailable" in warnings[0].getMessage()
    assert "hunter2secret" not in caplog.text
    assert str(port) not in caplog.text
    await cache.aclose()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    finally:
        writer.close()


@pytest.mark.redis
async def test_redis_outage_is_rested_then_recovers(
    redis_url: str, redis_client: aioredis.Redis, prefix: str
) -> None:
    """Redis behind a TCP relay that is down at first, then up: misses, a rest, then hits."""
    port = closed_port()
    target = urlparse(redis_url)
    relays: list[asyncio.Task[object]] = []

    async def relay(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(target.hostname, target.port or 6379)
        relays.append(asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer)))
        await relays[-1]

    await redis_client.set(prefix + ("ab" * 32), b"complex:0.8")
    cache = RedisCache(f"redis://127.0.0.1:{port}{target.path}", ttl_s=60, retry_after_s=0.3, prefix=prefix)
    key = bytes.fromhex("ab" * 32)
    assert await cache.get(key) is None  # down: a miss, not an error

    server = await asyncio.start_server(relay, "127.0.0.1", port)
    try:
        assert await cache.get(key) is None  # resting: Redis is not even asked
        assert relays == []
        await asyncio.sleep(0.35)
        assert await cache.get(key) == cached_decision(Label.COMPLEX, 0.8)
        assert len(relays) == 1
    finally:
        await cache.aclose()
        server.close()
        await server.wait_closed()
        await asyncio.wait_for(asyncio.gather(*relays), 5)
