"""Key budgets: reservations under concurrency, spend read back from the ledger, 429 when spent."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx2
import pytest

from claude_router.errors import BudgetExceededError
from claude_router.gateway.budgets import BudgetBook, ledger_spend, period_start
from claude_router.gateway.keys import KeyInfo, Period
from claude_router.types import RequestMeta

from .conftest import SIMPLE, Gateway, ask


def key(budget: str | None, period: Period = Period.MONTH) -> KeyInfo:
    return KeyInfo(
        "vk_test",
        "acme",
        "abcd",
        datetime.now(UTC),
        budget_usd=Decimal(budget) if budget is not None else None,
        period=period,
    )


async def nothing_spent(key_id: str, since: datetime | None) -> Decimal:
    return Decimal(0)


def test_period_starts() -> None:
    now = datetime(2026, 11, 25, 17, 3, 9, tzinfo=UTC)
    assert period_start(Period.DAY, now) == datetime(2026, 11, 25, tzinfo=UTC)
    assert period_start(Period.MONTH, now) == datetime(2026, 11, 1, tzinfo=UTC)
    assert period_start(Period.TOTAL, now) is None


async def test_concurrent_reservations_never_pass_the_budget() -> None:
    book = BudgetBook(nothing_spent)
    limited = key("1.00")

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
    limited = key("1.00")
    held = await book.reserve(limited, Decimal("0.60"))
    with pytest.raises(BudgetExceededError, match=r"\$1.00 per month"):
        await book.reserve(limited, Decimal("0.60"))
    book.spend(limited.key_id, Decimal("0.10"))  # what the request really cost
    held.release()
    held.release()  # idempotent
    await book.reserve(limited, Decimal("0.60"))
    with pytest.raises(BudgetExceededError):
        await book.reserve(limited, Decimal("0.40"))


async def test_spend_before_start_counts() -> None:
    async def spent_before(key_id: str, since: datetime | None) -> Decimal:
        return Decimal("0.95")

    book = BudgetBook(spent_before)
    with pytest.raises(BudgetExceededError):
        await book.reserve(key("1.00"), Decimal("0.10"))
    await book.reserve(key(None), Decimal("1000"))  # no budget: never refused


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
        budget = (worst * Decimal("2.5")).quantize(Decimal("0.000001"))
        new = await state.keys.create("acme", budget_usd=budget, period=Period.DAY)
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
        spent = await ledger_spend(state.keys.engine)(new.info.key_id, None)
        records = [r for r in state.router.recent if r.key_id == new.info.key_id]
        assert spent == sum((r.total_cost_usd for r in records), Decimal(0))
        assert spent <= budget + worst
