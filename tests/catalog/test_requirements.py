"""What a request needs, read from its body, and which models cannot serve it as written."""

from __future__ import annotations

from typing import Any

from claude_router.catalog.models import Catalogue
from claude_router.catalog.requirements import Needs
from claude_router.catalog.signatures import signature

CATALOGUE = Catalogue.default()
USER = {"role": "user", "content": "Go on."}


def unmet(model: str, **body: Any) -> str | None:
    params = {"max_tokens": 1024, "messages": [USER], **body}
    needs = Needs.of(params, short_answer_tokens=CATALOGUE.short_answer_tokens)
    return needs.unmet(CATALOGUE.resolve(model))


def test_a_plain_request_is_served_everywhere() -> None:
    assert {unmet(spec.id) for spec in CATALOGUE} == {None}


def test_each_need_names_the_models_that_cannot_meet_it() -> None:
    prefill = [USER, {"role": "assistant", "content": "The answer is"}]
    assert (unmet("claude-haiku-5-5", messages=prefill), unmet("claude-haiku-4-5", messages=prefill)) == (
        "prefill",
        None,
    )
    assert unmet("claude-haiku-4-5", thinking={"type": "adaptive"}) == "thinking.adaptive"
    assert unmet("claude-sonnet-4-6", output_config={"effort": "xhigh"}) == "effort.xhigh"
    assert unmet("claude-haiku-5-5", thinking={"type": "disabled"}, output_config={"effort": "max"}) == (
        "thinking.disabled"
    )
    assert unmet("claude-opus-5-5", tool_choice={"type": "any"}) == "tool_choice"
    assert unmet("claude-haiku-4-5", max_tokens=100_000) == "max_tokens"
    system = [USER, {"role": "assistant", "content": "Hi"}, {"role": "system", "content": "Terse."}, USER]
    assert (unmet("claude-sonnet-4-6", messages=system), unmet("claude-opus-4-8", messages=system)) == (
        "system_messages",
        None,
    )


def test_the_prompt_is_measured_in_each_models_own_tokens() -> None:
    # 190,000 Haiku 4.5 tokens of text: within Haiku 4.5's 200K window, not once 4.7+ counts 1.3x
    # on a 200K model (Opus 4.5 counts like Haiku 4.5, so it fits; the 1M models fit anyway).
    text = "word " * (190_000 * 4 // 5)
    assert unmet("claude-haiku-4-5", messages=[{"role": "user", "content": text}], max_tokens=5_000) is None
    assert unmet("claude-haiku-4-5", messages=[{"role": "user", "content": text + text}]) == "context"
    assert unmet("claude-opus-5-5", messages=[{"role": "user", "content": text + text}]) is None


def test_a_short_answer_is_not_for_a_model_that_always_thinks() -> None:
    assert unmet("claude-opus-5-5", max_tokens=64) == "thinking.always_on"
    assert (unmet("claude-sonnet-5-5", max_tokens=64), unmet("claude-haiku-5-5", max_tokens=64)) == (
        None,
        None,
    )
    assert unmet("claude-opus-5-5", max_tokens=64, thinking={"type": "adaptive"}) is None  # asked for


def test_only_prefill_and_size_are_beyond_adaptation() -> None:
    needs = Needs.of({"messages": [USER], "tool_choice": {"type": "any"}, "temperature": 1})
    opus = CATALOGUE.resolve("claude-opus-5-5")
    assert (needs.unmet(opus), needs.unmet(opus, adaptable=False)) == ("tool_choice", None)


def test_the_history_says_which_model_wrote_its_thinking() -> None:
    block = {"type": "thinking", "thinking": "", "signature": signature("claude-sonnet-5-5", "seed")}
    history = [USER, {"role": "assistant", "content": [block, {"type": "text", "text": "Hi"}]}, USER]
    assert Needs.of({"messages": history}).thinking_from == "claude-sonnet-5-5"
    opaque = {**block, "signature": "EqQBCkYIBxgCKkA"}  # the API's own signatures name no model
    assert (
        Needs.of({"messages": [USER, {"role": "assistant", "content": [opaque]}, USER]}).thinking_from is None
    )
