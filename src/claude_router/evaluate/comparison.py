"""A classifier against the baselines on named labelled sets, as ratios measured in the same run.

A set is a name and the files or folders holding it (`NAME=PATH`, or a path named after itself).
In this repository, with no set given, two are read: the in-distribution held-out split of the
hand-written prompts (`data/labels/heldout.jsonl`) and the second held-out set, public prompts
from sources the classifier never trains on (`data/labels/public/heldout`); the length baseline
is then fitted on their training counterparts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..types import Label
from .classifier_eval import ClassifierReport
from .dataset import DatasetError, LabelledPrompt

LABELS_DIR = Path("data") / "labels"
IN_DISTRIBUTION = "in-distribution"
SECOND_HELDOUT = "second held-out (public sources)"


@dataclass(frozen=True, slots=True)
class NamedSet:
    name: str
    paths: tuple[Path, ...]

    @classmethod
    def parse(cls, text: str) -> NamedSet:
        """`NAME=PATH` or `PATH` (named after itself)."""
        name, sep, path = text.partition("=")
        if sep and name and "/" not in name:
            return cls(name, (Path(path),))
        return cls(text, (Path(text),))


def default_sets(root: Path = LABELS_DIR) -> tuple[list[NamedSet], list[Path]]:
    """The two held-out sets and the training files of this repository's labelled data."""
    if not (root / "heldout.jsonl").is_file():
        raise DatasetError(f"no labelled sets given (--data) and none at {root}/heldout.jsonl")
    sets = [
        NamedSet(IN_DISTRIBUTION, (root / "heldout.jsonl",)),
        NamedSet(SECOND_HELDOUT, (root / "public" / "heldout",)),
    ]
    return sets, [root / "train.jsonl", root / "public" / "train"]


@dataclass(frozen=True, slots=True)
class Contender:
    """One way of labelling the set, and what it gets right and wrong."""

    name: str
    accuracy: float
    under_routing_rate: float  # sent below the tier the label needs
    over_routing_rate: float  # sent above it
    us_per_prompt: float | None = None

    @classmethod
    def of(
        cls, name: str, items: Sequence[LabelledPrompt], predicted: Sequence[Label], us: float | None = None
    ) -> Contender:
        n = len(items)
        gaps = [p.rank - i.label.rank for i, p in zip(items, predicted, strict=True)]
        return cls(name, gaps.count(0) / n, sum(g < 0 for g in gaps) / n, sum(g > 0 for g in gaps) / n, us)

    def to_dict(self, baseline: Contender) -> dict[str, Any]:
        data: dict[str, Any] = {
            "name": self.name,
            "accuracy": round(self.accuracy, 4),
            "accuracy_vs_length_baseline": round(self.accuracy / baseline.accuracy, 3),
            "under_routing_rate": round(self.under_routing_rate, 4),
            "over_routing_rate": round(self.over_routing_rate, 4),
        }
        if self.us_per_prompt is not None:
            data["us_per_prompt"] = round(self.us_per_prompt, 2)
        return data


@dataclass(frozen=True, slots=True)
class SetComparison:
    """The classifier's full report on one set, and every contender's figures beside it."""

    name: str
    report: ClassifierReport
    baseline_fit: str  # what the length baseline was fitted on
    contenders: list[Contender]  # the classifier, the length baseline, then any others
    skipped: dict[str, str] = field(default_factory=dict)  # contender -> why it did not run

    @property
    def baseline(self) -> Contender:
        return self.contenders[1]

    def to_dict(self) -> dict[str, Any]:
        data = {"set": self.name} | self.report.to_dict()
        data["comparison"] = {
            "length_baseline_fitted_on": self.baseline_fit,
            "contenders": [c.to_dict(self.baseline) for c in self.contenders],
            "skipped": dict(self.skipped),
        }
        return data


__all__ = [
    "IN_DISTRIBUTION",
    "LABELS_DIR",
    "SECOND_HELDOUT",
    "Contender",
    "NamedSet",
    "SetComparison",
    "default_sets",
]
