"""count_tokens, models, health and readiness through the SDK and plain HTTP."""

from __future__ import annotations

import httpx2

from claude_router.config import HAIKU, OPUS

from .conftest import COMPLEX, SIMPLE, Gateway, ask


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


async def test_health_and_readiness(gateway: Gateway) -> None:
    async with httpx2.AsyncClient(base_url=gateway.url) as http:
        health = await http.get("/healthz")
        ready = await http.get("/readyz")
    assert health.status_code == 200
    assert health.json() == {"status": "ok"}
    assert ready.status_code == 200
    assert ready.json()["status"] == "ready"
    assert ready.json()["checks"] == {"ledger": "ok", "upstream": "ok"}  # each dependency answered
