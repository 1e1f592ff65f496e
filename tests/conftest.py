"""Shared fixtures: real services (PostgreSQL, Redis) with a clear skip, or a failure under CI.

The suite runs on every core (pytest-xdist), and other sessions (another checkout, a user's own
data) may share the same servers, so nothing here is shared or global:

- Redis: each test gets a key prefix of its own (`redis_prefix`) under this process's namespace;
  it gives that prefix to every component it builds, and afterwards the keys under it, and only
  those, are deleted (SCAN MATCH + UNLINK). The suite never flushes a database.
- PostgreSQL: each test that asks for one gets an empty database of its own: each process has a
  database of its own, emptied for each of its tests and dropped at the end of the session.
- Files: each test's `CLAUDE_ROUTER_HOME` is a directory of its own, and `CLAUDE_ROUTER_*` and
  `ANTHROPIC_*` variables from the caller's environment do not reach the code under test.
- Ports: every server a test starts listens on a port the OS chose (bound to port 0).
"""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlparse

import asyncpg
import pytest
import redis
from sqlalchemy.engine import make_url

from claude_router.emulator.config import EmulatorConfig
from claude_router.emulator.server import running_emulator

POSTGRES_URL = os.environ.get("CLAUDE_ROUTER_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("CLAUDE_ROUTER_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
#: This process's share of the servers: one per pytest process (each xdist worker is one), so two
#: workers, or two sessions on the same machine, never see each other's keys or databases.
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "main")
SESSION = f"{WORKER}-{uuid.uuid4().hex[:8]}"
REDIS_NAMESPACE = f"claude-router-test:{SESSION}"
#: Variables of the caller's environment that would change what the code under test does.
FOREIGN_ENV = ("ANTHROPIC_", "CLAUDE_ROUTER_")


def _reachable(url: str, default_port: int) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or default_port), 1.0):
            return True
    except OSError:
        return False


def _require(url: str, default_port: int, what: str) -> str:
    if _reachable(url, default_port):
        return url
    reason = f"{what} is not reachable at {url}"
    if IN_CI:
        pytest.fail(f"{reason}, and CI=true requires it", pytrace=False)
    pytest.skip(f"{reason} (set the URL in the environment to run these tests)")


def delete_redis_keys(url: str, prefix: str) -> int:
    """Delete every key that starts with `prefix` + ":" (and nothing else); how many there were."""
    pattern = "".join(f"\\{c}" if c in "*?[]\\" else c for c in prefix) + ":*"
    client = redis.Redis.from_url(url)
    try:
        deleted = 0
        batch: list[bytes] = []
        for key in client.scan_iter(match=pattern, count=1000):
            batch.append(key)
            if len(batch) == 500:
                deleted += client.unlink(*batch)
                batch.clear()
        if batch:
            deleted += client.unlink(*batch)
        return deleted
    finally:
        client.close()


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Sweep this process's namespace, in case a test was cut short before its own clean-up."""
    if _reachable(REDIS_URL, 6379):
        delete_redis_keys(REDIS_URL, REDIS_NAMESPACE)


@pytest.fixture(autouse=True)
def _own_environment(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """No setting of the caller's reaches the test, and the data home is the test's own."""
    for name in list(os.environ):
        if name.startswith(FOREIGN_ENV):
            monkeypatch.delenv(name)
    monkeypatch.setenv("CLAUDE_ROUTER_HOME", str(tmp_path_factory.mktemp("home")))


@pytest.fixture
def postgres_url() -> str:
    """The PostgreSQL server's admin URL (skips without one, fails under CI): for creating
    databases only. A test that writes data takes `pg_url`, a database of its own; the admin
    database is shared with every other session on the server."""
    return _require(POSTGRES_URL, 5432, "PostgreSQL")


@pytest.fixture
def redis_prefix() -> str:
    """This test's own Redis key prefix: give it to every component that writes to Redis."""
    return f"{REDIS_NAMESPACE}:{uuid.uuid4().hex[:10]}"


@pytest.fixture
def redis_url(redis_prefix: str) -> Iterator[str]:
    """A live Redis server URL; the keys under `redis_prefix` are deleted after the test."""
    url = _require(REDIS_URL, 6379, "Redis")
    yield url
    delete_redis_keys(url, redis_prefix)


@pytest.fixture
def emulator_config() -> EmulatorConfig:
    """The emulator's configuration; override in a module for latency, limits or faults."""
    return EmulatorConfig()


@pytest.fixture
async def emulator_url(emulator_config: EmulatorConfig) -> AsyncIterator[str]:
    """The project's emulator served over real HTTP on a free port, for the test's duration."""
    async with running_emulator(emulator_config) as url:
        yield url


def _on_postgres(url: str, *statements: str) -> None:
    """Run `statements` on the server at `url`, from a thread of their own (a test's event loop
    may be running in this one)."""

    async def run() -> None:
        conn = await asyncpg.connect(make_url(url).set(drivername="postgresql").render_as_string(False))
        try:
            for statement in statements:
                await conn.execute(statement)
        finally:
            await conn.close()

    with ThreadPoolExecutor(1) as thread:
        thread.submit(asyncio.run, run()).result()


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """This process's own database on the PostgreSQL server, dropped at the end of the session;
    `pg_url` empties it for each test (far cheaper than a database per test)."""
    admin = make_url(_require(POSTGRES_URL, 5432, "PostgreSQL"))
    name = f"cr_test_{SESSION}".replace("-", "_")
    _on_postgres(POSTGRES_URL, f'CREATE DATABASE "{name}"')
    try:
        yield admin.set(database=name).render_as_string(hide_password=False)
    finally:
        _on_postgres(POSTGRES_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


#: Everything an earlier test can leave in a database: its connections, its settings
#: (`ALTER DATABASE ... SET`), its schemas and all they hold.
_EMPTY_DATABASE = (
    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
    " WHERE datname = current_database() AND pid <> pg_backend_pid()",
    "DO $$ BEGIN EXECUTE format('ALTER DATABASE %I RESET ALL', current_database()); END $$",
    """DO $$ DECLARE s name; BEGIN
         FOR s IN SELECT nspname FROM pg_namespace
                  WHERE nspname NOT LIKE 'pg\\_%' AND nspname <> 'information_schema' LOOP
           EXECUTE format('DROP SCHEMA %I CASCADE', s);
         END LOOP;
       END $$""",
    "CREATE SCHEMA public",
)


@pytest.fixture
def pg_url(pg_database: str) -> str:
    """An empty database of this test's own on the local PostgreSQL server: this process's
    database, with whatever an earlier test left in it gone."""
    _on_postgres(pg_database, *_EMPTY_DATABASE)
    return pg_database


@pytest.fixture(params=["sqlite", "postgresql"])
def ledger_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each test that takes this runs on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        return str(tmp_path / "ledger.db")
    url: str = request.getfixturevalue("pg_url")
    return url
