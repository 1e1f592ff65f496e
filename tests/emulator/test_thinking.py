"""Thinking: a thinking block first when the request thinks, billed as output, more at higher effort,
streamed as thinking and signature deltas; blocks of a model the target cannot read are dropped."""

from __future__ import annotations

from typing import Any

import anthropic
import pytest
from anthropic.types import TextBlock, ThinkingBlock, ToolUseBlock

from .support import HAIKU, HAIKU_5, OPUS, OPUS_5, SONNET, SONNET_5, user

QUESTION = user("Compare the trade-offs of two database designs for an order history and recommend one.")
TOOLS = [
    {
        "name": "search_orders",
        "description": "Search orders.",
        "input_schema": {"type": "object", "properties": {"customer": {"type": "string"}}},
    }
]


async def test_5x_models_think_by_default(sdk: anthropic.AsyncAnthropic) -> None:
    message = await sdk.messages.create(model=HAIKU_5, max_tokens=4_000, messages=QUESTION)

    thinking, text = message.content[0], message.content[1]
    assert isinstance(thinking, ThinkingBlock)
    assert isinstance(text, TextBlock)
    assert thinking.thinking == ""  # display "omitted" by default on these models
    assert thinking.signature
    details = message.usage.output_tokens_details
    assert details is not None
    assert 0 < details.thinking_tokens < message.usage.output_tokens


async def test_models_that_think_only_when_asked(sdk: anthropic.AsyncAnthropic) -> None:
    plain = await sdk.messages.create(model=SONNET, max_tokens=4_000, messages=QUESTION)
    asked = await sdk.messages.create(
        model=SONNET, max_tokens=4_000, messages=QUESTION, thinking={"type": "adaptive"}
    )

    assert [b.type for b in plain.content] == ["text"]
    assert plain.usage.output_tokens_details is not None
    assert plain.usage.output_tokens_details.thinking_tokens == 0
    assert [b.type for b in asked.content] == ["thinking", "text"]


async def test_disabled_thinking_answers_without_a_block(sdk: anthropic.AsyncAnthropic) -> None:
    message = await sdk.messages.create(
        model=HAIKU_5, max_tokens=4_000, messages=QUESTION, thinking={"type": "disabled"}
    )

    assert [b.type for b in message.content] == ["text"]


async def test_summarized_thinking_shows_a_summary(sdk: anthropic.AsyncAnthropic) -> None:
    message = await sdk.messages.create(
        model=OPUS_5,
        max_tokens=4_000,
        messages=QUESTION,
        thinking={"type": "adaptive", "display": "summarized"},
    )

    block = message.content[0]
    assert isinstance(block, ThinkingBlock)
    assert "database designs" in block.thinking


async def test_budgeted_thinking_is_summarized_and_capped(sdk: anthropic.AsyncAnthropic) -> None:
    message = await sdk.messages.create(
        model=HAIKU, max_tokens=4_000, messages=QUESTION, thinking={"type": "enabled", "budget_tokens": 1_024}
    )

    block = message.content[0]
    assert isinstance(block, ThinkingBlock)
    assert block.thinking
    assert message.usage.output_tokens_details is not None
    assert 0 < message.usage.output_tokens_details.thinking_tokens <= 1_024


async def test_more_effort_means_more_thinking_tokens(sdk: anthropic.AsyncAnthropic) -> None:
    tokens = []
    for effort in ("low", "medium", "high", "xhigh", "max"):
        message = await sdk.messages.create(
            model=OPUS_5, max_tokens=8_000, messages=QUESTION, output_config={"effort": effort}
        )
        assert message.usage.output_tokens_details is not None
        tokens.append(message.usage.output_tokens_details.thinking_tokens)
        text = message.content[-1]
        assert isinstance(text, TextBlock)

    assert tokens == sorted(tokens)
    assert len(set(tokens)) == len(tokens)


async def test_a_small_max_tokens_can_end_inside_the_thinking(sdk: anthropic.AsyncAnthropic) -> None:
    message = await sdk.messages.create(model=OPUS_5, max_tokens=20, messages=QUESTION)

    assert [b.type for b in message.content] == ["thinking"]
    assert message.stop_reason == "max_tokens"
    assert message.usage.output_tokens == 20


