"""Learning from your own traffic: retrain the local model on the LLM classifier's labels in the ledger.

The cascade asks the LLM classifier about the requests the local model is unsure of, and the
gateway keeps each answer as an example (`classify.capture`, `ledger.examples`). `retrain`:

1. reads the examples oldest first and holds back the newest `validation_share` (20%) for
   validation: a model is judged on traffic that came after everything it learned from;
2. trains a candidate on the base training set (the labelled prompts the packaged model was
   trained on) plus the older examples, each example counting `user_weight` times: as many times
   as it takes for the examples to weigh as much as the base set, at most `max_user_weight` (5).
   Few examples are then the only evidence of the user's traffic and count for more; many examples
   count for themselves; the cap keeps a few dozen labels from overriding 2,750 prompts;
3. scores the candidate and the current model on the validation examples: agreement with the LLM
   classifier's labels, and the cost-weighted error (`error_weights`);
4. stores the candidate in the model registry, and makes it the active model only when it is
   better on both figures. Otherwise the current model stays active (the candidate can still be
   chosen by hand with `claude-router model use`).

The cost-weighted error prices each mistake from the price sheet. A tier's unit is what a
reference request (1,000 input and 300 output tokens) costs on that tier's model, relative to
Haiku's (1 : 20 : 40 for Haiku, Sonnet and Opus on the packaged sheet). A request routed above
the tier it needs wastes the difference (money). A request routed below it is charged the needed
tier's whole price: its answer is taken as lost and the work must be bought again on the right
tier (quality); so under-routing a moderate request (20) costs more than sending a simple one to
Sonnet (19). The error is the sum over the validation examples divided by what routing each one
right would cost.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..catalog.pricing import TIERS, PriceTable, Tier
from ..classify.capture import input_from_json
from ..classify.features import FeatureConfig, FeatureExtractor, Features
from ..classify.local import LocalClassifier, LocalModel
from ..classify.registry import ModelRegistry
from ..ledger import SqlLedger
from ..ledger.examples import ExampleStore, StoredExample
from ..types import LABELS, Label, TokenUsage
from .dataset import DatasetError, LabelledPrompt
from .train import Encoded, TrainSettings, train_encoded

#: The request each tier is priced on for the cost-weighted error (its tiers' ratio is what counts).
REFERENCE_USAGE = TokenUsage(input_tokens=1_000, output_tokens=300)


@dataclass(frozen=True, slots=True)
class LearnSettings:
    validation_share: float = 0.2  # the newest examples, held back to judge the candidate
    min_examples: int = 50  # examples needed before a retrain is tried
    max_user_weight: float = 5.0
    train: TrainSettings = field(default_factory=TrainSettings)

    def __post_init__(self) -> None:
        if not 0.0 < self.validation_share < 1.0:
            raise ValueError("validation_share must be between 0 and 1")


@dataclass(frozen=True, slots=True)
class ErrorCosts:
    """What each routing mistake costs, in units of a Haiku request (see the module docstring)."""

    price: Mapping[Label, float]  # the tier each label routes to, priced on `REFERENCE_USAGE`

    @classmethod
    def of(cls, prices: PriceTable) -> ErrorCosts:
        unit = {tier: prices.what_if(REFERENCE_USAGE, tier) for tier in TIERS}
        haiku = unit[Tier.HAIKU]
        return cls({label: float(unit[Tier.for_label(label)] / haiku) for label in LABELS})

    def cost(self, needed: Label, routed: Label) -> float:
        """Above the tier needed: the money wasted; below it: the needed tier's whole price."""
        if routed.rank > needed.rank:
            return self.price[routed] - self.price[needed]
        if routed.rank < needed.rank:
            return self.price[needed]
        return 0.0


@dataclass(frozen=True, slots=True)
class Scored:
    """How a model's labels compare with the LLM classifier's on the validation examples."""

    examples: int
    agreement: float
    cost_weighted_error: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "examples": self.examples,
            "agreement": round(self.agreement, 4),
            "cost_weighted_error": round(self.cost_weighted_error, 4),
        }


def score(predicted: Sequence[Label], labels: Sequence[Label], costs: ErrorCosts) -> Scored:
    """Agreement with `labels`, and the cost of the mistakes as a share of routing every one right."""
    if not labels:
        return Scored(0, 0.0, 0.0)
    pairs = list(zip(labels, predicted, strict=True))
    agree = sum(needed is routed for needed, routed in pairs)
    wasted = sum(costs.cost(needed, routed) for needed, routed in pairs)
    ideal = sum(costs.price[needed] for needed in labels)
    return Scored(len(labels), agree / len(labels), wasted / ideal)


def predict(model: LocalModel, found: Features) -> Label:
    """The most probable label (the cascade's local label without thresholds)."""
    probabilities = model.feature_probabilities(found)
    return LABELS[max(range(len(LABELS)), key=probabilities.__getitem__)]


@dataclass(frozen=True, slots=True)
class Readable:
    """A stored example as a model of one feature reading sees it."""

    label: Label
    features: Features


def read_example(row: StoredExample, config: FeatureConfig, extract: FeatureExtractor) -> Readable | None:
    """`row` under `config`'s reading: its stored features when they were read the same way, else
    re-read from its kept input; None when neither is possible (or the row is damaged)."""
    try:
        label = Label(row.label)
        if row.features_version == config.version:
            return Readable(label, Features.from_json(row.features))
        if row.input is not None:
            return Readable(label, extract(input_from_json(row.input)))
    except ValueError:
        return None
    return None


