"""Message Batches with virtual keys: each key sees and touches only its own batches, a batch must fit
the key's budgets at batch prices and holds its worst case until its results are accounted, and
results are accounted to the batch's owner. On SQLite and PostgreSQL (a fresh database, so the
keys' migrations run from scratch there too), and across two replicas sharing Redis."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import anthropic
import httpx2
import pytest
import sqlalchemy as sa

from claude_router.config import HAIKU, Settings
from claude_router.emulator.config import EmulatorConfig
from claude_router.errors import BudgetExceededError
from claude_router.gateway import create_app
from claude_router.gateway.budgets import CUSTOMER, KEY, Budget, BudgetBook, ledger_spend
from claude_router.gateway.errors import GatewayError
from claude_router.gateway.key_schema import gateway_migrations, migrate
from claude_router.gateway.keys import KeyStore, NewKey, Period
from claude_router.gateway.server import running_gateway
from claude_router.gateway.state import GatewayState
from claude_router.ledger.engine import create_engine, resolve_url
from claude_router.ledger.migrations import migrate as migrate_ledger
from claude_router.ledger.money import from_nano
from claude_router.ledger.schema import UtcDateTime
from claude_router.types import RequestMeta

from .conftest import COMPLEX, SIMPLE, Gateway, ask
from .test_batches import batch_request, wait_ended

# One request whose worst case (2000 output tokens) is far above what the emulator really answers.
ONE = [batch_request("r", COMPLEX, max_tokens=2000, model=HAIKU)]


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


async def test_a_batch_holds_in_the_ledger_spend_until_accounted_or_deleted(store: KeyStore) -> None:
    await migrate_ledger(store.engine)  # `usage`, beside the keys as in a gateway's database
    owners, spent = store.batches, ledger_spend(store.engine)
    await owners.record("msgbatch_a", "vk_a", "acme", 3_000)
    await owners.record("msgbatch_b", "vk_a", "acme", 5_000)
    await owners.record("msgbatch_c", "vk_b", "acme", 7_000)
    assert await spent(KEY, "vk_a", None) == from_nano(8_000)
    assert await spent(CUSTOMER, "acme", None) == from_nano(15_000)
    later = datetime.now(UTC) + timedelta(seconds=1)
    assert await spent(KEY, "vk_a", later) == 0  # created before the period: not in it

    assert await owners.account("msgbatch_a") is True
    assert await owners.account("msgbatch_a") is False  # accounted once, however often fetched
    assert await owners.forget("msgbatch_a") is False  # accounted already: nothing left held
    assert await owners.forget("msgbatch_b") is True
    assert await owners.forget("msgbatch_b") is False
    assert await owners.account("msgbatch_b") is False  # deleted already
    assert await spent(KEY, "vk_a", None) == 0
    assert await spent(CUSTOMER, "acme", None) == from_nano(7_000)
    owner = await owners.get("msgbatch_a")
    assert owner is not None
    assert owner.worst_nusd == 3_000
    assert owner.accounted_at is not None
    assert owner.deleted_at is not None


async def test_an_older_batch_owners_table_gains_the_hold_columns(ledger_url: str) -> None:
    engine = create_engine(resolve_url(ledger_url))
    try:
        old = sa.MetaData()
        sa.Table(
            "batch_owners",
            old,
            sa.Column("batch_id", sa.String(100), primary_key=True),
            sa.Column("key_id", sa.String(40), nullable=False),
            sa.Column("customer", sa.String(200), nullable=False),
            sa.Column("created_at", UtcDateTime(), nullable=False),
            sa.Column("deleted_at", UtcDateTime(), nullable=True),
        )
        now = datetime.now(UTC)
        async with engine.begin() as conn:
            await conn.run_sync(old.create_all)
            await conn.run_sync(lambda sync: gateway_migrations.create(sync))
            done = ("m001_virtual_keys", "m002_customer_budgets", "m003_batch_owners")
            await conn.execute(sa.insert(gateway_migrations), [{"name": n, "applied_at": now} for n in done])
            row = {"batch_id": "msgbatch_old", "key_id": "vk_a", "customer": "acme", "created_at": now}
            await conn.execute(sa.insert(old.tables["batch_owners"]), [row])
        assert await migrate(engine) == ["m004_batch_holds"]
        store = KeyStore(engine)
        owner = await store.batches.get("msgbatch_old")
        assert owner is not None
        assert (owner.worst_nusd, owner.accounted_at) == (0, None)  # held nothing before: holds nothing
        await store.batches.record("msgbatch_new", "vk_a", "acme", 42)
        new = await store.batches.get("msgbatch_new")
        assert new is not None
        assert new.worst_nusd == 42
        assert await store.batches.account("msgbatch_new") is True
    finally:
        await engine.dispose()


async def test_the_book_counts_a_batch_in_the_period_it_was_created() -> None:
    async def nothing_spent(kind: str, ident: str, since: datetime | None) -> Decimal:
        return Decimal(0)

    book = BudgetBook(nothing_spent)
    daily = [Budget(KEY, "vk_a", Decimal("1.00"), Period.DAY)]
    assert await book.pressure(daily) == 0  # opens the day's account
    scopes = [(KEY, "vk_a"), (CUSTOMER, "acme")]
    now = datetime.now(UTC)
    await book.adjust(scopes, Decimal("0.70"), now)
    await book.adjust(scopes, Decimal("0.50"), now - timedelta(days=2))  # an earlier day's batch
    assert await book.pressure(daily) == Decimal("0.70")
    with pytest.raises(BudgetExceededError):
        await book.reserve(daily, Decimal("0.40"))
    await book.adjust(scopes, Decimal("-0.70"), now)
    await book.reserve(daily, Decimal("0.40"))


def batch_worst(state: GatewayState, requests: list[dict[str, Any]]) -> Decimal:
    """About the worst case the gateway holds for `requests` (it sizes the routed params)."""
    assert state.worst_case is not None
    costs = (
        state.worst_case.cost(r["params"], len(json.dumps(r["params"]).encode()), RequestMeta(), batch=True)
        for r in requests
    )
    return sum(costs, Decimal(0))


async def held_nusd(state: GatewayState, batch_id: str) -> int:
    assert state.keys is not None
    owner = await state.keys.batches.get(batch_id)
    assert owner is not None
    return owner.worst_nusd


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

    async def test_a_batch_counts_as_one_request_against_the_keys_rate_limit(self, gateway: Gateway) -> None:
        keys = gateway.state.keys
        assert keys is not None
        new = await keys.create("acme", rpm=1, tpm=10)  # tpm far below the batch's tokens
        async with self.client(gateway, new) as client:
            await client.messages.batches.create(requests=[batch_request("r", SIMPLE)])  # type: ignore[list-item]
            with pytest.raises(anthropic.RateLimitError, match="requests-per-minute") as refused:
                await client.messages.batches.create(requests=[batch_request("r", SIMPLE)])  # type: ignore[list-item]
        assert 1 <= int(refused.value.response.headers["retry-after"]) <= 60

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

    async def test_an_unfetched_batch_holds_its_worst_case_until_its_results_are_accounted(
        self, gateway: Gateway
    ) -> None:
        state = gateway.state
        assert state.keys is not None
        worst = batch_worst(state, ONE)
        budget = (worst * Decimal("1.5")).quantize(Decimal("1e-9"))  # one batch's worst case, not two
        new = await state.keys.create("acme", budget_usd=budget, period=Period.DAY)
        async with self.client(gateway, new) as client:
            first = await client.messages.batches.create(requests=ONE)  # type: ignore[arg-type]
            held = from_nano(await held_nusd(state, first.id))
            assert held <= budget < 2 * held
            with pytest.raises(anthropic.RateLimitError, match="this key's budget of") as refused:
                await client.messages.batches.create(requests=ONE)  # type: ignore[arg-type]
            assert refused.value.status_code == 429
            await client.messages.batches.cancel(first.id)
            await wait_ended(client, first.id)
            with pytest.raises(anthropic.RateLimitError):  # cancelled: its results may still cost
                await client.messages.batches.create(requests=ONE)  # type: ignore[arg-type]

            for _ in range(2):  # fetched twice: accounted, and its hold released, once
                [r async for r in await client.messages.batches.results(first.id)]
            assert state.ledger is not None
            await state.ledger.flush()  # type: ignore[attr-defined]
            spend = ledger_spend(state.keys.engine)
            real = await spend(KEY, new.info.key_id, None)
            assert 0 < real < held / 2  # the request in flight finished, far below its worst case
            second = await client.messages.batches.create(requests=ONE)  # type: ignore[arg-type]
            # Released twice, the first batch would leave room for a third: it does not.
            with pytest.raises(anthropic.RateLimitError):
                await client.messages.batches.create(requests=ONE)  # type: ignore[arg-type]
            second_held = from_nano(await held_nusd(state, second.id))
            assert await spend(KEY, new.info.key_id, None) == real + second_held

            await client.messages.batches.cancel(second.id)
            await wait_ended(client, second.id)
            await client.messages.batches.delete(second.id)  # unfetched, deleted: the hold ends
            assert await spend(KEY, new.info.key_id, None) == real
            third = await client.messages.batches.create(requests=ONE)  # type: ignore[arg-type]
            assert third.id.startswith("msgbatch_")


@pytest.mark.redis
class TestHoldsAcrossReplicas:
    """Two gateways sharing one Redis (and one database): a batch held on one is seen by the other."""

    @pytest.fixture
    def gateway_sections(self) -> dict[str, Any]:
        return {"gateway": {"auth": True}}

    @pytest.fixture
    async def pair(
        self, settings: Settings, redis_url: str, redis_prefix: str
    ) -> AsyncIterator[list[Gateway]]:
        from claude_router.gateway.redis_state import SharedState

        shared = [SharedState.open(redis_url, prefix=f"{redis_prefix}:gw") for _ in range(2)]
        apps = [create_app(settings, shared=one) for one in shared]
        try:
            async with running_gateway(apps[0]) as first, running_gateway(apps[1]) as second:
                yield [Gateway(first, apps[0]), Gateway(second, apps[1])]
        finally:
            for one in shared:
                await one.aclose()

    async def test_a_batch_holds_on_every_replica_until_its_results_are_accounted(
        self, pair: list[Gateway]
    ) -> None:
        state = pair[0].state
        assert state.keys is not None
        worst = batch_worst(state, ONE)
        budget = (worst * Decimal("1.5")).quantize(Decimal("1e-9"))
        new = await state.keys.create("acme", budget_usd=budget, period=Period.MONTH)
        await state.keys.set_customer_budget("acme", budget, Period.DAY)
        one, other = (TestThroughTheGateway.client(g, new) for g in pair)
        async with one, other:
            first = await one.messages.batches.create(requests=ONE)  # type: ignore[arg-type]
            for client in (other, one):
                with pytest.raises(anthropic.RateLimitError, match="budget of"):
                    await client.messages.batches.create(requests=ONE)  # type: ignore[arg-type]
            await wait_ended(other, first.id)
            for client in (other, one, other):  # on both replicas: the hold ends once
                [r async for r in await client.messages.batches.results(first.id)]
            second = await one.messages.batches.create(requests=ONE)  # type: ignore[arg-type]
            with pytest.raises(anthropic.RateLimitError):
                await other.messages.batches.create(requests=ONE)  # type: ignore[arg-type]
            await wait_ended(one, second.id)
            await other.messages.batches.delete(second.id)
            assert (await one.messages.batches.create(requests=ONE)).id.startswith("msgbatch_")  # type: ignore[arg-type]
