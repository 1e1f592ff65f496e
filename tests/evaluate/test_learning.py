"""Learning from the ledger: the gate, the held-back newest examples, the error costs, and the commands."""

from __future__ import annotations

import asyncio
import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from claude_router.catalog.pricing import PriceTable, Tier
from claude_router.classify.base import ClassifierInput
from claude_router.classify.capture import LabelledExample
from claude_router.classify.features import FeatureConfig, FeatureExtractor
from claude_router.classify.registry import PACKAGED, ModelRegistry
from claude_router.evaluate.commands import train
from claude_router.evaluate.dataset import LabelledPrompt
from claude_router.evaluate.learn_commands import model_app
from claude_router.evaluate.learning import (
    REFERENCE_USAGE,
    ErrorCosts,
    LearnSettings,
    retrain,
    score,
    user_weight,
)
from claude_router.evaluate.train import TrainSettings
from claude_router.evaluate.train import train as train_model
from claude_router.ledger import SqlLedger
from claude_router.ledger.examples import ExampleStore, StoredExample, example_row
from claude_router.types import LABELS, Label

T0 = datetime(2025, 3, 1, tzinfo=UTC)
FAST = TrainSettings(epochs=6, folds=2)
_WORDS = {
    Label.SIMPLE: ["sentiment", "yes", "language", "intent", "spam", "label"],
    Label.MODERATE: ["write", "function", "summarise", "sql", "reply", "review"],
    Label.COMPLEX: ["design", "prove", "architecture", "tradeoffs", "regulatory", "strategy"],
}
_FILLER = ["the", "this", "customer", "order", "report", "team", "data", "please"]
# The user's own jargon: words the base set never has, labelled by the LLM classifier.
_JARGON = {Label.SIMPLE: ["zorp", "quix"], Label.MODERATE: ["blen", "vosk"], Label.COMPLEX: ["kril", "dwam"]}


def _prompts(n: int, seed: int, words: dict[Label, list[str]]) -> list[LabelledPrompt]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        label = (Label.SIMPLE, Label.MODERATE, Label.COMPLEX)[i % 3]
        picked = rng.sample(words[label], 2) + rng.sample(_FILLER, 4)
        rng.shuffle(picked)
        out.append(LabelledPrompt(" ".join(picked), label))
    return out


def _examples(items: list[LabelledPrompt], *, keep_prompt: bool = False) -> list[dict[str, object]]:
    reader = FeatureExtractor(FeatureConfig.default())
    version = FeatureConfig.default().version
    return [
        example_row(
            LabelledExample(
                created_at=T0 + timedelta(minutes=n),
                label=item.label,
                labeller="claude-haiku-4-5",
                features_version=version,
                item=item.item,
                keep_prompt=keep_prompt,
                reader=reader,
            )
        )
        for n, item in enumerate(items)
    ]


def _ledger(path: Path, items: list[LabelledPrompt]) -> Path:
    """A SQLite ledger holding `items` as LLM-labelled examples, a minute apart."""

    async def write() -> None:
        store = await SqlLedger.open(path)
        try:
            await ExampleStore(store.engine).write(_examples(items))
        finally:
            await store.close()

    asyncio.run(write())
    return path


