"""Read a JSONL file of Messages API requests (never sent) as a workload.

Each line is a Messages API body, or an object holding one under `params` (the batch file shape)
with optional `label` / `quality_label` (the tier the request really needs), `tags` and
`created_at`. Nothing is called: each body is checked and its prompt counted by the emulator's
rules (the same estimate its count_tokens answers with), the label comes from the local
classifier, and the output is the label's typical length (`estimates.toml`) capped by
`max_tokens`; a line's `created_at` picks the prices in force that day. A line that cannot be read
is reported with its number and skipped. The requests are kept in file order so that
`planned.replay_planned` can replay their prompt caching.
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

from ..catalog.pricing import PriceTable, Tier
from ..classify import classifier_input
from ..classify.base import ClassifierInput
from ..emulator import EmulatorConfig, EmulatorError, Engine
from ..errors import ConfigError
from ..routing.policy import ALIAS_PREFIX
from ..types import Decision, Label, TokenUsage
from .planned import Planned, PlannedRequest
from .workload import MAX_PROBLEMS, CohortKey, Workload, long_level, long_thresholds, period_of


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


def read_jsonl(path: Path, predictor: Predictor, prices: PriceTable) -> Planned:
    """Every readable line of `path` as a workload; `ConfigError` if the file cannot be opened."""
    try:
        handle = path.open(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from None
    with handle:
        return read_lines(handle, predictor, prices, source=str(path))


def read_lines(lines: Iterable[str], predictor: Predictor, prices: PriceTable, *, source: str) -> Planned:
    workload = Workload(source=source)
    planned = Planned(workload)
    checker = Engine(EmulatorConfig())
    outputs = output_estimates()
    thresholds = long_thresholds(prices)
    times: list[datetime] = []
    largest = prices.tier_model(Tier.OPUS)  # the ladder's top, the most generous limits: checked once
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            line = _parse_line(raw)
            prompt = _prompt_tokens(checker, line.params, largest)
            decision = predictor.predict(classifier_input(line.params))
        except LineError as exc:
            workload.skipped += 1
            if len(workload.problems) < MAX_PROBLEMS:
                workload.problems.append(f"line {number}: {exc}")
            continue
        output = min(outputs[decision.label], _max_tokens(line.params, outputs[decision.label]))
        model = line.params.get("model")
        concrete = model if isinstance(model, str) and model in prices else None
        alias = (
            model[len(ALIAS_PREFIX) :] if isinstance(model, str) and model.startswith(ALIAS_PREFIX) else None
        )
        key = CohortKey(
            label=None if concrete else decision.label,
            quality_label=line.quality_label,
            tags=line.tags,
            alias=alias,
            long_level=long_level(prompt, thresholds),
            model=concrete,
            period=period_of(line.created_at.date(), prices) if line.created_at is not None else None,
        )
        workload.add(key, TokenUsage(input_tokens=prompt, output_tokens=output))
        if line.created_at is not None:
            times.append(line.created_at)
        request = PlannedRequest(
            dict(line.params), key, prompt, output, line.created_at, _session(line.params)
        )
        planned.requests.append(request)
    if len(times) > 1:
        workload.span_days = max((max(times) - min(times)).total_seconds() / 86_400.0, 1.0)
    return planned


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


def _prompt_tokens(checker: Engine, params: Mapping[str, Any], model: str) -> int:
    try:
        return checker.parse({**params, "model": model}).input_tokens
    except EmulatorError as exc:
        raise LineError(exc.message) from None


def _session(params: Mapping[str, Any]) -> str | None:
    metadata = params.get("metadata")
    user = metadata.get("user_id") if isinstance(metadata, Mapping) else None
    return user if isinstance(user, str) and user else None


def _max_tokens(params: Mapping[str, Any], default: int) -> int:
    value = params.get("max_tokens")
    return value if isinstance(value, int) and value > 0 else default
