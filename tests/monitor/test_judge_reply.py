"""Reading the judge's reply: a complete verdict on the rubric's scale, or nothing (unknown)."""

from __future__ import annotations

import json
import tomllib
from importlib import resources
from typing import Any

import pytest
from anthropic.types import Message

from claude_router.monitor import Rubric, parse_reply, parse_text

RUBRIC = Rubric.load()
GOOD_A = {"correctness": 4, "completeness": 5, "instruction_following": 3}
GOOD_B = {"correctness": 2, "completeness": 3, "instruction_following": 5}


def message(*content: dict[str, Any]) -> Message:
    return Message.model_validate(
        {
            "id": "msg_1",
            "type": "message",
            "role": "assistant",
            "model": "claude-sonnet-4-6",
            "content": list(content),
            "stop_reason": "end_turn",
            "stop_sequence": None,
            "usage": {"input_tokens": 10, "output_tokens": 5},
        }
    )


def test_the_verdict_tool_input_is_read() -> None:
    call = {
        "type": "tool_use",
        "id": "toolu_1",
        "name": RUBRIC.tool_name,
        "input": {"a": GOOD_A, "b": GOOD_B, "better": "a"},
    }
    grades = parse_reply(message({"type": "text", "text": "Grading."}, call), RUBRIC)
    assert grades is not None
    assert (dict(grades.a), dict(grades.b), grades.better) == (GOOD_A, GOOD_B, "a")


@pytest.mark.parametrize(
    "text",
    [
        json.dumps({"a": GOOD_A, "b": GOOD_B, "better": "B"}),
        "```json\n" + json.dumps({"a": GOOD_A, "b": GOOD_B, "better": "b"}) + "\n```",
        "Here is my verdict: " + json.dumps({"A": GOOD_A, "B": GOOD_B, "Better": "answer_b"}) + " Thanks.",
        json.dumps({"a": {k: str(v) for k, v in GOOD_A.items()}, "b": GOOD_B, "better": "b"}),
    ],
)
def test_json_text_is_read_through_fences_case_and_chatter(text: str) -> None:
    grades = parse_reply(message({"type": "text", "text": text}), RUBRIC)
    assert grades is not None
    assert grades.better == "b"
    assert dict(grades.a) == GOOD_A


def _without(scores: dict[str, int], name: str) -> dict[str, int]:
    return {k: v for k, v in scores.items() if k != name}


@pytest.mark.parametrize(
    "text",
    [
        "",
        "Answer A is better.",
        "tie",
        "{not json}",
        json.dumps({"a": GOOD_A, "b": GOOD_B}),  # no choice
        json.dumps({"a": GOOD_A, "b": GOOD_B, "better": "c"}),
        json.dumps({"a": GOOD_A, "b": _without(GOOD_B, "completeness"), "better": "a"}),
        json.dumps({"a": {**GOOD_A, "correctness": 6}, "b": GOOD_B, "better": "a"}),  # off the scale
        json.dumps({"a": {**GOOD_A, "correctness": 0}, "b": GOOD_B, "better": "a"}),
        json.dumps({"a": {**GOOD_A, "correctness": True}, "b": GOOD_B, "better": "a"}),
        json.dumps({"a": {**GOOD_A, "correctness": 3.5}, "b": GOOD_B, "better": "a"}),
        json.dumps({"a": "good", "b": GOOD_B, "better": "a"}),
        json.dumps([GOOD_A, GOOD_B]),
        json.dumps({"a": GOOD_A, "b": GOOD_B, "better": "a"})[:-3],  # cut off by max_tokens
    ],
)
def test_garbage_is_no_verdict(text: str) -> None:
    assert parse_text(text, RUBRIC) is None
    assert parse_reply(message({"type": "text", "text": text}), RUBRIC) is None


def test_a_call_to_another_tool_is_no_verdict() -> None:
    call = {"type": "tool_use", "id": "toolu_1", "name": "other", "input": {"a": 1}}
    assert parse_reply(message(call), RUBRIC) is None


def test_the_rubric_is_data_and_its_version_follows_it() -> None:
    assert RUBRIC.names == ("correctness", "completeness", "instruction_following")
    body = RUBRIC.request("Q", "first", "second")
    assert body["tool_choice"] == {"type": "tool", "name": RUBRIC.tool_name}
    schema = body["tools"][0]["input_schema"]
    assert schema["properties"]["a"]["properties"]["correctness"] == {
        "type": "integer",
        "minimum": 1,
        "maximum": 5,
    }
    text_mode = Rubric.from_mapping({**_raw(), "reply": "text"})
    assert "tools" not in text_mode.request("Q", "x", "y")
    assert '"instruction_following": n' in text_mode.system()
    assert text_mode.version != RUBRIC.version


def _raw() -> dict[str, Any]:
    return tomllib.loads(resources.files("claude_router.monitor").joinpath("rubric.toml").read_text("utf-8"))
