"""Training the local model: it learns, it is deterministic, its temperature and ECE are right."""

from __future__ import annotations

import math
import random

import pytest

from claude_router.classify.features import FeatureConfig, FeatureExtractor
from claude_router.classify.local import LocalClassifier, parse_model, softmax
from claude_router.evaluate.dataset import DatasetError, LabelledPrompt
from claude_router.evaluate.train import (
    Encoded,
    TrainSettings,
    expected_calibration_error,
    fit_temperature,
    train,
    train_encoded,
)
from claude_router.types import Label

_WORDS = {
    Label.SIMPLE: ["sentiment", "yes", "no", "language", "intent", "spam", "extract", "label"],
    Label.MODERATE: ["write", "function", "summarise", "sql", "reply", "json", "review", "tests"],
    Label.COMPLEX: ["design", "prove", "architecture", "tradeoffs", "regulatory", "synthesis", "strategy"],
}
_FILLER = ["the", "this", "customer", "order", "report", "team", "data", "please", "our", "a"]


def _synthetic(n: int, seed: int) -> list[LabelledPrompt]:
    """Prompts whose label shows only through a few label words among shared filler."""
    rng = random.Random(seed)
    items = []
    for i in range(n):
        label = (Label.SIMPLE, Label.MODERATE, Label.COMPLEX)[i % 3]
        words = rng.sample(_WORDS[label], 2) + rng.sample(_FILLER, 6)
        rng.shuffle(words)
        items.append(LabelledPrompt(" ".join(words), label))
    return items


@pytest.fixture(scope="module")
def small_settings() -> TrainSettings:
    return TrainSettings(epochs=6, folds=3)


def test_learns_labels_it_can_tell_apart(small_settings: TrainSettings) -> None:
    result = train(_synthetic(150, seed=1), small_settings)
    classifier = LocalClassifier(result.model, "test")
    unseen = _synthetic(60, seed=2)

    accuracy = sum(classifier.predict(i.item).label is i.label for i in unseen) / len(unseen)

    assert accuracy >= 0.9
    assert result.cv_accuracy is not None
    assert result.cv_accuracy >= 0.9
    assert result.model.training["per_label"] == {"simple": 50, "moderate": 50, "complex": 50}


def test_the_same_data_gives_the_same_model_file(small_settings: TrainSettings) -> None:
    items = _synthetic(90, seed=3)

    first = train(items, small_settings).model.to_json()
    second = train(items, small_settings).model.to_json()

    assert first == second


def test_a_model_file_reads_back_to_the_same_predictions(small_settings: TrainSettings) -> None:
    model = train(_synthetic(90, seed=4), small_settings).model
    loaded = parse_model(model.to_json(), "model.json")

    for item in _synthetic(12, seed=5):
        expected = model.probabilities(item.item)
        assert loaded.probabilities(item.item) == pytest.approx(expected, abs=1e-4)
    assert loaded.temperature == pytest.approx(model.temperature, rel=1e-5)


def test_examples_already_read_train_the_same_model(small_settings: TrainSettings) -> None:
    items = _synthetic(60, seed=8)
    read = FeatureExtractor(FeatureConfig.default())
    encoded = [Encoded(read(i.item), i.label.rank) for i in items]

    expected = train(items, small_settings).model.to_json()
    assert train_encoded(encoded, small_settings).model.to_json() == expected


def test_a_heavier_example_pulls_the_model_its_way(small_settings: TrainSettings) -> None:
    read = FeatureExtractor(FeatureConfig.default())
    encoded = [Encoded(read(i.item), i.label.rank) for i in _synthetic(60, seed=9)]
    odd = read(LabelledPrompt("zebra quokka", Label.SIMPLE).item)  # words no other prompt has
    simple, complex_ = Label.SIMPLE.rank, Label.COMPLEX.rank

    def fitted(weight: float) -> float:
        disputed = [Encoded(odd, simple), Encoded(odd, simple), Encoded(odd, complex_, weight)] * 2
        model = train_encoded([*encoded, *disputed], small_settings).model
        return model.feature_probabilities(odd)[complex_]

    assert fitted(1.0) + 0.1 < fitted(6.0)


def test_one_fold_means_no_calibration(small_settings: TrainSettings) -> None:
    settings = TrainSettings(epochs=small_settings.epochs, folds=1)

    result = train(_synthetic(30, seed=6), settings)

    assert result.model.temperature == 1.0
    assert result.cv_accuracy is None


def test_every_label_is_needed() -> None:
    items = [i for i in _synthetic(30, seed=7) if i.label is not Label.COMPLEX]

    with pytest.raises(DatasetError, match="none for: complex"):
        train(items)


def test_fit_temperature_recovers_the_temperature_that_made_the_labels() -> None:
    rng = random.Random(11)
    scores = [(rng.gauss(0, 3), rng.gauss(0, 3), rng.gauss(0, 3)) for _ in range(4000)]
    labels = [rng.choices((0, 1, 2), weights=softmax(s, 2.0))[0] for s in scores]

    assert fit_temperature(scores, labels) == pytest.approx(2.0, rel=0.1)


def test_expected_calibration_error() -> None:
    assert expected_calibration_error([1.0, 1.0, 1.0], [True, True, True]) == 0.0
    assert expected_calibration_error([0.9] * 4, [True, False, True, False]) == pytest.approx(0.4)
    assert math.isclose(expected_calibration_error([0.55, 0.95], [True, True]), (0.45 + 0.05) / 2)
