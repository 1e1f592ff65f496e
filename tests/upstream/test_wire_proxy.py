"""The relay heeds HTTP(S)_PROXY and NO_PROXY as the SDK's client does, read once per session."""

from __future__ import annotations

import json

import pytest

from claude_router.upstream.attempts import CallTrace
from claude_router.upstream.client import attempt_body
from claude_router.upstream.wire import WireClient, WireConfig

from .conftest import HAIKU, TEST_KEY

BODY = attempt_body({"max_tokens": 16, "messages": [{"role": "user", "content": "Say hi."}]}, HAIKU)
NOWHERE = "http://127.0.0.1:9"  # nothing listens on port 9


async def answer(base_url: str) -> str:
    wire = WireClient(WireConfig(base_url, TEST_KEY, max_retries=0))
    try:
        content, _ = await wire.fetch(CallTrace(), HAIKU, BODY, {})
    finally:
        await wire.aclose()
    model: str = json.loads(content)["model"]
    return model


def proxy_environment(monkeypatch: pytest.MonkeyPatch, proxy: str, no_proxy: str | None) -> None:
    """The variables as a user sets them, either spelling (the lower-case one wins where both are)."""
    for name in ("HTTP_PROXY", "http_proxy"):
        monkeypatch.setenv(name, proxy)
    for name in ("NO_PROXY", "no_proxy"):
        if no_proxy is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, no_proxy)


async def test_a_request_goes_through_the_proxy_the_environment_names(
    emulator_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The emulator stands in for the proxy: an address nothing answers at is reached only through it.
    proxy_environment(monkeypatch, emulator_url, None)
    assert (await answer("http://api.example.invalid")).startswith(HAIKU)


async def test_no_proxy_sends_a_request_straight_to_its_host(
    emulator_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    proxy_environment(monkeypatch, NOWHERE, "127.0.0.1")
    assert (await answer(emulator_url)).startswith(HAIKU)
