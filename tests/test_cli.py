"""The `claude-router` command line, run as a user would: no API key, no network. One test starts
it as a process of its own (`python -m claude_router.cli`); the others run its console entry point
in this process (`cli_runner`), which checks the same and saves a Python start each."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from claude_router.demo import demo_requests
from cli_runner import run_cli


def run_process(*args: str, home: Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "CLAUDE_ROUTER_"))}
    env["CLAUDE_ROUTER_HOME"] = str(home)
    return subprocess.run(
        [sys.executable, "-m", "claude_router.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        check=False,
    )


def test_demo_routes_the_eight_requests_into_a_ledger_sqlite_can_read(tmp_path: Path) -> None:
    ledger = tmp_path / "demo.db"
    done = run_cli("demo", "--no-latency", "--json", "--ledger", str(ledger), home=tmp_path)
    assert done.returncode == 0, done.stderr
    records = json.loads(done.stdout)
    expected = {r.task_id: r.expected_label.value for r in demo_requests()}
    assert {r["task_id"]: r["label"] for r in records} == expected
    assert sorted(r["label"] for r in records).count("simple") == 4
    with sqlite3.connect(ledger) as db:
        tables = {row[0] for row in db.execute("select name from sqlite_master where type='table'")}
        assert "usage" in tables
        (rows,) = db.execute("select count(*) from usage").fetchone()
    assert rows == len(expected)
    total = sum(Decimal(r["cost_usd"]) + Decimal(r["classifier_cost_usd"]) for r in records)
    assert total > 0


@pytest.mark.slow
def test_demo_prints_each_answer_and_the_cost_report(tmp_path: Path) -> None:
    done = run_process("demo", "--no-latency", home=tmp_path)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    for request in demo_requests():
        assert f"[{request.task_id}] routed to" in out
    for heading in ("COST REPORT", "Cost if all Opus", "Savings", "Classifier", "PER-REQUEST BREAKDOWN"):
        assert heading in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("demo", "--config", "/nonexistent/claude-router.toml"), "config file not found"),
        (("demo", "--concurrency", "0"), "Invalid value"),
        (("logs", "--ledger", "/nonexistent/ledger.db"), "no ledger"),
    ],
)
def test_bad_input_gets_one_clear_line_and_no_traceback(
    tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    done = run_cli(*args, home=tmp_path)
    assert done.returncode != 0
    assert message in done.stderr + done.stdout
    assert "Traceback" not in done.stderr + done.stdout


def test_classify_names_the_label_and_the_model(tmp_path: Path) -> None:
    done = run_cli("classify", "--json", "Is this review positive? 'Great blender.'", home=tmp_path)
    assert done.returncode == 0, done.stderr
    decision = json.loads(done.stdout)
    assert decision["label"] == "simple"
    assert (decision["model"], decision["effort"]) == ("claude-haiku-5-5", "low")
