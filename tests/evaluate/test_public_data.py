"""Labels keyed by public ids: read from the shared collections, one clear line when they are absent."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from claude_router.evaluate.dataset import DatasetError, LabelledPrompt, load_labelled
from claude_router.evaluate.public_data import PUBLIC_DATA_ENV, load_dataset, public_data_root, source_of
from claude_router.types import Label

from .shared_data import require_public_data


def _root(tmp_path: Path) -> Path:
    root = tmp_path / "shared"
    (root / "prompts").mkdir(parents=True)
    (root / "routellm" / "mmlu").mkdir(parents=True)
    rows = [{"id": "tiny-0", "prompt": "Is this spam?"}, {"id": "tiny-3", "prompt": "Design a database."}]
    (root / "prompts" / "tiny.jsonl").write_text(
        "".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8"
    )
    (root / "routellm" / "gsm8k_responses.csv").write_text(
        "prompt,x\nTwo apples,1\nThree pears,0\n", encoding="utf-8"
    )
    return root


def _labels(path: Path, rows: list[dict[str, str]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_ids_are_resolved_against_the_public_collections(tmp_path: Path) -> None:
    labels = _labels(
        tmp_path / "tiny.labels.jsonl",
        [
            {"id": "tiny-3", "label": "complex"},
            {"id": "tiny-0", "label": "simple"},
            {"id": "routellm/gsm8k-1", "label": "moderate"},
        ],
    )

    items = load_dataset([labels], _root(tmp_path))

    assert [(i.prompt, i.label, i.source) for i in items] == [
        ("Design a database.", Label.COMPLEX, "tiny"),
        ("Is this spam?", Label.SIMPLE, "tiny"),
        ("Three pears", Label.MODERATE, "routellm/gsm8k"),
    ]
    assert [i.id for i in items] == ["tiny-3", "tiny-0", "routellm/gsm8k-1"]


def test_a_folder_mixes_labels_files_and_prompt_files(tmp_path: Path) -> None:
    folder = tmp_path / "sets"
    folder.mkdir()
    _labels(folder / "tiny.labels.jsonl", [{"id": "tiny-0", "label": "simple"}])
    (folder / "mine.jsonl").write_text(
        json.dumps({"prompt": "Hi?", "label": "simple"}) + "\n", encoding="utf-8"
    )

    items = load_dataset([folder], _root(tmp_path))

    assert sorted(i.prompt for i in items) == ["Hi?", "Is this spam?"]


def test_a_missing_public_folder_is_one_clear_line(tmp_path: Path) -> None:
    labels = _labels(tmp_path / "tiny.labels.jsonl", [{"id": "tiny-0", "label": "simple"}])

    with pytest.raises(DatasetError) as caught:
        load_dataset([labels], tmp_path / "nowhere")

    message = str(caught.value.message)
    assert message.startswith(f"public prompts not found: {tmp_path / 'nowhere' / 'prompts' / 'tiny.jsonl'}")
    assert PUBLIC_DATA_ENV in message
    assert "\n" not in message


def test_an_unknown_id_names_its_line(tmp_path: Path) -> None:
    labels = _labels(
        tmp_path / "tiny.labels.jsonl",
        [{"id": "tiny-0", "label": "simple"}, {"id": "tiny-9", "label": "simple"}],
    )

    with pytest.raises(DatasetError, match=r"tiny\.labels\.jsonl, line 2: no public prompt with id 'tiny-9'"):
        load_dataset([labels], _root(tmp_path))


def test_the_root_comes_from_the_option_then_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PUBLIC_DATA_ENV, "/from/env")

    assert public_data_root(Path("/from/option")) == Path("/from/option")
    assert public_data_root() == Path("/from/env")


def test_a_request_line_reads_as_the_request(tmp_path: Path) -> None:
    body = {
        "max_tokens": 3,
        "system": "Label: spam or ham.",
        "tools": [{"name": "lookup", "input_schema": {"type": "object"}}],
        "messages": [{"role": "user", "content": "WIN A PRIZE"}],
    }
    path = tmp_path / "requests.jsonl"
    path.write_text(json.dumps({"request": body, "label": "simple", "style": "api"}) + "\n", encoding="utf-8")

    [item] = load_labelled(path)

    assert (item.prompt, item.system, item.style) == ("WIN A PRIZE", "Label: spam or ham.", "api")
    assert (item.item.tool_count, item.item.max_tokens) == (1, 3)
    assert load_labelled(_write(tmp_path / "again.jsonl", item)) == [item]
    assert load_labelled(_write(tmp_path / "again.jsonl", item))[0].request == body


def _write(path: Path, item: LabelledPrompt) -> Path:
    path.write_text(item.to_json() + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "line",
    [
        {"label": "simple"},
        {"prompt": "x", "request": {"messages": [{"role": "user", "content": "x"}]}, "label": "simple"},
        {"request": {"messages": [{"role": "assistant", "content": "x"}]}, "label": "simple"},
    ],
)
def test_a_line_needs_one_prompt_or_one_request_with_user_text(
    tmp_path: Path, line: dict[str, object]
) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(line) + "\n", encoding="utf-8")

    with pytest.raises(DatasetError, match=r"bad\.jsonl, line 1"):
        load_labelled(path)


LABELS = Path(__file__).resolve().parents[2] / "data" / "labels" / "public"
#: The authors of self-instruct's user-oriented set ask that it never be trained on.
EVALUATION_ONLY = {"self_instruct_user_oriented"}


def _label_ids(folder: Path) -> dict[str, str]:
    return {
        row["id"]: row["label"]
        for path in folder.glob("*.labels.jsonl")
        for row in map(json.loads, path.read_text(encoding="utf-8").splitlines())
    }


def test_the_second_held_out_set_shares_no_source_with_training() -> None:
    train, heldout = _label_ids(LABELS / "train"), _label_ids(LABELS / "heldout")
    train_sources = {source_of(i) for i in train}
    heldout_sources = {source_of(i) for i in heldout}

    assert not train_sources & heldout_sources
    assert not EVALUATION_ONLY & train_sources
    assert heldout_sources >= EVALUATION_ONLY


def test_the_labelled_sets_are_large_enough_and_hold_every_label() -> None:
    train, heldout = _label_ids(LABELS / "train"), _label_ids(LABELS / "heldout")

    assert len(heldout) >= 300
    assert len(train) >= 1500
    assert set(heldout.values()) == set(train.values()) == {"simple", "moderate", "complex"}


def test_no_held_out_prompt_text_is_in_the_training_data() -> None:
    require_public_data("prompts")
    repo = LABELS.parent
    train = load_dataset([repo / "train.jsonl", LABELS / "train"])
    heldout = load_dataset([LABELS / "heldout"])

    def norm(text: str) -> str:
        return " ".join(text.lower().split())

    assert len(heldout) == len(_label_ids(LABELS / "heldout"))
    assert not {norm(i.prompt) for i in train} & {norm(i.prompt) for i in heldout}
