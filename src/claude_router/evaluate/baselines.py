"""What the local classifier is compared with, measured in the same run on the same prompts.

- The length-only baseline labels by characters (text and system prompt): simple below one
  threshold, complex from a second, moderate between, with the two thresholds that maximise its
  accuracy on the prompts it is fitted on. It is what "the router learned something" must beat.
- LiteLLM's rule-based `complexity_router`, run in LiteLLM's own interpreter (`--litellm-python`,
  or $CLAUDE_ROUTER_BENCH_LITELLM_PYTHON) on `litellm_complexity.py`, its tiers mapped to ours.
  It is never imported here: without that interpreter its row is skipped with the reason.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..classify.base import ClassifierInput
from ..types import LABELS, Label
from .dataset import LabelledPrompt

LITELLM_ENV = "CLAUDE_ROUTER_BENCH_LITELLM_PYTHON"
LITELLM_SCRIPT = Path(__file__).resolve().with_name("litellm_complexity.py")


def _size(item: ClassifierInput) -> int:
    return len(item.text) + len(item.system or "")


@dataclass(frozen=True, slots=True)
class LengthBaseline:
    """Simple below `short` characters, complex from `long`, moderate between."""

    short: int
    long: int

    @classmethod
    def fit(cls, items: Sequence[LabelledPrompt]) -> LengthBaseline:
        """The two thresholds with the most correct labels on `items` (ties: the first found)."""
        ordered = sorted(items, key=lambda i: _size(i.item))
        sizes = [_size(i.item) for i in ordered]
        total = len(ordered)
        # prefix[k][n]: prompts of label k among the n shortest
        prefix = [[0] * (total + 1) for _ in LABELS]
        for n, item in enumerate(ordered):
            for k in range(len(LABELS)):
                prefix[k][n + 1] = prefix[k][n] + (item.label.rank == k)
        best, cuts = -1, (0, 0)
        for i in range(total + 1):
            for j in range(i, total + 1):
                correct = prefix[0][i] + prefix[1][j] - prefix[1][i] + prefix[2][total] - prefix[2][j]
                if correct > best:
                    best, cuts = correct, (i, j)

        def threshold(n: int) -> int:
            return sizes[n] if n < total else sizes[-1] + 1

        return cls(threshold(cuts[0]), threshold(cuts[1]))

    def predict(self, item: ClassifierInput) -> Label:
        size = _size(item)
        return Label.SIMPLE if size < self.short else Label.COMPLEX if size >= self.long else Label.MODERATE


@dataclass(frozen=True, slots=True)
class LiteLLMRun:
    labels: list[Label]
    us_per_prompt: float  # best of the timed passes, measured in LiteLLM's own process


def litellm_labels(python: str, items: Sequence[LabelledPrompt], rounds: int = 3) -> LiteLLMRun | str:
    """LiteLLM's labels for `items` from its own interpreter, or a sentence saying why not."""
    payload = json.dumps([{"prompt": i.prompt, "system": i.system} for i in items])
    try:
        done = subprocess.run(
            [python, str(LITELLM_SCRIPT), "--rounds", str(rounds)],
            input=payload,
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"cannot run {python}: {exc}"
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return f"litellm is not importable with {python} ({last})"
    answer = json.loads(done.stdout)
    return LiteLLMRun([Label(label) for label in answer["labels"]], float(answer["us_per_prompt"]))


__all__ = ["LITELLM_ENV", "LITELLM_SCRIPT", "LengthBaseline", "LiteLLMRun", "litellm_labels"]
