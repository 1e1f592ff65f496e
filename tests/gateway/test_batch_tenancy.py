"""Message Batches with virtual keys: each key sees and touches only its own batches, a batch must fit
the key's budgets at batch prices, and results are accounted to the batch's owner. On SQLite and
PostgreSQL (a fresh database, so the keys' migrations run from scratch there too)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import anthropic
import httpx2
import pytest

from claude_router.config import HAIKU
from claude_router.emulator.config import EmulatorConfig
from claude_router.gateway.budgets import KEY, ledger_spend
from claude_router.gateway.errors import GatewayError
from claude_router.gateway.key_schema import migrate
from claude_router.gateway.keys import KeyStore, NewKey, Period
from claude_router.types import RequestMeta

from .conftest import COMPLEX, SIMPLE, Gateway, ask
from .test_batches import batch_request, wait_ended


@pytest.fixture
async def store(ledger_url: str) -> AsyncIterator[KeyStore]:
    opened = await KeyStore.open(ledger_url)
    try:
        yield opened
    finally:
        await opened.close()


async def test_the_batch_owners_table_migrates_once(store: KeyStore) -> None:
    assert await migrate(store.engine) == []
    await store.batches.record("msgbatch_x", "vk_a", "acme")
    owner = await store.batches.get("msgbatch_x")
    assert owner is not None
    assert (owner.key_id, owner.customer, owner.deleted_at) == ("vk_a", "acme", None)
    assert await store.batches.get("msgbatch_y") is None


async def test_a_key_pages_through_its_own_batches_newest_first(store: KeyStore) -> None:
    owners = store.batches
    ids = [f"msgbatch_a{i}" for i in range(5)]
    for i, batch_id in enumerate(ids):
        await owners.record(batch_id, "vk_a", "acme")
        if i == 2:
            await owners.record("msgbatch_b0", "vk_b", "globex")

    async def page(limit: int, **cursor: str) -> tuple[list[str], bool]:
        found = await owners.page("vk_a", limit, **cursor)
        return found.ids, found.has_more

    a0, a1, a2, a3, a4 = ids
    assert await page(2) == ([a4, a3], True)
    assert await page(2, after_id=a3) == ([a2, a1], True)
    assert await page(2, after_id=a1) == ([a0], False)
    assert await page(2, before_id=a0) == ([a2, a1], True)
    assert await page(2, before_id=a2) == ([a4, a3], False)
    assert await page(10, after_id=a0) == ([], False)

    await owners.forget(a3)
    assert await page(10) == ([a4, a2, a1, a0], False)
    assert await page(10, after_id=a3) == ([a2, a1, a0], False)  # still a cursor once deleted
    assert (await owners.page("vk_b", 10)).ids == ["msgbatch_b0"]
    with pytest.raises(GatewayError, match="cursor"):
        await owners.page("vk_b", 10, after_id=a1)  # another key's batch is no cursor


class TestThroughTheGateway:
    @pytest.fixture
    def emulator_config(self) -> EmulatorConfig:
        # Slow enough that a batch is still processing while another key pokes at it.
        return EmulatorConfig(batch_seconds_per_request=1.0)

    @pytest.fixture
    def gateway_sections(self, ledger_url: str) -> dict[str, Any]:
        return {"gateway": {"auth": True}, "ledger": {"url": ledger_url}}

    @staticmethod
    def client(gateway: Gateway, new: NewKey) -> anthropic.AsyncAnthropic:
        return anthropic.AsyncAnthropic(base_url=gateway.url, api_key=new.key, max_retries=0)

    async def test_another_keys_batch_is_not_found_and_lists_are_per_key(self, gateway: Gateway) -> None:
        keys = gateway.state.keys
        assert keys is not None
        a, b = await keys.create("acme"), await keys.create("globex")
        async with self.client(gateway, a) as alice, self.client(gateway, b) as bob:
            mine = await alice.messages.batches.create(requests=[batch_request("one", SIMPLE)])  # type: ignore[list-item]
            theirs = await bob.messages.batches.create(requests=[batch_request("two", SIMPLE)])  # type: ignore[list-item]

            # While it processes, the upstream would answer a retrieve or cancel (200) and refuse a
            # delete or results (400): a 404 for each says nothing was sent.
            async with httpx2.AsyncClient(base_url=gateway.url, headers={"x-api-key": b.key}) as http:
                base = f"/v1/messages/batches/{mine.id}"
                for method, path in (("GET", ""), ("POST", "/cancel"), ("DELETE", ""), ("GET", "/results")):
                    response = await http.request(method, base + path)
                    assert response.status_code == 404, (method, path)
                    assert response.json() == {
                        "type": "error",
                        "error": {
                            "type": "not_found_error",
                            "message": f"Message Batch not found: {mine.id!r}",
                        },
                    }
            assert (await alice.messages.batches.retrieve(mine.id)).processing_status == "in_progress"

            assert [x.id async for x in alice.messages.batches.list()] == [mine.id]
            assert [x.id async for x in bob.messages.batches.list()] == [theirs.id]
            await wait_ended(alice, mine.id)
            with pytest.raises(anthropic.NotFoundError):
                await bob.messages.batches.results(mine.id)
            with pytest.raises(anthropic.NotFoundError):
                await bob.messages.batches.delete(mine.id)
            assert (await alice.messages.batches.delete(mine.id)).id == mine.id
            with pytest.raises(anthropic.NotFoundError):
                await alice.messages.batches.retrieve(mine.id)
            assert [x.id async for x in alice.messages.batches.list()] == []

    async def test_a_list_pages_like_the_api(self, gateway: Gateway) -> None:
        keys = gateway.state.keys
        assert keys is not None
        a, b = await keys.create("acme"), await keys.create("globex")
        async with self.client(gateway, a) as alice, self.client(gateway, b) as bob:
            created = []
            for i in range(3):
                batch = await alice.messages.batches.create(requests=[batch_request(f"r{i}", SIMPLE)])  # type: ignore[list-item]
                created.append(batch.id)
                await bob.messages.batches.create(requests=[batch_request(f"r{i}", SIMPLE)])  # type: ignore[list-item]
            newest_first = created[::-1]
            assert [x.id async for x in alice.messages.batches.list(limit=1)] == newest_first
            page = await alice.messages.batches.list(limit=2)
            assert ([x.id for x in page.data], page.has_more) == (newest_first[:2], True)
            assert (page.first_id, page.last_id) == (newest_first[0], newest_first[1])
            older = await alice.messages.batches.list(limit=2, after_id=newest_first[1])
            assert ([x.id for x in older.data], older.has_more) == (newest_first[2:], False)
            newer = await alice.messages.batches.list(limit=1, before_id=newest_first[1])
            assert ([x.id for x in newer.data], newer.has_more) == (newest_first[:1], False)
            assert all(x.results_url is None or x.results_url.startswith(gateway.url) for x in page.data)
            with pytest.raises(anthropic.BadRequestError, match="cursor"):
                await bob.messages.batches.list(after_id=created[0])
            with pytest.raises(anthropic.BadRequestError, match="limit"):
                await alice.messages.batches.list(limit=0)

    async def test_a_batch_must_fit_the_budget_at_batch_prices(self, gateway: Gateway) -> None:
        state = gateway.state
        assert state.keys is not None
        assert state.worst_case is not None
        params = ask(COMPLEX, max_tokens=2000, model=HAIKU)
        size = len(json.dumps(params).encode())
        standard = state.worst_case.cost(params, size, RequestMeta())
        assert state.worst_case.cost(params, size, RequestMeta(), batch=True) == standard / 2
        # Room for two requests at batch prices, not for one at standard prices.
        room = (standard * Decimal("1.1")).quantize(Decimal("1e-9"))
        fits = await state.keys.create("acme", budget_usd=room, period=Period.DAY)
        spent = await state.keys.create("acme", budget_usd=Decimal("0.000001"), period=Period.DAY)
        two = [batch_request(f"r{i}", COMPLEX, max_tokens=2000, model=HAIKU) for i in range(2)]
        async with self.client(gateway, fits) as client:
            admitted = await client.messages.batches.create(requests=two)  # type: ignore[arg-type]
            assert admitted.id.startswith("msgbatch_")
            with pytest.raises(anthropic.RateLimitError, match="this key's budget of") as refused:
                await client.messages.batches.create(requests=two * 2)  # type: ignore[arg-type]
        assert refused.value.status_code == 429
        assert isinstance(refused.value.body, dict)
        assert refused.value.body["error"]["type"] == "rate_limit_error"
        async with self.client(gateway, spent) as client:
            with pytest.raises(anthropic.RateLimitError, match=r"budget of \$0.000001 per day"):
                await client.messages.batches.create(requests=two[:1])  # type: ignore[arg-type]
            assert [x async for x in client.messages.batches.list()] == []

    async def test_a_customer_budget_binds_batches_too(self, gateway: Gateway) -> None:
        keys = gateway.state.keys
        assert keys is not None
        new = await keys.create("initech")
        await keys.set_customer_budget("initech", Decimal("0.000001"), Period.MONTH)
        async with self.client(gateway, new) as client:
            with pytest.raises(anthropic.RateLimitError, match="customer initech's budget"):
                await client.messages.batches.create(requests=[batch_request("r", SIMPLE)])  # type: ignore[list-item]

    async def test_results_are_accounted_to_the_owner(self, gateway: Gateway) -> None:
        state = gateway.state
        assert state.keys is not None
        owner = await state.keys.create("acme", budget_usd=Decimal("100"), period=Period.DAY)
        async with self.client(gateway, owner) as client:
            batch = await client.messages.batches.create(
                requests=[batch_request("easy", SIMPLE), batch_request("hard", COMPLEX)]  # type: ignore[list-item]
            )
            await wait_ended(client, batch.id)
            results = [r async for r in await client.messages.batches.results(batch.id)]
        assert {r.custom_id for r in results} == {"easy", "hard"}
        ledger = state.ledger
        assert ledger is not None
        await ledger.flush()  # type: ignore[attr-defined]
        rows = [r for r in await ledger.rows() if r.request_id.startswith(f"batch:{batch.id}:")]  # type: ignore[attr-defined]
        assert len(rows) == 2
        assert {(r.key_id, r.customer) for r in rows} == {(owner.info.key_id, "acme")}
        spent = await ledger_spend(state.keys.engine)(KEY, owner.info.key_id, None)
        assert spent == sum((r.total_cost_usd for r in rows), Decimal(0)) > 0
