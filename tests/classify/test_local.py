"""The packaged local classifier: the demo's labels, held-out accuracy, loading, and bounded work."""

from __future__ import annotations

import json
import math
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from claude_router.classify.base import Classifier, ClassifierInput, classifier_input
from claude_router.classify.features import FeatureConfig, FeatureExtractor
from claude_router.classify.local import MODEL_RESOURCE, LocalClassifier, model_version
from claude_router.errors import ConfigError
from claude_router.evaluate.dataset import load_labelled
from claude_router.types import NO_USAGE, ClassifierSource, Label

LABELS_DIR = Path(__file__).resolve().parents[2] / "data" / "labels"


@pytest.fixture(scope="module")
def classifier() -> LocalClassifier:
    return LocalClassifier.from_file()


def _demo_requests() -> list[dict[str, Any]]:
    raw = resources.files("claude_router").joinpath("data/demo_requests.json").read_text(encoding="utf-8")
    requests: list[dict[str, Any]] = json.loads(raw)
    return requests


@pytest.mark.parametrize("request_", _demo_requests(), ids=lambda r: r["task_id"])
async def test_demo_requests_get_their_expected_labels(
    classifier: LocalClassifier, request_: dict[str, Any]
) -> None:
    decision = await classifier.classify(classifier_input(request_))

    assert decision.label == Label(request_["expected_label"])
    assert decision.source is ClassifierSource.LOCAL
    assert decision.usage == NO_USAGE
    assert decision.model is None


def test_demo_prompts_are_not_in_the_training_set() -> None:
    demo = {m["content"] for r in _demo_requests() for m in r["messages"]}
    trained = {item.prompt for item in load_labelled(LABELS_DIR / "train.jsonl")}

    assert not demo & trained


def test_heldout_accuracy_reaches_the_target(classifier: LocalClassifier) -> None:
    heldout = load_labelled(LABELS_DIR / "heldout.jsonl")

    correct = sum(classifier.predict(item.item).label is item.label for item in heldout)

    assert correct / len(heldout) >= 0.85


def test_heldout_never_overlaps_training() -> None:
    train = {(i.prompt, i.system) for i in load_labelled(LABELS_DIR / "train.jsonl")}
    heldout = {(i.prompt, i.system) for i in load_labelled(LABELS_DIR / "heldout.jsonl")}

    assert train
    assert heldout
    assert not train & heldout


def test_is_a_classifier_whose_version_is_the_model_files_hash(classifier: LocalClassifier) -> None:
    data = resources.files("claude_router").joinpath(MODEL_RESOURCE).read_bytes()

    assert isinstance(classifier, Classifier)
    assert classifier.version == model_version(data)
    assert classifier.version.startswith("local-")


def test_a_changed_model_file_gets_another_version(tmp_path: Path) -> None:
    data = json.loads(resources.files("claude_router").joinpath(MODEL_RESOURCE).read_text(encoding="utf-8"))
    data["temperature"] = data["temperature"] * 2
    changed = tmp_path / "model.json"
    changed.write_text(json.dumps(data), encoding="utf-8")

    loaded = LocalClassifier.from_file(changed)

    assert loaded.version == model_version(changed.read_bytes())
    assert loaded.version != LocalClassifier.from_file().version
    assert loaded.model.temperature == pytest.approx(data["temperature"])


def test_confidence_is_the_top_calibrated_probability(classifier: LocalClassifier) -> None:
    item = ClassifierInput("Translate 'good morning' into Italian.")

    probabilities = classifier.model.probabilities(item)
    decision = classifier.predict(item)

    assert math.isclose(sum(probabilities), 1.0)
    assert decision.confidence == max(probabilities)
    assert decision.label is Label(("simple", "moderate", "complex")[probabilities.index(max(probabilities))])


def test_length_alone_does_not_decide(classifier: LocalClassifier) -> None:
    paragraph = (
        "Dear partner, our quarterly newsletter covers the warehouse move, the new returns portal, "
        "holiday opening hours and the results of the customer survey, with thanks to every team. "
    )
    long_but_simple = "Is the following email spam? Answer yes or no.\n\n" + paragraph * 40
    short_but_complex = (
        "Design a geo-replicated, linearizable lock service and prove it stays safe under partitions."
    )

    assert classifier.predict(ClassifierInput(long_but_simple)).label is Label.SIMPLE
    assert classifier.predict(ClassifierInput(short_but_complex)).label is Label.COMPLEX
    assert len(long_but_simple) > 20 * len(short_but_complex)


def test_a_huge_prompt_reads_a_bounded_number_of_features() -> None:
    extract = FeatureExtractor(FeatureConfig.default())
    words = " ".join(f"word{i}" for i in range(50_000))

    small = extract(ClassifierInput(words[:2_000]))
    huge = extract(ClassifierInput(words))

    assert sum(len(g) for g in huge.groups) <= sum(len(g) for g in small.groups) * 1.5


async def test_empty_and_tool_only_turns_still_get_a_label(classifier: LocalClassifier) -> None:
    empty = await classifier.classify(ClassifierInput(""))
    with_tools = await classifier.classify(ClassifierInput("What is 2 + 2?", has_tools=True))

    assert empty.label in Label
    assert with_tools.label in Label


def test_a_missing_model_file_is_a_clear_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"no-such-model\.json"):
        LocalClassifier.from_file(tmp_path / "no-such-model.json")


@pytest.mark.parametrize("content", [b"{not json", b'{"format": 1}', b"\xff\xfe not text"])
def test_a_malformed_model_file_is_a_clear_config_error(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "model.json"
    path.write_bytes(content)

    with pytest.raises(ConfigError, match=r"model\.json: not a local classifier model"):
        LocalClassifier.from_file(path)


def test_a_model_with_another_label_order_is_refused(tmp_path: Path) -> None:
    data = json.loads(resources.files("claude_router").joinpath(MODEL_RESOURCE).read_text(encoding="utf-8"))
    data["labels"] = ["complex", "moderate", "simple"]
    path = tmp_path / "model.json"
    path.write_text(json.dumps(data), encoding="utf-8")

    with pytest.raises(ConfigError, match="label order"):
        LocalClassifier.from_file(path)


def test_unspaced_scripts_are_read_as_character_pairs() -> None:
    extract = FeatureExtractor(FeatureConfig())

    names = extract(ClassifierInput("设计一个系统")).groups[0]

    assert {"cw:设计", "cw:计一", "cw:系统"} <= set(names)


def test_one_cue_group_fires_for_the_same_ask_in_several_languages() -> None:
    extract = FeatureExtractor(FeatureConfig.default())
    asks = [
        "Is this review positive? Answer yes or no.",
        "Cet avis est-il positif ? Réponds par oui ou non.",
        "Ist diese Bewertung positiv? Ja oder nein.",
        "这条评论是正面的吗？回答是或否。",
    ]

    for ask in asks:
        shape = extract(ClassifierInput(ask)).shape
        assert "cue-e:answer_format" in shape, ask
        assert "cue-e:judge" in shape, ask


def test_features_are_the_same_for_the_same_request() -> None:
    extract = FeatureExtractor(FeatureConfig.default())
    item = ClassifierInput("Write a SQL query for the top 10 customers.", system="You are a database expert.")

    assert extract(item) == extract(item)
    assert any(name.startswith("s:") for group in extract(item).groups for name in group)
    assert "sys:5" in extract(item).shape
