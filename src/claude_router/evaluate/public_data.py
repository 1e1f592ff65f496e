"""Public prompts, read where they are shared (never copied here), labelled by id in this repository.

A labels file (`*.labels.jsonl`) holds one `{"id": ..., "label": ...}` a line; the prompt text
stays in the public collection. An id says where to find it, under the public data root:

- `<file>-<n>`: the line with that id in `prompts/<file>.jsonl` (see that folder's SOURCE.md);
- `routellm/mmlu_<subject>-<n>` and `routellm/gsm8k-<n>`: the n-th data row (0-based) of
  `routellm/mmlu/mmlu_<subject>.csv` and `routellm/gsm8k_responses.csv`.

The root is `--public-data`, else `$CLAUDE_ROUTER_PUBLIC_DATA`, else `/work/shared/data`. When it
or a file is missing, `DatasetError` says so in one line, naming the path and how to set another.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from ..types import Label
from .dataset import DatasetError, LabelledPrompt, describe_error, load_labelled, read_text_lines

PUBLIC_DATA_ENV = "CLAUDE_ROUTER_PUBLIC_DATA"
DEFAULT_PUBLIC_DATA = Path("/work/shared/data")
LABELS_SUFFIX = ".labels.jsonl"
ROUTELLM_PREFIX = "routellm/"
_HINT = f"(set --public-data or ${PUBLIC_DATA_ENV})"


def public_data_root(explicit: Path | None = None) -> Path:
    """Where the public collections are: the option, else the environment, else the default."""
    if explicit is not None:
        return explicit
    return Path(os.environ.get(PUBLIC_DATA_ENV) or DEFAULT_PUBLIC_DATA)


def source_of(prompt_id: str) -> str:
    """The collection an id belongs to: `arena_hard_v0.1-12` -> `arena_hard_v0.1`."""
    return prompt_id.rsplit("-", 1)[0]


class _LabelLine(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    label: Label


class PublicPrompts:
    """Prompt texts by id, each collection file read once, on first use."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._files: dict[str, dict[str, str]] = {}

    def text(self, prompt_id: str) -> str | None:
        """The prompt with that id, or None if its collection has no such id."""
        source = source_of(prompt_id)
        if source not in self._files:
            self._files[source] = self._read(source)
        return self._files[source].get(prompt_id)

    def _read(self, source: str) -> dict[str, str]:
        if source.startswith(ROUTELLM_PREFIX):
            return self._read_routellm(source)
        path = self.root / "prompts" / f"{source}.jsonl"
        texts: dict[str, str] = {}
        for number, line in enumerate(self._lines(path), start=1):
            if line.strip():
                try:
                    row = json.loads(line)
                    texts[str(row["id"])] = str(row["prompt"])
                except (json.JSONDecodeError, KeyError, TypeError):
                    raise DatasetError(f"{path}, line {number}: not a public prompt record") from None
        return texts

    def _read_routellm(self, source: str) -> dict[str, str]:
        name = source.removeprefix(ROUTELLM_PREFIX)
        folder = self.root / "routellm"
        path = folder / "gsm8k_responses.csv" if name == "gsm8k" else folder / "mmlu" / f"{name}.csv"
        rows = csv.DictReader(self._lines(path))
        try:
            return {f"{source}-{n}": row["prompt"] for n, row in enumerate(rows)}
        except KeyError:
            raise DatasetError(f"{path}: no column 'prompt'") from None

    def _lines(self, path: Path) -> list[str]:
        if not path.is_file():
            raise DatasetError(f"public prompts not found: {path} {_HINT}")
        return read_text_lines(path, "public prompts")


def load_id_labels(path: Path, prompts: PublicPrompts) -> list[LabelledPrompt]:
    """A labels file, each id resolved to its public prompt."""
    items: list[LabelledPrompt] = []
    for number, raw in enumerate(read_text_lines(path, "labels file"), start=1):
        if not raw.strip():
            continue
        try:
            line = _LabelLine.model_validate_json(raw)
        except ValidationError as exc:
            raise DatasetError(f"{path}, line {number}: {describe_error(exc)}") from None
        text = prompts.text(line.id)
        if text is None:
            raise DatasetError(f"{path}, line {number}: no public prompt with id {line.id!r}")
        items.append(LabelledPrompt(text, line.label, id=line.id, source=source_of(line.id)))
    if not items:
        raise DatasetError(f"{path}: no labelled prompts")
    return items


def dataset_files(path: Path) -> list[Path]:
    """The labelled files a path names: itself, or every `*.jsonl` under a folder, in name order."""
    if path.is_dir():
        files = sorted(p for p in path.rglob("*.jsonl") if p.is_file())
        if not files:
            raise DatasetError(f"no labelled files (*.jsonl) under {path}")
        return files
    return [path]


def load_dataset(paths: Iterable[Path], public_data: Path | None = None) -> list[LabelledPrompt]:
    """Labelled prompts from files or folders: prompt files as they are, labels files resolved
    against the public collections (read only when a labels file is given)."""
    prompts = PublicPrompts(public_data_root(public_data))
    items: list[LabelledPrompt] = []
    for path in paths:
        for file in dataset_files(path):
            if file.name.endswith(LABELS_SUFFIX):
                items.extend(load_id_labels(file, prompts))
            else:
                items.extend(load_labelled(file))
    return items


def sources(items: Sequence[LabelledPrompt]) -> set[str]:
    """The public collections the items come from (items written here have none)."""
    return {item.source for item in items if item.id is not None and item.source is not None}


__all__ = [
    "DEFAULT_PUBLIC_DATA",
    "LABELS_SUFFIX",
    "PUBLIC_DATA_ENV",
    "PublicPrompts",
    "dataset_files",
    "load_dataset",
    "load_id_labels",
    "public_data_root",
    "source_of",
    "sources",
]
