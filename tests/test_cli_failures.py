"""A failure a user can cause or meet is one line that names the cause (and the fix, where there is
one), with a non-zero exit: never a traceback unless --debug asks for it, never a secret."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from cli_support import invoke, read_only_dir, run_cli

CLOSED = "postgresql://router:hunter2@127.0.0.1:9/ledger"  # nothing listens on port 9
SHOWN = "postgresql://router:***@127.0.0.1:9/ledger"

# Every command that writes to the ledger, given the ledger to use.
WRITERS = [
    ("keys", "create", "--customer", "acme", "--ledger"),
    ("keys", "revoke", "vk_0", "--ledger"),
    ("keys", "budget", "--customer", "acme", "--budget-usd", "5", "--ledger"),
    ("demo", "--no-latency", "--ledger"),
    ("worker", "--once", "--ledger"),
]
# ... and the ones that read it.
READERS = [
    ("keys", "list", "--ledger"),
    ("report", "--ledger"),
    ("logs", "--ledger"),
    ("forecast", "--ledger"),
]


def error_line(output: str) -> str:
    """The one `error:` line of `output`; fails on a traceback or on several errors."""
    assert "Traceback" not in output, output
    errors = [line for line in output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, output
    return errors[0]


@pytest.mark.parametrize("args", WRITERS + READERS, ids=lambda a: " ".join(a[:2]))
def test_an_unreachable_postgresql_is_named_without_its_password(
    tmp_path: Path, args: tuple[str, ...]
) -> None:
    result = invoke(*args, CLOSED, home=tmp_path)
    assert result.exit_code == 1
    line = error_line(result.output)
    assert line.startswith(f"error: cannot open the ledger at {SHOWN}: connection refused")
    assert "is PostgreSQL running on 127.0.0.1:9?" in line
    assert "hunter2" not in result.output


def test_serve_names_an_unreachable_ledger_before_listening(tmp_path: Path) -> None:
    result = invoke("serve", "--port", "0", home=tmp_path, CLAUDE_ROUTER_LEDGER__URL=CLOSED)
    assert result.exit_code == 1
    assert error_line(result.output).startswith(f"error: cannot open the ledger at {SHOWN}")
    assert "listening" not in result.output


@pytest.mark.parametrize("args", [*WRITERS[:1], WRITERS[3], *READERS[:2]], ids=lambda a: " ".join(a[:2]))
def test_a_database_that_does_not_exist_is_named(
    postgres_url: str, tmp_path: Path, args: tuple[str, ...]
) -> None:
    name = f"cr_missing_{uuid.uuid4().hex[:8]}"
    url = make_url(postgres_url).set(database=name).render_as_string(hide_password=False)
    result = invoke(*args, url, home=tmp_path)
    assert result.exit_code == 1
    assert f'database "{name}" does not exist: create it first' in error_line(result.output)


@pytest.mark.parametrize("args", [*WRITERS[:1], WRITERS[3], WRITERS[4]], ids=lambda a: " ".join(a[:2]))
def test_a_read_only_ledger_directory_is_named_with_the_fix(tmp_path: Path, args: tuple[str, ...]) -> None:
    with read_only_dir(tmp_path) as folder:
        result = invoke(*args, str(folder / "ledger.db"), home=tmp_path)
    assert result.exit_code == 1
    line = error_line(result.output)
    assert f"{folder} is read-only" in line
    assert "choose a writable place" in line


def test_an_upstream_without_a_key_is_one_line_before_any_request(tmp_path: Path) -> None:
    result = invoke("demo", "--no-latency", home=tmp_path, ANTHROPIC_BASE_URL="http://127.0.0.1:9")
    assert result.exit_code == 2
    line = error_line(result.output)
    assert "no API key for the upstream at http://127.0.0.1:9: set ANTHROPIC_API_KEY" in line


def test_debug_shows_the_traceback_instead(tmp_path: Path) -> None:
    plain = run_cli("logs", "--ledger", str(tmp_path / "none.db"), home=tmp_path)
    debug = run_cli("--debug", "logs", "--ledger", str(tmp_path / "none.db"), home=tmp_path)
    assert plain.returncode == debug.returncode == 1
    assert (
        error_line(plain.stderr)
        == f"error: no ledger at {tmp_path / 'none.db'}: nothing has been recorded there yet"
    )
    assert "Traceback (most recent call last)" in debug.stderr
    assert "LedgerError: no ledger at" in debug.stderr


def test_version() -> None:
    from claude_router import __version__

    result = invoke("--version", home=Path("/nonexistent"))
    assert result.exit_code == 0
    assert result.output == f"claude-router {__version__}\n"
