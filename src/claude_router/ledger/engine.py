"""Where the ledger lives: a SQLite path or a PostgreSQL URL, resolved to an async SQLAlchemy engine.

SQLite runs in WAL mode (readers never block the writer) with a busy timeout, and with
SQLAlchemy's own transaction control so that a migration is one atomic `BEGIN IMMEDIATE` ...
`COMMIT` (the driver would otherwise commit DDL as it goes).
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from ..errors import LedgerError
from ..paths import data_home

DEFAULT_FILE = "ledger.db"
#: Execution option: the SQLite `BEGIN` flavour for a connection ("IMMEDIATE" takes the write lock).
SQLITE_BEGIN = "claude_router_sqlite_begin"
_BUSY_TIMEOUT_MS = 30_000
_WAL_ATTEMPTS = 50
_PG_SCHEMES = ("postgresql://", "postgres://", "postgresql+asyncpg://")
_SQLITE_SCHEMES = ("sqlite:///", "sqlite+aiosqlite:///")


def resolve_url(url_or_path: str | Path | None, *, home: Path | None = None) -> str:
    """An async SQLAlchemy URL for a SQLite path, a `sqlite:///` or a `postgresql://` URL.

    None (or "") means `<home>/ledger.db`, `home` defaulting to the data directory.
    """
    if url_or_path is None or str(url_or_path) == "":
        return _sqlite_url((home or data_home()) / DEFAULT_FILE)
    raw = str(url_or_path)
    if raw.startswith(_PG_SCHEMES):
        return "postgresql+asyncpg://" + raw.split("://", 1)[1]
    if raw.startswith(_SQLITE_SCHEMES):
        return _sqlite_url(Path(raw.split(":///", 1)[1]))
    if "://" in raw:
        scheme = raw.split("://", 1)[0]
        raise LedgerError(f"unsupported ledger URL scheme {scheme!r}: use a SQLite path or postgresql://")
    return _sqlite_url(Path(raw))


def _sqlite_url(path: Path) -> str:
    path = path.expanduser().resolve()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise LedgerError(f"cannot create the ledger directory {path.parent}: {exc.strerror}") from None
    return f"sqlite+aiosqlite:///{path}"


def describe(url: str) -> str:
    """For people: a SQLite ledger's path, or the URL with any password hidden."""
    if url.startswith(_SQLITE_SCHEMES):
        return url.split(":///", 1)[1]
    try:
        return make_url(url).set(drivername="postgresql").render_as_string(hide_password=True)
    except ArgumentError:
        return "<invalid ledger URL>"


def create_engine(url: str) -> AsyncEngine:
    """An engine for a URL from `resolve_url`."""
    if url.startswith("sqlite"):
        engine = create_async_engine(url, connect_args={"timeout": _BUSY_TIMEOUT_MS / 1000})
        _configure_sqlite(engine)
        return engine
    return create_async_engine(url, pool_size=4, max_overflow=4, pool_pre_ping=True)


async def ensure_wal(engine: AsyncEngine) -> None:
    """Put a SQLite file in WAL mode (a property of the file, kept across connections). Switching
    needs a moment with no other connection inside a transaction, and SQLite reports "locked" at
    once rather than waiting for it, so this retries for a while."""
    if engine.dialect.name != "sqlite":
        return
    for attempt in range(_WAL_ATTEMPTS):
        async with engine.connect() as conn:  # the driver's own connection: outside any transaction
            driver = (await conn.get_raw_connection()).driver_connection
            assert driver is not None
            try:
                async with driver.execute("PRAGMA journal_mode=WAL") as cursor:
                    row = await cursor.fetchone()
                if row is not None and str(row[0]).lower() == "wal":
                    return
            except sqlite3.OperationalError:
                if attempt == _WAL_ATTEMPTS - 1:
                    raise LedgerError("the SQLite ledger is locked by another process") from None
        await asyncio.sleep(0.02 * (attempt + 1))
    raise LedgerError("the SQLite ledger could not be put in WAL mode")


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN itself (below)
        cursor = dbapi_connection.cursor()
        for pragma in (f"busy_timeout={_BUSY_TIMEOUT_MS}", "synchronous=NORMAL"):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Connection) -> None:
        flavour = conn.get_execution_options().get(SQLITE_BEGIN, "")
        conn.exec_driver_sql(f"BEGIN {flavour}".strip())
