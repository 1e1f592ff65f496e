"""`LocalClassifier`: a zero-cost label from a small model shipped in the package.

The model is a multinomial logistic regression over the features of `classify.features`, its
scores divided by a temperature fitted on held-out folds so that `confidence` is a calibrated
probability. Everything it needs is one JSON file (`data/local_classifier.json` by default,
written by `claude-router train`); labelling a request makes no call and downloads nothing.

    classifier = LocalClassifier.from_file()             # the packaged model, read once
    decision = await classifier.classify(ClassifierInput("Is this spam? ..."))
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..errors import ConfigError
from ..types import LABELS, ClassifierSource, Decision, Label
from .base import ClassifierInput
from .features import FeatureConfig, FeatureExtractor, Features

MODEL_RESOURCE = "data/local_classifier.json"
MODEL_FORMAT = 1

Scores = tuple[float, float, float]


@dataclass(frozen=True, slots=True)
class LocalModel:
    """Weights (one score per label for each feature), bias, temperature and what was read."""

    weights: Mapping[str, Scores]
    bias: Scores
    temperature: float = 1.0
    features: FeatureConfig = field(default_factory=FeatureConfig)
    training: Mapping[str, Any] = field(default_factory=dict)  # how it was trained, for reports
    extract: FeatureExtractor = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "extract", FeatureExtractor(self.features))

    def scores(self, item: ClassifierInput) -> Scores:
        """Uncalibrated scores (logits) for simple, moderate, complex."""
        return self.feature_scores(self.extract(item))

    def feature_scores(self, found: Features) -> Scores:
        """Uncalibrated scores of features already extracted (with this model's `FeatureConfig`)."""
        weights = self.weights
        s0, s1, s2 = self.bias
        for group in found.groups:
            t0 = t1 = t2 = 0.0
            for name in group:
                row = weights.get(name)
                if row is not None:
                    t0 += row[0]
                    t1 += row[1]
                    t2 += row[2]
            scale = 1.0 / math.sqrt(len(group))
            s0, s1, s2 = s0 + t0 * scale, s1 + t1 * scale, s2 + t2 * scale
        for name in found.shape:
            row = weights.get(name)
            if row is not None:
                s0 += row[0]
                s1 += row[1]
                s2 += row[2]
        return s0, s1, s2

    def probabilities(self, item: ClassifierInput) -> Scores:
        """Calibrated probabilities for simple, moderate, complex."""
        return softmax(self.scores(item), self.temperature)

    def feature_probabilities(self, found: Features) -> Scores:
        """Calibrated probabilities of features already extracted."""
        return softmax(self.feature_scores(found), self.temperature)

    def to_json(self) -> str:
        """The model file: stable key order and rounded weights, so the same training, the same bytes."""
        data = {
            "format": MODEL_FORMAT,
            "labels": [label.value for label in LABELS],
            "features": self.features.to_dict(),
            "temperature": round(self.temperature, 6),
            "bias": [round(b, 6) for b in self.bias],
            "training": dict(self.training),
            "weights": {name: [round(w, 5) for w in row] for name, row in sorted(self.weights.items())},
        }
        return json.dumps(data, ensure_ascii=False, separators=(",", ":")) + "\n"


def softmax(scores: Scores, temperature: float = 1.0) -> Scores:
    top = max(scores)
    e0, e1, e2 = (math.exp((s - top) / temperature) for s in scores)
    total = e0 + e1 + e2
    return e0 / total, e1 / total, e2 / total


class _ModelFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    format: int
    labels: list[Label]
    features: FeatureConfig
    temperature: float = Field(gt=0)
    bias: tuple[float, float, float]
    training: dict[str, Any] = {}
    weights: dict[str, tuple[float, float, float]]


def parse_model(text: str, source: str) -> LocalModel:
    """Read a model file's text; `ConfigError` (naming `source`) if it is not one."""
    try:
        raw = _ModelFile.model_validate_json(text)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(root)"
        raise ConfigError(f"{source}: not a local classifier model ({where}: {first['msg']})") from None
    if raw.format != MODEL_FORMAT or tuple(raw.labels) != LABELS:
        raise ConfigError(f"{source}: unsupported model format {raw.format} or label order {raw.labels}")
    return LocalModel(raw.weights, raw.bias, raw.temperature, raw.features, raw.training)


def model_version(data: bytes) -> str:
    """A model's version: its file's hash, so a retrained model never reuses cached labels."""
    return "local-" + hashlib.sha256(data).hexdigest()[:12]


class LocalClassifier:
    """Labels requests with a `LocalModel`: no tokens, no network, a few microseconds a request."""

    def __init__(self, model: LocalModel, version: str) -> None:
        self.model = model
        self.version = version

    @classmethod
    def from_file(cls, path: Path | str | None = None) -> LocalClassifier:
        """Load a model file; None loads the one shipped in the package."""
        if path is None:
            data = resources.files("claude_router").joinpath(MODEL_RESOURCE).read_bytes()
            source = f"claude_router/{MODEL_RESOURCE}"
        else:
            source = str(path)
            try:
                data = Path(path).expanduser().read_bytes()
            except OSError as exc:
                raise ConfigError(f"local classifier model {source}: {exc.strerror or exc}") from None
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise ConfigError(f"{source}: not a local classifier model (not UTF-8)") from None
        return cls(parse_model(text, source), model_version(data))

    def predict(self, item: ClassifierInput) -> Decision:
        """The label, synchronously (the model never waits on anything)."""
        start = time.perf_counter()
        probabilities = self.model.probabilities(item)
        best = max(range(len(LABELS)), key=probabilities.__getitem__)
        return Decision(
            label=LABELS[best],
            confidence=probabilities[best],
            source=ClassifierSource.LOCAL,
            latency_s=time.perf_counter() - start,
        )

    async def classify(self, item: ClassifierInput) -> Decision:
        return self.predict(item)

    async def aclose(self) -> None:
        """Nothing to release; present so wrappers can close any classifier alike."""


__all__ = ["MODEL_RESOURCE", "LocalClassifier", "LocalModel", "model_version", "parse_model", "softmax"]
