"""What a cascade threshold buys: LLM calls avoided against accuracy, from one pass of each classifier.

Given the local and the LLM classifier's decisions on the same labelled prompts, the cascade's
decision at any threshold is known without running it again: the local one at or above the
threshold, the LLM's below. `sweep` tabulates that; `choose_threshold` picks the most accurate
threshold that avoids enough calls and is no less accurate than the LLM classifier alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..types import Decision, Label

#: Candidate thresholds: the local confidence is a probability, so these are its useful levels.
THRESHOLDS = tuple(round(0.4 + 0.05 * i, 2) for i in range(12))


@dataclass(frozen=True, slots=True)
class CascadePoint:
    threshold: float
    avoided: float  # share of prompts the local classifier answered alone
    accuracy: float  # the cascade's accuracy at this threshold

    def to_dict(self) -> dict[str, float]:
        return {
            "threshold": self.threshold,
            "avoided": round(self.avoided, 4),
            "accuracy": round(self.accuracy, 4),
        }


def cascade_point(
    local: Sequence[Decision], llm: Sequence[Decision], labels: Sequence[Label], threshold: float
) -> CascadePoint:
    """The cascade at `threshold`, from each classifier's decisions (in the same order)."""
    answered = correct = 0
    for own, asked, label in zip(local, llm, labels, strict=True):
        alone = own.confidence >= threshold
        answered += alone
        correct += (own if alone else asked).label is label
    n = len(labels)
    return CascadePoint(threshold, answered / n, correct / n)


def sweep(
    local: Sequence[Decision],
    llm: Sequence[Decision],
    labels: Sequence[Label],
    thresholds: Sequence[float] = THRESHOLDS,
) -> list[CascadePoint]:
    return [cascade_point(local, llm, labels, t) for t in thresholds]


def choose_threshold(
    points: Sequence[CascadePoint], llm_accuracy: float, min_avoided: float = 0.7
) -> CascadePoint | None:
    """The most accurate point avoiding at least `min_avoided` of the calls at no less than the
    LLM's accuracy (ties: the one avoiding more calls); None if no point qualifies."""
    fit = [p for p in points if p.avoided >= min_avoided and p.accuracy >= llm_accuracy]
    return max(fit, key=lambda p: (p.accuracy, p.avoided), default=None)


def _accuracy(decisions: Sequence[Decision], labels: Sequence[Label]) -> float:
    return sum(d.label is label for d, label in zip(decisions, labels, strict=True)) / len(labels)


@dataclass(frozen=True, slots=True)
class CascadeComparison:
    """The cascade at its configured threshold, each classifier alone, and the sweep."""

    threshold: float
    at_threshold: CascadePoint
    local_accuracy: float
    llm_accuracy: float
    points: list[CascadePoint]
    best: CascadePoint | None

    @classmethod
    def of(
        cls, local: Sequence[Decision], llm: Sequence[Decision], labels: Sequence[Label], threshold: float
    ) -> CascadeComparison:
        points = sweep(local, llm, labels)
        llm_accuracy = _accuracy(llm, labels)
        return cls(
            threshold=threshold,
            at_threshold=cascade_point(local, llm, labels, threshold),
            local_accuracy=_accuracy(local, labels),
            llm_accuracy=llm_accuracy,
            points=points,
            best=choose_threshold(points, llm_accuracy),
        )

    def to_dict(self) -> dict[str, object]:
        return {
            "threshold": self.threshold,
            "accuracy": round(self.at_threshold.accuracy, 4),
            "llm_calls_avoided": round(self.at_threshold.avoided, 4),
            "local_accuracy": round(self.local_accuracy, 4),
            "llm_accuracy": round(self.llm_accuracy, 4),
            "sweep": [p.to_dict() for p in self.points],
            "best_threshold": None if self.best is None else self.best.threshold,
        }


__all__ = [
    "THRESHOLDS",
    "CascadeComparison",
    "CascadePoint",
    "cascade_point",
    "choose_threshold",
    "sweep",
]
