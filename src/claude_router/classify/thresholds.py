"""`ThresholdedLocal`: the local classifier with calibrated cut-offs instead of the most probable label.

`claude-router calibrate` chooses the cut-offs (`classifier.thresholds`) so that the tiers get the
shares of the user's traffic they asked for. Confidence is still the chosen label's probability,
so a cascade asks the LLM when that label is unlikely.
"""

from __future__ import annotations

import time

from ..config import LabelThresholds
from ..types import LABELS, ClassifierSource, Decision, Label
from .base import ClassifierInput
from .local import LocalClassifier, Scores


def thresholded_label(probabilities: Scores, thresholds: LabelThresholds) -> Label:
    """Complex from P(complex) >= its cut-off, else moderate from P(moderate or complex) >= its own."""
    _, moderate, complex_ = probabilities
    if complex_ >= thresholds.complex:
        return Label.COMPLEX
    if moderate + complex_ >= thresholds.moderate:
        return Label.MODERATE
    return Label.SIMPLE


class ThresholdedLocal:
    """A `LocalClassifier` labelling by `thresholds`; no call, like the classifier it wraps."""

    def __init__(self, local: LocalClassifier, thresholds: LabelThresholds) -> None:
        self.local = local
        self.thresholds = thresholds
        self.version = f"{local.version}-t{thresholds.complex!r}-{thresholds.moderate!r}"

    def predict(self, item: ClassifierInput) -> Decision:
        start = time.perf_counter()
        probabilities = self.local.model.probabilities(item)
        label = thresholded_label(probabilities, self.thresholds)
        return Decision(
            label=label,
            confidence=probabilities[LABELS.index(label)],
            source=ClassifierSource.LOCAL,
            latency_s=time.perf_counter() - start,
        )

    async def classify(self, item: ClassifierInput) -> Decision:
        return self.predict(item)

    async def aclose(self) -> None:
        """Nothing to release."""


__all__ = ["ThresholdedLocal", "thresholded_label"]
