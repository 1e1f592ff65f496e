"""Virtual keys: the store on SQLite and PostgreSQL, the gateway's 401s, and the `keys` commands."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import anthropic
import httpx2
import pytest
from typer.testing import CliRunner

from claude_router.cli import app as cli_app
from claude_router.gateway.keys import KeyStore, Period, hash_key

from .conftest import SIMPLE, Gateway, ask


@pytest.fixture(params=["sqlite", "postgres"])
def keys_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    url: str = str(tmp_path / "keys.db") if request.param == "sqlite" else request.getfixturevalue("pg_url")
    return url


@pytest.fixture
async def store(keys_url: str) -> AsyncIterator[KeyStore]:
    opened = await KeyStore.open(keys_url)
    try:
        yield opened
    finally:
        await opened.close()


async def test_a_key_authenticates_until_revoked(store: KeyStore) -> None:
    customer = f"acme-{uuid.uuid4().hex[:8]}"
    new = await store.create(customer, budget_usd=Decimal("50"), period=Period.MONTH, rpm=600, tpm=200_000)
    assert new.key.startswith("sk-cr-")
    info = await store.authenticate(new.key)
    assert info is not None
    assert info.customer == customer
    assert info.budget_usd == Decimal("50")
    assert (info.rpm, info.tpm, info.period) == (600, 200_000, Period.MONTH)
    assert await store.authenticate(new.key + "x") is None
    assert await store.authenticate("not-a-key") is None

    assert await store.revoke(new.info.key_id)
    assert not await store.revoke(new.info.key_id)  # already revoked
    assert await store.authenticate(new.key) is None
    active = [k.key_id for k in await store.list_keys()]
    every = [k.key_id for k in await store.list_keys(include_revoked=True)]
    assert new.info.key_id not in active
    assert new.info.key_id in every


async def test_reopening_migrates_once(store: KeyStore, tmp_path: Path) -> None:
    again = KeyStore(store.engine)
    from claude_router.gateway.key_schema import migrate

    assert await migrate(again.engine) == []


def database_bytes(folder: Path, name: str) -> bytes:
    """The database file and its WAL, as bytes."""
    return b"".join(p.read_bytes() for p in folder.iterdir() if p.name.startswith(name))


async def test_only_the_hash_is_stored(tmp_path: Path) -> None:
    path = tmp_path / "keys.db"
    store = await KeyStore.open(path)
    new = await store.create("acme")
    await store.close()
    raw = await asyncio.to_thread(database_bytes, tmp_path, "keys.db")
    assert new.key.encode() not in raw
    assert hash_key(new.key).encode() in raw


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"rpm": 0}, "rpm"), ({"budget_usd": Decimal("-1")}, "budget"), ({}, "customer")],
)
async def test_bad_key_settings_are_refused(tmp_path: Path, kwargs: dict[str, Any], message: str) -> None:
    store = await KeyStore.open(tmp_path / "keys.db")
    try:
        with pytest.raises(ValueError, match=message):
            await store.create("acme" if kwargs else "  ", **kwargs)
    finally:
        await store.close()


class TestGatewayAuth:
    @pytest.fixture
    def gateway_sections(self) -> dict[str, Any]:
        return {"gateway": {"auth": True}}

    async def new_key(self, gateway: Gateway, customer: str = "acme") -> str:
        assert gateway.state.keys is not None
        return (await gateway.state.keys.create(customer)).key

    @pytest.mark.parametrize(
        "headers", [{}, {"x-api-key": "sk-cr-unknown"}, {"authorization": "Bearer nope"}]
    )
    async def test_missing_or_unknown_key_is_401(self, gateway: Gateway, headers: dict[str, str]) -> None:
        async with httpx2.AsyncClient(base_url=gateway.url, headers=headers) as http:
            response = await http.post("/v1/messages", json=ask(SIMPLE))
        assert response.status_code == 401
        body = response.json()
        assert body["type"] == "error"
        assert body["error"]["type"] == "authentication_error"
        for value in headers.values():
            assert value not in response.text

    async def test_x_api_key_and_bearer_are_accepted(self, gateway: Gateway) -> None:
        key = await self.new_key(gateway, "acme")
        headers = {"x-router-customer": "someone-else"}
        async with anthropic.AsyncAnthropic(
            base_url=gateway.url, api_key=key, max_retries=0, default_headers=headers
        ) as client:
            await client.messages.create(**ask(SIMPLE))
        assert gateway.state.router.recent[-1].customer == "acme"  # the key's customer wins
        assert gateway.state.router.recent[-1].key_id is not None
        async with anthropic.AsyncAnthropic(base_url=gateway.url, auth_token=key, max_retries=0) as client:
            models = [m.id async for m in client.models.list()]
        assert "auto" in models

    async def test_a_revoked_key_is_refused(self, gateway: Gateway, caplog: pytest.LogCaptureFixture) -> None:
        assert gateway.state.keys is not None
        new = await gateway.state.keys.create("acme")
        caplog.set_level(logging.DEBUG)
        async with anthropic.AsyncAnthropic(base_url=gateway.url, api_key=new.key, max_retries=0) as client:
            await client.messages.create(**ask(SIMPLE))
            await gateway.state.keys.revoke(new.info.key_id)
            with pytest.raises(anthropic.AuthenticationError):
                await client.messages.create(**ask(SIMPLE))
        assert all(new.key not in record.getMessage() for record in caplog.records)

    async def test_health_and_metrics_need_no_key(self, gateway: Gateway) -> None:
        async with httpx2.AsyncClient(base_url=gateway.url) as http:
            assert (await http.get("/healthz")).status_code == 200
            assert (await http.get("/metrics")).status_code == 200


CREATE = ("keys", "create", "--customer", "acme", "--budget-usd", "50")


def test_keys_commands(tmp_path: Path) -> None:
    runner = CliRunner()
    ledger = str(tmp_path / "ledger.db")
    created = runner.invoke(
        cli_app,
        [*CREATE, "--period", "month", "--rpm", "600", "--tpm", "200000", "--json", "--ledger", ledger],
    )
    assert created.exit_code == 0, created.output
    new = json.loads(created.output)
    assert new["key"].startswith("sk-cr-")
    assert new["budget_usd"] == "50"
    assert new["hint"] == "..." + new["key"][-4:]

    listed = runner.invoke(cli_app, ["keys", "list", "--json", "--ledger", ledger])
    assert listed.exit_code == 0
    rows = json.loads(listed.output)
    assert [r["key_id"] for r in rows] == [new["key_id"]]
    assert new["key"] not in listed.output

    table = runner.invoke(cli_app, ["keys", "list", "--ledger", ledger])
    assert "acme" in table.output
    assert new["key"] not in table.output

    revoked = runner.invoke(cli_app, ["keys", "revoke", new["key_id"], "--ledger", ledger])
    assert revoked.exit_code == 0
    again = runner.invoke(cli_app, ["keys", "revoke", new["key_id"], "--ledger", ledger])
    assert again.exit_code == 1
    assert json.loads(runner.invoke(cli_app, ["keys", "list", "--json", "--ledger", ledger]).output) == []


def test_keys_create_rejects_a_bad_budget(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli_app,
        ["keys", "create", "--customer", "acme", "--budget-usd", "lots", "--ledger", str(tmp_path / "l.db")],
    )
    assert result.exit_code == 2
    assert "dollars" in result.output


async def test_customer_budgets_are_set_read_and_removed(store: KeyStore) -> None:
    customer = f"acme-{uuid.uuid4().hex[:8]}"
    assert await store.customer_budget(customer) is None
    await store.set_customer_budget(customer, Decimal("500"), Period.MONTH)
    store._customers.clear()  # read it back from the database, not the cache
    found = await store.customer_budget(customer)
    assert found is not None
    assert (found.budget_usd, found.period) == (Decimal("500"), Period.MONTH)
    assert customer in [b.customer for b in await store.customer_budgets()]
    await store.set_customer_budget(customer, None)
    assert await store.customer_budget(customer) is None
    with pytest.raises(ValueError, match="positive"):
        await store.set_customer_budget(customer, Decimal("0"))


def test_keys_budget_sets_a_customer_budget(tmp_path: Path) -> None:
    ledger = str(tmp_path / "l.db")
    args = ["keys", "budget", "--customer", "acme", "--budget-usd", "500", "--period", "day"]
    result = CliRunner().invoke(cli_app, [*args, "--ledger", ledger, "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {"customer": "acme", "budget_usd": "500", "period": "day"}
    removed = CliRunner().invoke(cli_app, ["keys", "budget", "--customer", "acme", "--ledger", ledger])
    assert removed.output.strip() == "acme: no customer budget"
