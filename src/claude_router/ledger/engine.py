"""Where the ledger lives: a SQLite path or a PostgreSQL URL, resolved to an async SQLAlchemy engine.

SQLite runs in WAL mode (readers never block the writer) with a busy timeout, and with
SQLAlchemy's own transaction control so that a migration is one atomic `BEGIN IMMEDIATE` ...
`COMMIT` (the driver would otherwise commit DDL as it goes).
"""

from __future__ import annotations

import asyncio
import errno
import os
import socket
import sqlite3
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError
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


def resolve_url(url_or_path: str | Path | None, *, home: Path | None = None, create: bool = True) -> str:
    """An async SQLAlchemy URL for a SQLite path, a `sqlite:///` or a `postgresql://` URL.

    None (or "") means `<home>/ledger.db`, `home` defaulting to the data directory. With `create`
    (a ledger about to be written) a SQLite file's directory is made; without, nothing is.
    """
    if url_or_path is None or str(url_or_path) == "":
        return _sqlite_url((home or data_home(create=create)) / DEFAULT_FILE, create)
    raw = str(url_or_path)
    if raw.startswith(_PG_SCHEMES):
        return "postgresql+asyncpg://" + raw.split("://", 1)[1]
    if raw.startswith(_SQLITE_SCHEMES):
        return _sqlite_url(Path(raw.split(":///", 1)[1]), create)
    if "://" in raw:
        scheme = raw.split("://", 1)[0]
        raise LedgerError(f"unsupported ledger URL scheme {scheme!r}: use a SQLite path or postgresql://")
    return _sqlite_url(Path(raw), create)


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL from `resolve_url`; None for PostgreSQL."""
    return Path(url.split(":///", 1)[1]) if url.startswith(_SQLITE_SCHEMES) else None


def _sqlite_url(path: Path, create: bool) -> str:
    path = path.expanduser().resolve()
    if create:
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


#: What opening a ledger database can fail with, besides our own `LedgerError`.
DATABASE_ERRORS = (SQLAlchemyError, OSError, sqlite3.Error)
# PostgreSQL SQLSTATEs worth a fix of their own.
_NO_DATABASE, _NO_ROLE, _BAD_PASSWORD = "3D000", "28000", "28P01"


def db_reason(exc: BaseException, url: str | None = None) -> str:
    """Why a ledger database call failed, in one line: the driver's own words (never the URL's
    password), with the fix where there is an obvious one. `url` (from `resolve_url`) names the
    server or file in the advice."""
    inner = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    text = (str(inner).strip().splitlines() or [type(inner).__name__])[0]
    code = getattr(inner, "sqlstate", None)
    if code == _NO_DATABASE:
        return f"{text}: create it first (createdb), or point the ledger URL at one that exists"
    if code in (_NO_ROLE, _BAD_PASSWORD):
        return f"{text}: check the user and password in the ledger URL"
    if isinstance(inner, socket.gaierror):
        return f"unknown host {_server(url)} ({inner.strerror})"
    if isinstance(inner, ConnectionRefusedError) or getattr(inner, "errno", None) == errno.ECONNREFUSED:
        return f"connection refused: is PostgreSQL running on {_server(url)}?"
    if isinstance(inner, TimeoutError):
        return f"no answer from {_server(url)} in time: is the server up and reachable?"
    path = sqlite_path(url) if url is not None else None
    if isinstance(inner, sqlite3.Error) and path is not None:
        return _sqlite_reason(text, path)
    if isinstance(inner, OSError) and inner.strerror:
        return f"{inner.strerror}: {inner.filename}" if inner.filename else inner.strerror
    return text


def _sqlite_reason(text: str, path: Path) -> str:
    if not os.access(path.parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        return (
            f"{path.parent} is read-only (or not yours) and SQLite must write beside the ledger: "
            "choose a writable place (--ledger, [ledger] url or CLAUDE_ROUTER_HOME)"
        )
    if "locked" in text:
        return "the file is locked by another process: try again when it is done"
    return text


def _server(url: str | None) -> str:
    """`host:port` of a PostgreSQL URL: where, without credentials."""
    if url is None:
        return "the ledger's server"
    try:
        parsed = make_url(url)
    except ArgumentError:
        return "<invalid ledger URL>"
    return f"{parsed.host or 'localhost'}:{parsed.port or 5432}"


def cannot_open(url: str, exc: BaseException) -> LedgerError:
    """The `LedgerError` for a ledger database that could not be opened."""
    return LedgerError(f"cannot open the ledger at {describe(url)}: {db_reason(exc, url)}")


def create_engine(url: str, *, readonly: bool = False) -> AsyncEngine:
    """An engine for a URL from `resolve_url`; a `readonly` one cannot write (SQLite opens the file
    read-only, PostgreSQL makes every transaction read-only)."""
    if url.startswith("sqlite"):
        if readonly:
            url = url.replace(":///", ":///file:", 1) + "?mode=ro&uri=true"
        engine = create_async_engine(url, connect_args={"timeout": _BUSY_TIMEOUT_MS / 1000})
        _configure_sqlite(engine)
        return engine
    args = {"server_settings": {"default_transaction_read_only": "on"}} if readonly else {}
    return create_async_engine(url, pool_size=4, max_overflow=4, pool_pre_ping=True, connect_args=args)


def readonly_engine(url_or_path: str | Path | None, *, home: Path | None = None) -> tuple[str, AsyncEngine]:
    """The URL and a read-only engine for an existing ledger database; creates nothing (no
    directory, no file). `LedgerError` when a SQLite ledger's file does not exist."""
    url = resolve_url(url_or_path, home=home, create=False)
    path = sqlite_path(url)
    if path is not None and not path.is_file():
        raise LedgerError(f"no ledger at {path}: nothing has been recorded there yet")
    return url, create_engine(url, readonly=True)


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
