"""What a classifier reads of a whole request: tools, tool results, history, thinking, effort, ceiling."""

from __future__ import annotations

from typing import Any

from claude_router.classify.base import ClassifierInput, classifier_input
from claude_router.classify.cache import cache_key
from claude_router.classify.features import FeatureConfig, FeatureExtractor
from claude_router.evaluate.dataset import LabelledPrompt
from claude_router.types import Label

TOOLS = [{"name": n, "description": n, "input_schema": {"type": "object"}} for n in ("read", "write", "test")]
HISTORY = "Earlier output of the build. " * 200


def _agent_step() -> dict[str, Any]:
    return {
        "model": "m",
        "max_tokens": 16000,
        "system": "You are a coding agent.",
        "tools": TOOLS,
        "thinking": {"type": "enabled", "budget_tokens": 16000},
        "output_config": {"effort": "High"},
        "messages": [
            {"role": "user", "content": "Fix the failing build."},
            {"role": "assistant", "content": [{"type": "text", "text": HISTORY}]},
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": "t1", "content": "3 tests failed"},
                    {
                        "type": "tool_result",
                        "tool_use_id": "t2",
                        "content": [{"type": "text", "text": "log"}],
                    },
                    {"type": "text", "text": "Go on."},
                ],
            },
        ],
    }


def test_an_agent_step_is_read_with_its_tools_results_history_thinking_and_effort() -> None:
    item = classifier_input(_agent_step())

    assert item.text == "3 tests failed\nlog\nGo on."
    assert item.system == "You are a coding agent."
    assert (item.has_tools, item.tool_count, item.tool_results, item.turns) == (True, 3, 2, 3)
    assert item.context_chars == len("Fix the failing build.") + len(HISTORY) + len(item.text) + len(
        item.system
    )
    assert (item.thinking_tokens, item.effort, item.max_tokens) == (16000, "high", 16000)


def test_a_plain_message_reads_as_a_plain_message() -> None:
    item = classifier_input({"max_tokens": 5, "messages": [{"role": "user", "content": "Spam? 'WIN NOW'"}]})

    assert (item.tool_count, item.tool_results, item.turns, item.thinking_tokens, item.effort) == (
        0,
        0,
        1,
        0,
        None,
    )
    assert item.max_tokens == 5
    assert item.context_chars == len("Spam? 'WIN NOW'")


def test_thinking_off_or_without_a_budget() -> None:
    def thinking(value: object) -> int:
        return classifier_input(
            {"thinking": value, "messages": [{"role": "user", "content": "x"}]}
        ).thinking_tokens

    assert thinking({"type": "disabled"}) == 0
    assert thinking(None) == 0
    assert thinking({"type": "enabled"}) == 1
    assert thinking({"type": "enabled", "budget_tokens": 2048}) == 2048


def test_request_features_fire_only_when_the_request_has_them() -> None:
    extract = FeatureExtractor(FeatureConfig.default())

    agent = extract(classifier_input(_agent_step())).shape
    plain = extract(ClassifierInput("Fix the failing build.")).shape

    assert {"tools", "tools:2", "toolres:2", "turns:2", "think:4", "effort:high"} <= set(agent)
    assert any(name.startswith("hist:") for name in agent)
    assert not [
        n for n in plain if n.startswith(("tools", "toolres", "turns", "hist", "think", "effort", "maxtok"))
    ]


def test_a_small_answer_ceiling_is_read_and_a_default_one_is_not() -> None:
    extract = FeatureExtractor(FeatureConfig.default())

    def shape(max_tokens: int) -> tuple[str, ...]:
        return extract(
            classifier_input({"max_tokens": max_tokens, "messages": [{"role": "user", "content": "x"}]})
        ).shape

    assert "maxtok:3" in shape(5)  # 4-7 tokens: a label
    assert not [n for n in shape(4096) if n.startswith("maxtok")]


def test_a_labelled_prompt_reads_like_the_same_prompt_sent_as_a_request() -> None:
    extract = FeatureExtractor(FeatureConfig.default())
    labelled = LabelledPrompt("Summarise this report in 5 bullets.", Label.MODERATE, system="Be concise.")
    sent = {
        "max_tokens": 4096,
        "system": "Be concise.",
        "messages": [{"role": "user", "content": "Summarise this report in 5 bullets."}],
    }

    assert extract(labelled.item) == extract(classifier_input(sent))


def test_the_length_asked_for_is_read_in_several_languages() -> None:
    extract = FeatureExtractor(FeatureConfig.default())
    asks = {
        "Write an essay of at least 600 words about rivers.": "ask:w:10",
        "Escribe un ensayo de 600 palabras sobre los ríos.": "ask:w:10",
        "川について600字以上の作文を書いてください。": "ask:w:10",
        "Answer in 3 paragraphs.": "ask:p:2",
    }

    for ask, feature in asks.items():
        assert feature in extract(ClassifierInput(ask)).shape, ask


def test_the_cache_key_tells_requests_apart_by_their_shape() -> None:
    base = ClassifierInput("Design the system.")
    thinking = ClassifierInput("Design the system.", thinking_tokens=8000)
    tools = ClassifierInput("Design the system.", tool_count=3, has_tools=True)

    keys = {cache_key(item, "v1") for item in (base, thinking, tools)}

    assert len(keys) == 3
    assert cache_key(ClassifierInput("Design the system."), "v1") == cache_key(base, "v1")
