"""Running the command line as a user would, for the tests that pin what a user sees.

`invoke` runs it in this process (Typer's runner, a real terminal width through COLUMNS) and
`run_cli` in a process of its own, for what needs one (signals, streaming output, start-up).
Neither inherits the developer's API key, base URL or settings.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

from typer.testing import CliRunner, Result

from claude_router.cli import app

# Whatever the developer's shell says, a test starts from no key, no base URL and no settings file.
_CLEARED = ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_BASE_URL", "CLAUDE_ROUTER_CONFIG")


def cli_env(home: Path, **extra: str) -> dict[str, str]:
    """A subprocess environment: this one without API or router settings, `home` as the data home."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "CLAUDE_ROUTER_"))}
    return env | {"CLAUDE_ROUTER_HOME": str(home), "COLUMNS": "80"} | extra


def run_cli(*args: str, home: Path, timeout: float = 60, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "claude_router.cli", *args],
        capture_output=True,
        text=True,
        env=cli_env(home, **env),
        timeout=timeout,
        check=False,
    )


def invoke(*args: str, home: Path, columns: int = 80, **env: str) -> Result:
    """The command line in this process, `columns` wide, with its own data home."""
    settings: dict[str, str | None] = dict.fromkeys(_CLEARED)
    for name in os.environ:
        if name.startswith("CLAUDE_ROUTER_"):
            settings[name] = None
    settings |= {"CLAUDE_ROUTER_HOME": str(home), "COLUMNS": str(columns), **env}
    return CliRunner().invoke(app, list(args), env=settings)


def one_line(text: str) -> str:
    """The only non-blank line of `text` (fails if there are several: a user gets one line)."""
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) == 1, text
    return lines[0]


@contextlib.contextmanager
def read_only_dir(parent: Path) -> Iterator[Path]:
    """A directory the test cannot write in, holding `ledger.db` (a real ledger written before).

    As a normal user, permissions do it; as root they do not, so a tmpfs is mounted and made
    read-only (skipped where that is not allowed)."""
    import pytest

    from claude_router.cli_runner import run
    from claude_router.ledger import SqlLedger

    async def make_ledger(path: Path) -> None:
        store = await SqlLedger.open(path)
        await store.close()

    folder = parent / f"ro-{uuid.uuid4().hex[:8]}"
    folder.mkdir()
    if os.geteuid() != 0:
        run(make_ledger(folder / "ledger.db"))
        for path in [folder, *folder.iterdir()]:
            path.chmod(0o555 if path.is_dir() else 0o444)
        try:
            yield folder
        finally:
            for path in [folder, *folder.iterdir()]:
                path.chmod(0o755)
        return
    if shutil.which("mount") is None:
        pytest.skip("no mount command to make a read-only directory as root")
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(folder)], check=False)
    if mounted.returncode != 0:
        pytest.skip("cannot mount a tmpfs to make a read-only directory as root")
    try:
        run(make_ledger(folder / "ledger.db"))
        subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=True)
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)
