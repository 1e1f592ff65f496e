"""Read a JSONL file of Messages API requests (never sent) as a workload.

Each line is a Messages API body, or an object holding one under `params` (the batch file shape)
with optional `label` / `quality_label` (the tier the request really needs), `tags` and
`created_at`. Nothing is called: the prompt's tokens are the emulator's documented estimate (the
same rule its count_tokens answers with), the label comes from the local classifier, and the output
is the label's typical length (`estimates.toml`) capped by `max_tokens`. A line that cannot be
read is reported with its number and skipped.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any, Protocol

from ..classify import classifier_input
from ..classify.base import ClassifierInput
from ..emulator.tokens import segments, total_tokens
from ..errors import ConfigError
from ..pricing import PriceTable
from ..types import Decision, Label, TokenUsage
from .workload import MAX_PROBLEMS, CohortKey, Workload, long_level, long_thresholds


class Predictor(Protocol):
    """Anything that labels a request locally (the local classifier, thresholded or not)."""

    def predict(self, item: ClassifierInput) -> Decision: ...


class LineError(ValueError):
    """Why one line cannot be replayed."""


@dataclass(frozen=True, slots=True)
class _Line:
    params: Mapping[str, Any]
    quality_label: Label | None
    tags: frozenset[str]
    created_at: datetime | None


def output_estimates() -> dict[Label, int]:
    text = resources.files(__package__).joinpath("estimates.toml").read_text(encoding="utf-8")
    return {Label(k): int(v) for k, v in tomllib.loads(text)["output_tokens"].items()}


def read_jsonl(path: Path, predictor: Predictor, prices: PriceTable) -> Workload:
    """Every readable line of `path` as a workload; `ConfigError` if the file cannot be opened."""
    try:
        handle = path.open(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from None
    with handle:
        return read_lines(handle, predictor, prices, source=str(path))


def read_lines(lines: Iterable[str], predictor: Predictor, prices: PriceTable, *, source: str) -> Workload:
    workload = Workload(source=source)
    outputs = output_estimates()
    thresholds = long_thresholds(prices)
    times: list[datetime] = []
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            line = _parse_line(raw)
            prompt = _prompt_tokens(line.params)
            decision = predictor.predict(classifier_input(line.params))
        except LineError as exc:
            workload.skipped += 1
            if len(workload.problems) < MAX_PROBLEMS:
                workload.problems.append(f"line {number}: {exc}")
            continue
        output = min(outputs[decision.label], _max_tokens(line.params, outputs[decision.label]))
        model = line.params.get("model")
        concrete = model if isinstance(model, str) and model in prices else None
        key = CohortKey(
            label=None if concrete else decision.label,
            quality_label=line.quality_label,
            tags=line.tags,
            long_level=long_level(prompt, thresholds),
            model=concrete,
        )
        workload.add(key, TokenUsage(input_tokens=prompt, output_tokens=output))
        if line.created_at is not None:
            times.append(line.created_at)
    if len(times) > 1:
        workload.span_days = max((max(times) - min(times)).total_seconds() / 86_400.0, 1.0)
    return workload


def _parse_line(raw: str) -> _Line:
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise LineError(f"not JSON ({exc.msg} at column {exc.colno})") from None
    if not isinstance(data, dict):
        raise LineError("not a JSON object")
    params = data.get("params", data)
    if not isinstance(params, dict) or not isinstance(params.get("messages"), list) or not params["messages"]:
        raise LineError("no Messages API body: `messages` must be a non-empty list")
    label = data.get("quality_label", data.get("label"))
    try:
        quality = None if label is None else Label(str(label).lower())
        tags = data.get("tags") or []
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            raise LineError("`tags` must be a list of strings")
        created = data.get("created_at")
        created_at = None if created is None else datetime.fromisoformat(str(created))
        if created_at is not None and created_at.tzinfo is None:
            created_at = created_at.replace(tzinfo=UTC)  # a naive time is taken as UTC
    except ValueError as exc:
        raise LineError(str(exc)) from None
    return _Line(params, quality, frozenset(tags), created_at)


def _prompt_tokens(params: Mapping[str, Any]) -> int:
    try:
        return total_tokens(segments(dict(params)))
    except (KeyError, TypeError, AttributeError, IndexError) as exc:
        raise LineError(f"malformed request body ({type(exc).__name__}: {exc})") from None


def _max_tokens(params: Mapping[str, Any], default: int) -> int:
    value = params.get("max_tokens")
    return value if isinstance(value, int) and value > 0 else default
