"""POST /v1/messages/count_tokens: the documented estimate, equal to usage.input_tokens."""

from __future__ import annotations

from typing import Any

import anthropic
import pytest

from .support import HAIKU, OPUS, SONNET

TOOL = {
    "name": "search_orders",
    "description": "Search orders by customer.",
    "input_schema": {
        "type": "object",
        "properties": {"customer": {"type": "string"}},
        "required": ["customer"],
    },
}
IMAGE = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}}

SHAPES: dict[str, dict[str, Any]] = {
    "one turn": {"messages": [{"role": "user", "content": "Hello there"}]},
    "system text": {"system": "You are terse.", "messages": [{"role": "user", "content": "Hello"}]},
    "system blocks": {
        "system": [{"type": "text", "text": "Rule one."}, {"type": "text", "text": "Rule two."}],
        "messages": [{"role": "user", "content": "Hello"}],
    },
    "tools": {"tools": [TOOL], "messages": [{"role": "user", "content": "Orders for Ada?"}]},
    "image": {"messages": [{"role": "user", "content": [IMAGE, {"type": "text", "text": "What is this?"}]}]},
    "tool round trip": {
        "tools": [TOOL],
        "messages": [
            {"role": "user", "content": "Orders for Ada?"},
            {
                "role": "assistant",
                "content": [
                    {
                        "type": "tool_use",
                        "id": "toolu_1",
                        "name": "search_orders",
                        "input": {"customer": "Ada"},
                    }
                ],
            },
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "2 orders"}],
            },
        ],
    },
    "document": {
        "messages": [
            {
                "role": "user",
                "content": [
                    {
                        "type": "document",
                        "source": {"type": "text", "media_type": "text/plain", "data": "A" * 400},
                    },
                    {"type": "text", "text": "Summarize."},
                ],
            }
        ]
    },
}


@pytest.mark.parametrize("shape", SHAPES.values(), ids=SHAPES.keys())
@pytest.mark.parametrize("model", [HAIKU, SONNET, OPUS])
async def test_count_equals_usage_input_tokens(
    sdk: anthropic.AsyncAnthropic, model: str, shape: dict[str, Any]
) -> None:
    counted = await sdk.messages.count_tokens(model=model, **shape)
    message = await sdk.messages.create(model=model, max_tokens=30, **shape)

    assert counted.input_tokens == message.usage.input_tokens


async def test_the_documented_estimate(sdk: anthropic.AsyncAnthropic) -> None:
    """~4 characters a token, 4 per message, 3 per request (see claude_router.emulator.tokens)."""
    one = await sdk.messages.count_tokens(model=HAIKU, messages=[{"role": "user", "content": "x" * 400}])
    two = await sdk.messages.count_tokens(
        model=HAIKU,
        messages=[
            {"role": "user", "content": "x" * 400},
            {"role": "assistant", "content": "y" * 41},
            {"role": "user", "content": "z"},
        ],
    )

    assert one.input_tokens == 100 + 4 + 3
    assert two.input_tokens == 100 + 11 + 1 + 3 * 4 + 3


async def test_count_tokens_refuses_generation_parameters(sdk: anthropic.AsyncAnthropic) -> None:
    with pytest.raises(anthropic.BadRequestError, match="max_tokens: Extra inputs are not permitted"):
        await sdk.messages.count_tokens(
            model=HAIKU, messages=[{"role": "user", "content": "Hi"}], extra_body={"max_tokens": 5}
        )


async def test_count_tokens_for_an_unknown_model(sdk: anthropic.AsyncAnthropic) -> None:
    with pytest.raises(anthropic.NotFoundError):
        await sdk.messages.count_tokens(model="claude-unknown", messages=[{"role": "user", "content": "Hi"}])
