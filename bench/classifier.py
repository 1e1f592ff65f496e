"""The local classifier against a length-only baseline, side by side on the held-out prompts.

    .venv/bin/python bench/classifier.py [--train data/labels/train.jsonl]
                                         [--heldout data/labels/heldout.jsonl] [--rounds 7]
                                         [--litellm-python /tmp/litellm-venv/bin/python]

Each contender is a name and a function from `ClassifierInput` to `Label`, fitted on the training
file only and scored on the held-out file (never trained on): accuracy and µs per prompt (best of
`--rounds` timed passes, so another process's burst does not count). The length-only baseline
labels by the prompt's character count, with the two thresholds that maximise its accuracy on the
training file. Ratios are taken against it, measured in the same run.

LiteLLM's rule-based `complexity_router` (its tiers mapped to ours, REASONING as complex) runs
in LiteLLM's own environment, never this package's: `--litellm-python` (or
$CLAUDE_ROUTER_BENCH_LITELLM_PYTHON) names that environment's interpreter, e.g. after
`python -m venv /tmp/litellm-venv && /tmp/litellm-venv/bin/pip install litellm`. Without one,
its row is skipped with a message. Its time is measured in that process, by the same method.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from claude_router.classify.base import ClassifierInput
from claude_router.classify.local import LocalClassifier
from claude_router.evaluate.dataset import LabelledPrompt, load_labelled
from claude_router.types import LABELS, Label

LABELS_DIR = Path(__file__).resolve().parents[1] / "data" / "labels"
LITELLM_HELPER = Path(__file__).resolve().parent / "_litellm_complexity.py"
LITELLM_ENV = "CLAUDE_ROUTER_BENCH_LITELLM_PYTHON"

Predict = Callable[[ClassifierInput], Label]


@dataclass(frozen=True, slots=True)
class Result:
    name: str
    accuracy: float
    us_per_prompt: float


def _length(item: ClassifierInput) -> int:
    return len(item.text) + len(item.system or "")


def fit_length_baseline(items: Sequence[LabelledPrompt]) -> tuple[int, int]:
    """Thresholds (a, b): simple below a characters, complex from b, moderate between; best on `items`."""
    ordered = sorted(items, key=lambda i: _length(i.item))
    lengths = [_length(i.item) for i in ordered]
    # prefix[k][n]: prompts of label k among the n shortest
    prefix = [[0] * (len(ordered) + 1) for _ in LABELS]
    for n, item in enumerate(ordered):
        for k in range(len(LABELS)):
            prefix[k][n + 1] = prefix[k][n] + (item.label.rank == k)
    total = len(ordered)
    best, cuts = -1, (0, 0)
    for i in range(total + 1):
        for j in range(i, total + 1):
            correct = prefix[0][i] + prefix[1][j] - prefix[1][i] + prefix[2][total] - prefix[2][j]
            if correct > best:
                best, cuts = correct, (i, j)

    def threshold(n: int) -> int:
        return lengths[n] if n < total else lengths[-1] + 1

    return threshold(cuts[0]), threshold(cuts[1])


def length_baseline(items: Sequence[LabelledPrompt]) -> Predict:
    short, long = fit_length_baseline(items)

    def predict(item: ClassifierInput) -> Label:
        size = len(item.text) + len(item.system or "")
        return Label.SIMPLE if size < short else Label.COMPLEX if size >= long else Label.MODERATE

    return predict


def local_classifier(_: Sequence[LabelledPrompt]) -> Predict:
    """The packaged model (trained on the same training file by `claude-router train`)."""
    classifier = LocalClassifier.from_file()
    return lambda item: classifier.predict(item).label


def measure(name: str, predict: Predict, heldout: Sequence[LabelledPrompt], rounds: int) -> Result:
    items = [i.item for i in heldout]
    correct = sum(predict(i.item) is i.label for i in heldout)
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for item in items:
            predict(item)
        best = min(best, time.perf_counter() - start)
    return Result(name, correct / len(heldout), best / len(items) * 1e6)


def litellm_complexity_router(python: str, heldout: Sequence[LabelledPrompt], rounds: int) -> Result | str:
    """LiteLLM's row, from its own interpreter; a message saying why when it cannot run."""
    items = [{"prompt": i.prompt, "system": i.system} for i in heldout]
    try:
        done = subprocess.run(
            [python, str(LITELLM_HELPER), "--rounds", str(rounds)],
            input=json.dumps(items),
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"cannot run {python}: {exc}"
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return f"litellm is not importable with {python} ({last})"
    answer = json.loads(done.stdout)
    correct = sum(Label(label) is item.label for label, item in zip(answer["labels"], heldout, strict=True))
    return Result("litellm-complexity", correct / len(heldout), float(answer["us_per_prompt"]))


CONTENDERS: dict[str, Callable[[Sequence[LabelledPrompt]], Predict]] = {
    "length-only": length_baseline,
    "local": local_classifier,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", type=Path, default=LABELS_DIR / "train.jsonl")
    parser.add_argument("--heldout", type=Path, default=LABELS_DIR / "heldout.jsonl")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--litellm-python", default=os.environ.get(LITELLM_ENV), help="litellm's interpreter")
    args = parser.parse_args()
    train, heldout = load_labelled(args.train), load_labelled(args.heldout)
    results = [measure(name, fit(train), heldout, args.rounds) for name, fit in CONTENDERS.items()]
    skipped = f"no interpreter with litellm given (--litellm-python or ${LITELLM_ENV})"
    if args.litellm_python:
        row = litellm_complexity_router(args.litellm_python, heldout, args.rounds)
        if isinstance(row, Result):
            results.append(row)
        else:
            skipped = row
    if len(results) == len(CONTENDERS):
        print(f"litellm-complexity skipped: {skipped}")
    base = results[0]
    print(f"{len(heldout)} held-out prompts (fitted on {len(train)}); ratios against {base.name}")
    print(f"{'classifier':<20}{'accuracy':>10}{'× acc':>8}{'µs/prompt':>12}{'× time':>9}")
    for r in results:
        print(
            f"{r.name:<20}{r.accuracy:>10.1%}{r.accuracy / base.accuracy:>8.2f}"
            f"{r.us_per_prompt:>12.1f}{r.us_per_prompt / base.us_per_prompt:>9.0f}"
        )


if __name__ == "__main__":
    main()
