"""CascadeClassifier: local first, the LLM classifier only when unsure; built by the factory.

The LLM side talks over real HTTP, through the official SDK, to a scripted Anthropic-compatible
server (which counts the calls) or to the project's emulator.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import typer
from pydantic import ValidationError
from typer.testing import CliRunner

from claude_router.classify import CachedClassifier, ClassifierInput
from claude_router.classify.base import classifier_input
from claude_router.classify.cascade import DEFAULT_THRESHOLD, CascadeClassifier
from claude_router.classify.factory import build_classifier
from claude_router.classify.llm import LLMClassifier
from claude_router.classify.local import LocalClassifier
from claude_router.config import ClassifierSettings
from claude_router.demo import demo_requests
from claude_router.emulator.server import running_emulator
from claude_router.evaluate.cascade_eval import CascadeComparison
from claude_router.evaluate.commands import eval_classifier
from claude_router.evaluate.dataset import load_labelled
from claude_router.types import ClassifierSource, Label, TokenUsage
from claude_router.upstream import Upstream

from .test_llm import Script, serve, upstream_at

HELDOUT = Path(__file__).resolve().parents[2] / "data" / "labels" / "heldout.jsonl"
CONFIDENT_SIMPLE = ClassifierInput("Which language is this? 'Guten Morgen'")


@pytest.fixture(scope="module")
def local() -> LocalClassifier:
    return LocalClassifier.from_file()


@pytest.fixture
def script() -> Script:
    return Script(reply="complex")


@pytest.fixture
async def upstream(script: Script) -> AsyncIterator[Upstream]:
    async with serve(script) as base_url:
        up = upstream_at(base_url)
        yield up
        await up.aclose()


async def test_a_confident_local_label_costs_no_call(
    local: LocalClassifier, upstream: Upstream, script: Script
) -> None:
    assert local.predict(CONFIDENT_SIMPLE).confidence >= DEFAULT_THRESHOLD
    decision = await CascadeClassifier(local, LLMClassifier(upstream)).classify(CONFIDENT_SIMPLE)
    assert (decision.label, decision.source, decision.usage) == (
        Label.SIMPLE,
        ClassifierSource.LOCAL,
        TokenUsage(),
    )
    assert script.bodies == []


async def test_below_the_threshold_the_llm_answers_and_its_tokens_are_reported(
    local: LocalClassifier, upstream: Upstream, script: Script
) -> None:
    cascade = CascadeClassifier(local, LLMClassifier(upstream), threshold=1.0)  # always unsure
    decision = await cascade.classify(CONFIDENT_SIMPLE)
    assert (decision.label, decision.source) == (Label.COMPLEX, ClassifierSource.LLM)  # the LLM's word
    assert decision.usage.input_tokens > 0
    assert decision.model == "claude-haiku-4-5"
    assert len(script.bodies) == 1


async def test_a_failed_llm_call_keeps_the_local_label(
    local: LocalClassifier, upstream: Upstream, script: Script
) -> None:
    script.status = 529
    decision = await CascadeClassifier(local, LLMClassifier(upstream), threshold=1.0).classify(
        CONFIDENT_SIMPLE
    )
    assert (decision.label, decision.source, decision.usage) == (
        Label.SIMPLE,
        ClassifierSource.LOCAL,
        TokenUsage(),
    )
    assert decision.error is not None
    assert "529" in decision.error
    assert len(script.bodies) == 1


def test_the_threshold_is_a_probability(local: LocalClassifier) -> None:
    llm = LLMClassifier(upstream_at("http://127.0.0.1:9"))
    with pytest.raises(ValueError, match="probability"):
        CascadeClassifier(local, llm, threshold=1.5)
    with pytest.raises(ValidationError):
        ClassifierSettings(cascade_threshold=-0.1)
    versions = {CascadeClassifier(local, llm, t).version for t in (0.5, 0.7, 0.7)}
    assert len(versions) == 2  # a changed threshold never reuses cached labels


async def test_the_default_is_a_cached_cascade_and_the_cache_wraps_it_whole(
    upstream: Upstream, script: Script
) -> None:
    assert ClassifierSettings().kind == "cascade"
    classifier = build_classifier(ClassifierSettings(cascade_threshold=1.0), upstream)
    assert isinstance(classifier, CachedClassifier)
    assert isinstance(classifier.inner, CascadeClassifier)
    first, second = await classifier.classify(CONFIDENT_SIMPLE), await classifier.classify(CONFIDENT_SIMPLE)
    assert (first.source, second.source) == (ClassifierSource.LLM, ClassifierSource.CACHE)
    assert second.label is first.label is Label.COMPLEX
    assert len(script.bodies) == 1


async def test_the_local_kind_never_calls(upstream: Upstream, script: Script) -> None:
    classifier = build_classifier(ClassifierSettings(kind="local", cache="none"), upstream)
    assert isinstance(classifier, LocalClassifier)
    decisions = await asyncio.gather(
        *(classifier.classify(classifier_input(r.params)) for r in demo_requests())
    )
    assert {d.source for d in decisions} == {ClassifierSource.LOCAL}
    assert script.bodies == []


async def test_the_demo_requests_get_their_labels_from_the_default_cascade_without_a_call(
    upstream: Upstream, script: Script
) -> None:
    classifier = build_classifier(ClassifierSettings(), upstream)
    requests = demo_requests()
    decisions = [await classifier.classify(classifier_input(r.params)) for r in requests]
    assert [d.label for d in decisions] == [r.expected_label for r in requests]
    assert {d.source for d in decisions} == {ClassifierSource.LOCAL}
    assert script.bodies == []  # the counting server saw no classifier call


async def test_the_default_threshold_meets_its_targets_on_the_held_out_prompts(
    local: LocalClassifier,
) -> None:
    """At least 70% of LLM calls avoided, at no less than the LLM classifier's accuracy (emulator)."""
    items = load_labelled(HELDOUT)
    async with running_emulator() as url:
        up = upstream_at(url)
        try:
            llm = LLMClassifier(up)
            asked = await asyncio.gather(*(llm.classify(i.item) for i in items))
            cascade = CascadeClassifier(local, llm)
            ran = [await cascade.classify(i.item) for i in items]
        finally:
            await up.aclose()
    own = [local.predict(i.item) for i in items]
    labels = [i.label for i in items]
    comparison = CascadeComparison.of(own, asked, labels, DEFAULT_THRESHOLD)
    point = comparison.at_threshold
    assert point.avoided >= 0.7
    assert point.accuracy >= comparison.llm_accuracy
    # The sweep's figure is what the cascade actually does.
    assert sum(d.source is ClassifierSource.LOCAL for d in ran) / len(items) == point.avoided
    assert sum(d.label is i.label for d, i in zip(ran, items, strict=True)) / len(items) == point.accuracy
    assert comparison.best is not None
    assert comparison.best.accuracy >= comparison.llm_accuracy


def test_eval_classifier_reports_the_cascade_against_each_alone(tmp_path: Path) -> None:
    app = typer.Typer()
    group = typer.Typer()
    group.command("classifier")(eval_classifier)
    app.add_typer(group, name="eval")
    data = tmp_path / "some.jsonl"
    lines = HELDOUT.read_text(encoding="utf-8").splitlines(keepends=True)
    data.write_text("".join(lines[:40]), encoding="utf-8")
    args = ["eval", "classifier", "--data", str(data), "--classifier", "cascade", "--json"]
    result = CliRunner(env={"ANTHROPIC_API_KEY": None, "CLAUDE_ROUTER_CONFIG": None}).invoke(app, args)
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    cascade = report["cascade"]
    assert report["classifier"] == "cascade"
    assert cascade["threshold"] == DEFAULT_THRESHOLD
    assert cascade["accuracy"] == report["accuracy"]  # the sweep agrees with the cascade as run
    assert cascade["llm_calls_avoided"] == round(1 - report["llm_calls"] / report["examples"], 4)
    assert {"local_accuracy", "llm_accuracy", "sweep", "best_threshold"} <= set(cascade)
