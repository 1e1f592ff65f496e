"""Per-prompt quality of a weak and a strong model on public benchmarks (RouteLLM's evaluation data).

Three benchmarks, read from one folder (see its SOURCE.md): MMLU (`mmlu/mmlu_<subject>.csv`,
correctness per model), GSM8K (`gsm8k_responses.csv`, correctness per model) and MT-Bench
(`question.jsonl` and the GPT-4 judge's 1-10 scores in `judgements.jsonl`, averaged over a
question's two turns). Prompts listed as contaminated (`eval_prompt` in the *contam*.jsonl files)
are dropped, as the original evaluation does.
"""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from .dataset import DatasetError

WEAK_MODEL = "mistralai/Mixtral-8x7B-Instruct-v0.1"
STRONG_MODEL = "gpt-4-1106-preview"


@dataclass(frozen=True, slots=True)
class Scored:
    """One prompt, its group (MMLU subject, MT-Bench category) and each model's quality on it.

    `id` names it as the labels files do: `routellm/<csv file>-<data row>` (`routellm/gsm8k-<row>`
    for GSM8K), `mt_bench-<question id>` for MT-Bench.
    """

    prompt: str
    group: str
    weak: float
    strong: float
    id: str = ""


def _jsonl(path: Path) -> Iterator[dict[str, object]]:
    try:
        with path.open(encoding="utf-8") as lines:
            for number, line in enumerate(lines, start=1):
                if line.strip():
                    try:
                        yield json.loads(line)
                    except json.JSONDecodeError as exc:
                        raise DatasetError(f"{path}, line {number}: not valid JSON ({exc.msg})") from None
    except FileNotFoundError:
        raise DatasetError(f"routing data file not found: {path}") from None


def contaminated(path: Path) -> frozenset[str]:
    """The evaluation prompts that overlap router training data."""
    return frozenset(str(row["eval_prompt"]) for row in _jsonl(path))


def _correctness(
    path: Path, group: str, drop: frozenset[str], limit: int | None, id_prefix: str
) -> list[Scored]:
    rows: list[Scored] = []
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            for number, row in enumerate(csv.DictReader(handle)):
                if limit is not None and len(rows) >= limit:
                    break
                if row["prompt"] in drop:
                    continue
                weak, strong = row[WEAK_MODEL] == "True", row[STRONG_MODEL] == "True"
                rows.append(Scored(row["prompt"], group, float(weak), float(strong), f"{id_prefix}-{number}"))
    except FileNotFoundError:
        raise DatasetError(f"routing data file not found: {path}") from None
    except KeyError as exc:
        raise DatasetError(f"{path}: no column {exc.args[0]!r}") from None
    return rows


def load_mmlu(folder: Path, limit_per_subject: int | None = None) -> list[Scored]:
    drop = contaminated(folder / "contaminated_prompts.jsonl")
    files = sorted((folder / "mmlu").glob("mmlu_*.csv"))
    if not files:
        raise DatasetError(f"no MMLU files (mmlu/mmlu_*.csv) under {folder}")
    rows: list[Scored] = []
    for path in files:
        subject = path.stem.removeprefix("mmlu_")
        rows.extend(_correctness(path, subject, drop, limit_per_subject, f"routellm/{path.stem}"))
    return rows


def load_gsm8k(folder: Path, limit: int | None = None) -> list[Scored]:
    drop = contaminated(folder / "gsm_contam.jsonl")
    return _correctness(folder / "gsm8k_responses.csv", "gsm8k", drop, limit, "routellm/gsm8k")


def load_mt_bench(folder: Path) -> list[Scored]:
    """Each question's first turn, and each model's judge score averaged over both turns."""
    drop = contaminated(folder / "mt_contam.jsonl")
    scores: dict[tuple[int, str], list[float]] = defaultdict(list)
    for row in _jsonl(folder / "judgements.jsonl"):
        score = float(str(row["score"]))
        if score >= 0:  # -1: the judge gave no score
            scores[(int(str(row["question_id"])), str(row["model"]))].append(score)
    rows: list[Scored] = []
    for question in _jsonl(folder / "question.jsonl"):
        turns = question.get("turns")
        if not isinstance(turns, list) or not turns:
            raise DatasetError(
                f"{folder / 'question.jsonl'}: question {question.get('question_id')} has no turns"
            )
        qid, first = int(str(question["question_id"])), str(turns[0])
        weak, strong = scores.get((qid, WEAK_MODEL)), scores.get((qid, STRONG_MODEL))
        if first in drop or first.strip() in drop or not weak or not strong:
            continue
        category, weak_mean, strong_mean = (
            str(question["category"]),
            sum(weak) / len(weak),
            sum(strong) / len(strong),
        )
        rows.append(Scored(first, category, weak_mean, strong_mean, f"mt_bench-{qid}"))
    return rows


__all__ = ["STRONG_MODEL", "WEAK_MODEL", "Scored", "contaminated", "load_gsm8k", "load_mmlu", "load_mt_bench"]
