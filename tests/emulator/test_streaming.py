"""Streaming: the SDK's `messages.stream` helper and raw `stream=True` events, text and tool_use."""

from __future__ import annotations

import json
from typing import Any

import anthropic
from anthropic.types import TextBlock, ToolUseBlock

from .support import HAIKU, SONNET, user

WEATHER_TOOL: dict[str, Any] = {
    "name": "get_weather",
    "description": "Current weather for a city.",
    "input_schema": {
        "type": "object",
        "properties": {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["c", "f"]}},
        "required": ["city", "unit"],
    },
}


async def test_stream_helper_matches_the_non_streaming_answer(sdk: anthropic.AsyncAnthropic) -> None:
    prompt = user("Explain how a hash map works.")
    plain = await sdk.messages.create(model=SONNET, max_tokens=600, messages=prompt)
    async with sdk.messages.stream(model=SONNET, max_tokens=600, messages=prompt) as stream:
        pieces = [text async for text in stream.text_stream]
        final = await stream.get_final_message()

    assert len(pieces) > 1
    assert "".join(pieces) == final.content[0].text  # type: ignore[union-attr]
    assert [b.model_dump() for b in final.content] == [b.model_dump() for b in plain.content]
    assert final.stop_reason == plain.stop_reason == "end_turn"
    assert final.usage.output_tokens == plain.usage.output_tokens
    assert final.usage.input_tokens == plain.usage.input_tokens


async def test_raw_events_follow_the_api_sequence(sdk: anthropic.AsyncAnthropic) -> None:
    stream = await sdk.messages.create(model=HAIKU, max_tokens=300, messages=user("Hi there."), stream=True)
    kinds = [event.type async for event in stream]

    assert kinds[:2] == ["message_start", "content_block_start"]
    assert kinds[-3:] == ["content_block_stop", "message_delta", "message_stop"]
    assert set(kinds[2:-3]) == {"content_block_delta"}


async def test_message_start_and_delta_carry_usage(sdk: anthropic.AsyncAnthropic) -> None:
    stream = await sdk.messages.create(
        model=HAIKU, max_tokens=8, messages=user("Write an essay."), stream=True
    )
    events = [event async for event in stream]
    start, delta = events[0], events[-2]

    assert start.type == "message_start"
    assert delta.type == "message_delta"
    assert start.message.content == []
    assert start.message.stop_reason is None
    assert start.message.usage.input_tokens > 0
    assert delta.delta.stop_reason == "max_tokens"
    assert delta.usage.output_tokens == 8


async def test_ping_follows_the_first_block_start(emulator_url: str) -> None:
    import httpx2

    body = {"model": HAIKU, "max_tokens": 50, "messages": user("Hello"), "stream": True}
    async with httpx2.AsyncClient(base_url=emulator_url) as http:
        response = await http.post("/v1/messages", json=body)
    names = [line[len("event: ") :] for line in response.text.splitlines() if line.startswith("event: ")]

    assert response.headers["content-type"].startswith("text/event-stream")
    assert names[:3] == ["message_start", "content_block_start", "ping"]
    assert response.headers["request-id"].startswith("req_")


async def test_tool_use_streams_input_json_deltas(sdk: anthropic.AsyncAnthropic) -> None:
    stream = await sdk.messages.create(
        model=SONNET,
        max_tokens=400,
        tools=[WEATHER_TOOL],  # type: ignore[list-item]
        tool_choice={"type": "any"},
        messages=user("Is it raining in Lisbon?"),
        stream=True,
    )
    events = [event async for event in stream]
    starts = [e for e in events if e.type == "content_block_start"]
    json_parts = [
        e.delta.partial_json
        for e in events
        if e.type == "content_block_delta" and e.delta.type == "input_json_delta"
    ]

    assert starts[0].content_block.type == "tool_use"
    assert starts[0].content_block.input == {}
    assert json_parts[0] == ""
    tool_input = json.loads("".join(json_parts))
    assert set(tool_input) >= {"city", "unit"}
    assert tool_input["unit"] in ("c", "f")
    assert next(e for e in events if e.type == "message_delta").delta.stop_reason == "tool_use"


async def test_stream_helper_accumulates_tool_use(sdk: anthropic.AsyncAnthropic) -> None:
    request: dict[str, Any] = {
        "model": SONNET,
        "max_tokens": 400,
        "tools": [WEATHER_TOOL],
        "messages": user("What is the weather in Oslo?"),
    }
    plain = await sdk.messages.create(**request)
    async with sdk.messages.stream(**request) as stream:
        final = await stream.get_final_message()

    assert final.stop_reason == plain.stop_reason == "tool_use"
    calls = [b for b in final.content if isinstance(b, ToolUseBlock)]
    plain_calls = [b for b in plain.content if isinstance(b, ToolUseBlock)]
    assert [c.input for c in calls] == [c.input for c in plain_calls]
    assert isinstance(final.content[0], TextBlock)  # tool_choice auto: a short preamble first


def test_sync_stream_helper(sync_sdk: anthropic.Anthropic) -> None:
    with sync_sdk.messages.stream(model=HAIKU, max_tokens=100, messages=user("Name a colour.")) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()

    assert text == final.content[0].text  # type: ignore[union-attr]


def test_sync_raw_stream(sync_sdk: anthropic.Anthropic) -> None:
    with sync_sdk.messages.create(model=HAIKU, max_tokens=100, messages=user("Hi"), stream=True) as stream:
        kinds = [event.type for event in stream]

    assert kinds[0] == "message_start"
    assert kinds[-1] == "message_stop"
