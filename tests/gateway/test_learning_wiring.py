"""The gateway keeps the LLM classifier's labels as training examples and counts label sources."""

from __future__ import annotations

from typing import Any

import anthropic
import pytest
import sqlalchemy as sa

from claude_router.config import HAIKU, Settings
from claude_router.gateway import create_app
from claude_router.gateway.server import running_gateway
from claude_router.ledger import SqlLedger
from claude_router.ledger.examples import classifier_examples

from .conftest import COMPLEX, SIMPLE, Gateway, ask
from .test_metrics import scrape, value


@pytest.fixture
def gateway_sections() -> dict[str, Any]:
    # Every classified request is sent to the LLM classifier (the emulator labels it).
    return {"gateway": {"auth": False}, "classifier": {"cascade_threshold": 1.0}}


async def _traffic(client: anthropic.AsyncAnthropic) -> None:
    await client.messages.create(**ask(SIMPLE))
    await client.messages.create(**ask(COMPLEX))
    await client.messages.create(**ask(SIMPLE))  # a classifier cache hit
    await client.messages.create(**ask(SIMPLE, model=HAIKU))  # nothing classified


async def test_metrics_count_requests_by_label_source(gateway: Gateway) -> None:
    async with gateway.client() as client:
        await _traffic(client)
    families = await scrape(gateway)

    decisions = families["claude_router_classifier_decisions"]
    name = "claude_router_classifier_decisions_total"
    assert value(decisions, name, source="llm") == 2
    assert value(decisions, name, source="cache") == 1
    assert value(decisions, name, source="bypass") == 1
    assert value(decisions, name, source="local") == 0


async def _examples(settings: Settings) -> list[dict[str, Any]]:
    app = create_app(settings)
    async with running_gateway(app) as url:
        client = anthropic.AsyncAnthropic(base_url=url, api_key="unused", max_retries=0)
        async with client:
            await _traffic(client)
    store = await SqlLedger.open(settings.ledger.url)  # the gateway has stopped: examples are written
    try:
        async with store.engine.connect() as conn:
            return [dict(r) for r in (await conn.execute(sa.select(classifier_examples))).mappings()]
    finally:
        await store.close()


async def test_llm_labels_are_kept_without_prompts_by_default(settings: Settings) -> None:
    rows = await _examples(settings)

    assert sorted(r["label"] for r in rows) == ["complex", "simple"]
    assert all(r["input"] is None for r in rows)
    assert all(r["labeller"] == HAIKU for r in rows)
    assert not any(SIMPLE in str(v) or COMPLEX in str(v) for r in rows for v in r.values())


async def test_keep_prompts_keeps_them_and_capture_off_keeps_nothing(settings: Settings) -> None:
    keep = settings.model_copy(
        update={"classifier": settings.classifier.model_copy(update={"keep_prompts": True})}
    )
    rows = await _examples(keep)
    assert sorted(SIMPLE in str(r["input"]) or COMPLEX in str(r["input"]) for r in rows) == [True, True]

    off = settings.model_copy(
        update={"classifier": settings.classifier.model_copy(update={"capture": False})}
    )
    off = off.model_copy(update={"ledger": off.ledger.model_copy(update={"url": off.ledger.url + ".off"})})
    assert await _examples(off) == []
