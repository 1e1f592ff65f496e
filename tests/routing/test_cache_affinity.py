"""Cache-aware routing against the emulator's prompt cache, over real HTTP with the real SDK."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest
from pydantic import SecretStr

from claude_router.catalog.pricing import PriceTable
from claude_router.config import Settings
from claude_router.emulator.config import EmulatorConfig
from claude_router.emulator.server import running_emulator
from claude_router.routing.affinity_store import MemoryAffinityStore, WarmCache
from claude_router.routing.cache_affinity import REASON, CacheAffinity
from claude_router.routing.router import RoutedResponse, Router
from claude_router.types import Label, RequestMeta, Route, TokenUsage

# The economics below are worked on the seed's 4.x ladder, one line of config away.
HAIKU, SONNET, OPUS = "claude-haiku-4-5", "claude-sonnet-4-6", "claude-opus-4-8"
LADDER_4 = {"simple": HAIKU, "moderate": SONNET, "complex": OPUS}
PRICES = PriceTable.default()
SIMPLE = "Is the sentiment of this review positive or negative? 'Great blender.'"
COMPLEX = (
    "Analyse this contract clause and state which party carries more of the risk, whether the "
    "indemnification scope is unusual, and whether the limitation of liability is market-standard: "
    "'The Supplier shall indemnify the Customer against all losses arising from any breach.'"
)
# A long shared system prompt (about 12,000 tokens), cached: above every tier's cache minimum.
MANUAL = " ".join(f"Clause {i}: the parties agree to act in good faith in matter {i}." for i in range(800))
SYSTEM = [{"type": "text", "text": MANUAL, "cache_control": {"type": "ephemeral"}}]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def emulator_url() -> AsyncIterator[str]:
    async with running_emulator(EmulatorConfig()) as url:
        yield url


def router_for(url: str, *, aware: bool, clock: Clock | None = None) -> Router:
    settings = Settings(
        upstream={"base_url": url, "api_key": SecretStr("sk-ant-affinity-test-0123"), "max_retries": 0},
        classifier={"kind": "llm"},
        policy={"cache_aware": aware, "label_models": LADDER_4},
    )  # type: ignore[arg-type]
    affinity = CacheAffinity(PRICES, settings.cache_affinity, clock=clock) if aware and clock else None
    return Router(settings, cache_affinity=affinity)


async def conversation(router: Router, first: str, second: str, user: str) -> list[RoutedResponse]:
    """Two turns of one conversation sharing the cached system prompt."""
    turns: list[RoutedResponse] = []
    messages: list[dict[str, Any]] = [{"role": "user", "content": first}]
    for text in (None, second):
        if text is not None:
            messages += [{"role": "assistant", "content": turns[-1].text}, {"role": "user", "content": text}]
        turns.append(
            await router.create(
                model="auto",
                max_tokens=64,
                system=SYSTEM,
                messages=list(messages),
                metadata={"user_id": user},
            )
        )
    return turns


async def test_a_conversation_stays_on_the_warm_tier_when_that_is_cheaper(emulator_url: str) -> None:
    async with running_emulator(EmulatorConfig()) as plain_url:  # its own, cold prompt cache
        plain_router = router_for(plain_url, aware=False)
        async with plain_router:
            plain = await conversation(plain_router, COMPLEX, SIMPLE, "u1")
    async with router_for(emulator_url, aware=True) as router:
        aware = await conversation(router, COMPLEX, SIMPLE, "u1")

    # Plain routing follows the label and writes the whole prefix again on Haiku.
    assert [t.model_used for t in plain] == [OPUS, HAIKU]
    assert plain[1].record.usage.cache_write_tokens > 10_000
    assert plain[1].record.usage.cache_read_tokens == 0
    # Cache-aware routing keeps the second turn on Opus and reads the prefix Opus already holds.
    assert [t.model_used for t in aware] == [OPUS, OPUS]
    assert aware[1].route.reason == REASON
    assert aware[1].label is Label.SIMPLE
    assert aware[1].record.usage.cache_read_tokens > 10_000
    assert aware[1].route.fallbacks[0] == HAIKU  # the policy's own choice is the first fallback
    second_plain, second_aware = plain[1].record.cost_usd, aware[1].record.cost_usd
    assert second_aware < second_plain
    assert second_aware == PRICES.cost(OPUS, aware[1].record.usage)
    total_plain = sum((t.record.cost_usd for t in plain), Decimal(0))
    total_aware = sum((t.record.cost_usd for t in aware), Decimal(0))
    assert total_aware < total_plain


async def test_the_label_still_lifts_a_request_above_a_warm_cheaper_tier(emulator_url: str) -> None:
    async with router_for(emulator_url, aware=True) as router:
        turns = await conversation(router, SIMPLE, COMPLEX, "u2")
    assert [t.model_used for t in turns] == [HAIKU, OPUS]
    assert turns[1].route.reason == "label"


async def test_an_expired_cache_is_not_worth_staying_for(emulator_url: str) -> None:
    clock = Clock()
    async with router_for(emulator_url, aware=True, clock=clock) as router:
        first = await router.create(
            model="auto", max_tokens=64, system=SYSTEM, messages=[{"role": "user", "content": COMPLEX}]
        )
        assert router.cache_affinity is not None
        assert await router.cache_affinity.warm({"system": SYSTEM}, RequestMeta())  # the prefix is warm
        clock.now += 301  # past the 5-minute TTL
        second = await router.create(
            model="auto", max_tokens=64, system=SYSTEM, messages=[{"role": "user", "content": SIMPLE}]
        )
    assert first.model_used == OPUS
    assert second.model_used == HAIKU
    assert second.route.reason == "label"


async def test_a_short_answer_on_a_small_prefix_moves_to_the_cheap_tier(emulator_url: str) -> None:
    # 1,200 cached tokens: reading them on Opus plus Opus's output costs more than a fresh start on Haiku.
    small = [{"type": "text", "text": MANUAL[:4800], "cache_control": {"type": "ephemeral"}}]
    async with router_for(emulator_url, aware=True) as router:
        first = await router.create(
            model="auto", max_tokens=64, system=small, messages=[{"role": "user", "content": COMPLEX}]
        )
        second = await router.create(
            model="auto", max_tokens=64, system=small, messages=[{"role": "user", "content": SIMPLE}]
        )
    assert first.record.usage.cache_write_tokens > 0
    assert (first.model_used, second.model_used) == (OPUS, HAIKU)


@pytest.mark.parametrize(("expected_output", "model"), [(256, HAIKU), (8, OPUS)])
async def test_each_tier_is_weighed_in_the_tokens_its_own_tokenizer_counts(
    expected_output: int, model: str
) -> None:
    # A 12,000-character system prompt is 3,000 tokens as Haiku 4.5 counts them and 3,900 on Opus
    # 4.8 (its tokenizer counts 1.3x), warm on Opus. A simple turn adds 34 tokens (44 on Opus) and,
    # expecting a 256-token answer cut at max_tokens 64:
    #   stay on Opus: 3,900 read at $0.50/M + 44 fresh at $5/M + 64 out at $25/M = $0.00377
    #   move to Haiku (under its 4,096-token cache minimum, so all fresh): 3,034 at $1/M + 64 out
    #   at $5/M = $0.00335: the label's Haiku wins.
    # Weighing Haiku in Opus's 3,900 tokens (and the turn as nothing new) would make it $0.00422
    # against Opus's $0.00355 and keep the conversation on Opus. Expecting an 8-token answer
    # (10.4 on Opus), staying wins: $0.00243 against Haiku's $0.00307.
    system = [{"type": "text", "text": MANUAL[:12_000], "cache_control": {"type": "ephemeral"}}]
    params = {"max_tokens": 64, "system": system, "messages": [{"role": "user", "content": SIMPLE}]}
    meta = RequestMeta(session="tokenizers")
    settings = Settings(cache_affinity={"expected_output_tokens": expected_output}).cache_affinity  # type: ignore[arg-type]
    affinity = CacheAffinity(PRICES, settings, clock=Clock())
    await affinity.observe(params, meta, OPUS, TokenUsage(28, 64, cache_write_5m_tokens=3_900))
    assert {e.tokens for e in (await affinity.warm(params, meta)).values()} == {3_900}
    route = await affinity.adjust(Route(HAIKU, label=Label.SIMPLE, reason="label"), params, meta)
    assert route.model == model


async def test_forced_and_concrete_models_are_left_alone(emulator_url: str) -> None:
    async with router_for(emulator_url, aware=True) as router:
        await conversation(router, COMPLEX, COMPLEX, "u3")
        forced = await router.create(
            model="auto",
            max_tokens=64,
            system=SYSTEM,
            messages=[{"role": "user", "content": SIMPLE}],
            meta=RequestMeta(session="u3", force_model=HAIKU),
        )
        concrete = await router.create(
            model=SONNET, max_tokens=64, system=SYSTEM, messages=[{"role": "user", "content": SIMPLE}]
        )
    assert forced.model_used == HAIKU
    assert concrete.model_used == SONNET


@pytest.mark.redis
async def test_replicas_sharing_redis_keep_a_conversation_warm(
    emulator_url: str, redis_url: str, redis_prefix: str
) -> None:
    def replica() -> Router:
        settings = Settings(
            upstream={"base_url": emulator_url, "api_key": SecretStr("sk-ant-affinity-test-0123")},
            classifier={"kind": "llm"},
            policy={"cache_aware": True, "label_models": LADDER_4},
            cache_affinity={"redis_url": redis_url, "redis_prefix": f"{redis_prefix}:affinity:"},
        )  # type: ignore[arg-type]
        return Router(settings)

    messages: list[dict[str, Any]] = [{"role": "user", "content": COMPLEX}]
    async with replica() as first_replica:
        first = await first_replica.create(
            model="auto", max_tokens=64, system=SYSTEM, messages=messages, meta=RequestMeta(session="c1")
        )
    messages += [{"role": "assistant", "content": first.text}, {"role": "user", "content": SIMPLE}]
    async with replica() as second_replica:  # another process would see the same
        second = await second_replica.create(
            model="auto", max_tokens=64, system=SYSTEM, messages=messages, meta=RequestMeta(session="c1")
        )
    assert (first.model_used, second.model_used) == (OPUS, OPUS)
    assert second.route.reason == REASON
    assert second.record.usage.cache_read_tokens > 10_000


async def test_an_unreachable_redis_means_plain_routing(
    emulator_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(
        upstream={"base_url": emulator_url, "api_key": SecretStr("sk-ant-affinity-test-0123")},
        classifier={"kind": "llm"},
        policy={"cache_aware": True, "label_models": LADDER_4},
        cache_affinity={"redis_url": "redis://127.0.0.1:1/0"},
    )  # type: ignore[arg-type]
    async with Router(settings) as router:
        turns = await conversation(router, COMPLEX, SIMPLE, "u4")
    assert [t.model_used for t in turns] == [OPUS, HAIKU]
    assert "Redis unavailable (ConnectionError)" in caplog.text
    assert "127.0.0.1:1" not in caplog.text


async def test_the_in_process_store_is_bounded() -> None:
    store = MemoryAffinityStore(max_keys=2)
    entry = {"claude-opus-4-8": WarmCache(OPUS, 5000, 2000.0)}
    for key in ("a", "b", "c"):
        await store.save(key, entry, now=1000.0)
    assert len(store) == 2
    assert await store.load("a") == {}
    assert await store.load("c") == entry


async def test_streamed_turns_stay_warm_too(emulator_url: str) -> None:
    async with router_for(emulator_url, aware=True) as router:
        messages: list[dict[str, Any]] = [{"role": "user", "content": COMPLEX}]
        models, reasons = [], []
        for text in (None, SIMPLE):
            if text is not None:
                messages += [{"role": "assistant", "content": "Noted."}, {"role": "user", "content": text}]
            async with router.stream(
                model="auto",
                max_tokens=64,
                system=SYSTEM,
                messages=list(messages),
                meta=RequestMeta(session="s1"),
            ) as stream:
                async for _ in stream:
                    pass
            assert stream.record is not None
            assert stream.route is not None
            models.append(stream.record.model_used)
            reasons.append(stream.route.reason)
    assert models == [OPUS, OPUS]
    assert reasons == ["label", REASON]


@pytest.mark.redis
async def test_a_foreign_value_in_redis_reads_as_nothing_warm(redis_url: str, redis_prefix: str) -> None:
    from claude_router.routing.affinity_store_redis import RedisAffinityStore

    prefix = f"{redis_prefix}:affinity:"
    store = RedisAffinityStore(redis_url, prefix=prefix)
    try:
        entry = {"claude-opus-4-8": WarmCache(OPUS, 5000, 2000.0, "1h")}
        await store.save("session:ok", entry, now=1000.0)
        assert await store.load("session:ok") == entry
        assert 0 < await store.redis.pttl(prefix + "session:ok") <= 1_000_000  # expires with the cache
        for value in (
            "not json",
            '{"claude-opus-4-8": {"model": "x"}}',
            '{"a": {"model": "m", "tokens": 1, "expires_at": 1, "ttl": "1d"}}',
            "[1, 2]",
        ):
            await store.redis.set(prefix + "session:bad", value)
            assert await store.load("session:bad") == {}
    finally:
        await store.aclose()
