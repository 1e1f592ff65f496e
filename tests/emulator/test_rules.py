"""Each model's request rules from the catalogue, and the difference between API versions: a request
valid for one model is a 400 on another, worded like the API's."""

from __future__ import annotations

from typing import Any

import anthropic
import pytest
from anthropic.types import Message

from claude_router.catalog.models import Catalogue

from .support import HAIKU, HAIKU_5, OPUS, OPUS_5, SONNET, SONNET_5, TODAY, user

OLD_VERSION = {"anthropic-version": "2023-06-01"}
TOOLS = [{"name": "lookup", "input_schema": {"type": "object", "properties": {"q": {"type": "string"}}}}]
CATALOGUE = Catalogue.default()
SERVED = [m.id for m in CATALOGUE if m.lifecycle(TODAY) != "retired"]


async def create(sdk: anthropic.AsyncAnthropic, model: str, **body: Any) -> Message:
    headers = body.pop("headers", None)
    return await sdk.post(
        "/v1/messages",
        cast_to=Message,
        body={"model": model, "max_tokens": 2_000, "messages": user("Hello"), **body},
        options={"headers": headers} if headers else {},
    )


async def refused(sdk: anthropic.AsyncAnthropic, model: str, **body: Any) -> str:
    with pytest.raises(anthropic.BadRequestError) as caught:
        await create(sdk, model, **body)
    assert caught.value.status_code == 400
    assert caught.value.type == "invalid_request_error"
    return caught.value.api_message or ""


# ---- sampling: the API version decides, then the model -------------------------------------------


@pytest.mark.parametrize("name", ["temperature", "top_p", "top_k"])
@pytest.mark.parametrize("model", [HAIKU, SONNET, OPUS, HAIKU_5])
async def test_sampling_is_refused_on_every_model_under_2026_10_21(
    sdk: anthropic.AsyncAnthropic, model: str, name: str
) -> None:
    message = await refused(sdk, model, **{name: 0 if name != "top_p" else 0.9})

    assert message == f"`{name}` is not supported in API version 2026-10-21."


@pytest.mark.parametrize("model", SERVED)
async def test_under_2023_06_01_sampling_follows_the_model(sdk: anthropic.AsyncAnthropic, model: str) -> None:
    spec = CATALOGUE.resolve(model)
    if spec.sampling:
        answered = await create(sdk, model, temperature=0.0, top_k=5, headers=OLD_VERSION)
        assert answered.type == "message"
    else:
        message = await refused(sdk, model, temperature=0.0, headers=OLD_VERSION)
        assert message == "`temperature` is deprecated for this model."


# ---- thinking modes, budgets and effort ------------------------------------------------------------


async def test_budgeted_thinking_is_refused_where_only_adaptive_is_taken(
    sdk: anthropic.AsyncAnthropic,
) -> None:
    message = await refused(sdk, OPUS_5, thinking={"type": "enabled", "budget_tokens": 1024})

    assert message.startswith('"thinking.type.enabled" is not supported for this model.')
    assert "thinking.type.adaptive" in message


async def test_adaptive_thinking_is_refused_where_only_budgets_are_taken(
    sdk: anthropic.AsyncAnthropic,
) -> None:
    message = await refused(sdk, HAIKU, thinking={"type": "adaptive"})

    assert message.startswith('"thinking.type.adaptive" is not supported for this model.')


@pytest.mark.parametrize("model", [OPUS_5, "claude-fable-5-2", SONNET_5])
async def test_thinking_cannot_be_disabled_on_always_on_models(
    sdk: anthropic.AsyncAnthropic, model: str
) -> None:
    message = await refused(sdk, model, thinking={"type": "disabled"})

    assert message.startswith('"thinking.type.disabled" is not supported for this model.')


async def test_sonnet_5_5_takes_between_tools_only_up_to_high_effort(sdk: anthropic.AsyncAnthropic) -> None:
    ok = await create(sdk, SONNET_5, thinking={"type": "between_tools"}, output_config={"effort": "high"})
    message = await refused(
        sdk, SONNET_5, thinking={"type": "between_tools"}, output_config={"effort": "max"}
    )

    assert ok.type == "message"
    assert '"thinking.type.between_tools" is not supported with output_config.effort "max"' in message


@pytest.mark.parametrize("model", [HAIKU_5, "claude-opus-5"])
async def test_disabled_thinking_only_at_high_effort_or_below(
    sdk: anthropic.AsyncAnthropic, model: str
) -> None:
    ok = await create(sdk, model, thinking={"type": "disabled"}, output_config={"effort": "high"})
    message = await refused(sdk, model, thinking={"type": "disabled"}, output_config={"effort": "xhigh"})

    assert ok.content[0].type == "text"
    assert 'use effort "high" or lower' in message


async def test_a_budget_must_fit_under_max_tokens(sdk: anthropic.AsyncAnthropic) -> None:
    too_small = await refused(sdk, HAIKU, thinking={"type": "enabled", "budget_tokens": 512})
    too_big = await refused(
        sdk, HAIKU, max_tokens=2_000, thinking={"type": "enabled", "budget_tokens": 4_000}
    )

    assert too_small == "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024"
    assert too_big == "`max_tokens` must be greater than `thinking.budget_tokens`."


async def test_adaptive_takes_no_budget(sdk: anthropic.AsyncAnthropic) -> None:
    message = await refused(sdk, OPUS_5, thinking={"type": "adaptive", "budget_tokens": 2048})

    assert message == "thinking.adaptive.budget_tokens: Extra inputs are not permitted"


