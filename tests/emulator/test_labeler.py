"""Classifier-shaped requests: labelled by the documented rule, or by a plug-in."""

from __future__ import annotations

import json
import sys
from importlib import resources
from pathlib import Path
from typing import Any

import anthropic
import pytest

from claude_router.emulator.config import EmulatorConfig
from claude_router.emulator.labeler import RuleLabeler, is_classifier_request
from claude_router.emulator.server import running_emulator
from claude_router.types import Label

from .support import API_KEY, HAIKU, user

CLASSIFIER_SYSTEM = (
    "Rate how hard the user's request is. Reply with exactly one word: simple, moderate or complex."
)
DEMO = json.loads(resources.files("claude_router").joinpath("data", "demo_requests.json").read_text("utf-8"))


def demo_text(request: dict[str, Any]) -> str:
    return str(request["messages"][-1]["content"])


@pytest.mark.parametrize("request_", DEMO, ids=[r["task_id"] for r in DEMO])
def test_the_rule_labels_the_demo_requests(request_: dict[str, Any]) -> None:
    assert RuleLabeler.load().label(demo_text(request_)) == Label(request_["expected_label"])


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("Translate 'good morning' into Spanish.", Label.MODERATE),
        ("Is 17 a prime number?", Label.SIMPLE),
        ("ok", Label.SIMPLE),
        ("Compare these reports and synthesize a single recommendation for the board.", Label.COMPLEX),
        ("Assess the regulatory risk of the merger described below.", Label.COMPLEX),
        (
            "Tell me about your weekend plans and the places you might like to visit next year.",
            Label.MODERATE,
        ),
        ("word " * 1_500, Label.COMPLEX),
    ],
)
def test_the_rule_in_general(text: str, label: Label) -> None:
    assert RuleLabeler.load().label(text) == label


def test_what_counts_as_a_classifier_request() -> None:
    assert is_classifier_request(CLASSIFIER_SYSTEM, 32)
    assert not is_classifier_request(CLASSIFIER_SYSTEM, 33)
    assert not is_classifier_request("Reply with one word: simple or complex.", 8)


async def test_classifier_requests_get_the_label_over_http(sdk: anthropic.AsyncAnthropic) -> None:
    for request_ in DEMO:
        message = await sdk.messages.create(
            model=HAIKU, max_tokens=32, system=CLASSIFIER_SYSTEM, messages=user(demo_text(request_))
        )
        assert message.content[0].text == request_["expected_label"]  # type: ignore[union-attr]
        assert message.stop_reason == "end_turn"
        assert message.usage.output_tokens <= 2


async def test_ordinary_requests_get_prose_sized_by_difficulty(sdk: anthropic.AsyncAnthropic) -> None:
    lengths = {}
    for request_ in DEMO:
        message = await sdk.messages.create(model=HAIKU, max_tokens=4_000, messages=user(demo_text(request_)))
        lengths.setdefault(request_["expected_label"], []).append(message.usage.output_tokens)

    assert max(lengths["simple"]) <= 12
    assert min(lengths["moderate"]) >= 60
    assert min(lengths["complex"]) >= 150


async def label_with(config: EmulatorConfig, text: str) -> str:
    async with (
        running_emulator(config) as url,
        anthropic.AsyncAnthropic(base_url=url, api_key=API_KEY, max_retries=0) as sdk,
    ):
        message = await sdk.messages.create(
            model=HAIKU, max_tokens=16, system=CLASSIFIER_SYSTEM, messages=user(text)
        )
    return message.content[0].text  # type: ignore[union-attr]


async def test_a_callable_plug_in_supplies_labels() -> None:
    seen: list[str] = []

    def always_complex(text: str) -> str:
        seen.append(text)
        return "complex"

    assert await label_with(EmulatorConfig(labeler=always_complex), "Is this spam?") == "complex"
    assert seen == ["Is this spam?"]


async def test_an_async_plug_in_supplies_labels() -> None:
    async def by_length(text: str) -> str:
        return "simple" if len(text) < 10 else "moderate"

    assert await label_with(EmulatorConfig(labeler=by_length), "Hi") == "simple"


async def test_a_dotted_path_plug_in(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "house_labels.py").write_text("def label(text):\n    return 'MODERATE'\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        config = EmulatorConfig.model_validate({"labeler": "house_labels:label"})
        assert await label_with(config, "Is this spam?") == "moderate"
    finally:
        sys.modules.pop("house_labels", None)


def test_a_dotted_path_that_does_not_import_is_refused() -> None:
    with pytest.raises(ValueError, match="labeler"):
        EmulatorConfig.model_validate({"labeler": "no_such_module_here:label"})
