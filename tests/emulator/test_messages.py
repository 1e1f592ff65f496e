"""POST /v1/messages without streaming, through the official SDK (async and sync)."""

from __future__ import annotations

import anthropic
import pytest
from anthropic.types import Message, TextBlock

from .support import HAIKU, OPUS, SONNET, user


async def test_create_answers_with_a_full_message(sdk: anthropic.AsyncAnthropic) -> None:
    message = await sdk.messages.create(model=HAIKU, max_tokens=200, messages=user("Say hello."))

    assert isinstance(message, Message)
    assert message.id.startswith("msg_01")
    assert message.model == "claude-haiku-4-5-20251001"
    assert message.role == "assistant"
    assert message.stop_reason == "end_turn"
    assert isinstance(message.content[0], TextBlock)
    assert message.content[0].text
    assert message.usage.output_tokens > 0
    assert message._request_id is not None
    assert message._request_id.startswith("req_")


def test_sync_client_creates(sync_sdk: anthropic.Anthropic) -> None:
    message = sync_sdk.messages.create(model=SONNET, max_tokens=100, messages=user("Explain recursion."))

    assert message.model == SONNET
    assert message.usage.input_tokens > 0


async def test_answers_are_deterministic_per_conversation(sdk: anthropic.AsyncAnthropic) -> None:
    first = await sdk.messages.create(model=OPUS, max_tokens=300, messages=user("Write a poem."))
    again = await sdk.messages.create(model=OPUS, max_tokens=300, messages=user("Write a poem."))
    other = await sdk.messages.create(model=OPUS, max_tokens=300, messages=user("Write a story."))

    assert first.content == again.content
    assert first.id != again.id
    assert first.content != other.content


@pytest.mark.parametrize("max_tokens", [1, 5, 17, 40])
async def test_max_tokens_is_obeyed(sdk: anthropic.AsyncAnthropic, max_tokens: int) -> None:
    prompt = user("Summarize the history of the printing press in detail.")
    full = await sdk.messages.create(model=SONNET, max_tokens=4000, messages=prompt)
    cut = await sdk.messages.create(model=SONNET, max_tokens=max_tokens, messages=prompt)

    assert full.usage.output_tokens > max_tokens
    assert cut.stop_reason == "max_tokens"
    assert cut.usage.output_tokens == max_tokens
    full_text, cut_text = full.content[0], cut.content[0]
    assert isinstance(full_text, TextBlock)
    assert isinstance(cut_text, TextBlock)
    assert full_text.text.startswith(cut_text.text)


async def test_stop_sequences_cut_the_answer(sdk: anthropic.AsyncAnthropic) -> None:
    prompt = user("Describe the water cycle step by step.")
    full = await sdk.messages.create(model=SONNET, max_tokens=2000, messages=prompt)
    text = full.content[0].text  # type: ignore[union-attr]
    stop = text.split()[5]  # a word from the middle of the answer
    cut = await sdk.messages.create(
        model=SONNET, max_tokens=2000, messages=prompt, stop_sequences=["@@", stop]
    )

    assert cut.stop_reason == "stop_sequence"
    assert cut.stop_sequence == stop
    assert cut.content[0].text == text[: text.index(stop)]  # type: ignore[union-attr]


async def test_max_tokens_wins_over_a_later_stop_sequence(sdk: anthropic.AsyncAnthropic) -> None:
    prompt = user("Describe the water cycle step by step.")
    full = await sdk.messages.create(model=SONNET, max_tokens=2000, messages=prompt)
    last_word = full.content[0].text.split()[-1]  # type: ignore[union-attr]
    cut = await sdk.messages.create(model=SONNET, max_tokens=4, messages=prompt, stop_sequences=[last_word])

    assert cut.stop_reason == "max_tokens"
    assert cut.stop_sequence is None


async def test_a_prefilled_answer_continues(sdk: anthropic.AsyncAnthropic) -> None:
    message = await sdk.messages.create(
        model=HAIKU,
        max_tokens=50,
        messages=[*user("Pick a colour."), {"role": "assistant", "content": "My pick is"}],
    )

    assert message.stop_reason in ("end_turn", "max_tokens")
    assert message.content


async def test_max_tokens_zero_warms_the_cache_without_output(sdk: anthropic.AsyncAnthropic) -> None:
    message = await sdk.messages.create(model=HAIKU, max_tokens=0, messages=user("Hello"))

    assert message.content == []
    assert message.stop_reason == "max_tokens"
    assert message.usage.output_tokens == 0
