"""Budgets per key and per customer: reservations under concurrency, spend read back from the ledger,
budget-aware routing one tier lower, and a 429 naming the budget when even that does not fit."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import anthropic
import httpx2
import pytest

from claude_router.config import HAIKU
from claude_router.errors import BudgetExceededError
from claude_router.gateway.budgets import (
    CUSTOMER,
    KEY,
    Budget,
    BudgetBook,
    ledger_spend,
    period_end,
    period_start,
)
from claude_router.gateway.keys import CustomerBudget, Period
from claude_router.types import RequestMeta, UsageRecord

from .conftest import COMPLEX, SIMPLE, Gateway, ask


def budget(limit: str, kind: str = KEY, ident: str = "vk_test", period: Period = Period.MONTH) -> Budget:
    return Budget(kind, ident, Decimal(limit), period)


async def nothing_spent(kind: str, ident: str, since: datetime | None) -> Decimal:
    return Decimal(0)


def spent_record(cost: str, key_id: str = "vk_test", customer: str = "acme") -> UsageRecord:
    return UsageRecord(
        "req_1", datetime.now(UTC), "auto", key_id=key_id, customer=customer, cost_usd=Decimal(cost)
    )


def test_period_starts() -> None:
    now = datetime(2026, 11, 25, 17, 3, 9, tzinfo=UTC)
    assert period_start(Period.DAY, now) == datetime(2026, 11, 25, tzinfo=UTC)
    assert period_start(Period.MONTH, now) == datetime(2026, 11, 1, tzinfo=UTC)
    assert period_start(Period.TOTAL, now) is None


async def test_concurrent_reservations_never_pass_the_budget() -> None:
    book = BudgetBook(nothing_spent)
    limited = [budget("1.00")]

    async def try_reserve() -> bool:
        try:
            await book.reserve(limited, Decimal("0.30"))
        except BudgetExceededError:
            return False
        return True

    admitted = await asyncio.gather(*(try_reserve() for _ in range(10)))
    assert sum(admitted) == 3


async def test_release_and_real_spend_free_the_rest() -> None:
    book = BudgetBook(nothing_spent)
    limited = [budget("1.00")]
    held = await book.reserve(limited, Decimal("0.60"))
    with pytest.raises(BudgetExceededError, match=r"this key's budget of \$1 per month"):
        await book.reserve(limited, Decimal("0.60"))
    await book.spend(spent_record("0.10"))  # what the request really cost
    await held.release()
    await held.release()  # idempotent
    assert await book.pressure(limited) == Decimal("0.10")
    await book.reserve(limited, Decimal("0.60"))
    with pytest.raises(BudgetExceededError):
        await book.reserve(limited, Decimal("0.40"))


async def test_a_refusal_tells_spent_money_from_held() -> None:
    book = BudgetBook(nothing_spent)
    limited = [budget("1.00")]
    held = await book.reserve(limited, Decimal("0.70"))
    with pytest.raises(BudgetExceededError) as busy:
        await book.reserve(limited, Decimal("0.50"))
    assert busy.value.held  # nothing spent yet: it fits once the request in flight is done
    await book.spend(spent_record("0.60"))
    await held.release()
    with pytest.raises(BudgetExceededError) as spent:
        await book.reserve(limited, Decimal("0.50"))
    assert not spent.value.held


async def test_a_customer_budget_binds_every_key_and_a_refusal_holds_nothing() -> None:
    book = BudgetBook(nothing_spent)
    shared = budget("1.00", CUSTOMER, "acme")
    first = [budget("10", KEY, "vk_a"), shared]
    second = [budget("10", KEY, "vk_b"), shared]
    await book.reserve(first, Decimal("0.70"))
    with pytest.raises(BudgetExceededError, match="customer acme's"):
        await book.reserve(second, Decimal("0.70"))
    assert await book.pressure([second[0]]) == 0  # the refused request held nothing on its key
    await book.reserve(second, Decimal("0.30"))


async def test_spend_before_start_counts_per_scope() -> None:
    async def spent_before(kind: str, ident: str, since: datetime | None) -> Decimal:
        return Decimal("0.95") if kind == CUSTOMER else Decimal(0)

    book = BudgetBook(spent_before)
    await book.reserve([budget("1.00")], Decimal("0.10"))
    with pytest.raises(BudgetExceededError):
        await book.reserve([budget("1.00", CUSTOMER, "acme")], Decimal("0.10"))


class TestThroughTheGateway:
    @pytest.fixture
    def gateway_sections(self) -> dict[str, Any]:
        return {"gateway": {"auth": True}}

    async def test_many_concurrent_requests_overspend_by_at_most_one(self, gateway: Gateway) -> None:
        state = gateway.state
        assert state.keys is not None
        assert state.worst_case is not None
        body = ask(SIMPLE, max_tokens=64)
        size = len(httpx2.Request("POST", "http://x", json=body).content)
        worst = state.worst_case.cost(body, size, RequestMeta())
        budget_usd = (worst * Decimal("2.5")).quantize(Decimal("0.000001"))
        new = await state.keys.create("acme", budget_usd=budget_usd, period=Period.DAY)
        async with httpx2.AsyncClient(
            base_url=gateway.url, headers={"x-api-key": new.key}, timeout=30
        ) as http:
            responses = await asyncio.gather(*(http.post("/v1/messages", json=body) for _ in range(30)))
        ok = [r for r in responses if r.status_code == 200]
        refused = [r for r in responses if r.status_code == 429]
        assert len(ok) + len(refused) == 30
        assert 2 <= len(ok) < 30
        assert all(r.json()["error"]["type"] == "rate_limit_error" for r in refused)
        assert "budget" in refused[0].json()["error"]["message"]

        ledger = state.ledger
        assert ledger is not None
        await ledger.flush()  # type: ignore[attr-defined]
        spent = await ledger_spend(state.keys.engine)(KEY, new.info.key_id, None)
        records = [r for r in state.router.recent if r.key_id == new.info.key_id]
        assert spent == sum((r.total_cost_usd for r in records), Decimal(0))
        assert spent <= budget_usd + worst

    async def test_sdk_clients_spend_what_the_budget_can_pay_for(self, gateway: Gateway) -> None:
        """Money held by requests in flight is a 429 worth retrying shortly; only spent money says
        not to retry. So concurrent SDK clients, each retrying, finish far more than the budget's
        worst-case reservations would admit at once, and the spend still never passes it."""
        state = gateway.state
        assert state.keys is not None
        assert state.worst_case is not None
        body = ask(SIMPLE, max_tokens=1024, model=HAIKU)  # a short answer uses little of its ceiling
        size = len(httpx2.Request("POST", "http://x", json=body).content)
        worst = state.worst_case.cost(body, size, RequestMeta())
        budget_usd = (worst * Decimal("1.5")).quantize(Decimal("0.000001"))
        new = await state.keys.create("acme", budget_usd=budget_usd, period=Period.TOTAL)
        async with anthropic.AsyncAnthropic(base_url=gateway.url, api_key=new.key, max_retries=20) as sdk:

            async def one() -> str:
                try:
                    await sdk.messages.create(**body)
                except anthropic.RateLimitError as exc:
                    return f"429 x-should-retry: {exc.response.headers['x-should-retry']}"
                return "200"

            outcomes = await asyncio.gather(*(one() for _ in range(40)))
        statuses = [outcome[:3] for outcome in outcomes]
        # Only a spent budget ends an SDK's retries.
        assert set(outcomes) == {"200", "429 x-should-retry: false"}
        # One worst case fits at a time; the answers cost less, and the retries spend the rest.
        assert statuses.count("200") >= 5

        ledger = state.ledger
        assert ledger is not None
        await ledger.flush()  # type: ignore[attr-defined]
        spent = await ledger_spend(state.keys.engine)(KEY, new.info.key_id, None)
        assert spent <= budget_usd
        assert spent + worst > budget_usd  # what is left would not pay for one more request

    async def test_a_customer_budget_is_shared_by_its_keys(self, gateway: Gateway) -> None:
        keys = gateway.state.keys
        assert keys is not None
        first, second = await keys.create("acme"), await keys.create("acme")
        other = await keys.create("globex")
        await keys.set_customer_budget("acme", Decimal("0.000001"), Period.DAY)
        async with httpx2.AsyncClient(base_url=gateway.url, timeout=30) as http:
            for new in (first, second):
                refused = await http.post("/v1/messages", json=ask(SIMPLE), headers={"x-api-key": new.key})
                assert refused.status_code == 429
                assert "customer acme's budget of $0.000001 per day" in refused.json()["error"]["message"]
            answered = await http.post("/v1/messages", json=ask(SIMPLE), headers={"x-api-key": other.key})
            assert answered.status_code == 200

    async def test_a_refusal_says_not_to_retry_until_the_period_starts_again(self, gateway: Gateway) -> None:
        keys = gateway.state.keys
        assert keys is not None
        daily = await keys.create("acme", budget_usd=Decimal("0.000001"), period=Period.DAY)
        forever = await keys.create("acme", budget_usd=Decimal("0.000001"), period=Period.TOTAL)
        async with httpx2.AsyncClient(base_url=gateway.url, timeout=30) as http:
            refused = await http.post("/v1/messages", json=ask(SIMPLE), headers={"x-api-key": daily.key})
            never = await http.post("/v1/messages", json=ask(SIMPLE), headers={"x-api-key": forever.key})
        now = datetime.now(UTC)
        to_midnight = (period_start(Period.DAY, now) + timedelta(days=1) - now).total_seconds()
        assert refused.status_code == never.status_code == 429
        assert refused.headers["x-should-retry"] == never.headers["x-should-retry"] == "false"
        assert abs(int(refused.headers["retry-after"]) - to_midnight) <= 5
        assert "retry-after" not in never.headers

        # The official SDK obeys it: one attempt, however many retries it is allowed.
        sdk = anthropic.AsyncAnthropic(base_url=gateway.url, api_key=daily.key, max_retries=3)
        sent = 0

        async def count(request: httpx2.Request) -> None:
            nonlocal sent
            sent += 1

        async with sdk.with_options(
            http_client=httpx2.AsyncClient(event_hooks={"request": [count]})
        ) as client:
            with pytest.raises(anthropic.RateLimitError):
                await client.messages.create(**ask(SIMPLE))
        assert sent == 1


def test_a_month_ends_at_the_next_month_and_a_year_at_january() -> None:
    assert period_end(Period.MONTH, datetime(2026, 11, 25, 18, tzinfo=UTC)) == datetime(
        2026, 12, 1, tzinfo=UTC
    )
    assert period_end(Period.MONTH, datetime(2026, 12, 31, 23, tzinfo=UTC)) == datetime(
        2027, 1, 1, tzinfo=UTC
    )
    assert period_end(Period.DAY, datetime(2026, 2, 28, 1, tzinfo=UTC)) == datetime(2026, 3, 1, tzinfo=UTC)
    assert period_end(Period.TOTAL, datetime(2026, 2, 28, tzinfo=UTC)) is None


class TestBudgetAwareRouting:
    @pytest.fixture
    def gateway_sections(self) -> dict[str, Any]:
        return {"gateway": {"auth": True, "budget_downgrade_at": 0.5}}

    async def test_past_the_threshold_routes_one_tier_lower_then_refuses(self, gateway: Gateway) -> None:
        state = gateway.state
        assert state.keys is not None
        assert state.budgets is not None
        new = await state.keys.create("acme", budget_usd=Decimal("5"), period=Period.DAY)
        headers = {"x-api-key": new.key}
        async with httpx2.AsyncClient(base_url=gateway.url, headers=headers, timeout=30) as http:
            fresh = await http.post("/v1/messages", json=ask(COMPLEX))
            assert fresh.status_code == 200
            assert fresh.headers["x-router-label"] == "complex"
            assert fresh.headers["x-router-reason"] == "label"
            full_tier = fresh.headers["x-router-model"]

            # Other requests in flight hold 60% of the budget: past the 50% threshold.
            held = await state.budgets.reserve([Budget(KEY, new.info.key_id, Decimal(5), Period.DAY)], 3)
            pressed = await http.post("/v1/messages", json=ask(COMPLEX))
            assert pressed.status_code == 200
            assert pressed.headers["x-router-reason"] == "downgrade:1"
            assert pressed.headers["x-router-model"] != full_tier
            assert "sonnet" in pressed.headers["x-router-model"]

            streamed = await http.post("/v1/messages", json=ask(COMPLEX, stream=True))
            assert streamed.headers["x-router-reason"] == "downgrade:1"
            await held.release()

            # Nearly everything held: even the lower tier's worst case does not fit.
            cap = [Budget(KEY, new.info.key_id, Decimal(5), Period.DAY)]
            committed = await state.budgets.pressure(cap) * 5
            await state.budgets.reserve(cap, 5 - committed - Decimal("0.0001"))
            refused = await http.post("/v1/messages", json=ask(COMPLEX))
            assert refused.status_code == 429
            # Held, not spent: the SDKs are asked to retry shortly.
            assert (
                "this key's budget of $5 per day is held by requests in flight"
                in refused.json()["error"]["message"]
            )
            assert refused.headers["x-should-retry"] == "true"

    async def test_a_request_that_would_not_fit_tries_the_lower_tier_first(self, gateway: Gateway) -> None:
        state = gateway.state
        assert state.keys is not None
        assert state.worst_case is not None
        body = ask(COMPLEX, max_tokens=4000)
        size = len(httpx2.Request("POST", "http://x", json=body).content)
        top = state.worst_case.cost(body, size, RequestMeta())
        lower = state.worst_case.cost(body, size, RequestMeta(downgrade=1))
        assert lower < top
        new = await state.keys.create("acme", budget_usd=((top + lower) / 2).quantize(Decimal("1e-9")))
        async with httpx2.AsyncClient(base_url=gateway.url, headers={"x-api-key": new.key}) as http:
            answered = await http.post("/v1/messages", json=body, timeout=30)
        assert answered.status_code == 200
        assert answered.headers["x-router-reason"] == "downgrade:1"


def test_customer_budget_json() -> None:
    assert CustomerBudget("acme", Decimal("50"), Period.MONTH).as_json() == {
        "customer": "acme",
        "budget_usd": "50",
        "period": "month",
    }


class TestACustomerBudgetOnPostgres:
    """Keys, budgets and the ledger in the local PostgreSQL server; two keys of one customer."""

    @pytest.fixture
    def gateway_sections(self, pg_url: str) -> dict[str, Any]:
        return {"gateway": {"auth": True}, "ledger": {"url": pg_url}}

    async def test_concurrent_requests_overspend_by_at_most_one(self, gateway: Gateway) -> None:
        state = gateway.state
        assert state.keys is not None
        assert state.worst_case is not None
        customer = f"globex-{uuid.uuid4().hex[:8]}"
        body = ask(SIMPLE, max_tokens=64)
        size = len(httpx2.Request("POST", "http://x", json=body).content)
        worst = state.worst_case.cost(body, size, RequestMeta())
        budget_usd = (worst * Decimal("2.5")).quantize(Decimal("0.000001"))
        await state.keys.set_customer_budget(customer, budget_usd, Period.DAY)
        keys = [await state.keys.create(customer), await state.keys.create(customer)]
        async with httpx2.AsyncClient(base_url=gateway.url, timeout=30) as http:
            responses = await asyncio.gather(
                *(
                    http.post("/v1/messages", json=body, headers={"x-api-key": keys[i % 2].key})
                    for i in range(30)
                )
            )
        ok = [r for r in responses if r.status_code == 200]
        assert 2 <= len(ok) < 30
        refused = [r for r in responses if r.status_code != 200]
        assert all(f"customer {customer}'s budget" in r.json()["error"]["message"] for r in refused)
        await state.ledger.flush()  # type: ignore[union-attr]
        spent = await ledger_spend(state.keys.engine)(CUSTOMER, customer, None)
        records = [r for r in state.router.recent if r.customer == customer]
        assert spent == sum((r.total_cost_usd for r in records), Decimal(0))
        assert spent <= budget_usd + worst
