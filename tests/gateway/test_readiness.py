"""`/readyz` says ready only when every service a request needs answers (the ledger, Redis when it
holds the limits, the upstream), and names the one that does not; `serve` will not start without
them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx2
import pytest

from claude_router.config import Settings
from claude_router.gateway import create_app
from claude_router.gateway.server import running_gateway
from cli_support import invoke

DOWN = "redis://:hunter2@127.0.0.1:9/0"  # nothing listens on port 9


@pytest.fixture
def gateway_sections() -> dict[str, Any]:
    return {"gateway": {"auth": True, "redis_url": DOWN}}


async def test_redis_down_is_not_ready_and_named(settings: Settings) -> None:
    app = create_app(settings)
    async with running_gateway(app) as url, httpx2.AsyncClient(base_url=url) as http:
        ready = await http.get("/readyz")
    assert ready.status_code == 503
    body = ready.json()
    assert body["error"]["type"] == "api_error"
    assert body["error"]["message"].startswith("not ready: redis: Redis at 127.0.0.1:9 ([gateway] redis_url)")
    assert body["checks"]["ledger"] == "ok"
    assert body["checks"]["upstream"] == "ok"
    assert "hunter2" not in ready.text


async def test_an_upstream_down_is_not_ready(settings: Settings) -> None:
    upstream = settings.upstream.model_copy(update={"base_url": "http://127.0.0.1:9"})
    gateway = settings.gateway.model_copy(update={"redis_url": None})
    app = create_app(settings.model_copy(update={"upstream": upstream, "gateway": gateway}))
    async with running_gateway(app) as url, httpx2.AsyncClient(base_url=url) as http:
        ready = await http.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["checks"]["upstream"] == "cannot connect to http://127.0.0.1:9"


def test_serve_refuses_to_start_without_its_redis(tmp_path: Path) -> None:
    result = invoke("serve", "--port", "0", home=tmp_path, CLAUDE_ROUTER_GATEWAY__REDIS_URL=DOWN)
    assert result.exit_code == 1
    (error,) = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert error.startswith("error: redis: Redis at 127.0.0.1:9 ([gateway] redis_url): ")
    assert "listening" not in result.output
    assert "hunter2" not in result.output
