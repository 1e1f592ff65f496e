"""count_tokens, models, health and readiness through the SDK and plain HTTP."""

from __future__ import annotations

import httpx2

from claude_router.config import HAIKU, OPUS

from .conftest import COMPLEX, SIMPLE, Gateway, ask

OLD_HAIKU = "claude-haiku-4-5"  # takes no system turns


async def test_count_tokens_resolves_auto_to_the_routed_model(gateway: Gateway) -> None:
    body = ask(COMPLEX)
    del body["max_tokens"]
    async with gateway.client() as client:
        raw = await client.messages.with_raw_response.count_tokens(**body)
        direct = await client.messages.count_tokens(**{**body, "model": OPUS})
    counted = await raw.parse()
    assert raw.headers["x-router-model"] == OPUS
    assert raw.headers["x-router-label"] == "complex"
    assert counted.input_tokens == direct.input_tokens > 0


async def test_count_tokens_with_a_concrete_model(gateway: Gateway) -> None:
    async with gateway.client() as client:
        counted = await client.messages.count_tokens(
            model=HAIKU, messages=[{"role": "user", "content": SIMPLE}], system="Be brief."
        )
    assert counted.input_tokens > 0


async def test_models_lists_real_models_then_router_names(gateway: Gateway) -> None:
    async with gateway.client() as client:
        ids = [model.id async for model in client.models.list()]
        auto = await client.models.retrieve("auto")
        real = await client.models.retrieve(ids[0])
    assert any(i.startswith(HAIKU) for i in ids)
    assert "auto" in ids
    assert ids.index("auto") > max(i for i, name in enumerate(ids) if name.startswith("claude-"))
    assert auto.type == "model"
    assert auto.display_name
    assert real.id == ids[0]


async def test_models_page_like_the_api(gateway: Gateway) -> None:
    async with gateway.client() as client:
        everything = [model.id async for model in client.models.list(limit=1000)]
        first = await client.models.list(limit=3)
        ids, page = [m.id for m in first.data], first
        while page.has_next_page():
            page = await page.get_next_page()
            ids += [m.id for m in page.data]
        before = await client.models.list(limit=2, before_id=everything[4])
        router_entries = [m async for m in client.models.list(limit=1000) if not m.id.startswith("claude-")]
    assert len(first.data) == 3
    assert first.has_more is True
    assert (first.first_id, first.last_id) == (everything[0], everything[2])
    assert ids == everything  # every model once, in order, over pages of three
    assert [m.id for m in before.data] == everything[2:4]
    assert {m.lifecycle for m in router_entries} == {"active"}  # valid `ModelInfo` items
    async with httpx2.AsyncClient(base_url=gateway.url) as http:
        too_many = await http.get("/v1/models", params={"limit": "1001"})
        unknown = await http.get("/v1/models", params={"after_id": "claude-nope"})
    assert too_many.status_code == 400
    assert unknown.status_code == 404


async def test_system_turns_travel_as_sent(gateway: Gateway) -> None:
    """A mid-conversation `role: "system"` message (Claude Code sends them) is the upstream's to judge."""
    turns = [
        {"role": "user", "content": "Hello"},
        {"role": "assistant", "content": "Hi."},
        {"role": "system", "content": "Answer in one word."},
        {"role": "user", "content": "Is 'Great blender.' positive?"},
    ]
    async with httpx2.AsyncClient(base_url=gateway.url, timeout=30) as http:
        taken = await http.post("/v1/messages", json={"model": OPUS, "max_tokens": 64, "messages": turns})
        older = await http.post(
            "/v1/messages", json={"model": OLD_HAIKU, "max_tokens": 64, "messages": turns}
        )
    assert taken.status_code == 200, taken.text
    assert older.status_code == 400  # the upstream's own refusal, relayed
    assert older.json()["type"] == "error"


async def test_health_and_readiness(gateway: Gateway) -> None:
    async with httpx2.AsyncClient(base_url=gateway.url) as http:
        health = await http.get("/healthz")
        ready = await http.get("/readyz")
    assert health.status_code == 200
    assert health.json() == {"status": "ok"}
    assert ready.status_code == 200
    assert ready.json()["status"] == "ready"
    assert ready.json()["checks"] == {"ledger": "ok", "upstream": "ok"}  # each dependency answered
