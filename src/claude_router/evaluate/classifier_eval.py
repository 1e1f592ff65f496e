"""How well a classifier labels a labelled set: accuracy, per-label figures, routing errors and cost.

A wrong label is not just wrong: sent to a tier below its label, a request risks a worse answer
(under-routing); sent above, it wastes money (over-routing). Both are reported as rates and as
money, pricing each request at the tier its true label and its predicted label route to, from the
price sheet (`pricing.PriceTable`). A request's tokens are estimated: its text and system prompt
at `CHARS_PER_TOKEN`, and a typical answer length per true label (`OUTPUT_TOKENS`).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from ..catalog.pricing import PriceTable, Tier
from ..classify.base import Classifier
from ..types import LABELS, ZERO, ClassifierSource, Decision, Label, TokenUsage
from .dataset import LabelledPrompt
from .train import expected_calibration_error

CHARS_PER_TOKEN = 4
#: Typical answer lengths in tokens: a label or a number, a page of code or prose, a long analysis.
OUTPUT_TOKENS = {Label.SIMPLE: 10, Label.MODERATE: 300, Label.COMPLEX: 800}


@dataclass(frozen=True, slots=True)
class LabelFigures:
    precision: float
    recall: float
    f1: float
    support: int  # prompts with this true label
    predicted: int  # prompts given this label


@dataclass(frozen=True, slots=True)
class RoutingErrors:
    """Errors weighed by their direction and by what they cost at the tiers' prices."""

    under_routing_rate: float  # share of prompts sent below their label's tier (quality risk)
    over_routing_rate: float  # share sent above it (money wasted)
    two_tier_rate: float  # share off by two tiers (simple <-> complex)
    ideal_cost_usd: Decimal  # every prompt on its true label's tier
    routed_cost_usd: Decimal  # every prompt on its predicted label's tier
    over_routing_cost_usd: Decimal  # paid above the ideal by over-routed prompts
    under_routing_cost_usd: Decimal  # withheld from under-routed prompts: the quality at risk

    @property
    def cost_weighted_error(self) -> float:
        """Both kinds of mis-spend, as a fraction of the ideal spend."""
        if not self.ideal_cost_usd:
            return 0.0
        return float((self.over_routing_cost_usd + self.under_routing_cost_usd) / self.ideal_cost_usd)


