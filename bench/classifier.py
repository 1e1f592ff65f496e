"""The local classifier against a length-only baseline (and LiteLLM's router), on both held-out sets.

    .venv/bin/python bench/classifier.py [--set NAME=PATH ...] [--train PATH ...] [--rounds 7]
                                         [--litellm-python /tmp/litellm-venv/bin/python]

By default the two held-out sets of `data/labels`: the in-distribution split of the hand-written
prompts, and the second held-out set, public prompts from sources never trained on (read from the
shared collections, `--public-data` or $CLAUDE_ROUTER_PUBLIC_DATA). Each contender is scored on
each set: accuracy, and time per prompt: the best of `--rounds` whole passes, and the 95th
percentile of single calls over every pass after the first. The length-only baseline is fitted
on the training files only; ratios are taken against it, measured in the same run.

LiteLLM's rule-based `complexity_router` (its tiers mapped to ours, REASONING as complex) runs in
LiteLLM's own environment, never this package's: `--litellm-python` (or
$CLAUDE_ROUTER_BENCH_LITELLM_PYTHON) names that environment's interpreter, e.g. after
`python -m venv /tmp/litellm-venv && /tmp/litellm-venv/bin/pip install litellm`. Without one, its
row is skipped with a message. Its time is measured in that process (whole passes only).
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from claude_router.classify.base import ClassifierInput
from claude_router.classify.local import LocalClassifier
from claude_router.evaluate.baselines import LITELLM_ENV, LengthBaseline, litellm_labels
from claude_router.evaluate.classifier_eval import percentile
from claude_router.evaluate.comparison import NamedSet, default_sets
from claude_router.evaluate.dataset import LabelledPrompt
from claude_router.evaluate.public_data import load_dataset
from claude_router.types import Label

LABELS_DIR = Path(__file__).resolve().parents[1] / "data" / "labels"

Predict = Callable[[ClassifierInput], Label]


@dataclass(frozen=True, slots=True)
class Result:
    name: str
    accuracy: float
    us_per_prompt: float  # mean over a whole pass (best pass)
    p95_us: float | None = None  # 95th percentile of single calls, after a warm-up pass


def measure(name: str, predict: Predict, items: Sequence[LabelledPrompt], rounds: int) -> Result:
    """Accuracy, the best whole pass per prompt, and the 95th percentile of single calls: every call
    of every pass but the first (a warm-up), each prompt following a different one, as in traffic."""
    inputs = [i.item for i in items]
    correct = sum(predict(i.item) is i.label for i in items)
    best_pass = float("inf")
    calls: list[float] = []
    for round_ in range(rounds):
        start = time.perf_counter()
        for item in inputs:
            began = time.perf_counter()
            predict(item)
            if round_:
                calls.append(time.perf_counter() - began)
        best_pass = min(best_pass, time.perf_counter() - start)
    p95 = percentile(calls, 95) * 1e6 if calls else None
    return Result(name, correct / len(items), best_pass / len(inputs) * 1e6, p95)


def litellm_row(python: str, items: Sequence[LabelledPrompt], rounds: int) -> Result | str:
    run = litellm_labels(python, items, rounds)
    if isinstance(run, str):
        return run
    correct = sum(label is item.label for label, item in zip(run.labels, items, strict=True))
    return Result("litellm-complexity", correct / len(items), run.us_per_prompt)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", action="append", default=[], help="NAME=PATH of a labelled set")
    parser.add_argument(
        "--train", action="append", type=Path, default=[], help="files to fit the baseline on"
    )
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--public-data", type=Path, default=None)
    parser.add_argument("--litellm-python", default=os.environ.get(LITELLM_ENV), help="litellm's interpreter")
    args = parser.parse_args()
    sets, train_paths = default_sets(LABELS_DIR)
    if args.set:
        sets = [NamedSet.parse(s) for s in args.set]
    train = load_dataset(args.train or train_paths, args.public_data)
    baseline = LengthBaseline.fit(train)
    classifier = LocalClassifier.from_file()
    contenders: dict[str, Predict] = {
        "length-only": baseline.predict,
        "local": lambda item: classifier.predict(item).label,
    }
    print(f"length-only fitted on {len(train)} training prompts: simple < {baseline.short} chars <= moderate")
    print(f"  < {baseline.long} chars <= complex; model {classifier.version}")
    for named in sets:
        items = load_dataset(named.paths, args.public_data)
        results = [measure(name, predict, items, args.rounds) for name, predict in contenders.items()]
        skipped = f"no interpreter with litellm given (--litellm-python or ${LITELLM_ENV})"
        if args.litellm_python:
            row = litellm_row(args.litellm_python, items, args.rounds)
            if isinstance(row, Result):
                results.append(row)
            else:
                skipped = row
        base = results[0]
        print(f"\n{named.name}: {len(items)} prompts; ratios against {base.name}")
        print(f"{'classifier':<20}{'accuracy':>10}{'× acc':>8}{'µs/prompt':>12}{'× time':>9}{'p95 µs':>10}")
        for r in results:
            p95 = "-" if r.p95_us is None else f"{r.p95_us:.1f}"
            print(
                f"{r.name:<20}{r.accuracy:>10.1%}{r.accuracy / base.accuracy:>8.2f}"
                f"{r.us_per_prompt:>12.1f}{r.us_per_prompt / base.us_per_prompt:>9.0f}{p95:>10}"
            )
        if len(results) == len(contenders):
            print(f"litellm-complexity skipped: {skipped}")


if __name__ == "__main__":
    main()
