"""Rate limits and budgets in the local Redis server: one limit held across replicas under load."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx2
import pytest

from claude_router.config import Settings
from claude_router.errors import BudgetExceededError, RateLimitedError
from claude_router.gateway import create_app
from claude_router.gateway.budgets import CUSTOMER, KEY, Budget, ledger_spend
from claude_router.gateway.errors import GatewayError
from claude_router.gateway.keys import KeyInfo, Period
from claude_router.gateway.redis_state import RedisBudgetBook, RedisRateLimiter, SharedState
from claude_router.gateway.server import running_gateway
from claude_router.types import RequestMeta, UsageRecord

from .conftest import SIMPLE, Gateway, ask

pytestmark = pytest.mark.redis


@pytest.fixture
def prefix(redis_url: str, redis_prefix: str) -> str:
    """The shared state's prefix: under the test's own (its keys are deleted afterwards)."""
    return f"{redis_prefix}:gw"


@pytest.fixture
async def replicas(redis_url: str, prefix: str) -> AsyncIterator[list[SharedState]]:
    """Two independent connections, as two gateway replicas would have."""
    states = [SharedState.open(redis_url, prefix=prefix) for _ in range(2)]
    yield states
    for state in states:
        await state.aclose()


def key(**limits: int) -> KeyInfo:
    return KeyInfo(f"vk_{uuid.uuid4().hex[:8]}", "acme", "abcd", datetime.now(UTC), **limits)  # type: ignore[arg-type]


async def nothing_spent(kind: str, ident: str, since: datetime | None) -> Decimal:
    return Decimal(0)


async def test_a_requests_per_minute_limit_holds_across_replicas(replicas: list[SharedState]) -> None:
    limiters = [RedisRateLimiter(shared) for shared in replicas]
    limited = key(rpm=5, tpm=100_000)

    async def attempt(i: int) -> float:
        try:
            await limiters[i % 2].check(limited, 10)
        except RateLimitedError as exc:
            refusals.append(exc.message)
            return exc.retry_after_s
        return 0.0

    refusals: list[str] = []
    waits = await asyncio.gather(*(attempt(i) for i in range(20)))
    assert all("requests-per-minute" in message for message in refusals)
    assert waits.count(0.0) == 5
    assert all(0 < wait <= 12.1 for wait in waits if wait)  # one request's refill: 60 s / 5


async def test_a_refused_token_charge_leaves_the_request_allowance(replicas: list[SharedState]) -> None:
    limiter = RedisRateLimiter(replicas[0])
    limited = key(rpm=10, tpm=1000)
    await limiter.check(limited, 900)
    for _ in range(3):
        with pytest.raises(RateLimitedError, match="tokens-per-minute"):
            await limiter.check(limited, 500)
    for _ in range(9):
        await limiter.check(limited, 5)
    with pytest.raises(RateLimitedError, match="requests-per-minute"):
        await limiter.check(limited, 5)


async def test_budget_reservations_hold_across_replicas(replicas: list[SharedState]) -> None:
    books = [RedisBudgetBook(shared, nothing_spent) for shared in replicas]
    cap = [Budget(KEY, "vk_a", Decimal("1.00"), Period.MONTH)]

    async def try_reserve(i: int) -> bool:
        try:
            await books[i % 2].reserve(cap, Decimal("0.30"))
        except BudgetExceededError:
            return False
        return True

    admitted = await asyncio.gather(*(try_reserve(i) for i in range(10)))
    assert sum(admitted) == 3
    assert await books[1].pressure(cap) == Decimal("0.9")


async def test_a_refusal_tells_spent_money_from_held(replicas: list[SharedState]) -> None:
    first, second = (RedisBudgetBook(shared, nothing_spent) for shared in replicas)
    cap = [Budget(KEY, "vk_h", Decimal("1.00"), Period.TOTAL)]
    held = await first.reserve(cap, Decimal("0.70"))
    with pytest.raises(BudgetExceededError) as busy:
        await second.reserve(cap, Decimal("0.50"))
    assert busy.value.held  # nothing spent yet: it fits once the request in flight is done
    await second.spend(
        UsageRecord("req_h", datetime.now(UTC), "auto", key_id="vk_h", cost_usd=Decimal("0.60"))
    )
    await held.release()
    with pytest.raises(BudgetExceededError) as spent:
        await first.reserve(cap, Decimal("0.50"))
    assert not spent.value.held
    assert "spent" in str(spent.value)


async def test_release_spend_and_the_ledger_seed(replicas: list[SharedState]) -> None:
    async def spent_before(kind: str, ident: str, since: datetime | None) -> Decimal:
        return Decimal("0.50") if kind == CUSTOMER else Decimal(0)

    first, second = (RedisBudgetBook(shared, spent_before) for shared in replicas)
    own = Budget(KEY, "vk_b", Decimal("10"), Period.DAY)
    shared = Budget(CUSTOMER, "globex", Decimal("1.00"), Period.TOTAL)
    held = await first.reserve([own, shared], Decimal("0.40"))
    with pytest.raises(BudgetExceededError, match="customer globex's budget of \\$1 per total"):
        await second.reserve([own, shared], Decimal("0.20"))
    assert await second.pressure([own]) == Decimal("0.04")  # the refusal held nothing
    record = UsageRecord(
        "req_x", datetime.now(UTC), "auto", key_id="vk_b", customer="globex", cost_usd=Decimal("0.05")
    )
    await second.spend(record)
    await held.release()
    await held.release()
    assert await first.pressure([own, shared]) == Decimal("0.55")
    await second.reserve([own, shared], Decimal("0.45"))


class TestTwoGatewaysShareOneRedis:
    @pytest.fixture
    def gateway_sections(self) -> dict[str, Any]:
        return {"gateway": {"auth": True}}

    @pytest.fixture
    async def pair(self, settings: Settings, replicas: list[SharedState]) -> AsyncIterator[list[Gateway]]:
        apps = [create_app(settings, shared=shared) for shared in replicas]
        async with running_gateway(apps[0]) as first, running_gateway(apps[1]) as second:
            yield [Gateway(first, apps[0]), Gateway(second, apps[1])]

    async def test_limits_and_budgets_hold_across_both(self, pair: list[Gateway]) -> None:
        keys = pair[0].state.keys
        worst_case = pair[0].state.worst_case
        assert keys is not None
        assert worst_case is not None
        limited = await keys.create("acme", rpm=6)
        body = ask(SIMPLE, max_tokens=64)
        async with httpx2.AsyncClient(timeout=30, headers={"x-api-key": limited.key}) as http:
            urls = [pair[i % 2].url + "/v1/messages" for i in range(20)]
            answers = await asyncio.gather(*(http.post(url, json=body) for url in urls))
        assert sorted(r.status_code for r in answers) == [200] * 6 + [429] * 14
        assert all(int(r.headers["retry-after"]) >= 1 for r in answers if r.status_code == 429)

        size = len(httpx2.Request("POST", "http://x", json=body).content)
        worst = worst_case.cost(body, size, RequestMeta())
        budget = (worst * Decimal("2.5")).quantize(Decimal("0.000001"))
        spender = await keys.create("initech", budget_usd=budget, period=Period.DAY)
        async with httpx2.AsyncClient(timeout=30, headers={"x-api-key": spender.key}) as http:
            urls = [pair[i % 2].url + "/v1/messages" for i in range(30)]
            answers = await asyncio.gather(*(http.post(url, json=body) for url in urls))
        ok = [r for r in answers if r.status_code == 200]
        assert 2 <= len(ok) < 30
        assert all(r.status_code == 429 for r in answers if r.status_code != 200)
        for gateway in pair:
            await gateway.state.ledger.flush()  # type: ignore[union-attr]
        spent = await ledger_spend(keys.engine)(KEY, spender.info.key_id, None)
        assert spent == sum(
            (
                r.total_cost_usd
                for g in pair
                for r in g.state.router.recent
                if r.key_id == spender.info.key_id
            ),
            Decimal(0),
        )
        assert spent <= budget + worst


async def test_an_unreachable_redis_refuses_with_a_clean_503() -> None:
    shared = SharedState.open("redis://127.0.0.1:1/0")
    try:
        with pytest.raises(GatewayError) as caught:
            await RedisRateLimiter(shared).check(key(rpm=5), 10)
    finally:
        await shared.aclose()
    assert caught.value.status_code == 503
    assert "unavailable" in caught.value.message
