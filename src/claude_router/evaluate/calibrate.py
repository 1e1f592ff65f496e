"""Choose the local classifier's cut-offs so each tier gets the share of traffic asked for.

Given the user's own prompts (JSONL, `{"prompt", "system"?}` a line; a label, if present, is
ignored) and target shares for the expensive tiers (`opus=0.10,sonnet=0.40`), the cut-offs are
quantiles of the classifier's probabilities on that traffic: complex above the `opus` quantile
of P(complex), then moderate above the quantile of P(moderate or complex) that gives `sonnet`
among the rest (see `config.LabelThresholds`).

The shares reached on future traffic will differ from the ones asked for, because that traffic
is another sample; a bootstrap over the given prompts says by how much (a 95% interval).
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..catalog.pricing import Tier
from ..classify.base import ClassifierInput, classifier_input
from ..classify.local import LocalClassifier, Scores
from ..classify.thresholds import thresholded_label
from ..config import LabelThresholds
from ..errors import ConfigError
from ..types import LABELS, Label
from .classifier_eval import percentile
from .dataset import DatasetError, read_text_lines

#: Target names as a user writes them, and the label each one routes.
TIER_LABELS = {Tier.for_label(label).value: label for label in LABELS}


class _Line(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    prompt: str | None = Field(default=None, min_length=1)
    system: str | None = None
    request: dict[str, Any] | None = None  # a whole Messages API body, read as the router reads it


def load_traffic(path: Path) -> list[ClassifierInput]:
    """Prompts (or request bodies) from a JSONL file; `DatasetError` naming a line that is neither."""
    lines = read_text_lines(path, "traffic file")
    items = []
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            line = _Line.model_validate(json.loads(raw))
        except (json.JSONDecodeError, ValidationError):
            line = None
        if line is not None and line.request is not None:
            items.append(classifier_input(line.request))
        elif line is not None and line.prompt:
            items.append(ClassifierInput(line.prompt, line.system or None))
        else:
            raise DatasetError(f"{path}, line {number}: not a JSON object with a non-empty prompt")
    if not items:
        raise DatasetError(f"{path}: no prompts")
    return items


def parse_targets(text: str) -> dict[Label, float]:
    """`opus=0.10,sonnet=0.40` -> {complex: 0.10, moderate: 0.40}; the cheapest tier takes the rest."""
    targets: dict[Label, float] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        match = re.fullmatch(r"(\w+)\s*=\s*([0-9.]+)", part)
        label = TIER_LABELS.get(match.group(1).lower()) if match else None
        if match is None or label is None or label is Label.SIMPLE:
            raise ConfigError(f"target {part!r}: expected opus=<share> and/or sonnet=<share>")
        share = float(match.group(2))
        if not 0 <= share <= 1:
            raise ConfigError(f"target {part!r}: a share is between 0 and 1")
        targets[label] = share
    if sum(targets.values()) > 1:
        raise ConfigError("target shares add up to more than 1")
    return targets


def _cut(values: Sequence[float], count: int) -> float:
    """The smallest cut-off that at most `count` of `values` reach (ties may add a few)."""
    if count <= 0 or not values:
        return 1.0 + 1e-9  # above every probability: never reached
    ordered = sorted(values, reverse=True)
    return ordered[min(count, len(ordered)) - 1]


def choose_thresholds(probabilities: Sequence[Scores], targets: dict[Label, float]) -> LabelThresholds:
    n = len(probabilities)
    complex_cut = _cut([p[2] for p in probabilities], round(targets.get(Label.COMPLEX, 0.0) * n))
    rest = [p[1] + p[2] for p in probabilities if p[2] < complex_cut]
    moderate_cut = _cut(rest, round(targets.get(Label.MODERATE, 0.0) * n))
    return LabelThresholds(complex=complex_cut, moderate=moderate_cut)


@dataclass(frozen=True, slots=True)
class ShareEstimate:
    label: Label
    share: float  # on the given traffic
    low: float  # 95% bootstrap interval
    high: float


def shares(labels: Sequence[Label]) -> dict[Label, float]:
    return {label: labels.count(label) / len(labels) for label in LABELS}


def bootstrap(labels: Sequence[Label], rounds: int = 1000, seed: int = 0) -> list[ShareEstimate]:
    """Each tier's share on the traffic and its 95% interval over `rounds` resamples."""
    rng = random.Random(seed)
    n = len(labels)
    drawn = [shares(rng.choices(labels, k=n)) for _ in range(rounds)]
    observed = shares(labels)
    return [
        ShareEstimate(
            label,
            observed[label],
            percentile([d[label] for d in drawn], 2.5),
            percentile([d[label] for d in drawn], 97.5),
        )
        for label in LABELS
    ]


@dataclass(frozen=True, slots=True)
class Calibration:
    thresholds: LabelThresholds
    estimates: list[ShareEstimate]
    prompts: int


def calibrate(
    classifier: LocalClassifier, traffic: Sequence[ClassifierInput], targets: dict[Label, float]
) -> Calibration:
    probabilities = [classifier.model.probabilities(item) for item in traffic]
    thresholds = choose_thresholds(probabilities, targets)
    labels = [thresholded_label(p, thresholds) for p in probabilities]
    return Calibration(thresholds, bootstrap(labels), len(traffic))


_SECTION = re.compile(r"^\s*\[\s*classifier\s*\.\s*thresholds\s*\]\s*(#.*)?$")
_HEADER = re.compile(r"^\s*\[")


def with_thresholds(toml_text: str, thresholds: LabelThresholds) -> str:
    """`toml_text` with its `[classifier.thresholds]` table replaced (or added at the end)."""
    kept: list[str] = []
    skipping = False
    for line in toml_text.splitlines():
        if _SECTION.match(line):
            skipping = True
            continue
        if skipping and _HEADER.match(line):
            skipping = False
        if not skipping:
            kept.append(line)
    while kept and not kept[-1].strip():
        kept.pop()
    table = [
        "[classifier.thresholds]  # written by claude-router calibrate",
        f"complex = {thresholds.complex!r}",
        f"moderate = {thresholds.moderate!r}",
    ]
    return "\n".join([*kept, *([""] if kept else []), *table]) + "\n"


__all__ = [
    "TIER_LABELS",
    "Calibration",
    "ShareEstimate",
    "bootstrap",
    "calibrate",
    "choose_thresholds",
    "load_traffic",
    "parse_targets",
    "with_thresholds",
]
