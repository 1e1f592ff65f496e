"""Training the local classifier, in pure Python, on a few hundred to a few thousand labelled prompts.

Multinomial logistic regression fitted by stochastic gradient descent with per-feature adaptive
steps (AdaGrad) and L2 on the weights a prompt touches. Classes are weighted by inverse frequency
so a rare label is not drowned out. The temperature that calibrates the confidence is fitted on
out-of-fold scores (k-fold cross-validation on the training set), then the final model is fitted
on all of it. Training is deterministic: the same data and settings give the same model file.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from ..classify.features import FeatureConfig, FeatureExtractor, Features
from ..classify.local import LocalModel, Scores, softmax
from ..types import LABELS
from .dataset import DatasetError, LabelledPrompt, folds

_LOG_T_RANGE = (math.log(0.05), math.log(20.0))


@dataclass(frozen=True, slots=True)
class TrainSettings:
    epochs: int = 12
    learning_rate: float = 0.5
    l2: float = 1e-2  # strong: weights that generalise across sources beat ones fitted to phrasing
    min_count: int = 2  # a feature seen in fewer training prompts is dropped
    folds: int = 5  # for the temperature; 1 disables calibration (temperature 1)
    seed: int = 7
    balanced: bool = True  # weight classes by inverse frequency


@dataclass(frozen=True, slots=True)
class _Example:
    groups: tuple[tuple[float, tuple[int, ...]], ...]  # (weight of each feature, feature indices)
    label: int
    weight: float = 1.0  # how much this example counts, beside its class weight


@dataclass(frozen=True, slots=True)
class Encoded:
    """One training example already read by the feature extractor, with its label and weight."""

    features: Features
    label: int  # the label's rank
    weight: float = 1.0


@dataclass(frozen=True, slots=True)
class TrainResult:
    model: LocalModel
    cv_accuracy: float | None  # out-of-fold accuracy on the training set
    cv_ece: float | None  # out-of-fold expected calibration error, after temperature scaling


def _vocabulary(encoded: Sequence[Encoded], min_count: int) -> list[str]:
    counts: Counter[str] = Counter()
    for example in encoded:
        features = example.features
        for group in features.groups:
            counts.update(group)
        counts.update(features.shape)
    return sorted(name for name, n in counts.items() if n >= min_count)


def _examples(encoded: Sequence[Encoded], index: dict[str, int]) -> list[_Example]:
    out = []
    for example in encoded:
        features = example.features
        groups = [
            (1.0 / math.sqrt(len(g)), tuple(index[n] for n in g if n in index)) for g in features.groups
        ]
        groups.append((1.0, tuple(index[n] for n in features.shape if n in index)))
        out.append(_Example(tuple(groups), example.label, example.weight))
    return out


def _fit(
    examples: Sequence[_Example], size: int, settings: TrainSettings
) -> tuple[list[list[float]], Scores]:
    """Weights (one list per label) and bias, by AdaGrad SGD on the softmax loss."""
    k = len(LABELS)
    weights = [[0.0] * size for _ in range(k)]
    squares = [[1e-8] * size for _ in range(k)]
    bias = [0.0] * k
    bias_squares = [1e-8] * k
    counts = [0.0] * k  # the weight of each class's examples
    for e in examples:
        counts[e.label] += e.weight
    total = sum(counts)
    class_weight = [total / (k * counts[c]) if settings.balanced and counts[c] else 1.0 for c in range(k)]
    rng = random.Random(settings.seed)
    order = list(range(len(examples)))
    lr, l2 = settings.learning_rate, settings.l2
    for _ in range(settings.epochs):
        rng.shuffle(order)
        for n in order:
            ex = examples[n]
            s0, s1, s2 = (
                bias[c] + sum(scale * sum(map(weights[c].__getitem__, idx)) for scale, idx in ex.groups)
                for c in range(k)
            )
            probs = softmax((s0, s1, s2))
            for c in range(k):
                g = (probs[c] - (1.0 if c == ex.label else 0.0)) * class_weight[ex.label] * ex.weight
                bias_squares[c] += g * g
                bias[c] -= lr * g / math.sqrt(bias_squares[c])
                w, sq = weights[c], squares[c]
                for scale, indices in ex.groups:
                    value = g * scale
                    for i in indices:
                        grad = value + l2 * w[i]
                        sq[i] += grad * grad
                        w[i] -= lr * grad / math.sqrt(sq[i])
    return weights, (bias[0], bias[1], bias[2])


def _model(
    examples: Sequence[_Example], vocabulary: Sequence[str], settings: TrainSettings, features: FeatureConfig
) -> LocalModel:
    weights, bias = _fit(examples, len(vocabulary), settings)
    rows = {
        name: (weights[0][i], weights[1][i], weights[2][i])
        for i, name in enumerate(vocabulary)
        if max(abs(weights[0][i]), abs(weights[1][i]), abs(weights[2][i])) >= 1e-4
    }
    return LocalModel(rows, bias, 1.0, features)


def nll(scores: Sequence[Scores], labels: Sequence[int], temperature: float) -> float:
    """Mean negative log-likelihood of the labels under softmax(scores / temperature)."""
    total = 0.0
    for s, y in zip(scores, labels, strict=True):
        total -= math.log(max(softmax(s, temperature)[y], 1e-12))
    return total / len(labels)


def fit_temperature(scores: Sequence[Scores], labels: Sequence[int]) -> float:
    """The temperature minimising the NLL (golden-section search on its logarithm)."""
    lo, hi = _LOG_T_RANGE
    ratio = (math.sqrt(5) - 1) / 2
    for _ in range(40):
        a, b = hi - ratio * (hi - lo), lo + ratio * (hi - lo)
        if nll(scores, labels, math.exp(a)) < nll(scores, labels, math.exp(b)):
            hi = b
        else:
            lo = a
    return math.exp((lo + hi) / 2)


def expected_calibration_error(
    confidences: Sequence[float], correct: Sequence[bool], bins: int = 10
) -> float:
    """ECE: the gap between confidence and accuracy, averaged over equal-width confidence bins."""
    total = len(confidences)
    error = 0.0
    for b in range(bins):
        lo, hi = b / bins, (b + 1) / bins
        members = [i for i, c in enumerate(confidences) if lo < c <= hi or (b == 0 and c == 0.0)]
        if members:
            accuracy = sum(correct[i] for i in members) / len(members)
            confidence = sum(confidences[i] for i in members) / len(members)
            error += len(members) / total * abs(accuracy - confidence)
    return error


def train(
    items: Sequence[LabelledPrompt],
    settings: TrainSettings | None = None,
    features: FeatureConfig | None = None,
) -> TrainResult:
    """Fit a `LocalModel` on `items`; `DatasetError` if they cannot train one."""
    features = features or FeatureConfig.default()
    extract = FeatureExtractor(features)
    return train_encoded([Encoded(extract(item.item), item.label.rank) for item in items], settings, features)


def train_encoded(
    encoded: Sequence[Encoded],
    settings: TrainSettings | None = None,
    features: FeatureConfig | None = None,
) -> TrainResult:
    """Fit a `LocalModel` on examples already read with `features` (the default reading when None),
    each counting as its `weight`; `DatasetError` if they cannot train one."""
    settings = settings or TrainSettings()
    features = features or FeatureConfig.default()
    labels = [example.label for example in encoded]
    missing = [label.value for label in LABELS if label.rank not in labels]
    if missing:
        raise DatasetError(f"training needs examples of every label; none for: {', '.join(missing)}")
    cv_accuracy = cv_ece = None
    temperature = 1.0
    k = min(settings.folds, len(encoded))
    if k >= 2:
        oof: list[Scores] = [(0.0, 0.0, 0.0)] * len(encoded)
        for held in folds(len(encoded), k, settings.seed):
            held_set = set(held)
            kept = [encoded[i] for i in range(len(encoded)) if i not in held_set]
            vocabulary = _vocabulary(kept, settings.min_count)
            index = {name: i for i, name in enumerate(vocabulary)}
            fold_model = _model(_examples(kept, index), vocabulary, settings, features)
            for i in held:
                oof[i] = fold_model.feature_scores(encoded[i].features)
        temperature = fit_temperature(oof, labels)
        calibrated = [softmax(s, temperature) for s in oof]
        predicted = [max(range(len(LABELS)), key=p.__getitem__) for p in calibrated]
        correct = [p == y for p, y in zip(predicted, labels, strict=True)]
        cv_accuracy = sum(correct) / len(encoded)
        cv_ece = expected_calibration_error([max(p) for p in calibrated], correct)
    vocabulary = _vocabulary(encoded, settings.min_count)
    index = {name: i for i, name in enumerate(vocabulary)}
    model = _model(_examples(encoded, index), vocabulary, settings, features)
    training = {
        "examples": len(encoded),
        "per_label": {label.value: labels.count(label.rank) for label in LABELS},
        "cv_accuracy": None if cv_accuracy is None else round(cv_accuracy, 4),
        "cv_ece": None if cv_ece is None else round(cv_ece, 4),
        "epochs": settings.epochs,
        "l2": settings.l2,
        "min_count": settings.min_count,
    }
    calibrated_model = LocalModel(model.weights, model.bias, temperature, features, training)
    return TrainResult(calibrated_model, cv_accuracy, cv_ece)


__all__ = [
    "Encoded",
    "TrainResult",
    "TrainSettings",
    "expected_calibration_error",
    "fit_temperature",
    "nll",
    "train",
    "train_encoded",
]
