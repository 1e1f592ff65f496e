"""`train` and `eval classifier` as a user runs them: files in, one line or one JSON object out."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from claude_router.classify.local import LocalClassifier, model_version
from claude_router.evaluate.commands import eval_classifier, train

from .shared_data import require_public_data

HELDOUT = Path(__file__).resolve().parents[2] / "data" / "labels" / "heldout.jsonl"
PROMPTS = {
    "simple": ["Is this review positive or negative? 'Great {0}.'", "What language is '{0}'?"],
    "moderate": [
        "Write a Python function that parses {0} records.",
        "Summarise the {0} report in 5 bullets.",
    ],
    "complex": [
        "Design a fault-tolerant {0} platform across regions and prove it.",
        "Analyse {0} risk and recommend",
    ],
}


def _app() -> typer.Typer:
    app = typer.Typer()
    app.command("train")(train)
    group = typer.Typer()
    group.command("classifier")(eval_classifier)
    app.add_typer(group, name="eval")
    return app


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _labelled(path: Path, n: int = 10) -> Path:
    lines = [
        json.dumps({"prompt": template.format(f"item{i}"), "label": label})
        for label, templates in PROMPTS.items()
        for template in templates
        for i in range(n)
    ]
    return _write(path, lines)


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CLAUDE_ROUTER_HOME", str(tmp_path / "home"))
    for name in ("CLAUDE_ROUTER_CONFIG", "ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL"):
        monkeypatch.delenv(name, raising=False)


def test_train_writes_a_model_file_that_loads(tmp_path: Path) -> None:
    out = tmp_path / "models" / "mine.json"
    data = _labelled(tmp_path / "labelled.jsonl")

    result = CliRunner().invoke(
        _app(), ["train", "--data", str(data), "--out", str(out), "--heldout", str(data)]
    )

    assert result.exit_code == 0, result.output
    loaded = LocalClassifier.from_file(out)
    assert loaded.version == model_version(out.read_bytes())
    assert f"wrote {out}" in result.output
    assert loaded.version in result.output
    assert "trained on 60 prompts (20 simple, 20 moderate, 20 complex)" in result.output
    assert "held-out accuracy 100.0% on 60 prompts" in result.output
    assert f'local_model_path = "{out}"' in result.output


def test_train_writes_to_the_data_home_by_default(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        _app(), ["train", "--data", str(_labelled(tmp_path / "l.jsonl", 4)), "--folds", "1"]
    )

    assert result.exit_code == 0, result.output
    assert (tmp_path / "home" / "local_classifier.json").is_file()


def test_a_malformed_line_is_named_without_a_traceback(tmp_path: Path) -> None:
    data = _write(
        tmp_path / "bad.jsonl",
        [
            '{"prompt": "a", "label": "simple"}',
            '{"prompt": "b", "label": "moderate"}',
            '{"prompt": "c", "label": 3}',
        ],
    )

    result = CliRunner().invoke(_app(), ["train", "--data", str(data), "--out", str(tmp_path / "m.json")])

    assert result.exit_code == 2
    assert f"error: {data}, line 3: label: Input should be" in result.stderr
    assert "Traceback" not in result.output + result.stderr
    assert not (tmp_path / "m.json").exists()


def test_eval_json_reports_accuracy_as_a_fraction_with_figures_and_confusion() -> None:
    result = CliRunner().invoke(_app(), ["eval", "classifier", "--data", str(HELDOUT), "--json"])

    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert 0.85 <= report["accuracy"] <= 1.0
    assert report["classifier"] == "local"
    assert report["llm_calls"] == 0
    assert sum(sum(row.values()) for row in report["confusion"].values()) == report["examples"]
    assert {"precision", "recall", "f1", "support"} <= set(report["per_label"]["complex"])
    assert {"under_routing_rate", "over_routing_rate", "cost_weighted_error"} <= set(report["routing"])


def test_eval_prints_tables_for_a_terminal(tmp_path: Path) -> None:
    data = _labelled(tmp_path / "l.jsonl", 2)

    result = CliRunner().invoke(_app(), ["eval", "classifier", "--data", str(data)])

    assert result.exit_code == 0, result.output
    for text in ("accuracy", "confusion matrix", "precision", "under-routed", "cost-weighted error", "p95"):
        assert text in result.output


def test_eval_of_the_llm_classifier_calls_the_emulator_over_http(tmp_path: Path) -> None:
    data = _labelled(tmp_path / "l.jsonl", 1)

    result = CliRunner().invoke(
        _app(), ["eval", "classifier", "--data", str(data), "--classifier", "llm", "--json"]
    )

    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["classifier"] == "llm"
    assert report["version"].startswith("llm-")
    assert report["llm_calls"] == report["examples"] == 6
    assert report["classifier_tokens"]["input"] > 0


def test_eval_refuses_a_missing_model_file_in_one_line() -> None:
    args = ["eval", "classifier", "--data", str(HELDOUT), "--model", "/nonexistent/model.json"]

    result = CliRunner().invoke(_app(), args)

    assert result.exit_code == 2
    assert "error: local classifier model /nonexistent/model.json" in result.stderr
    assert "Traceback" not in result.stderr


REPO = Path(__file__).resolve().parents[2]


def test_eval_reports_each_set_against_the_length_baseline_of_the_same_run(tmp_path: Path) -> None:
    first, second = _labelled(tmp_path / "a.jsonl", 3), _labelled(tmp_path / "b.jsonl", 2)
    args = ["eval", "classifier", "--data", f"alpha={first}", "--data", f"beta={second}", "--json"]

    result = CliRunner().invoke(_app(), [*args, "--baseline-train", str(first)])

    assert result.exit_code == 0, result.output
    reports = [json.loads(line) for line in result.output.splitlines()]
    assert [r["set"] for r in reports] == ["alpha", "beta"]
    for report in reports:
        local, length = report["comparison"]["contenders"][:2]
        assert (local["name"], length["name"]) == ("local", "length-only")
        assert length["accuracy_vs_length_baseline"] == 1.0
        assert local["accuracy_vs_length_baseline"] == pytest.approx(
            local["accuracy"] / length["accuracy"], abs=1e-3
        )
        assert report["comparison"]["length_baseline_fitted_on"] == "18 training prompts"
        assert "litellm-complexity" in report["comparison"]["skipped"]


def test_eval_without_data_reads_both_held_out_sets_of_the_repository(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    require_public_data("prompts")
    monkeypatch.chdir(REPO)

    result = CliRunner().invoke(_app(), ["eval", "classifier"])

    assert result.exit_code == 0, result.output
    for text in ("== in-distribution ==", "== second held-out (public sources) ==", "× length-only"):
        assert text in result.output
    assert result.output.count("│ length-only │") == 2


def test_eval_names_a_missing_public_folder_in_one_line(tmp_path: Path) -> None:
    labels = tmp_path / "x.labels.jsonl"
    labels.write_text('{"id": "vicuna_bench-1", "label": "moderate"}\n', encoding="utf-8")
    args = ["eval", "classifier", "--data", str(labels), "--public-data", str(tmp_path / "none")]

    result = CliRunner().invoke(_app(), args)

    assert result.exit_code == 2
    assert result.stderr.startswith("error: public prompts not found: ")
    assert "Traceback" not in result.output + result.stderr


def test_training_twice_on_the_same_files_writes_the_same_bytes(tmp_path: Path) -> None:
    data = _labelled(tmp_path / "labelled.jsonl", 4)
    outputs = [tmp_path / "one.json", tmp_path / "two.json"]

    for out in outputs:
        result = CliRunner().invoke(_app(), ["train", "--data", str(data), "--out", str(out), "--folds", "2"])
        assert result.exit_code == 0, result.output

    assert outputs[0].read_bytes() == outputs[1].read_bytes()
