"""`CascadeClassifier`: the local model answers; only when it is unsure is the LLM asked.

The local classifier's confidence is a calibrated probability, so "unsure" is a threshold on it:
below `threshold` the request goes to the LLM classifier (Haiku by default), whose answer wins.
`Decision.source` says which one answered (LOCAL or LLM) and carries tokens only in the second
case. If the LLM call fails, the local label is kept (it is a real answer; moderate would not be).

    cascade = CascadeClassifier(LocalClassifier.from_file(), LLMClassifier(upstream), threshold=0.7)
"""

from __future__ import annotations

import dataclasses
import hashlib
from typing import Protocol

from ..config import ClassifierSettings
from ..types import ClassifierSource, Decision
from .base import Classifier, ClassifierInput
from .cache import Closable


class Predictor(Protocol):
    """A classifier that answers synchronously, at no cost (the local one, thresholded or not)."""

    version: str

    def predict(self, item: ClassifierInput) -> Decision: ...


#: `classifier.cascade_threshold`'s default (why that value: see `ClassifierSettings`).
DEFAULT_THRESHOLD: float = ClassifierSettings.model_fields["cascade_threshold"].default


class CascadeClassifier:
    """Local first; the LLM classifier only below `threshold` local confidence."""

    def __init__(self, local: Predictor, llm: Classifier, threshold: float = DEFAULT_THRESHOLD) -> None:
        if not 0.0 <= threshold <= 1.0:
            raise ValueError("the cascade threshold is a probability, between 0 and 1")
        self.local = local
        self.llm = llm
        self.threshold = threshold
        material = f"{local.version}\x00{llm.version}\x00{threshold!r}"
        self.version = "cascade-" + hashlib.sha256(material.encode()).hexdigest()[:16]

    def escalates(self, decision: Decision) -> bool:
        """Whether the local `decision` is too unsure to stand on its own."""
        return decision.confidence < self.threshold

    async def classify(self, item: ClassifierInput) -> Decision:
        local = self.local.predict(item)
        if not self.escalates(local):
            return local
        asked = await self.llm.classify(item)
        latency = local.latency_s + asked.latency_s
        if asked.source is ClassifierSource.FALLBACK:
            # Keep the local label, and say why the LLM did not answer; no tokens were billed.
            return dataclasses.replace(local, error=asked.error, latency_s=latency)
        return dataclasses.replace(asked, latency_s=latency)

    async def aclose(self) -> None:
        if isinstance(self.llm, Closable):
            await self.llm.aclose()


__all__ = ["DEFAULT_THRESHOLD", "CascadeClassifier", "Predictor"]
