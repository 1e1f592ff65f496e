"""No configured secret (the upstream key, a virtual key) in any log line, at any level."""

from __future__ import annotations

import logging
from typing import Any

import anthropic
import pytest

from .conftest import COMPLEX, SIMPLE, UPSTREAM_KEY, Gateway, ask


@pytest.fixture
def gateway_sections() -> dict[str, Any]:
    return {"gateway": {"auth": True}}


async def test_no_secret_reaches_a_log_line(gateway: Gateway, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    assert gateway.state.keys is not None
    virtual = (await gateway.state.keys.create("acme")).key
    async with anthropic.AsyncAnthropic(base_url=gateway.url, api_key=virtual, max_retries=0) as client:
        await client.messages.create(**ask(SIMPLE))
        async with client.messages.stream(**ask(COMPLEX)) as stream:
            await stream.get_final_message()
        await client.messages.count_tokens(model="auto", messages=[{"role": "user", "content": SIMPLE}])
        [m async for m in client.models.list()]
        with pytest.raises(anthropic.BadRequestError):
            await client.messages.create(
                **ask(SIMPLE, model="claude-haiku-5-5", extra_body={"temperature": "hot"})
            )
        with pytest.raises(anthropic.NotFoundError):
            await client.messages.create(**ask(SIMPLE, model="router:nope"))
    async with anthropic.AsyncAnthropic(base_url=gateway.url, api_key="sk-cr-wrong", max_retries=0) as client:
        with pytest.raises(anthropic.AuthenticationError):
            await client.messages.create(**ask(SIMPLE))
    lines = [logging.Formatter("%(message)s %(args)s").format(r) for r in caplog.records]
    assert any("HTTP Request" in line or "request" in line.lower() for line in lines)  # debug logs were on
    for secret in (UPSTREAM_KEY, virtual, "sk-cr-wrong"):
        leaked = [line for line in lines if secret in line]
        assert not leaked, leaked[:3]
