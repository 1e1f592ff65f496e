"""Choose the answer-quality cascade's threshold so it re-runs the share of answers asked for.

The input is recorded answers (JSONL, `{"request": <Messages API body>, "response": <Message>}`
a line, optionally with a human verdict `"escalate": true|false`, or `"label"` with the same
meaning). Each answer is scored offline by the cascade's local checks (never the judge: no
model call is made); the cascade re-runs an answer whose score is under the threshold.

The local scores are a few levels (1.0 less each failed check's penalty), so only some shares
are reachable: the threshold chosen is the one whose share on the recordings is nearest the
target (the cheaper one on a tie), placed halfway between two score levels so that a score in
between, unseen here, is not decided by a hair. As for the classifier, a bootstrap over the
recordings says how far the share on future traffic may stray (a 95% interval), and human
verdicts, where present, give the precision and recall of escalating at that threshold.
"""

from __future__ import annotations

import itertools
import json
import random
import re
import tomllib
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from anthropic.types import Message
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator
from rich.console import Console

from ..errors import ConfigError
from ..quality import LocalChecks
from .classifier_eval import percentile
from .dataset import DatasetError, describe_error, read_text_lines

#: "Escalate nothing": no score is under 0.
NEVER = 0.0
#: "Escalate every answer that is not perfect": the highest threshold the config accepts.
ALWAYS = 1.0


class _Line(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    request: dict[str, Any]
    response: Message
    escalate: bool | None = None
    label: bool | None = None

    @field_validator("request")
    @classmethod
    def _has_messages(cls, value: dict[str, Any]) -> dict[str, Any]:
        messages = value.get("messages")
        if not isinstance(messages, list) or not messages:
            raise ValueError("a Messages API body needs a non-empty messages list")
        return value

    @model_validator(mode="after")
    def _one_verdict(self) -> _Line:
        if None not in (self.escalate, self.label) and self.escalate != self.label:
            raise ValueError("escalate and label disagree")
        return self


@dataclass(frozen=True, slots=True)
class RecordedAnswer:
    params: Mapping[str, Any]
    message: Message
    escalate: bool | None = None  # the human verdict: should this answer have been re-run?


def load_answers(path: Path) -> list[RecordedAnswer]:
    """Recorded answers from a JSONL file; `DatasetError` naming the line if one is malformed."""
    lines = read_text_lines(path, "answers file")
    answers = []
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            line = _Line.model_validate(json.loads(raw))
        except json.JSONDecodeError as exc:
            raise DatasetError(f"{path}, line {number}: not JSON ({exc.msg})") from None
        except ValidationError as exc:
            raise DatasetError(f"{path}, line {number}: {describe_error(exc)}") from None
        verdict = line.escalate if line.escalate is not None else line.label
        answers.append(RecordedAnswer(line.request, line.response, verdict))
    if not answers:
        raise DatasetError(f"{path}: no recorded answers")
    return answers


def parse_share(value: float) -> float:
    if not 0 <= value <= 1:
        raise ConfigError(f"target escalation {value}: a share is between 0 and 1")
    return value


def choose_threshold(scores: Sequence[float], target: float) -> float:
    """The threshold whose share of `scores` under it is nearest `target` (the lower on a tie)."""
    levels = sorted(set(scores))
    # Escalating nothing, then every level up to levels[i], then (if reachable) everything.
    candidates = [NEVER]
    candidates += [round((low + high) / 2, 6) for low, high in itertools.pairwise(levels)]
    if levels and levels[-1] < ALWAYS:
        candidates.append(ALWAYS)
    n = len(scores)

    def share(threshold: float) -> float:
        return sum(score < threshold for score in scores) / n if n else 0.0

    return min(candidates, key=lambda t: (abs(share(t) - target), share(t)))


@dataclass(frozen=True, slots=True)
class ShareInterval:
    share: float  # on the recorded answers
    low: float  # 95% bootstrap interval
    high: float


def bootstrap_share(escalated: Sequence[bool], rounds: int = 1000, seed: int = 0) -> ShareInterval:
    """The share escalated and its 95% interval over `rounds` resamples."""
    rng = random.Random(seed)
    n = len(escalated)
    drawn = [sum(rng.choices(escalated, k=n)) / n for _ in range(rounds)]
    return ShareInterval(sum(escalated) / n, percentile(drawn, 2.5), percentile(drawn, 97.5))


@dataclass(frozen=True, slots=True)
class Agreement:
    """Escalation at the threshold against the human verdicts (answers that have one)."""

    verdicts: int
    true_positives: int
    escalated: int  # among the answers with a verdict
    should_escalate: int  # verdicts saying so

    @property
    def precision(self) -> float | None:
        return self.true_positives / self.escalated if self.escalated else None

    @property
    def recall(self) -> float | None:
        return self.true_positives / self.should_escalate if self.should_escalate else None

    @classmethod
    def of(cls, escalated: Sequence[bool], verdicts: Sequence[bool | None]) -> Agreement | None:
        pairs = [(e, v) for e, v in zip(escalated, verdicts, strict=True) if v is not None]
        if not pairs:
            return None
        return cls(
            verdicts=len(pairs),
            true_positives=sum(e and v for e, v in pairs),
            escalated=sum(e for e, _ in pairs),
            should_escalate=sum(v for _, v in pairs),
        )


@dataclass(frozen=True, slots=True)
class QualityCalibration:
    threshold: float
    target: float
    estimate: ShareInterval
    agreement: Agreement | None
    levels: dict[float, int]  # how many answers scored each value
    answers: int


def calibrate_quality(
    answers: Sequence[RecordedAnswer], target: float, checks: LocalChecks | None = None
) -> QualityCalibration:
    checks = checks or LocalChecks.load()
    scores = [_local_score(checks, answer) for answer in answers]
    threshold = choose_threshold(scores, target)
    escalated = [score < threshold for score in scores]
    return QualityCalibration(
        threshold=threshold,
        target=target,
        estimate=bootstrap_share(escalated),
        agreement=Agreement.of(escalated, [a.escalate for a in answers]),
        levels=dict(sorted(Counter(scores).items())),
        answers=len(answers),
    )


def _local_score(checks: LocalChecks, answer: RecordedAnswer) -> float:
    value = checks.check(answer.params, answer.message).value
    return ALWAYS if value is None else value  # the local checks always score; an abstention passes


_QUALITY = re.compile(r"^\s*\[\s*quality\s*\]\s*(#.*)?$")
_HEADER = re.compile(r"^\s*\[")
_KEY = re.compile(r"^\s*threshold\s*=")


def with_quality_threshold(toml_text: str, threshold: float) -> str:
    """`toml_text` with `[quality] threshold` set (the table's other keys kept; added if absent).

    `ConfigError` if the result would not read back as that threshold (e.g. `[quality]` written
    as dotted keys elsewhere), so a file is never left half-updated.
    """
    lines = toml_text.splitlines()
    entry = f"threshold = {threshold!r}  # written by claude-router calibrate --quality"
    header = next((i for i, line in enumerate(lines) if _QUALITY.match(line)), None)
    if header is None:
        while lines and not lines[-1].strip():
            lines.pop()
        lines += [*([""] if lines else []), "[quality]", entry]
    else:
        end = next((i for i in range(header + 1, len(lines)) if _HEADER.match(lines[i])), len(lines))
        key = next((i for i in range(header + 1, end) if _KEY.match(lines[i])), None)
        if key is None:
            lines.insert(header + 1, entry)
        else:
            lines[key] = entry
    text = "\n".join(lines) + "\n"
    try:
        written = tomllib.loads(text).get("quality", {}).get("threshold")
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"the config does not parse as TOML: {exc}") from None
    if written != threshold:
        raise ConfigError("cannot place [quality] threshold in the config; set it by hand")
    return text