@dataclass(frozen=True, slots=True)
class ClassifierReport:
    classifier: str
    version: str
    examples: int
    accuracy: float
    per_label: dict[Label, LabelFigures]
    confusion: dict[Label, dict[Label, int]]  # true label -> predicted label -> count
    routing: RoutingErrors
    latency_p50_ms: float
    latency_p95_ms: float
    ece: float  # expected calibration error of the confidences
    mean_confidence: float
    llm_calls: int  # decisions that cost a model call
    classifier_usage: TokenUsage
    predicted: list[Label] = field(default_factory=list)  # one label per prompt, in order

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary; money as strings (exact), rates as fractions."""
        routing = self.routing
        return {
            "classifier": self.classifier,
            "version": self.version,
            "examples": self.examples,
            "accuracy": round(self.accuracy, 4),
            "per_label": {
                label.value: {
                    "precision": round(f.precision, 4),
                    "recall": round(f.recall, 4),
                    "f1": round(f.f1, 4),
                    "support": f.support,
                    "predicted": f.predicted,
                }
                for label, f in self.per_label.items()
            },
            "confusion": {t.value: {p.value: n for p, n in row.items()} for t, row in self.confusion.items()},
            "routing": {
                "under_routing_rate": round(routing.under_routing_rate, 4),
                "over_routing_rate": round(routing.over_routing_rate, 4),
                "two_tier_rate": round(routing.two_tier_rate, 4),
                "cost_weighted_error": round(routing.cost_weighted_error, 4),
                "ideal_cost_usd": str(routing.ideal_cost_usd),
                "routed_cost_usd": str(routing.routed_cost_usd),
                "over_routing_cost_usd": str(routing.over_routing_cost_usd),
                "under_routing_cost_usd": str(routing.under_routing_cost_usd),
            },
            "latency_ms": {"p50": round(self.latency_p50_ms, 4), "p95": round(self.latency_p95_ms, 4)},
            "calibration": {"ece": round(self.ece, 4), "mean_confidence": round(self.mean_confidence, 4)},
            "llm_calls": self.llm_calls,
            "classifier_tokens": {
                "input": self.classifier_usage.input_tokens,
                "output": self.classifier_usage.output_tokens,
            },
        }


def percentile(values: Sequence[float], q: float) -> float:
    """The `q`-th percentile (0-100) by linear interpolation between closest ranks."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def request_cost(item: LabelledPrompt, label: Label, prices: PriceTable) -> Decimal:
    """The estimated cost of answering `item` on the tier `label` routes to."""
    chars = len(item.prompt) + len(item.system or "")
    usage = TokenUsage(input_tokens=max(1, chars // CHARS_PER_TOKEN), output_tokens=OUTPUT_TOKENS[item.label])
    return prices.what_if(usage, Tier.for_label(label))


def routing_errors(
    items: Sequence[LabelledPrompt], predicted: Sequence[Label], prices: PriceTable
) -> RoutingErrors:
    under = over = two_tiers = 0
    ideal = routed = over_cost = under_cost = ZERO
    for item, label in zip(items, predicted, strict=True):
        true_cost, cost = request_cost(item, item.label, prices), request_cost(item, label, prices)
        ideal += true_cost
        routed += cost
        gap = label.rank - item.label.rank
        if gap > 0:
            over += 1
            over_cost += cost - true_cost
        elif gap < 0:
            under += 1
            under_cost += true_cost - cost
        two_tiers += abs(gap) == 2
    n = len(items)
    return RoutingErrors(under / n, over / n, two_tiers / n, ideal, routed, over_cost, under_cost)


def label_figures(confusion: dict[Label, dict[Label, int]]) -> dict[Label, LabelFigures]:
    figures = {}
    for label in LABELS:
        hits = confusion[label][label]
        support = sum(confusion[label].values())
        predicted = sum(confusion[t][label] for t in LABELS)
        precision = hits / predicted if predicted else 0.0
        recall = hits / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        figures[label] = LabelFigures(precision, recall, f1, support, predicted)
    return figures


def build_report(
    name: str,
    version: str,
    items: Sequence[LabelledPrompt],
    decisions: Sequence[Decision],
    latencies_s: Sequence[float],
    prices: PriceTable,
) -> ClassifierReport:
    """The report for `decisions` (one per item, in order) against the items' labels."""
    confusion = {t: dict.fromkeys(LABELS, 0) for t in LABELS}
    for item, decision in zip(items, decisions, strict=True):
        confusion[item.label][decision.label] += 1
    correct = [d.label is i.label for i, d in zip(items, decisions, strict=True)]
    confidences = [d.confidence for d in decisions]
    usage = TokenUsage()
    for decision in decisions:
        usage = usage + decision.usage
    return ClassifierReport(
        classifier=name,
        version=version,
        examples=len(items),
        accuracy=sum(correct) / len(items),
        per_label=label_figures(confusion),
        confusion=confusion,
        routing=routing_errors(items, [d.label for d in decisions], prices),
        latency_p50_ms=percentile(latencies_s, 50) * 1000,
        latency_p95_ms=percentile(latencies_s, 95) * 1000,
        ece=expected_calibration_error(confidences, correct),
        mean_confidence=sum(confidences) / len(confidences),
        llm_calls=sum(d.source is ClassifierSource.LLM for d in decisions),
        classifier_usage=usage,
        predicted=[d.label for d in decisions],
    )


async def evaluate(
    classifier: Classifier,
    items: Sequence[LabelledPrompt],
    *,
    name: str,
    prices: PriceTable | None = None,
    concurrency: int = 1,
) -> ClassifierReport:
    """Classify every item (at most `concurrency` at once) and report against the labels."""
    semaphore = asyncio.Semaphore(max(1, concurrency))

    async def one(item: LabelledPrompt) -> tuple[Decision, float]:
        async with semaphore:
            start = time.perf_counter()
            decision = await classifier.classify(item.item)
            return decision, time.perf_counter() - start

    results = await asyncio.gather(*(one(item) for item in items))
    decisions = [d for d, _ in results]
    latencies = [s for _, s in results]
    return build_report(name, classifier.version, items, decisions, latencies, prices or PriceTable.default())


__all__ = [
    "CHARS_PER_TOKEN",
    "OUTPUT_TOKENS",
    "ClassifierReport",
    "LabelFigures",
    "RoutingErrors",
    "build_report",
    "evaluate",
    "percentile",
    "request_cost",
    "routing_errors",
]