async def test_streamed_thinking_arrives_as_thinking_and_signature_deltas(
    sdk: anthropic.AsyncAnthropic,
) -> None:
    kinds: list[str] = []
    async with sdk.messages.stream(
        model=OPUS_5,
        max_tokens=4_000,
        messages=QUESTION,
        thinking={"type": "adaptive", "display": "summarized"},
    ) as stream:
        async for event in stream:
            if event.type == "content_block_delta":
                kinds.append(event.delta.type)
        final = await stream.get_final_message()
    whole = await sdk.messages.create(
        model=OPUS_5,
        max_tokens=4_000,
        messages=QUESTION,
        thinking={"type": "adaptive", "display": "summarized"},
    )

    signature_at = kinds.index("signature_delta")
    assert set(kinds[:signature_at]) == {"thinking_delta"}
    assert set(kinds[signature_at + 1 :]) == {"text_delta"}
    assert [b.to_dict(exclude_none=True) for b in final.content] == [
        b.to_dict(exclude_none=True) for b in whole.content
    ]
    assert final.usage.output_tokens == whole.usage.output_tokens


async def test_sonnet_5_5_sends_its_words_between_tool_calls_as_thinking(
    sdk: anthropic.AsyncAnthropic,
) -> None:
    message = await sdk.messages.create(
        model=SONNET_5,
        max_tokens=4_000,
        messages=user("Use search_orders to find the orders of Ada."),
        tools=TOOLS,  # type: ignore[arg-type]
        thinking={"type": "between_tools"},
    )

    assert [b.type for b in message.content] == ["thinking", "tool_use"]
    assert isinstance(message.content[1], ToolUseBlock)
    block = message.content[0]
    assert isinstance(block, ThinkingBlock)
    assert block.thinking == ""


def conversation(thinking_block: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        *user("Compare two designs."),
        {"role": "assistant", "content": [thinking_block, {"type": "text", "text": "Design A."}]},
        *user("Why?"),
    ]


async def test_thinking_blocks_of_another_model_are_dropped_unbilled(sdk: anthropic.AsyncAnthropic) -> None:
    first = await sdk.messages.create(
        model=HAIKU_5,
        max_tokens=4_000,
        messages=user("Compare two designs."),
        thinking={"type": "adaptive", "display": "summarized"},
    )
    block = first.content[0].model_dump()
    assert block["type"] == "thinking"
    counts = {}
    for model in (HAIKU_5, OPUS_5, SONNET_5):
        counted = await sdk.messages.count_tokens(model=model, messages=conversation(block))  # type: ignore[arg-type]
        without = await sdk.messages.count_tokens(
            model=model,
            messages=conversation({"type": "text", "text": "-"}),  # type: ignore[arg-type]
        )
        counts[model] = counted.input_tokens - without.input_tokens

    assert counts[HAIKU_5] > 0  # its own block is read and billed
    assert counts[OPUS_5] < 0  # another model's block is dropped: fewer tokens than a one-character text
    assert counts[SONNET_5] < 0


async def test_sonnet_5_5_reads_the_blocks_its_catalogue_names(sdk: anthropic.AsyncAnthropic) -> None:
    first = await sdk.messages.create(
        model=OPUS,
        max_tokens=4_000,
        messages=user("Compare two designs."),
        thinking={"type": "adaptive", "display": "summarized"},
    )
    block = first.content[0].model_dump()
    read = await sdk.messages.count_tokens(model=SONNET_5, messages=conversation(block))  # type: ignore[arg-type]
    dropped = await sdk.messages.count_tokens(model=HAIKU_5, messages=conversation(block))  # type: ignore[arg-type]

    assert read.input_tokens > dropped.input_tokens


@pytest.mark.parametrize("model", [HAIKU, OPUS])
async def test_the_newer_tokenizer_counts_more(sdk: anthropic.AsyncAnthropic, model: str) -> None:
    text = user("x" * 4_000)
    counted = await sdk.messages.count_tokens(model=model, messages=text)  # type: ignore[arg-type]

    expected = 3 + 4 + 1_000 if model == HAIKU else 3 + -(-(4 + 1_000) * 13 // 10)
    assert counted.input_tokens == expected