async def test_effort_on_a_model_without_it(sdk: anthropic.AsyncAnthropic) -> None:
    message = await refused(sdk, HAIKU, output_config={"effort": "low"})

    assert message == "This model does not support the effort parameter."


async def test_an_effort_level_the_model_lacks(sdk: anthropic.AsyncAnthropic) -> None:
    ok = await create(sdk, SONNET, output_config={"effort": "max"})
    message = await refused(sdk, SONNET, output_config={"effort": "xhigh"})

    assert ok.type == "message"
    assert message == 'output_config.effort: "xhigh" is not supported for this model.'


# ---- tools, prefill, system turns, limits ------------------------------------------------------------


@pytest.mark.parametrize("choice", [{"type": "any"}, {"type": "tool", "name": "lookup"}])
async def test_forced_tool_choice_is_refused_where_the_model_rejects_it(
    sdk: anthropic.AsyncAnthropic, choice: dict[str, str]
) -> None:
    message = await refused(sdk, OPUS_5, tools=TOOLS, tool_choice=choice)
    with pytest.raises(anthropic.BadRequestError) as counted:
        await sdk.messages.count_tokens(model=OPUS_5, messages=user("Hi"), tools=TOOLS, tool_choice=choice)  # type: ignore[arg-type]
    forced_on_haiku = await create(sdk, HAIKU_5, tools=TOOLS, tool_choice=choice)

    assert message == 'tool_choice: type "tool" and "any" are not supported for this model.'
    assert counted.value.api_message == message
    assert forced_on_haiku.stop_reason == "tool_use"


@pytest.mark.parametrize(
    ("model", "takes_it"), [(HAIKU, True), (SONNET, False), (OPUS_5, False), (HAIKU_5, False)]
)
async def test_prefill(sdk: anthropic.AsyncAnthropic, model: str, takes_it: bool) -> None:
    messages = [*user("Pick a colour."), {"role": "assistant", "content": "My pick is"}]
    if takes_it:
        assert (await create(sdk, model, messages=messages)).type == "message"
    else:
        message = await refused(sdk, model, messages=messages)
        assert message == (
            "This model does not support assistant message prefill. "
            "The conversation must end with a user message."
        )


async def test_max_tokens_over_the_model_ceiling(sdk: anthropic.AsyncAnthropic) -> None:
    message = await refused(sdk, SONNET_5, max_tokens=128_001)

    assert message == (
        "max_tokens: 128001 > 128000, which is the maximum allowed number of output tokens "
        "for claude-sonnet-5-5"
    )


SYSTEM_TURN = [
    *user("Hi"),
    {"role": "assistant", "content": "Hello."},
    {"role": "system", "content": "Be brief."},
    *user("Again?"),
]


@pytest.mark.parametrize(
    ("model", "takes_it"), [(OPUS, True), (OPUS_5, True), (SONNET, False), (HAIKU, False)]
)
async def test_system_turns_inside_messages(
    sdk: anthropic.AsyncAnthropic, model: str, takes_it: bool
) -> None:
    if takes_it:
        assert (await create(sdk, model, messages=SYSTEM_TURN)).type == "message"
    else:
        assert (
            await refused(sdk, model, messages=SYSTEM_TURN)
            == "messages.2.role: Input should be 'user' or 'assistant'"
        )


async def test_a_system_turn_cannot_open_the_conversation(sdk: anthropic.AsyncAnthropic) -> None:
    message = await refused(sdk, OPUS_5, messages=[{"role": "system", "content": "Be brief."}, *user("Hi")])

    assert message.startswith("messages.0: use the top-level 'system' parameter")


async def test_context_management_is_refused_by_haiku_4_5(sdk: anthropic.AsyncAnthropic) -> None:
    edits = {"edits": [{"type": "clear_tool_uses_20250919"}]}
    message = await refused(sdk, HAIKU, context_management=edits)

    assert (await create(sdk, HAIKU_5, context_management=edits)).type == "message"
    assert message == "context_management: context management is not supported for this model."


async def test_inference_geo_only_from_the_4_6_generation(sdk: anthropic.AsyncAnthropic) -> None:
    message = await refused(sdk, HAIKU, inference_geo="us")
    answered = await create(sdk, SONNET, inference_geo="us")
    default = await create(sdk, SONNET)
    old = await create(sdk, HAIKU)

    assert message == "inference_geo: this model does not support the inference_geo parameter."
    assert answered.usage.inference_geo == "us"
    assert default.usage.inference_geo == "global"
    assert old.usage.inference_geo == "not_available"


async def test_fast_mode(sdk: anthropic.AsyncAnthropic) -> None:
    fast = await create(sdk, OPUS_5, speed="fast")
    standard = await create(sdk, OPUS_5)
    unsupported = await refused(sdk, SONNET_5, speed="fast")
    needs_beta = await refused(sdk, OPUS, speed="fast")
    with_beta = await create(sdk, OPUS, speed="fast", headers={"anthropic-beta": "fast-mode-2026-02-01"})

    assert fast.usage.speed == "fast"
    assert standard.usage.speed == "standard"
    assert with_beta.usage.speed == "fast"
    assert unsupported == 'speed: "fast" is not supported for this model.'
    assert (
        needs_beta
        == 'speed: "fast" requires the anthropic-beta header "fast-mode-2026-02-01" for this model.'
    )
