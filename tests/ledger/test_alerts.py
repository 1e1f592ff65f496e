"""Daily spend alerts against a real local HTTP receiver (Starlette on uvicorn)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
from collections.abc import AsyncIterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from claude_router.config import AlertSettings, LedgerSettings, Settings
from claude_router.errors import ConfigError
from claude_router.ledger.alerts import SpendAlerts, open_configured_ledger
from claude_router.types import TokenUsage, UsageRecord

from .records import SONNET, T0, priced


class Receiver:
    def __init__(self) -> None:
        self.posts: list[dict[str, Any]] = []
        self.url = ""

    async def hook(self, request: Request) -> JSONResponse:
        self.posts.append(json.loads(await request.body()))
        return JSONResponse({"ok": True})


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    rec = Receiver()
    app = Starlette(routes=[Route("/hook/{token}", rec.hook, methods=["POST"])])
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 (uvicorn exposes a flag, not an event)
        await asyncio.sleep(0.01)
    rec.url = f"http://127.0.0.1:{port}/hook/s3cret-token"
    yield rec
    server.should_exit = True
    with contextlib.suppress(asyncio.CancelledError):
        await task


def settings(url: str, **alerts: Any) -> Settings:
    return Settings(ledger=LedgerSettings(alerts=AlertSettings(webhook_url=SecretStr(url), **alerts)))


def spend(rid: str, output_tokens: int, customer: str, day: int = 0) -> UsageRecord:
    """Sonnet output at $15 per million tokens, with no classifier call."""
    return priced(
        rid,
        model=SONNET,
        usage=TokenUsage(0, output_tokens),
        classifier_usage=TokenUsage(),
        customer=customer,
        created_at=T0 + timedelta(days=day, hours=1),
    )


async def test_customer_and_total_alerts_fire_once_per_day(
    receiver: Receiver, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "l.db"
    conf = settings(
        receiver.url,
        daily_total_usd=Decimal(20),
        daily_customer_usd=Decimal(12),
        customers={"big": Decimal(100)},
    )
    caplog.set_level(logging.WARNING, logger="claude_router.ledger.alerts")
    ledger = await open_configured_ledger(conf, path)
    await ledger.record(spend("a1", 500_000, "acme"))  # $7.50
    await ledger.record(spend("b1", 600_000, "big"))  # $9
    await ledger.flush()
    assert receiver.posts == []
    await ledger.record(spend("a2", 400_000, "acme"))  # acme $13.50 > $12; total $22.50 > $20
    await ledger.flush()
    scopes = sorted((p["scope"], p["customer"]) for p in receiver.posts)
    assert scopes == [("customer", "acme"), ("total", None)]
    acme = next(p for p in receiver.posts if p["customer"] == "acme")
    assert acme == {
        "type": "spend_alert",
        "period": "day",
        "day": "2025-06-01",
        "scope": "customer",
        "customer": "acme",
        "spent_usd": "13.500000000",
        "threshold_usd": "12",
    }
    await ledger.record(spend("a3", 100_000, "acme"))
    await ledger.record(spend("b2", 500_000, "big"))  # big $16.50: its own threshold is $100
    await ledger.flush()
    assert len(receiver.posts) == 2  # once per day
    await ledger.close()
    messages = [r.getMessage() for r in caplog.records]
    assert any("customer 'acme' reached $13.500000000" in m for m in messages)
    assert all("s3cret" not in m for m in messages)

    again = await open_configured_ledger(conf, path)  # a restart remembers what fired
    try:
        await again.record(spend("a4", 100_000, "acme"))
        await again.flush()
        assert len(receiver.posts) == 2
        await again.record(spend("n1", 900_000, "acme", day=1))  # a new day: $13.50 again
        await again.flush()
        assert [(p["day"], p["customer"]) for p in receiver.posts[2:]] == [("2025-06-02", "acme")]
    finally:
        await again.close()


async def test_a_failing_webhook_is_logged_without_the_url(
    receiver: Receiver, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    broken = receiver.url.replace("/hook/", "/nowhere/")  # a 404 from the receiver
    ledger = await open_configured_ledger(settings(broken, daily_total_usd=Decimal(1)), tmp_path / "l.db")
    try:
        await ledger.record(spend("x", 100_000, "acme"))  # $1.50
        await ledger.flush()
    finally:
        await ledger.close()
    failures = [r.getMessage() for r in caplog.records if "webhook failed" in r.getMessage()]
    assert len(failures) == 1
    assert "Not Found" in failures[0]
    assert "s3cret" not in failures[0]


async def test_check_on_demand_and_alerts_without_a_webhook(tmp_path: Path) -> None:
    conf = AlertSettings(daily_customer_usd=Decimal(1))
    ledger = await open_configured_ledger(Settings(ledger=LedgerSettings(alerts=conf)), tmp_path / "l.db")
    try:
        await ledger.record(spend("x", 100_000, "acme"))
        await ledger.flush()
        alerts = SpendAlerts(ledger.store, conf)
        assert await alerts.check(T0.date()) == []  # already fired through the attached checker
    finally:
        await ledger.close()


def test_webhook_must_be_http() -> None:
    with pytest.raises(ConfigError, match="webhook_url must be an http"):
        Settings.load(ledger={"alerts": {"webhook_url": "file:///etc/passwd"}})
