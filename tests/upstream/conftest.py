"""The emulator over real HTTP, upstreams built on the real SDK, and per-model fault scripts.

The emulator injects a fault into every request that carries `x-emulator-fault`, whatever its
model. Fallback tests need a fault on one model only, so `ModelFaults` (an SDK client middleware,
the same hook the upstream itself uses) turns a per-call instruction into the emulator's header
for the named model's attempts only:

    extra_headers={"x-test-fault": "529", "x-test-fault-model": OPUS, "x-test-fault-times": "1"}
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import anthropic
import pytest
from anthropic import APIRequest, AsyncAPIResponse, AsyncCallNext, Middleware
from pydantic import SecretStr

from claude_router.config import HAIKU, OPUS, SONNET, UpstreamSettings
from claude_router.upstream import Upstream

__all__ = ["HAIKU", "OPUS", "SONNET", "fault_on"]

TEST_KEY = "sk-ant-test-upstream"
_FAULT = "x-test-fault"
_FAULT_MODEL = "x-test-fault-model"
_FAULT_TIMES = "x-test-fault-times"


def fault_on(model: str, fault: str, times: int | None = None) -> dict[str, str]:
    """Headers asking for emulator `fault` on `model`'s attempts (the first `times` of each call)."""
    headers = {_FAULT: fault, _FAULT_MODEL: model}
    if times is not None:
        headers[_FAULT_TIMES] = str(times)
    return headers


class ModelFaults(Middleware):
    """Rewrites the `x-test-fault*` headers into `x-emulator-fault` for the named model only."""

    async def handle_async(self, request: APIRequest, call_next: AsyncCallNext) -> AsyncAPIResponse[Any]:
        headers = {str(k): v for k, v in dict(request.headers).items()}
        fault = headers.pop(_FAULT, None)
        model = headers.pop(_FAULT_MODEL, None)
        times = headers.pop(_FAULT_TIMES, None)
        body = request.json
        wanted = isinstance(body, dict) and body.get("model") == model
        if fault and wanted and (times is None or request.retries_taken < int(str(times))):
            headers["x-emulator-fault"] = fault
        return await call_next(request.copy(headers=headers))


UpstreamFactory = Callable[..., Upstream]


@pytest.fixture
async def make_upstream(emulator_url: str) -> AsyncIterator[UpstreamFactory]:
    """Build upstreams on the emulator: `make_upstream(max_retries=1, cooldown_after=2, middleware=[...])`."""
    made: list[tuple[Upstream, anthropic.AsyncAnthropic]] = []

    def make(*, middleware: Sequence[Middleware] = (), **settings: Any) -> Upstream:
        values: dict[str, Any] = {"max_retries": 1, "timeout_s": 20.0, **settings}
        config = UpstreamSettings(api_key=SecretStr(TEST_KEY), base_url=emulator_url, **values)
        client = anthropic.AsyncAnthropic(
            api_key=TEST_KEY,
            base_url=emulator_url,
            max_retries=config.max_retries,
            timeout=config.timeout_s,
            middleware=[ModelFaults(), *middleware],
        )
        upstream = Upstream(config, client=client)
        made.append((upstream, client))
        return upstream

    yield make
    for upstream, client in made:
        await upstream.aclose()
        await client.close()


def ask(text: str = "Is this review positive? 'Great blender, works fine.'", **extra: Any) -> dict[str, Any]:
    """A small Messages API body."""
    return {"max_tokens": 64, "messages": [{"role": "user", "content": text}], **extra}
