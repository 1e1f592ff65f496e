"""Claude Code's session through the gateway: from X-Claude-Code-Session-Id or metadata.user_id
into each ledger row, and the agent-traffic policy on what Claude Code sends."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import anthropic
import pytest

from claude_router.types import Label, UsageRecord

from .conftest import SIMPLE, Gateway, ask

HAIKU, SONNET, OPUS = "claude-haiku-5-5", "claude-sonnet-5-5", "claude-opus-5-5"
SESSION = "3f1c9a52-8e47-4d1b-b0a6-5c2e7f9d8a31"
USER_ID = json.dumps({"device_id": "ab" * 32, "account_uuid": "", "session_id": SESSION})


@pytest.fixture
def gateway_sections(ledger_url: str) -> dict[str, Any]:
    ladder = {Label.SIMPLE: HAIKU, Label.MODERATE: SONNET, Label.COMPLEX: OPUS}
    return {
        "gateway": {"auth": False},
        "ledger": {"url": ledger_url},
        "policy": {"agent_traffic": True, "label_models": ladder},
    }


async def _rows(gateway: Gateway) -> list[UsageRecord]:
    await asyncio.sleep(0.05)  # a stream is accounted when its response closes
    ledger = gateway.state.ledger
    assert ledger is not None
    await ledger.flush()  # type: ignore[attr-defined]
    return sorted(await ledger.rows(), key=lambda r: r.created_at)  # type: ignore[attr-defined]


async def test_the_session_reaches_the_ledger_from_the_header_and_from_the_user_id(gateway: Gateway) -> None:
    header = {"X-Claude-Code-Session-Id": SESSION}
    async with gateway.client(default_headers=header) as client:
        await client.messages.create(**ask(SIMPLE, model=OPUS))
        async with client.messages.stream(**ask(SIMPLE)) as stream:
            await stream.get_final_message()
    async with gateway.client() as client:
        await client.messages.create(**ask(SIMPLE, metadata={"user_id": USER_ID}))
    async with gateway.client(default_headers={**header, "x-router-session": "mine"}) as client:
        await client.messages.create(**ask(SIMPLE))
    async with gateway.client() as client:
        await client.messages.create(**ask(SIMPLE))
    assert [r.session for r in await _rows(gateway)] == [SESSION, SESSION, SESSION, "mine", None]


async def test_an_overlong_session_header_is_a_400(gateway: Gateway) -> None:
    async with gateway.client(default_headers={"X-Claude-Code-Session-Id": "s" * 300}) as client:
        with pytest.raises(anthropic.BadRequestError, match="x-claude-code-session-id"):
            await client.messages.create(**ask(SIMPLE))


async def test_claude_codes_side_call_is_streamed_from_the_simple_tier(gateway: Gateway) -> None:
    side = ask("Write a short title for: fix the login test", model=OPUS, max_tokens=512)
    async with gateway.client(default_headers={"X-Claude-Code-Session-Id": SESSION}) as client:
        raw = await client.messages.with_raw_response.create(**side, stream=True)
        assert raw.headers["x-router-model"] == HAIKU
        assert raw.headers["x-router-reason"] == "agent:side_call"
        [event async for event in await raw.parse()]
    (row,) = await _rows(gateway)
    assert (row.model_requested, row.model_used, row.session) == (OPUS, HAIKU, SESSION)


async def test_a_refused_request_keeps_its_session(gateway: Gateway) -> None:
    """Claude Code retries a refused request: both rows belong to its session."""
    async with gateway.client(default_headers={"X-Claude-Code-Session-Id": SESSION}) as client:
        with pytest.raises(anthropic.BadRequestError):
            await client.messages.create(model=OPUS, max_tokens=64, messages=[])
    (row,) = await _rows(gateway)
    assert (row.status, row.session) == ("invalid_request_error", SESSION)
