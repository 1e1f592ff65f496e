"""Tool use: deterministic calls whose input follows the tool's schema, and every tool_choice."""

from __future__ import annotations

from typing import Any

import anthropic
from anthropic.types import TextBlock, ToolUseBlock

from .support import SONNET, user

ORDER_TOOL: dict[str, Any] = {
    "name": "create_order",
    "description": "Place an order.",
    "input_schema": {
        "type": "object",
        "properties": {
            "sku": {"type": "string"},
            "quantity": {"type": "integer", "minimum": 1, "maximum": 5},
            "express": {"type": "boolean"},
            "notes": {"type": "array", "items": {"type": "string"}},
            "ship_to": {
                "type": "object",
                "properties": {"city": {"type": "string"}, "zip": {"type": "string"}},
                "required": ["city"],
            },
            "size": {"enum": ["S", "M", "L"]},
            "when": {"type": "string", "format": "date"},
        },
        "required": ["sku", "quantity", "express", "ship_to", "size", "when"],
    },
}
CLOCK_TOOL: dict[str, Any] = {
    "name": "get_time",
    "description": "Current time.",
    "input_schema": {"type": "object"},
}


def calls(message: anthropic.types.Message) -> list[ToolUseBlock]:
    return [block for block in message.content if isinstance(block, ToolUseBlock)]


async def ask(sdk: anthropic.AsyncAnthropic, text: str, **extra: Any) -> anthropic.types.Message:
    return await sdk.messages.create(
        model=SONNET, max_tokens=500, tools=[ORDER_TOOL, CLOCK_TOOL], messages=user(text), **extra
    )


async def test_a_forced_tool_call_follows_the_schema(sdk: anthropic.AsyncAnthropic) -> None:
    message = await ask(sdk, "Buy me a shirt.", tool_choice={"type": "tool", "name": "create_order"})
    (call,) = calls(message)

    assert message.stop_reason == "tool_use"
    assert message.content == [call]  # a forced call comes without a preamble
    assert call.id.startswith("toolu_01")
    assert call.name == "create_order"
    arguments = call.input
    assert set(ORDER_TOOL["input_schema"]["required"]) <= set(arguments)
    assert isinstance(arguments["sku"], str)
    assert 1 <= arguments["quantity"] <= 5
    assert isinstance(arguments["express"], bool)
    assert isinstance(arguments["ship_to"]["city"], str)
    assert arguments["size"] in ("S", "M", "L")
    assert arguments["when"] == "2025-06-30"


async def test_calls_are_deterministic_but_ids_unique(sdk: anthropic.AsyncAnthropic) -> None:
    first = await ask(sdk, "Buy me a shirt.", tool_choice={"type": "any"})
    again = await ask(sdk, "Buy me a shirt.", tool_choice={"type": "any"})

    assert [(c.name, c.input) for c in calls(first)] == [(c.name, c.input) for c in calls(again)]
    assert calls(first)[0].id != calls(again)[0].id


async def test_auto_calls_the_tool_the_user_names(sdk: anthropic.AsyncAnthropic) -> None:
    message = await ask(sdk, "What time is it in Tokyo?")

    assert message.stop_reason == "tool_use"
    assert isinstance(message.content[0], TextBlock)
    assert [c.name for c in calls(message)] == ["get_time"]


async def test_auto_sometimes_answers_in_text(sdk: anthropic.AsyncAnthropic) -> None:
    reasons = {(await ask(sdk, f"Tell me something interesting, number {i}.")).stop_reason for i in range(12)}

    assert reasons == {"tool_use", "end_turn"}


async def test_none_never_calls(sdk: anthropic.AsyncAnthropic) -> None:
    message = await ask(sdk, "What time is it?", tool_choice={"type": "none"})

    assert calls(message) == []
    assert message.stop_reason == "end_turn"


async def test_a_tool_result_is_answered_in_text(sdk: anthropic.AsyncAnthropic) -> None:
    first = await ask(sdk, "What time is it?")
    (call,) = calls(first)
    follow_up = await sdk.messages.create(
        model=SONNET,
        max_tokens=500,
        tools=[ORDER_TOOL, CLOCK_TOOL],  # type: ignore[list-item]
        messages=[
            *user("What time is it?"),
            {"role": "assistant", "content": first.content},  # type: ignore[typeddict-item]
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": call.id, "content": "09:30"}],
            },
        ],
    )

    assert follow_up.stop_reason == "end_turn"
    assert calls(follow_up) == []


async def test_a_call_that_does_not_fit_max_tokens_is_cut(sdk: anthropic.AsyncAnthropic) -> None:
    message = await sdk.messages.create(
        model=SONNET,
        max_tokens=3,
        tools=[ORDER_TOOL],  # type: ignore[list-item]
        tool_choice={"type": "any"},
        messages=user("Buy me a shirt."),
    )

    assert message.stop_reason == "max_tokens"
    assert message.usage.output_tokens <= 3
    assert calls(message) == []


async def test_a_required_list_with_non_names_is_read_for_its_names(sdk: anthropic.AsyncAnthropic) -> None:
    odd = {
        "name": "tag",
        "description": "Tag a thing.",
        "input_schema": {
            "type": "object",
            "properties": {"label": {"type": "string"}, "note": {"type": "string"}},
            "required": [["label"], 3, "label"],  # found by the body fuzz: a 500 before
        },
    }
    message = await sdk.messages.create(
        model=SONNET,
        max_tokens=200,
        tools=[odd],
        tool_choice={"type": "tool", "name": "tag"},
        messages=user("Tag it."),
    )
    (call,) = calls(message)
    assert isinstance(call.input, dict)
    assert isinstance(call.input["label"], str)
