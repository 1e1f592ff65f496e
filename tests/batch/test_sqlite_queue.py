"""What only the SQLite backend does: WAL, recorded migrations, closed-queue errors."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from claude_router.batch import SqliteJobQueue
from claude_router.batch.sqlite_schema import MIGRATIONS
from claude_router.config import QueueSettings
from claude_router.errors import QueueError

from .conftest import make_jobs


async def test_the_file_is_in_wal_mode_with_its_migrations_recorded_once(tmp_path: Path) -> None:
    path = tmp_path / "q.db"
    for _ in range(2):  # the second open finds everything applied
        queue = await SqliteJobQueue.open(path, QueueSettings(sqlite_synchronous="normal"))
        await queue.submit("b1", make_jobs("b1", 1))
        await queue.close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        names = [row[0] for row in conn.execute("SELECT name FROM queue_migrations ORDER BY name")]
    assert names == [name for name, _ in MIGRATIONS]


async def test_a_closed_queue_refuses_work(tmp_path: Path) -> None:
    queue = await SqliteJobQueue.open(tmp_path / "q.db")
    await queue.close()
    await queue.close()  # closing twice is harmless
    with pytest.raises(QueueError, match="is closed"):
        await queue.claim("w", 1)


async def test_a_database_error_is_a_queue_error(tmp_path: Path) -> None:
    queue = await SqliteJobQueue.open(tmp_path / "q.db")
    try:
        with sqlite3.connect(tmp_path / "q.db") as conn:
            conn.execute("DROP TABLE jobs")
        with pytest.raises(QueueError, match=r"q\.db: no such table: jobs"):
            await queue.stats()
    finally:
        await queue.close()
