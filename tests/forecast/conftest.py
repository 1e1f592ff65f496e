"""Forecast fixtures: a ledger per test on SQLite and on a fresh PostgreSQL database."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import make_url


@pytest.fixture
async def pg_url(postgres_url: str) -> AsyncIterator[str]:
    name = f"cr_forecast_{uuid.uuid4().hex[:12]}"
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
    if request.param == "sqlite":
        return str(tmp_path / "ledger.db")
    url: str = request.getfixturevalue("pg_url")
    return url
