"""`[monitor] enabled = true` makes the gateway sample answers into the ledger's verdict table."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from claude_router.ledger.verdicts import VerdictStore

from .conftest import SIMPLE, Gateway, ask


@pytest.fixture
def gateway_sections() -> dict[str, Any]:
    return {"gateway": {"auth": False}, "monitor": {"enabled": True, "sample_rate": 1.0}}


async def test_every_sampled_answer_gets_a_verdict_row(gateway: Gateway) -> None:
    client = gateway.client()
    message = await client.messages.create(**ask(SIMPLE))
    assert message.model.startswith("claude-haiku-5-5")
    router = gateway.state.router
    assert router.observers, "the monitor is attached when [monitor] enabled"
    engine = router.observers[0].verdicts.engine  # type: ignore[attr-defined]
    store = VerdictStore(engine)
    rows = await store.rows()
    for _ in range(200):  # the verdict is written in the background, after the answer
        if rows:
            break
        await asyncio.sleep(0.05)
        rows = await store.rows()
    assert len(rows) == 1
    assert rows[0].model == "claude-haiku-5-5"
    assert rows[0].higher_model == "claude-sonnet-5-5"
    await client.close()


async def test_without_the_setting_nothing_is_attached(settings: Any) -> None:
    from claude_router.gateway import create_app
    from claude_router.gateway.server import running_gateway

    plain = settings.model_copy(update={"monitor": settings.monitor.model_copy(update={"enabled": False})})
    app = create_app(plain)
    async with running_gateway(app):
        assert app.state.gateway.router.observers == []
