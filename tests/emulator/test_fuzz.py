"""No body, however malformed, gets a 500 or a traceback: every answer is a Message (a token count
for count_tokens) or a typed error."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx2
import pytest
from anthropic.types import Message, MessageTokensCount
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from claude_router.emulator.config import EmulatorConfig
from claude_router.emulator.server import emulator_thread

from .support import HAIKU

ALLOWED = {200, 400, 404, 413}
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=20,
)
roles = st.sampled_from(["user", "assistant", "system", "", "USER"]) | json_values
block_types = st.sampled_from(["text", "image", "tool_use", "tool_result", "document", "thinking", "video"])
blocks = st.fixed_dictionaries(
    {"type": block_types},
    optional={
        "text": st.text(max_size=30) | json_values,
        "cache_control": st.just({"type": "ephemeral"}) | json_values,
        "id": st.text(max_size=8),
        "name": st.text(max_size=8),
        "input": json_values,
        "tool_use_id": st.text(max_size=8),
        "content": json_values,
        "source": json_values,
    },
)
messages = st.lists(
    st.fixed_dictionaries(
        {"role": roles, "content": st.text(max_size=40) | st.lists(blocks, max_size=3) | json_values}
    ),
    max_size=4,
)
tools = st.lists(
    st.fixed_dictionaries(
        {"name": st.text(max_size=10) | json_values},
        optional={"input_schema": json_values, "description": st.text(max_size=20), "type": json_values},
    ),
    max_size=3,
)
bodies = (
    st.fixed_dictionaries(
        {},
        optional={
            "model": st.sampled_from([HAIKU, "claude-opus-4-8", "nope"]) | json_values,
            "max_tokens": st.integers(-5, 70_000) | json_values,
            "messages": messages | json_values,
            "system": st.text(max_size=30) | st.lists(blocks, max_size=2) | json_values,
            "tools": tools | json_values,
            "tool_choice": st.fixed_dictionaries({"type": st.sampled_from(["auto", "any", "tool", "none"])})
            | json_values,
            "stop_sequences": st.lists(st.text(max_size=5), max_size=3) | json_values,
            "stream": st.booleans() | json_values,
            "cache_control": st.just({"type": "ephemeral", "ttl": "1h"}) | json_values,
            "temperature": json_values,
            "metadata": json_values,
        },
    )
    | json_values
)


# Well-formed outside, free-form inside: these reach token counting, caching and answering.
texts = st.text(min_size=1, max_size=30)
cache_controls = st.none() | st.sampled_from([{"type": "ephemeral"}, {"type": "ephemeral", "ttl": "1h"}])
sources = st.fixed_dictionaries(
    {"type": st.sampled_from(["text", "content", "base64", "url", "file"])},
    optional={
        "data": json_values,
        "content": st.lists(json_values, max_size=3) | json_values,
        "media_type": texts,
    },
)
good_blocks = st.one_of(
    st.fixed_dictionaries(
        {"type": st.just("text"), "text": texts}, optional={"cache_control": cache_controls}
    ),
    st.fixed_dictionaries({"type": st.just("image"), "source": sources}),
    st.fixed_dictionaries(
        {"type": st.just("document"), "source": sources}, optional={"title": texts, "context": texts}
    ),
    st.fixed_dictionaries(
        {
            "type": st.just("tool_use"),
            "id": texts,
            "name": texts,
            "input": st.dictionaries(texts, json_values),
        }
    ),
    st.fixed_dictionaries(
        {"type": st.just("tool_result"), "tool_use_id": texts},
        optional={
            "content": texts | st.lists(st.fixed_dictionaries({"type": st.just("text"), "text": texts}))
        },
    ),
    st.fixed_dictionaries({"type": st.just("thinking"), "thinking": texts, "signature": texts}),
    st.fixed_dictionaries({"type": st.just("web_search_tool_result")}, optional={"content": json_values}),
)
good_tools = st.lists(
    st.fixed_dictionaries(
        {
            "name": texts,
            "input_schema": st.dictionaries(
                st.sampled_from(
                    [
                        "type",
                        "properties",
                        "required",
                        "enum",
                        "items",
                        "anyOf",
                        "minimum",
                        "maximum",
                        "format",
                        "const",
                    ]
                ),
                json_values,
            ),
        },
        optional={"description": texts, "cache_control": cache_controls},
    ),
    max_size=3,
    unique_by=lambda tool: tool["name"],
)
well_formed = st.fixed_dictionaries(
    {
        "model": st.sampled_from([HAIKU, "claude-sonnet-4-6", "claude-opus-4-8"]),
        "max_tokens": st.integers(0, 2_000),
        "messages": st.lists(
            st.fixed_dictionaries(
                {
                    "role": st.sampled_from(["user", "assistant"]),
                    "content": texts | st.lists(good_blocks, min_size=1, max_size=3),
                }
            ),
            min_size=1,
            max_size=4,
        ),
    },
    optional={
        "system": texts
        | st.lists(st.fixed_dictionaries({"type": st.just("text"), "text": texts}), max_size=2),
        "tools": good_tools,
        "tool_choice": st.sampled_from([{"type": "auto"}, {"type": "any"}, {"type": "none"}]),
        "stop_sequences": st.lists(st.text(min_size=1, max_size=3).filter(str.strip), max_size=2),
        "stream": st.booleans(),
        "cache_control": cache_controls,
    },
)


@pytest.fixture(scope="module")
def http() -> Iterator[httpx2.Client]:
    with emulator_thread(EmulatorConfig()) as url, httpx2.Client(base_url=url, timeout=30) as client:
        yield client


def check(response: httpx2.Response, answer: type[BaseModel] = Message) -> None:
    assert response.status_code in ALLOWED, response.text
    assert response.headers["request-id"].startswith("req_")
    if response.status_code != 200:
        error = response.json()
        assert error["type"] == "error"
        assert set(error["error"]) == {"type", "message"}
        assert "Traceback" not in error["error"]["message"]
    elif response.headers["content-type"].startswith("text/event-stream"):
        assert response.text.rstrip().endswith('data: {"type":"message_stop"}')
    else:
        answer.model_validate(response.json())


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=bodies)
def test_any_json_body(http: httpx2.Client, body: Any) -> None:
    check(http.post("/v1/messages", content=json.dumps(body)))
    if isinstance(body, dict):
        counted = {k: v for k, v in body.items() if k not in ("max_tokens", "stream", "stop_sequences")}
        check(http.post("/v1/messages/count_tokens", content=json.dumps(counted)), MessageTokensCount)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=well_formed)
@example(  # a document whose content source holds a text block without text
    body={
        "model": HAIKU,
        "max_tokens": 5,
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "document", "source": {"type": "content", "content": [{"type": "text"}]}}
                ],
            }
        ],
    }
)
def test_well_formed_bodies_with_free_form_insides(http: httpx2.Client, body: dict[str, Any]) -> None:
    check(http.post("/v1/messages", content=json.dumps(body)))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=st.binary(max_size=200))
def test_any_bytes(http: httpx2.Client, raw: bytes) -> None:
    check(http.post("/v1/messages", content=raw))