def report(result: QualityCalibration, path: Path, console: Console) -> None:
    """What was written and what to expect, one plain line each."""

    def say(text: str) -> None:
        console.print(text, markup=False, highlight=False, soft_wrap=True)

    say(f"wrote [quality] threshold = {result.threshold:.4f} to {path}")
    levels = ", ".join(f"{count} at {score:.2f}" for score, count in result.levels.items())
    say(f"local scores of {result.answers} answers: {levels}")
    e = result.estimate
    say(
        f"expected escalation {e.share:.1%} (95% bootstrap interval {e.low:.1%} - {e.high:.1%}); "
        f"asked for {result.target:.1%}"
    )
    if abs(e.share - result.target) > 1 / result.answers:
        say("the local scores take few values: that is the nearest share a threshold can give")
    a = result.agreement
    if a is not None:
        precision = "n/a" if a.precision is None else f"{a.precision:.1%}"
        recall = "n/a" if a.recall is None else f"{a.recall:.1%}"
        say(f"against {a.verdicts} human verdicts: precision {precision}, recall {recall}")


__all__ = [
    "Agreement",
    "QualityCalibration",
    "RecordedAnswer",
    "ShareInterval",
    "bootstrap_share",
    "calibrate_quality",
    "choose_threshold",
    "load_answers",
    "parse_share",
    "report",
    "with_quality_threshold",
]
