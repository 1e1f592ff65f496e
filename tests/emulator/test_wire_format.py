"""Every JSON object the emulator sends parses into the SDK's own model with no extra or missing field."""

from __future__ import annotations

import json
from typing import Any

import httpx2
import pydantic
import pytest
from anthropic.types import (
    Message,
    MessageTokensCount,
    ModelCapabilities,
    ModelInfo,
    RawContentBlockDeltaEvent,
    RawContentBlockStartEvent,
    RawContentBlockStopEvent,
    RawMessageDeltaEvent,
    RawMessageStartEvent,
    RawMessageStopEvent,
)
from anthropic.types.shared.error_response import ErrorResponse

from .support import HAIKU, HAIKU_5, OPUS_5, SONNET, SONNET_5, user

EVENTS: dict[str, type[pydantic.BaseModel]] = {
    "message_start": RawMessageStartEvent,
    "content_block_start": RawContentBlockStartEvent,
    "content_block_delta": RawContentBlockDeltaEvent,
    "content_block_stop": RawContentBlockStopEvent,
    "message_delta": RawMessageDeltaEvent,
    "message_stop": RawMessageStopEvent,
}
TOOL = {
    "name": "lookup",
    "description": "Look up a word.",
    "input_schema": {"type": "object", "properties": {"word": {"type": "string"}}, "required": ["word"]},
}
#: The fields the API sends on every Message, null or not.
MESSAGE_KEYS = {
    "id",
    "type",
    "role",
    "model",
    "content",
    "stop_reason",
    "stop_sequence",
    "stop_details",
    "usage",
}


def assert_exact(model: pydantic.BaseModel, raw: Any, where: str = "$") -> None:
    """`raw` has no key the SDK model lacks and every key it requires, all the way down."""
    assert isinstance(raw, dict), where
    fields = type(model).model_fields
    assert set(raw) <= set(fields), f"{where}: extra {set(raw) - set(fields)}"
    required = {name for name, field in fields.items() if field.is_required()}
    assert required <= set(raw), f"{where}: missing {required - set(raw)}"
    assert not model.model_extra, where
    for name, value in raw.items():
        _walk(getattr(model, name), value, f"{where}.{name}")


def _walk(parsed: Any, raw: Any, where: str) -> None:
    if isinstance(parsed, pydantic.BaseModel):
        assert_exact(parsed, raw, where)
    elif isinstance(parsed, list):
        assert isinstance(raw, list), where
        for index, (item, raw_item) in enumerate(zip(parsed, raw, strict=True)):
            _walk(item, raw_item, f"{where}[{index}]")


def validated(model: type[pydantic.BaseModel], raw: dict[str, Any]) -> pydantic.BaseModel:
    parsed = model.model_validate(raw)
    assert_exact(parsed, raw)
    return parsed


@pytest.fixture
async def http(emulator_url: str) -> Any:
    async with httpx2.AsyncClient(base_url=emulator_url) as client:
        yield client


BODIES = {
    "text": {"model": HAIKU, "max_tokens": 100, "messages": user("Hello")},
    "tool_use": {
        "model": SONNET,
        "max_tokens": 300,
        "messages": user("Define 'apple'."),
        "tools": [TOOL],
        "tool_choice": {"type": "any"},
    },
    "max_tokens": {"model": HAIKU, "max_tokens": 2, "messages": user("Write an essay.")},
    "stop_sequence": {
        "model": HAIKU,
        "max_tokens": 200,
        "messages": user("Write an essay."),
        "stop_sequences": ["e"],
    },
    "summarized thinking": {
        "model": OPUS_5,
        "max_tokens": 2_000,
        "messages": user("Compare two designs."),
        "thinking": {"type": "adaptive", "display": "summarized"},
    },
    "omitted thinking": {"model": HAIKU_5, "max_tokens": 2_000, "messages": user("Compare two designs.")},
    "ends in thinking": {"model": OPUS_5, "max_tokens": 8, "messages": user("Compare two designs.")},
    "between tools": {
        "model": SONNET_5,
        "max_tokens": 300,
        "messages": user("Define 'apple'."),
        "tools": [TOOL],
        "thinking": {"type": "between_tools"},
    },
    "structured": {
        "model": HAIKU,
        "max_tokens": 300,
        "messages": user("Classify."),
        "output_config": {"format": {"type": "json_schema", "schema": {"type": "object", "properties": {}}}},
    },
}


@pytest.mark.parametrize("body", BODIES.values(), ids=BODIES.keys())
async def test_messages_match_the_sdk_model(http: httpx2.AsyncClient, body: dict[str, Any]) -> None:
    raw = (await http.post("/v1/messages", json=body)).json()

    message = validated(Message, raw)
    assert set(raw) == MESSAGE_KEYS
    assert isinstance(message, Message)


@pytest.mark.parametrize("body", BODIES.values(), ids=BODIES.keys())
async def test_stream_events_match_the_sdk_models(http: httpx2.AsyncClient, body: dict[str, Any]) -> None:
    text = (await http.post("/v1/messages", json={**body, "stream": True})).text
    frames = [frame.split("\n", 1) for frame in text.strip().split("\n\n")]

    for head, data in frames:
        kind = head.removeprefix("event: ")
        payload = json.loads(data.removeprefix("data: "))
        assert payload["type"] == kind
        if kind != "ping":
            validated(EVENTS[kind], payload)
    assert [head for head, _ in frames].count("event: message_start") == 1


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
async def test_forced_stops_match(http: httpx2.AsyncClient, stream: bool) -> None:
    body = {**BODIES["text"], "stream": stream}
    response = await http.post("/v1/messages", json=body, headers={"x-emulator-stop": "refusal"})

    if not stream:
        validated(Message, response.json())
        return
    for frame in response.text.strip().split("\n\n"):
        head, data = frame.split("\n", 1)
        kind = head.removeprefix("event: ")
        if kind != "ping":
            validated(EVENTS[kind], json.loads(data.removeprefix("data: ")))


async def test_models_and_pages_match(http: httpx2.AsyncClient) -> None:
    page = (await http.get("/v1/models", params={"limit": 100})).json()
    single = (await http.get("/v1/models/claude-haiku-4-5")).json()

    assert set(page) == {"data", "has_more", "first_id", "last_id"}
    for item in [*page["data"], single]:
        validated(ModelInfo, item)
        # Every field the SDK declares is sent, optional ones included (null where it has no value).
        assert set(item) == set(ModelInfo.model_fields), item["id"]
        assert set(item["capabilities"]) == set(ModelCapabilities.model_fields)


async def test_token_counts_and_errors_match(http: httpx2.AsyncClient) -> None:
    counted = (
        await http.post("/v1/messages/count_tokens", json={"model": HAIKU, "messages": user("Hi")})
    ).json()
    error = (await http.post("/v1/messages", json={"model": HAIKU})).json()

    validated(MessageTokensCount, counted)
    validated(ErrorResponse, error)
