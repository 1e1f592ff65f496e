"""How well a router score splits traffic between a weak and a strong model (RouteLLM's method).

A router score says, per prompt, how much it needs the strong model. Sweeping a threshold over it
sends the top-scored share of prompts to the strong model and the rest to the weak one; the
quality reached at each strong share is the curve. From it:

- PGR at a share: (quality - weak) / (strong - weak), the part of the weak-to-strong gap recovered;
- APGR: the area under PGR over the strong share from 0 to 1 (random routing: 0.5);
- CPT(x): the smallest strong share whose PGR reaches x (random routing: x).

Prompts are split once (seeded) into a training and a held-out half. Every router is scored on
the held-out half; a router that learns anything learns it on the training half only. Tied
scores are credited with their mean gain, i.e. what a random order among them gives on average.
"""

from __future__ import annotations

import random
import tomllib
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from itertools import groupby
from pathlib import Path
from typing import Any

from ..classify.base import ClassifierInput
from ..classify.local import LocalClassifier
from .routing_data import Scored, load_gsm8k, load_mmlu, load_mt_bench

PGR_TARGETS = (0.5, 0.8, 0.95)
Score = Callable[[Scored], float]
#: A router is built from the training half and returns a score per prompt.
RouterBuilder = Callable[[Sequence[Scored]], Score]


@dataclass(frozen=True, slots=True)
class RouterFigures:
    router: str
    apgr: float
    cpt: dict[float, float | None]  # PGR target -> strong share needed (None: never reached)
    curve: list[tuple[float, float]]  # (strong share, quality) at every tenth of the traffic

    def to_dict(self) -> dict[str, Any]:
        return {
            "router": self.router,
            "apgr": round(self.apgr, 4),
            "cpt": {f"{t:.0%}": None if s is None else round(s, 4) for t, s in self.cpt.items()},
            "curve": [{"strong_share": s, "quality": round(q, 4)} for s, q in self.curve],
        }


PUBLISHED_RESOURCE = "routellm_published.toml"
_BEST_ROUTER = "best router in the paper's table"


@dataclass(frozen=True, slots=True)
class Published:
    """RouteLLM's own figures for a benchmark (see `routellm_published.toml` for the source)."""

    apgr: float
    cpt: dict[float, float | None] = field(default_factory=dict)  # PGR target -> strong share
    router: str = _BEST_ROUTER

    def to_dict(self) -> dict[str, Any]:
        cpt = {f"{t:.0%}": self.cpt.get(t) for t in PGR_TARGETS[:2]}
        return {"router": self.router, "apgr": self.apgr, "cpt": cpt}


def published_figures() -> dict[str, Published]:
    """RouteLLM's published figures by benchmark name, from the packaged data file."""
    raw = tomllib.loads(resources.files(__package__).joinpath(PUBLISHED_RESOURCE).read_text(encoding="utf-8"))
    figures = {}
    for benchmark, entry in raw.items():
        cpt = {t: entry.get(f"cpt_{round(t * 100)}") for t in PGR_TARGETS[:2]}
        router = str(entry.get("router", _BEST_ROUTER))
        figures[benchmark] = Published(float(entry["apgr"]), cpt, router)
    return figures


@dataclass(frozen=True, slots=True)
class BenchmarkFigures:
    benchmark: str
    train_prompts: int
    heldout_prompts: int
    weak_quality: float
    strong_quality: float
    routers: list[RouterFigures]
    published: Published | None = None  # RouteLLM's figures, printed beside ours

    def to_dict(self) -> dict[str, Any]:
        return {
            "benchmark": self.benchmark,
            "train_prompts": self.train_prompts,
            "heldout_prompts": self.heldout_prompts,
            "weak_quality": round(self.weak_quality, 4),
            "strong_quality": round(self.strong_quality, 4),
            "routers": [r.to_dict() for r in self.routers],
            "routellm_published": None if self.published is None else self.published.to_dict(),
        }


def quality_curve(items: Sequence[Scored], scores: Sequence[float]) -> list[float]:
    """Mean quality with the k best-scored prompts on the strong model, for k = 0..n."""
    n = len(items)
    ranked = sorted(zip(scores, items, strict=True), key=lambda pair: -pair[0])
    gains: list[float] = []
    for _, block in groupby(ranked, key=lambda pair: pair[0]):
        tied = [item.strong - item.weak for _, item in block]
        gains.extend([sum(tied) / len(tied)] * len(tied))
    total = sum(item.weak for item in items)
    curve = [total / n]
    for gain in gains:
        total += gain
        curve.append(total / n)
    return curve