def _base(path: Path) -> Path:
    lines = [json.dumps({"prompt": i.prompt, "label": i.label.value}) for i in _prompts(60, 1, _WORDS)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A data home whose active model was trained on the base set alone."""
    home = tmp_path / "home"
    monkeypatch.setenv("CLAUDE_ROUTER_HOME", str(home))
    for name in ("CLAUDE_ROUTER_CONFIG", "ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    registry = ModelRegistry(home / "models")
    registry.use(registry.save(train_model(_prompts(60, 1, _WORDS), FAST).model))
    return home


def _app() -> typer.Typer:
    app = typer.Typer()
    app.command("train")(train)
    app.add_typer(model_app, name="model")
    return app


def _retrain(ledger: Path, base: Path) -> dict[str, object]:
    args = ["train", "--from-ledger", "--ledger", str(ledger), "--data", str(base)]
    args += ["--epochs", "6", "--folds", "2", "--min-examples", "10", "--json"]
    result = CliRunner().invoke(_app(), args)
    assert result.exit_code == 0, result.output
    report: dict[str, object] = json.loads(result.output)
    return report


def test_a_better_model_replaces_the_active_one(home: Path, tmp_path: Path) -> None:
    registry = ModelRegistry(home / "models")
    before = registry.active()
    ledger = _ledger(tmp_path / "ledger.db", _prompts(60, 2, _JARGON))

    report = _retrain(ledger, _base(tmp_path / "base.jsonl"))

    assert report["replaced"] is True
    candidate, current = report["candidate"], report["current"]
    assert isinstance(candidate, dict)
    assert isinstance(current, dict)
    assert candidate["agreement"] > current["agreement"]
    assert candidate["cost_weighted_error"] < current["cost_weighted_error"]
    assert (report["train_examples"], report["validation_examples"]) == (48, 12)
    assert registry.active() == candidate["id"] != before
    trained = registry.load().model.training
    assert trained["ledger_examples"] == 48
    assert trained["base_examples"] == 60


def test_a_model_no_better_is_stored_but_not_made_active(home: Path, tmp_path: Path) -> None:
    registry = ModelRegistry(home / "models")
    before = registry.active()
    # The traffic is the base set's own kind, which the active model already labels right.
    ledger = _ledger(tmp_path / "ledger.db", _prompts(60, 3, _WORDS))

    report = _retrain(ledger, _base(tmp_path / "base.jsonl"))

    current = report["current"]
    assert isinstance(current, dict)
    assert current["agreement"] == 1.0
    assert report["replaced"] is False
    assert registry.active() == before
    assert report["candidate"] is not None
    assert registry.ids()[-1] == report["candidate"]["id"]  # type: ignore[index]


def test_too_few_examples_trains_nothing(home: Path, tmp_path: Path) -> None:
    ledger = _ledger(tmp_path / "ledger.db", _prompts(6, 4, _JARGON))

    report = _retrain(ledger, _base(tmp_path / "base.jsonl"))

    assert report["candidate"] is None
    assert report["replaced"] is False
    assert "needs at least 10" in str(report["reason"])


def test_use_and_rollback_are_one_command_each(home: Path, tmp_path: Path) -> None:
    registry = ModelRegistry(home / "models")
    first = registry.active()
    other = registry.save(train_model(_prompts(45, 5, _WORDS), FAST).model)
    runner = CliRunner()

    used = runner.invoke(_app(), ["model", "use", other])
    assert used.exit_code == 0, used.output
    assert registry.active() == other
    listed = runner.invoke(_app(), ["model", "list"])
    assert listed.exit_code == 0, listed.output
    assert other in listed.output
    assert PACKAGED in listed.output

    back = runner.invoke(_app(), ["model", "rollback"])
    assert back.exit_code == 0, back.output
    assert registry.active() == first
    assert runner.invoke(_app(), ["model", "rollback"]).exit_code == 0  # to the packaged model
    assert registry.active() == PACKAGED
    none_left = runner.invoke(_app(), ["model", "rollback"])
    assert none_left.exit_code == 2
    assert "nothing to roll back to" in none_left.output
    unknown = runner.invoke(_app(), ["model", "use", "local-000000000000"])
    assert unknown.exit_code == 2
    assert "no local model 'local-000000000000'" in unknown.output


def test_the_router_starts_on_the_active_model(home: Path) -> None:
    from claude_router.classify.factory import local_predictor
    from claude_router.config import ClassifierSettings

    registry = ModelRegistry(home / "models")
    active = local_predictor(ClassifierSettings())
    assert active.version == registry.active()  # a stored model's id is its version

    registry.use(PACKAGED)
    assert local_predictor(ClassifierSettings()).version != active.version


def test_error_costs_weigh_money_wasted_and_answers_lost() -> None:
    costs = ErrorCosts({Label.SIMPLE: 1.0, Label.MODERATE: 3.0, Label.COMPLEX: 5.0})

    assert costs.cost(Label.SIMPLE, Label.MODERATE) == 2.0  # money wasted
    assert costs.cost(Label.SIMPLE, Label.COMPLEX) == 4.0
    assert costs.cost(Label.MODERATE, Label.SIMPLE) == 3.0  # the answer is bought again
    assert costs.cost(Label.COMPLEX, Label.MODERATE) == 5.0
    assert costs.cost(Label.MODERATE, Label.MODERATE) == 0.0

    got = score([Label.SIMPLE, Label.MODERATE], [Label.MODERATE, Label.MODERATE], costs)
    assert (got.agreement, got.cost_weighted_error) == (0.5, 3.0 / 6.0)


def test_error_costs_come_from_the_tiers_prices() -> None:
    table = PriceTable.default()
    unit = {label: table.what_if(REFERENCE_USAGE, Tier.for_label(label)) for label in LABELS}

    costs = ErrorCosts.of(table)

    assert costs.price == {label: float(unit[label] / unit[Label.SIMPLE]) for label in LABELS}
    assert costs.price[Label.SIMPLE] == 1.0 < costs.price[Label.MODERATE] < costs.price[Label.COMPLEX]


def test_the_newest_examples_are_held_back(tmp_path: Path) -> None:
    base = _prompts(30, 6, _WORDS)
    rows = [
        StoredExample(n + 1, **{k: v for k, v in row.items() if k != "key"})  # type: ignore[arg-type]
        for n, row in enumerate(_examples(_prompts(30, 7, _JARGON)))
    ]
    shuffled = random.Random(8).sample(rows, len(rows))
    registry = ModelRegistry(tmp_path / "models")
    current = registry.load(PACKAGED)
    settings = LearnSettings(min_examples=10, train=FAST)

    report = retrain(
        shuffled, base, current, PACKAGED, registry, PriceTable.default(), settings, activate=False
    )

    assert (report.train_examples, report.validation_examples) == (24, 6)
    assert registry.active() == PACKAGED  # activate=False only stores the candidate
    trained_on = registry.load(report.candidate_id).model.training
    assert trained_on["validation"]["examples"] == 6


def test_user_examples_weigh_up_to_the_base_set_and_at_most_five_times() -> None:
    assert user_weight(2750, 100, 5.0) == 5.0
    assert user_weight(2750, 1000, 5.0) == 2.75
    assert user_weight(2750, 5000, 5.0) == 1.0
    assert user_weight(0, 50, 5.0) == 1.0


def test_stored_inputs_are_read_again_under_another_reading() -> None:
    from claude_router.evaluate.learning import read_example

    item = ClassifierInput("Design a regulatory strategy")
    (row,) = _examples([LabelledPrompt(item.text, Label.COMPLEX)], keep_prompt=True)
    stored = StoredExample(1, **{k: v for k, v in row.items() if k != "key"})  # type: ignore[arg-type]
    other = FeatureConfig(head_chars=10)

    assert read_example(stored, other, FeatureExtractor(other)) is not None
    fields = {k: v for k, v in row.items() if k not in ("key", "input")}
    without_input = StoredExample(2, **fields, input=None)  # type: ignore[arg-type]
    assert read_example(without_input, other, FeatureExtractor(other)) is None
