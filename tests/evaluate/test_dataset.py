"""Labelled JSONL files: parsing, clear errors with line numbers, and the stratified split."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from claude_router.evaluate.dataset import (
    DatasetError,
    LabelledPrompt,
    folds,
    load_labelled,
    parse_lines,
    stratified_split,
    write_labelled,
)
from claude_router.types import Label


def test_reads_prompts_systems_and_labels_and_ignores_other_fields() -> None:
    lines = [
        '{"prompt": "Is this spam?", "label": "simple", "lang": "en", "score": 3}',
        "",
        '{"prompt": "Write SQL", "system": "You are a DBA.", "label": "moderate"}',
    ]

    items = parse_lines(lines, "labels.jsonl")

    assert items == [
        LabelledPrompt("Is this spam?", Label.SIMPLE, lang="en"),
        LabelledPrompt("Write SQL", Label.MODERATE, system="You are a DBA."),
    ]
    assert items[1].item.system == "You are a DBA."


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"prompt": "x", "label": "hard"}', "labels.jsonl, line 2: label: Input should be"),
        ('{"prompt": "x"}', "labels.jsonl, line 2: label: Field required"),
        ('{"prompt": "", "label": "simple"}', "labels.jsonl, line 2: prompt: String should have at least 1"),
        ('{"prompt": "x", "label": "simple"', "labels.jsonl, line 2: not valid JSON"),
        ('["x", "simple"]', "labels.jsonl, line 2: Input should be a valid dictionary"),
    ],
)
def test_a_malformed_line_is_reported_with_its_number(line: str, message: str) -> None:
    lines = ['{"prompt": "ok", "label": "simple"}', line]

    with pytest.raises(DatasetError) as caught:
        parse_lines(lines, "labels.jsonl")

    assert str(caught.value).startswith(message)


def test_missing_empty_and_binary_files_are_dataset_errors(tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n\n", encoding="utf-8")
    binary = tmp_path / "binary.jsonl"
    binary.write_bytes(b"\xff\xfe\x00")

    with pytest.raises(DatasetError, match="not found"):
        load_labelled(tmp_path / "missing.jsonl")
    with pytest.raises(DatasetError, match="no labelled prompts"):
        load_labelled(empty)
    with pytest.raises(DatasetError, match="not UTF-8"):
        load_labelled(binary)


def test_written_files_read_back_identically(tmp_path: Path) -> None:
    items = [
        LabelledPrompt("Résume ce texte « long »", Label.MODERATE, system="Sois bref.", lang="fr"),
        LabelledPrompt('He said "no"\nthen left', Label.SIMPLE, domain="support"),
    ]
    path = tmp_path / "out.jsonl"

    write_labelled(path, items)

    assert load_labelled(path) == items


def _items(counts: dict[Label, int]) -> list[LabelledPrompt]:
    return [LabelledPrompt(f"{label} {i}", label) for label, n in counts.items() for i in range(n)]


def test_the_split_is_stratified_disjoint_and_fixed_by_its_seed() -> None:
    items = _items({Label.SIMPLE: 50, Label.MODERATE: 30, Label.COMPLEX: 20})

    kept, held = stratified_split(items, 0.2, seed=3)
    again_kept, again_held = stratified_split(items, 0.2, seed=3)
    _, other_held = stratified_split(items, 0.2, seed=4)

    assert Counter(i.label for i in held) == {Label.SIMPLE: 10, Label.MODERATE: 6, Label.COMPLEX: 4}
    assert not {i.prompt for i in kept} & {i.prompt for i in held}
    assert len(kept) + len(held) == len(items)
    assert (kept, held) == (again_kept, again_held)
    assert held != other_held


def test_folds_partition_the_indices() -> None:
    parts = folds(23, 5, seed=1)

    assert len(parts) == 5
    assert sorted(i for part in parts for i in part) == list(range(23))
    assert max(map(len, parts)) - min(map(len, parts)) <= 1
