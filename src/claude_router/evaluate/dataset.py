"""Labelled prompts: reading and writing the JSONL files, and a stratified train / held-out split.

One JSON object a line: `{"prompt": str, "system"?: str, "label": "simple"|"moderate"|"complex"}`,
or `{"request": {...a Messages API body...}, "label": ...}` for a request whose tools, history,
thinking or answer ceiling matter (an agent step, a terse API call). `lang`, `domain`, `style`
("chat", "api" or "agent"), `id` and `source` are kept when present, any other field is ignored.
A bad line raises `DatasetError` naming the file and the line number.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ..classify.base import ClassifierInput, classifier_input
from ..errors import RouterError
from ..types import LABELS, Label


class DatasetError(RouterError):
    """A labelled data file is missing, empty or has a malformed line."""

    error_type = "invalid_request_error"
    status_code = 400


@dataclass(frozen=True, slots=True)
class LabelledPrompt:
    """One request and the label a person gave it.

    `request`, when given, is the whole Messages API body and what a classifier reads; `prompt`
    and `system` are then its last user turn and system prompt, as `classifier_input` reads them.
    """

    prompt: str
    label: Label
    system: str | None = None
    lang: str | None = None
    domain: str | None = None
    id: str | None = None  # the prompt's id in a public collection
    source: str | None = None  # which collection or batch it comes from
    style: str | None = None  # "chat", "api" or "agent"
    request: Mapping[str, Any] | None = field(default=None, compare=False)

    @classmethod
    def of_request(cls, request: Mapping[str, Any], label: Label, **fields: Any) -> LabelledPrompt:
        """A labelled Messages API body; its prompt and system are what a classifier reads of it."""
        item = classifier_input(request)
        return cls(item.text, label, item.system, request=request, **fields)

    @property
    def item(self) -> ClassifierInput:
        """What a classifier reads for this prompt: the same as for the request a caller would send."""
        if self.request is not None:
            return classifier_input(self.request)
        context = len(self.prompt) + len(self.system or "")
        return ClassifierInput(text=self.prompt, system=self.system, context_chars=context)

    def to_json(self) -> str:
        head: dict[str, Any] = {"request": self.request} if self.request is not None else {}
        if not head:
            head = {"prompt": self.prompt, "system": self.system}
        fields = head | {"label": self.label.value, "lang": self.lang, "domain": self.domain}
        fields |= {"id": self.id, "source": self.source, "style": self.style}
        return json.dumps({k: v for k, v in fields.items() if v is not None}, ensure_ascii=False)


class _Line(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    prompt: str | None = Field(default=None, min_length=1)
    request: dict[str, Any] | None = None
    label: Label
    system: str | None = None
    lang: str | None = None
    domain: str | None = None
    id: str | None = None
    source: str | None = None
    style: str | None = None

    @model_validator(mode="after")
    def _one_of_prompt_or_request(self) -> _Line:
        if (self.prompt is None) == (self.request is None):
            raise ValueError("give either prompt or request")
        if self.request is not None and not classifier_input(self.request).text:
            raise ValueError("request: no user text in its messages")
        return self

    def labelled(self) -> LabelledPrompt:
        extra: dict[str, Any] = {"lang": self.lang, "domain": self.domain, "id": self.id}
        extra |= {"source": self.source, "style": self.style}
        if self.request is not None:
            return LabelledPrompt.of_request(self.request, self.label, **extra)
        return LabelledPrompt(self.prompt or "", self.label, self.system or None, **extra)


def describe_error(exc: ValidationError) -> str:
    """A pydantic validation error as one line: `field: message; ...`."""
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"])
        parts.append(f"{loc}: {err['msg']}" if loc else str(err["msg"]))
    return "; ".join(parts)


def parse_lines(lines: Iterable[str], source: str) -> list[LabelledPrompt]:
    """Parse JSONL text; blank lines are skipped, a bad one raises `DatasetError` with its number."""
    items: list[LabelledPrompt] = []
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            line = _Line.model_validate(json.loads(raw))
        except json.JSONDecodeError as exc:
            raise DatasetError(f"{source}, line {number}: not valid JSON ({exc.msg})") from None
        except ValidationError as exc:
            raise DatasetError(f"{source}, line {number}: {describe_error(exc)}") from None
        items.append(line.labelled())
    if not items:
        raise DatasetError(f"{source}: no labelled prompts")
    return items


def read_text_lines(path: Path | str, what: str) -> list[str]:
    """The lines of a UTF-8 text file; `DatasetError` (one clear line) when it cannot be read."""
    path = Path(path)
    try:
        return path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise DatasetError(f"{what} not found: {path}") from None
    except UnicodeDecodeError:
        raise DatasetError(f"{path}: not UTF-8 text") from None
    except OSError as exc:
        raise DatasetError(f"cannot read {path}: {exc.strerror or exc}") from None


def load_labelled(path: Path | str) -> list[LabelledPrompt]:
    """Read a labelled JSONL file."""
    return parse_lines(read_text_lines(path, "labelled data file"), str(path))


def write_labelled(path: Path | str, items: Iterable[LabelledPrompt]) -> None:
    Path(path).write_text("".join(item.to_json() + "\n" for item in items), encoding="utf-8")


def stratified_split(
    items: Sequence[LabelledPrompt], fraction: float, seed: int
) -> tuple[list[LabelledPrompt], list[LabelledPrompt]]:
    """Split into (kept, held out) with `fraction` of each label held out; the same seed, the same split."""
    rng = random.Random(seed)
    kept: list[LabelledPrompt] = []
    held: list[LabelledPrompt] = []
    for label in LABELS:
        group = [item for item in items if item.label is label]
        rng.shuffle(group)
        cut = round(len(group) * fraction)
        held.extend(group[:cut])
        kept.extend(group[cut:])
    return kept, held


def folds(count: int, k: int, seed: int) -> list[list[int]]:
    """`k` disjoint index lists covering `range(count)`, shuffled with `seed`."""
    order = list(range(count))
    random.Random(seed).shuffle(order)
    return [order[i::k] for i in range(k)]


__all__ = [
    "DatasetError",
    "LabelledPrompt",
    "describe_error",
    "folds",
    "load_labelled",
    "parse_lines",
    "read_text_lines",
    "stratified_split",
    "write_labelled",
]
