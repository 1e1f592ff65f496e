from __future__ import annotations

from pathlib import Path

import pytest

from claude_router.errors import LedgerError
from claude_router.ledger import resolve_url
from claude_router.ledger.engine import describe


def test_default_is_ledger_db_in_home(tmp_path: Path) -> None:
    assert resolve_url(None, home=tmp_path) == f"sqlite+aiosqlite:///{tmp_path.resolve()}/ledger.db"


def test_default_home_follows_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLAUDE_ROUTER_HOME", str(tmp_path / "home"))
    assert resolve_url("") == f"sqlite+aiosqlite:///{(tmp_path / 'home').resolve()}/ledger.db"


def test_paths_and_sqlite_urls(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "x.db"
    assert resolve_url(path) == f"sqlite+aiosqlite:///{path}"
    assert (tmp_path / "sub").is_dir()
    assert resolve_url(f"sqlite:///{path}") == f"sqlite+aiosqlite:///{path}"


@pytest.mark.parametrize("scheme", ["postgresql", "postgres", "postgresql+asyncpg"])
def test_postgres_urls_use_asyncpg(scheme: str) -> None:
    assert resolve_url(f"{scheme}://u:p@db:5432/x") == "postgresql+asyncpg://u:p@db:5432/x"


def test_unknown_scheme_is_a_clear_error() -> None:
    with pytest.raises(LedgerError, match="unsupported ledger URL scheme 'mysql'"):
        resolve_url("mysql://u:secret@db/x")


def test_describe_hides_the_password() -> None:
    assert "secret" not in describe("postgresql+asyncpg://u:secret@db/x")
