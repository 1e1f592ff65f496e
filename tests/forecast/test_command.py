"""`claude-router forecast` as a user runs it (its console entry point, in this process): on the
demo's ledger and on a JSONL file."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from cli_runner import run_cli


def test_forecast_runs_on_the_demo_ledger(tmp_path: Path) -> None:
    ledger = tmp_path / "demo.db"
    demo = run_cli("demo", "--ledger", str(ledger), "--no-latency", home=tmp_path)
    assert demo.returncode == 0, demo.stderr
    draft = tmp_path / "cheap.toml"
    draft.write_text('[policy.label_models]\nmoderate = "claude-haiku-4-5"\n', encoding="utf-8")
    done = run_cli(
        "forecast", "--ledger", str(ledger), "--policy", str(draft), "--format", "json", home=tmp_path
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    by_name = {p["name"]: p for p in report["policies"]}
    assert report["requests"] == 8
    assert by_name["current"]["cost_usd"] == by_name["recorded"]["cost_usd"]
    assert Decimal(by_name["cheap"]["cost_usd"]) < Decimal(by_name["current"]["cost_usd"])
    assert Decimal(by_name["cheap"]["quality_risk_pct"]) > 0
    assert Decimal(by_name["all-opus"]["cost_usd"]) > Decimal(by_name["current"]["cost_usd"])

    page = tmp_path / "forecast.html"
    html = run_cli("forecast", "--ledger", str(ledger), "--format", "html", "--out", str(page), home=tmp_path)
    assert html.returncode == 0, html.stderr
    text = page.read_text(encoding="utf-8")
    assert 'id="forecast"' in text
    assert "all-opus" in text
    assert 'id="forecast-chart"' in text


def test_forecast_of_a_jsonl_file_counts_skipped_lines(tmp_path: Path) -> None:
    path = tmp_path / "planned.jsonl"
    good = {
        "model": "auto",
        "max_tokens": 50,
        "messages": [{"role": "user", "content": "Translate 'hello'."}],
    }
    path.write_text(json.dumps(good) + "\n{oops\n" + json.dumps(good) + "\n", encoding="utf-8")
    done = run_cli("forecast", "--requests", str(path), home=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "2 requests replayed" in done.stdout
    assert "1 lines skipped" in done.stdout
    assert "line 2: not JSON" in done.stdout


def test_a_missing_ledger_or_bad_draft_is_one_clear_line(tmp_path: Path) -> None:
    missing = run_cli("forecast", "--ledger", str(tmp_path / "nope.db"), home=tmp_path)
    assert missing.returncode != 0
    assert "no ledger at" in missing.stderr
    assert "Traceback" not in missing.stderr
    bad = tmp_path / "bad.toml"
    bad.write_text('[policy.label_models]\nsimple = "gpt-4"\n', encoding="utf-8")
    ledger = tmp_path / "l.db"
    demo = run_cli("demo", "--ledger", str(ledger), "--no-latency", home=tmp_path)
    assert demo.returncode == 0, demo.stderr
    done = run_cli("forecast", "--ledger", str(ledger), "--policy", str(bad), home=tmp_path)
    assert done.returncode == 2
    assert "unknown model 'gpt-4'" in done.stderr
    assert "Traceback" not in done.stderr