@dataclass(frozen=True, slots=True)
class RetrainReport:
    """What `retrain` did and why."""

    examples: int  # in the ledger
    unreadable: int  # stored under another feature reading without their input, or damaged
    train_examples: int
    validation_examples: int
    base_examples: int
    user_weight: float
    current_id: str
    current: Scored
    candidate_id: str | None = None  # None: no candidate was trained
    candidate: Scored | None = None
    replaced: bool = False
    reason: str = ""
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "examples": self.examples,
            "unreadable": self.unreadable,
            "train_examples": self.train_examples,
            "validation_examples": self.validation_examples,
            "base_examples": self.base_examples,
            "user_weight": round(self.user_weight, 3),
            "current": {"id": self.current_id, **self.current.to_dict()},
            "candidate": None
            if self.candidate is None
            else {"id": self.candidate_id, **self.candidate.to_dict()},
            "replaced": self.replaced,
            "reason": self.reason,
            "seconds": round(self.seconds, 1),
        }


def user_weight(base: int, user: int, cap: float) -> float:
    """How much each user example counts: enough for the examples to weigh as much as the base set,
    between 1 and `cap`."""
    if user == 0 or base == 0:
        return 1.0
    return min(cap, max(1.0, base / user))


def split(
    rows: Sequence[StoredExample], share: float, config: FeatureConfig, current: FeatureConfig
) -> tuple[list[Readable], list[tuple[Readable, Readable]]]:
    """The older rows as a new model (reading with `config`) trains on them, and the newest `share`
    as both the new model and the current one (reading with `current`) see them. Rows a model
    cannot read are left out (of validation: for both, so both are scored on the same rows)."""
    extract, current_extract = FeatureExtractor(config), FeatureExtractor(current)
    ordered = sorted(rows, key=lambda r: (r.created_at, r.id))
    held = math.ceil(len(ordered) * share)
    older, newest = ordered[: len(ordered) - held], ordered[len(ordered) - held :]
    training = [r for r in (read_example(row, config, extract) for row in older) if r is not None]
    validation = []
    for row in newest:
        mine, theirs = read_example(row, config, extract), read_example(row, current, current_extract)
        if mine is not None and theirs is not None:
            validation.append((mine, theirs))
    return training, validation


def retrain(
    rows: Sequence[StoredExample],
    base: Sequence[LabelledPrompt],
    current: LocalClassifier,
    current_id: str,
    registry: ModelRegistry,
    prices: PriceTable,
    settings: LearnSettings | None = None,
    *,
    activate: bool = True,
) -> RetrainReport:
    """Train a candidate on `base` and the older `rows`, keep it in `registry`, and make it active
    there when it beats `current` on the newest rows (see the module docstring)."""
    settings = settings or LearnSettings()
    started = time.perf_counter()
    config = FeatureConfig.default()
    extract = FeatureExtractor(config)
    training, validation = split(rows, settings.validation_share, config, current.model.features)
    unreadable = len(rows) - len(training) - len(validation)
    costs = ErrorCosts.of(prices)
    labels = [mine.label for mine, _ in validation]
    current_score = score([predict(current.model, t.features) for _, t in validation], labels, costs)
    weight = user_weight(len(base), len(training), settings.max_user_weight)
    report = RetrainReport(
        examples=len(rows),
        unreadable=unreadable,
        train_examples=len(training),
        validation_examples=len(validation),
        base_examples=len(base),
        user_weight=weight,
        current_id=current_id,
        current=current_score,
    )
    usable = len(training) + len(validation)
    if usable < settings.min_examples or not validation:
        reason = f"{usable} usable examples in the ledger; a retrain needs at least {settings.min_examples}"
        return _done(report, started, reason=reason)
    encoded = [Encoded(extract(item.item), item.label.rank) for item in base]
    encoded += [Encoded(r.features, r.label.rank, weight) for r in training]
    try:
        result = train_encoded(encoded, settings.train, config)
    except DatasetError as exc:
        return _done(report, started, reason=f"no candidate trained: {exc.message}")
    candidate = result.model
    candidate_score = score([predict(candidate, m.features) for m, _ in validation], labels, costs)
    summary = dict(candidate.training) | {
        "base_examples": len(base),
        "ledger_examples": len(training),
        "user_weight": round(weight, 3),
        "validation": candidate_score.to_dict() | {"against": current_id, "theirs": current_score.to_dict()},
    }
    stored = LocalModel(candidate.weights, candidate.bias, candidate.temperature, config, summary)
    candidate_id = registry.save(stored)
    better = (
        candidate_score.agreement > current_score.agreement
        and candidate_score.cost_weighted_error < current_score.cost_weighted_error
    )
    if better and activate:
        registry.use(candidate_id)
    reason = (
        "better on both agreement and cost-weighted error"
        if better
        else "not better on both agreement and cost-weighted error: the current model stays"
    )
    return _done(
        report,
        started,
        candidate_id=candidate_id,
        candidate=candidate_score,
        replaced=better and activate,
        reason=reason,
    )


async def ledger_examples(url: str) -> list[StoredExample]:
    """Every example in the ledger at `url` (migrated first), oldest first."""
    store = await SqlLedger.open(url)
    try:
        return await ExampleStore(store.engine).rows()
    finally:
        await store.close()


def _done(report: RetrainReport, started: float, **changes: Any) -> RetrainReport:
    return dataclasses.replace(report, seconds=time.perf_counter() - started, **changes)


__all__ = [
    "REFERENCE_USAGE",
    "ErrorCosts",
    "LearnSettings",
    "Readable",
    "RetrainReport",
    "Scored",
    "ledger_examples",
    "predict",
    "read_example",
    "retrain",
    "score",
    "split",
    "user_weight",
]
