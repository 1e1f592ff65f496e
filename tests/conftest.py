"""Shared fixtures: real services (PostgreSQL, Redis) with a clear skip, or a failure under CI."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlparse

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from claude_router.emulator.config import EmulatorConfig
from claude_router.emulator.server import running_emulator

POSTGRES_URL = os.environ.get("CLAUDE_ROUTER_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("CLAUDE_ROUTER_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


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


@pytest.fixture
def postgres_url() -> str:
    """A live PostgreSQL server URL; skips without one, fails under CI."""
    return _require(POSTGRES_URL, 5432, "PostgreSQL")


@pytest.fixture
def redis_url() -> str:
    """A live Redis server URL (database 15, flushed by the tests that use it)."""
    return _require(REDIS_URL, 6379, "Redis")


@pytest.fixture
def emulator_config() -> EmulatorConfig:
    """The emulator's configuration; override in a module for latency, limits or faults."""
    return EmulatorConfig()


@pytest.fixture
async def emulator_url(emulator_config: EmulatorConfig) -> AsyncIterator[str]:
    """The project's emulator served over real HTTP on a free port, for the test's duration."""
    async with running_emulator(emulator_config) as url:
        yield url


@pytest.fixture
async def pg_url(postgres_url: str) -> AsyncIterator[str]:
    """A new, empty database on the local PostgreSQL server, dropped after the test."""
    name = f"cr_test_{uuid.uuid4().hex[:12]}"
    admin = make_url(postgres_url)
    conn = await asyncpg.connect(admin.set(drivername="postgresql").render_as_string(hide_password=False))
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
        yield admin.set(database=name).render_as_string(hide_password=False)
    finally:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def ledger_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each test that takes this runs on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        return str(tmp_path / "ledger.db")
    url: str = request.getfixturevalue("pg_url")
    return url
