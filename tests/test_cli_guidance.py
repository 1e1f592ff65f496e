"""What the command line tells a new user beside its results: where calibrate wrote and how to use
it, which settings file report and logs read, help text that keeps its brackets, an evaluation
that says when its "LLM" is the emulator's stand-in, and a README library example that runs as
shown."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from claude_router.ledger import SqlLedger
from claude_router.types import UsageRecord
from cli_support import cli_env, invoke

ROOT = Path(__file__).resolve().parents[1]
LABELLED = ROOT / "data" / "labels" / "heldout.jsonl"


def test_calibrate_says_where_it_wrote_and_how_commands_read_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # calibrate writes ./claude-router.toml by default
    args = ("calibrate", "--data", str(LABELLED), "--target", "opus=0.10,sonnet=0.40")
    result = invoke(*args, home=tmp_path, columns=400)
    written = tmp_path / "claude-router.toml"
    assert result.exit_code == 0, result.output
    assert written.is_file()
    assert f"export CLAUDE_ROUTER_CONFIG={written}" in result.output
    named = invoke(*args, home=tmp_path, columns=400, CLAUDE_ROUTER_CONFIG=str(written))
    assert named.exit_code == 0, named.output
    assert "export CLAUDE_ROUTER_CONFIG" not in named.output  # read already: nothing to add


def test_report_and_logs_take_the_config_file(tmp_path: Path) -> None:
    ledger = tmp_path / "elsewhere.db"

    async def record() -> None:
        store = await SqlLedger.open(ledger)
        now = datetime.now(UTC)
        await store.record(UsageRecord("req_1", now, "auto", model_used="claude-haiku-4-5", task_id="t-1"))
        await store.close()

    asyncio.run(record())
    config = tmp_path / "router.toml"
    config.write_text(f'[ledger]\nurl = "{ledger}"\n')
    logs = invoke("logs", "--json", "--config", str(config), home=tmp_path)
    assert logs.exit_code == 0, logs.output
    assert json.loads(logs.output)["task_id"] == "t-1"
    report = invoke("report", "-f", "json", "--config", str(config), home=tmp_path)
    assert report.exit_code == 0, report.output
    assert json.loads(report.output)["totals"]["requests"] == 1


@pytest.mark.parametrize("command", ["report", "logs", "forecast"])
def test_help_text_keeps_its_brackets(tmp_path: Path, command: str) -> None:
    result = invoke(command, "--help", home=tmp_path, columns=200)
    assert result.exit_code == 0
    assert "the config's [ledger] url" in " ".join(result.output.split())


def test_an_emulated_llm_classifier_is_named_as_the_stand_in_it_is(tmp_path: Path) -> None:
    args = ("eval", "classifier", "--data", str(LABELLED), "--classifier", "cascade")
    result = invoke(*args, home=tmp_path, columns=400)
    assert result.exit_code == 0, result.output
    assert "not from Haiku" in result.output
    assert re.search(r"the emulator's stand-in rule alone \d+\.\d%", result.output)
    assert "LLM alone" not in result.output
    as_json = json.loads(invoke(*args, "--json", home=tmp_path).output)
    assert as_json["llm_classifier"] == "the emulator's stand-in rule"


def test_the_readme_library_example_runs_as_shown(tmp_path: Path) -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Use it as a library") :]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    shown = section.split("```console\n", 1)[1].split("```", 1)[0]
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=cli_env(tmp_path),
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == shown
