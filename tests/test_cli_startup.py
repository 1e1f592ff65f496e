"""Start-up of the command line: `--help`, every subcommand's `--help` and the commands that only
read load neither the SDK nor a database driver they do not need (`import anthropic` alone takes
most of two seconds). Each check runs the commands in a fresh interpreter and reads `sys.modules`."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import typer

from claude_router.cli import app
from claude_router.ledger import SqlLedger
from claude_router.types import UsageRecord

SDK = "anthropic"
DRIVERS = ("asyncpg", "aiosqlite", "sqlalchemy.ext.asyncio", "redis")
WATCHED = (SDK, *DRIVERS, "sqlalchemy")

# Runs each command line given (a JSON list of argument lists) in this interpreter, then prints
# which of the watched modules got loaded along the way.
_PROBE = """
import json, sys
from typer.testing import CliRunner
from claude_router.cli import app
runs, watched = json.loads(sys.argv[1]), json.loads(sys.argv[2])
for args in runs:
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, (args, result.output)
print(json.dumps(sorted(m for m in watched if m in sys.modules)))
"""


def loaded_by(runs: list[list[str]], home: Path) -> set[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "CLAUDE_ROUTER_"))}
    env |= {"CLAUDE_ROUTER_HOME": str(home), "COLUMNS": "100"}
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, json.dumps(runs), json.dumps(WATCHED)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout.splitlines()[-1]))


def command_paths(group: typer.Typer) -> list[list[str]]:
    """The argument path of every command and group of the app (`["batch", "submit"]`, ...)."""
    root = typer.main.get_command(group)
    paths: list[list[str]] = []

    def walk(command: object, path: list[str]) -> None:
        paths.append(path)
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, [*path, name])

    walk(root, [])
    return paths


def test_every_help_loads_neither_the_sdk_nor_a_driver(tmp_path: Path) -> None:
    paths = command_paths(app)
    assert ["batch", "retry"] in paths  # the walk found the subcommands
    assert ["keys", "list"] in paths
    assert loaded_by([[*path, "--help"] for path in paths], tmp_path) == set()


def test_queue_reads_load_neither_the_sdk_nor_a_driver(tmp_path: Path) -> None:
    source = tmp_path / "r.jsonl"
    source.write_text(json.dumps({"max_tokens": 8, "messages": [{"role": "user", "content": "hi"}]}) + "\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "CLAUDE_ROUTER_"))}
    submitted = subprocess.run(
        [sys.executable, "-m", "claude_router.cli", "batch", "submit", str(source), "--batch-id", "b1"],
        capture_output=True,
        text=True,
        env=env | {"CLAUDE_ROUTER_HOME": str(tmp_path)},
        timeout=60,
        check=False,
    )
    assert submitted.returncode == 0, submitted.stderr
    runs = [["batch", "status"], ["batch", "status", "b1"], ["batch", "results", "b1"]]
    assert loaded_by(runs, tmp_path) == set()


def test_ledger_reads_load_the_sqlite_driver_only(tmp_path: Path) -> None:
    async def record() -> None:
        store = await SqlLedger.open(tmp_path / "ledger.db")
        now = datetime.now(UTC)
        await store.record(UsageRecord("req_1", now, "auto", model_used="claude-haiku-4-5", task_id="t1"))
        await store.close()

    asyncio.run(record())
    runs = [
        ["report"],
        ["report", "--format", "json"],
        ["logs"],
        ["keys", "list"],
        ["forecast", "--format", "json"],
    ]
    loaded = loaded_by(runs, tmp_path)
    assert "aiosqlite" in loaded  # the probe did read the ledger
    assert loaded.isdisjoint({SDK, "asyncpg", "redis"})
