"""Property: whatever body and router headers arrive, the gateway never answers 5xx, and every
error is Anthropic-shaped."""

from __future__ import annotations

import json
from typing import Any

import httpx2
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .conftest import Gateway

FIELDS = ["model", "messages", "max_tokens", "stream", "system", "tools", "metadata", "temperature"]
PATHS = ["/v1/messages", "/v1/messages/count_tokens"]
MODELS = ["auto", "router:nope", "claude-haiku-4-5", "claude-opus-4-8", "", "gpt-4"]

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 5000), st.floats(allow_nan=False), st.text(max_size=20)
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.sampled_from(["role", "content", "type", "text", "name", "x"]), inner, max_size=4),
    ),
    max_leaves=8,
)
turn = st.fixed_dictionaries(
    {"role": st.sampled_from(["user", "assistant", "system", 3])},
    optional={"content": st.one_of(st.text(max_size=40), values)},
)
bodies = st.fixed_dictionaries(
    {},
    optional={
        "model": st.one_of(st.sampled_from(MODELS), values),
        "messages": st.one_of(st.lists(turn, max_size=3), values),
        "max_tokens": st.one_of(st.integers(-1, 300), values),
        "stream": st.one_of(st.booleans(), values),
        "system": st.one_of(st.text(max_size=20), values),
        "extra": values,
    },
)
header_text = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=30).map(str.strip)
router_headers = st.dictionaries(
    st.sampled_from(["x-router-floor", "x-router-tags", "x-router-force-model", "x-router-customer"]),
    header_text,
    max_size=3,
)
raw_bodies = st.one_of(bodies.map(lambda b: json.dumps(b).encode()), st.binary(max_size=64))


def check_answer(response: httpx2.Response) -> None:
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        body: dict[str, Any] = response.json()
        assert body["type"] == "error"
        assert isinstance(body["error"]["type"], str)
        assert isinstance(body["error"]["message"], str)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    content=raw_bodies,
    headers=router_headers,
    path=st.sampled_from(["/v1/messages", "/v1/messages/count_tokens"]),
)
async def test_no_body_or_header_yields_a_5xx(
    gateway: Gateway, content: bytes, headers: dict[str, str], path: str
) -> None:
    async with httpx2.AsyncClient(base_url=gateway.url, timeout=30) as http:
        response = await http.post(path, content=content, headers=headers)
        await response.aread()
    check_answer(response)
