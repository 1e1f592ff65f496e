"""Evaluation figures: confusion, per-label precision and recall, routing errors priced per tier."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from claude_router.catalog.pricing import PriceTable
from claude_router.classify.local import LocalClassifier
from claude_router.evaluate.classifier_eval import build_report, evaluate, percentile, request_cost
from claude_router.evaluate.dataset import LabelledPrompt, load_labelled
from claude_router.types import ClassifierSource, Decision, Label, TokenUsage

S, M, C = Label.SIMPLE, Label.MODERATE, Label.COMPLEX
HELDOUT = Path(__file__).resolve().parents[2] / "data" / "labels" / "heldout.jsonl"


def _decision(label: Label, confidence: float = 0.8) -> Decision:
    return Decision(label, confidence, ClassifierSource.LLM, usage=TokenUsage(100, 1))


@pytest.fixture
def prices() -> PriceTable:
    return PriceTable.default()


def test_counts_confusion_and_per_label_figures(prices: PriceTable) -> None:
    items = [LabelledPrompt(f"p{i}", label) for i, label in enumerate([S, M, C, C])]
    predicted = [S, C, M, S]

    report = build_report("llm", "v1", items, [_decision(p) for p in predicted], [0.1, 0.2, 0.3, 0.4], prices)

    assert report.accuracy == 0.25
    assert report.confusion[C] == {S: 1, M: 1, C: 0}
    assert report.confusion[M] == {S: 0, M: 0, C: 1}
    simple = report.per_label[S]
    assert (simple.precision, simple.recall, simple.support, simple.predicted) == (0.5, 1.0, 1, 2)
    assert report.per_label[C].recall == 0.0
    assert report.llm_calls == 4
    assert report.classifier_usage == TokenUsage(400, 4)
    assert report.latency_p50_ms == pytest.approx(250.0)


def test_routing_errors_are_rated_and_priced_by_direction(prices: PriceTable) -> None:
    items = [LabelledPrompt("x" * 4000, label) for label in [S, M, C, C]]
    predicted = [S, C, M, S]

    routing = build_report("llm", "v1", items, [_decision(p) for p in predicted], [0.0] * 4, prices).routing

    assert (routing.under_routing_rate, routing.over_routing_rate, routing.two_tier_rate) == (0.5, 0.25, 0.25)
    over = request_cost(items[1], C, prices) - request_cost(items[1], M, prices)
    under = (request_cost(items[2], C, prices) - request_cost(items[2], M, prices)) + (
        request_cost(items[3], C, prices) - request_cost(items[3], S, prices)
    )
    assert routing.over_routing_cost_usd == over > 0
    assert routing.under_routing_cost_usd == under > over
    assert isinstance(routing.ideal_cost_usd, Decimal)
    assert routing.routed_cost_usd == routing.ideal_cost_usd + over - under
    assert routing.cost_weighted_error == pytest.approx(float((over + under) / routing.ideal_cost_usd))


def test_a_higher_tier_costs_more_for_the_same_request(prices: PriceTable) -> None:
    item = LabelledPrompt("Summarise this report", M, system="Be brief.")

    assert request_cost(item, S, prices) < request_cost(item, M, prices) < request_cost(item, C, prices)


def test_percentile_interpolates_between_ranks() -> None:
    values = [float(v) for v in range(1, 101)]

    assert percentile(values, 50) == pytest.approx(50.5)
    assert percentile(values, 95) == pytest.approx(95.05)
    assert percentile([3.0], 95) == 3.0
    assert percentile([], 50) == 0.0


async def test_evaluating_the_local_classifier_makes_no_model_call() -> None:
    items = load_labelled(HELDOUT)[:40]

    report = await evaluate(LocalClassifier.from_file(), items, name="local")
    summary = json.loads(json.dumps(report.to_dict()))

    assert report.llm_calls == 0
    assert report.classifier_usage == TokenUsage()
    assert 0.0 <= summary["accuracy"] <= 1.0
    assert sum(sum(row.values()) for row in summary["confusion"].values()) == 40
    assert summary["latency_ms"]["p95"] >= summary["latency_ms"]["p50"] > 0
    assert set(summary["per_label"]) == {"simple", "moderate", "complex"}
