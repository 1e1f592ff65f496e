"""Every Messages request leaves one ledger row, the ones the gateway refuses before any call too
(400, 401, 404, 429): no model, no cost, the error type as its status. And, as the API does, a
request to a named model without max_tokens is a 400; a routed one gets the route's ceiling."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import anthropic
import httpx2
import pytest

from claude_router.ledger import BufferedLedger

from .conftest import SIMPLE, Gateway, ask


@pytest.fixture
def gateway_sections() -> dict[str, Any]:
    return {"gateway": {"auth": True}}


async def test_refusals_are_recorded_without_cost(gateway: Gateway) -> None:
    keys = gateway.state.keys
    assert keys is not None
    key = {"x-api-key": (await keys.create("acme")).key}
    once = {"x-api-key": (await keys.create("acme", rpm=1)).key}
    async with httpx2.AsyncClient(base_url=gateway.url, timeout=30) as http:
        sent = [
            (401, await http.post("/v1/messages", json=ask(SIMPLE))),  # no key
            (400, await http.post("/v1/messages", json={"model": "auto"}, headers=key)),
            (404, await http.post("/v1/messages", json=ask(SIMPLE, model="claude-nope"), headers=key)),
            (200, await http.post("/v1/messages", json=ask(SIMPLE), headers=once)),
            (429, await http.post("/v1/messages", json=ask(SIMPLE), headers=once)),  # its one a minute spent
        ]
    assert [response.status_code for _, response in sent] == [status for status, _ in sent]

    ledger = gateway.state.ledger
    assert isinstance(ledger, BufferedLedger)
    await ledger.flush()
    rows = sorted(await ledger.rows(), key=lambda r: r.created_at)
    assert [(r.status, r.model_requested, r.customer) for r in rows] == [
        ("authentication_error", "unknown", None),  # refused before its body was read
        ("invalid_request_error", "auto", "acme"),
        ("not_found_error", "claude-nope", "acme"),
        ("ok", "auto", "acme"),
        ("rate_limit_error", "auto", "acme"),
    ]
    refused = [r for r in rows if not r.ok]
    assert all(r.model_used is None and r.total_cost_usd == Decimal(0) for r in refused)
    assert len({r.request_id for r in rows}) == 5


async def test_each_refusal_tells_the_sdks_whether_to_retry(gateway: Gateway) -> None:
    """A wrong request or key fails the same way again (`x-should-retry: false`, which the SDKs
    obey first); a rate limit passes (true, with when)."""
    keys = gateway.state.keys
    assert keys is not None
    key = {"x-api-key": (await keys.create("acme")).key}
    once = {"x-api-key": (await keys.create("acme", rpm=1)).key}
    async with httpx2.AsyncClient(base_url=gateway.url, timeout=30) as http:
        unknown = await http.post("/v1/messages", json=ask(SIMPLE), headers={"x-api-key": "sk-wrong"})
        missing = await http.post("/v1/messages", json=ask(SIMPLE))
        bad_body = await http.post("/v1/messages", json={"model": "auto"}, headers=key)
        await http.post("/v1/messages", json=ask(SIMPLE), headers=once)
        limited = await http.post("/v1/messages", json=ask(SIMPLE), headers=once)
    assert (unknown.status_code, missing.status_code, bad_body.status_code) == (401, 401, 400)
    assert unknown.headers["x-should-retry"] == missing.headers["x-should-retry"] == "false"
    assert bad_body.headers["x-should-retry"] == "false"
    assert limited.status_code == 429
    assert limited.headers["x-should-retry"] == "true"
    assert int(limited.headers["retry-after"]) >= 1


async def test_a_bad_key_fails_at_once_in_the_sdk(gateway: Gateway) -> None:
    sent = 0

    async def count(request: httpx2.Request) -> None:
        nonlocal sent
        sent += 1

    http = httpx2.AsyncClient(event_hooks={"request": [count]})
    async with anthropic.AsyncAnthropic(
        base_url=gateway.url, api_key="sk-wrong", max_retries=5, http_client=http
    ) as sdk:
        with pytest.raises(anthropic.AuthenticationError):
            await sdk.messages.create(**ask(SIMPLE))
    assert sent == 1


def auth(x_api_key: str | None = None, bearer: str | None = None) -> dict[str, str]:
    headers = {"x-api-key": x_api_key} if x_api_key else {}
    return {**headers, "authorization": f"Bearer {bearer}"} if bearer else headers


async def test_x_api_key_wins_over_bearer(gateway: Gateway) -> None:
    keys = gateway.state.keys
    assert keys is not None
    good = (await keys.create("acme")).key
    async with httpx2.AsyncClient(base_url=gateway.url, timeout=30) as http:
        bearer = await http.post(
            "/v1/messages", json=ask(SIMPLE), headers={"authorization": f"Bearer {good}"}
        )
        both_good = await http.post(
            "/v1/messages", json=ask(SIMPLE), headers={"x-api-key": good, "authorization": "Bearer sk-wrong"}
        )
        both_bad = await http.post(
            "/v1/messages",
            json=ask(SIMPLE),
            headers={"x-api-key": "sk-wrong", "authorization": f"Bearer {good}"},
        )
    assert (bearer.status_code, both_good.status_code, both_bad.status_code) == (200, 200, 401)


class TestMaxTokens:
    @pytest.fixture
    def gateway_sections(self) -> dict[str, Any]:
        return {"gateway": {"auth": False}}

    async def test_a_named_model_needs_max_tokens_and_a_routed_one_does_not(self, gateway: Gateway) -> None:
        turns = [{"role": "user", "content": "Is this positive? 'Great.'"}]
        async with httpx2.AsyncClient(base_url=gateway.url, timeout=30) as http:
            named = await http.post("/v1/messages", json={"model": "claude-haiku-4-5", "messages": turns})
            routed = await http.post("/v1/messages", json={"model": "auto", "messages": turns})
        assert named.status_code == 400
        assert named.json()["error"] == {
            "type": "invalid_request_error",
            "message": "max_tokens: Field required",
        }
        assert routed.status_code == 200
        ledger = gateway.state.ledger
        assert isinstance(ledger, BufferedLedger)
        await ledger.flush()
        statuses = sorted(r.status for r in await ledger.rows())
        assert statuses == ["invalid_request_error", "ok"]  # one row each, the answered one not twice