def figures(name: str, curve: Sequence[float], weak: float, strong: float) -> RouterFigures:
    """APGR, CPTs and the decile curve from a quality curve (k = 0..n strong calls)."""
    n = len(curve) - 1
    gap = strong - weak
    pgr = [(q - weak) / gap if gap else 1.0 for q in curve]
    apgr = sum((pgr[k] + pgr[k + 1]) / 2 for k in range(n)) / n
    cpt = {t: next((k / n for k, p in enumerate(pgr) if p >= t - 1e-12), None) for t in PGR_TARGETS}
    deciles = [(d / 10, curve[round(d * n / 10)]) for d in range(11)]
    return RouterFigures(name, apgr, cpt, deciles)


def random_figures(weak: float, strong: float) -> RouterFigures:
    """Random routing's expected figures: quality linear in the strong share."""
    deciles = [(d / 10, weak + (strong - weak) * d / 10) for d in range(11)]
    return RouterFigures("random", 0.5, {t: t for t in PGR_TARGETS}, deciles)


def split(items: Sequence[Scored], seed: int) -> tuple[list[Scored], list[Scored]]:
    """(training half, held-out half), shuffled with `seed`."""
    order = list(items)
    random.Random(seed).shuffle(order)
    half = len(order) // 2
    return order[:half], order[half:]


# --- router scores ---------------------------------------------------------------------------


def oracle(_: Sequence[Scored]) -> Score:
    """Knows the answers: the upper bound, never a router."""
    return lambda item: item.strong - item.weak


def local_classifier(_: Sequence[Scored]) -> Score:
    """The packaged local classifier's expected tier (0 simple .. 1 complex). Its training set holds
    labelled prompts from the training half of this split only (seed 0), and no MT-Bench prompt."""
    model = LocalClassifier.from_file().model

    def score(item: Scored) -> float:
        _, moderate, complex_ = model.probabilities(ClassifierInput(item.prompt))
        return complex_ + moderate / 2

    return score


def prompt_length(_: Sequence[Scored]) -> Score:
    return lambda item: float(len(item.prompt))


def group_gain(train: Sequence[Scored]) -> Score:
    """The strong model's mean gain over the weak one in the prompt's group (MMLU subject, MT-Bench
    category), measured on the training half and shrunk toward the overall gain for small groups;
    ties within a group are broken by the local classifier's score."""
    overall = sum(i.strong - i.weak for i in train) / len(train)
    sums: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for item in train:
        sums[item.group][0] += item.strong - item.weak
        sums[item.group][1] += 1
    prior = 5.0  # prompts' worth of weight on the overall gain
    gains = {g: (total + prior * overall) / (count + prior) for g, (total, count) in sums.items()}
    tie_break = local_classifier(train)
    return lambda item: gains.get(item.group, overall) + 1e-6 * tie_break(item)


ROUTERS: dict[str, RouterBuilder] = {
    "local classifier": local_classifier,
    "prompt length": prompt_length,
    "group gain": group_gain,
    "oracle": oracle,
}

#: For a benchmark with one group (GSM8K), where the group gain says nothing.
UNGROUPED = {name: build for name, build in ROUTERS.items() if build is not group_gain}


def evaluate_benchmark(
    name: str, items: Sequence[Scored], seed: int = 0, routers: dict[str, RouterBuilder] | None = None
) -> BenchmarkFigures:
    train, heldout = split(items, seed)
    weak = sum(i.weak for i in heldout) / len(heldout)
    strong = sum(i.strong for i in heldout) / len(heldout)
    results = [random_figures(weak, strong)]
    for router, build in (routers or ROUTERS).items():
        score = build(train)
        results.append(figures(router, quality_curve(heldout, [score(i) for i in heldout]), weak, strong))
    published = published_figures().get(name)
    return BenchmarkFigures(name, len(train), len(heldout), weak, strong, results, published)


def evaluate_routing(folder: Path, *, seed: int = 0, limit: int | None = None) -> list[BenchmarkFigures]:
    """MMLU, GSM8K and MT-Bench; `limit` caps the rows read per MMLU subject and from GSM8K."""
    return [
        evaluate_benchmark("MMLU", load_mmlu(folder, limit), seed),
        evaluate_benchmark("GSM8K", load_gsm8k(folder, limit), seed, UNGROUPED),
        evaluate_benchmark("MT-Bench", load_mt_bench(folder), seed),
    ]


__all__ = [
    "PGR_TARGETS",
    "ROUTERS",
    "BenchmarkFigures",
    "Published",
    "RouterFigures",
    "evaluate_benchmark",
    "evaluate_routing",
    "figures",
    "published_figures",
    "quality_curve",
    "random_figures",
    "split",
]
