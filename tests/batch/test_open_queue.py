"""open_queue: which backend a target names, where the default lives, and clear refusals."""

from __future__ import annotations

from pathlib import Path

import pytest

from claude_router.batch import SqliteJobQueue, open_queue
from claude_router.batch.queue import sqlite_path
from claude_router.batch.redis_queue import RedisJobQueue, redact
from claude_router.config import QueueSettings
from claude_router.errors import QueueError


async def test_the_default_queue_lives_in_the_data_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLAUDE_ROUTER_HOME", str(tmp_path / "home"))
    queue = await open_queue()
    try:
        assert isinstance(queue, SqliteJobQueue)
        assert queue.path == tmp_path / "home" / "queue.db"
        assert queue.path.is_file()
    finally:
        await queue.close()


async def test_settings_name_the_queue_when_no_target_is_given(tmp_path: Path) -> None:
    queue = await open_queue(settings=QueueSettings(url=str(tmp_path / "deep" / "q.db")))
    try:
        assert (await queue.stats()).location == str(tmp_path / "deep" / "q.db")
    finally:
        await queue.close()


def test_sqlite_targets() -> None:
    assert sqlite_path("sqlite:////var/q.db") == Path("/var/q.db")
    assert sqlite_path("sqlite:///rel/q.db") == Path("rel/q.db")
    assert sqlite_path("~/q.db") == Path.home() / "q.db"
    with pytest.raises(QueueError, match="unsupported queue URL scheme 'postgresql'"):
        sqlite_path("postgresql://db/queue")


async def test_a_redis_url_opens_the_redis_backend(redis_url: str, redis_prefix: str) -> None:
    queue = await open_queue(redis_url, QueueSettings(name="opened", redis_prefix=f"{redis_prefix}:queue"))
    try:
        assert isinstance(queue, RedisJobQueue)
        assert (await queue.stats()).backend == "redis"
    finally:
        await queue.close()


async def test_an_unreachable_redis_is_a_queue_error_without_the_password() -> None:
    with pytest.raises(QueueError) as caught:
        await open_queue("redis://user:s3cret@127.0.0.1:1/0")
    assert "s3cret" not in str(caught.value)
    assert "redis://user:***@127.0.0.1:1/0" in str(caught.value)


async def test_an_unusable_sqlite_file_is_a_queue_error(tmp_path: Path) -> None:
    (tmp_path / "not-a-db").write_bytes(b"this is not a database file" * 100)
    with pytest.raises(QueueError, match="cannot open the queue database"):
        await open_queue(tmp_path / "not-a-db")


def test_redact_hides_only_the_password() -> None:
    assert redact("redis://:pw@host:6380/2") == "redis://:***@host:6380/2"
    assert redact("rediss://u:pw@host/0?ssl_cert_reqs=none") == "rediss://u:***@host/0?ssl_cert_reqs=none"
    assert redact("redis://host:6379/0") == "redis://host:6379/0"
    assert redact("redis://user@host/0") == "redis://user@host/0"
    assert redact("redis://u:p@ss@host:bad/0") == "redis://u:***@host:bad/0"


async def test_a_malformed_redis_target_is_a_queue_error() -> None:
    with pytest.raises(QueueError, match="port") as caught:
        await open_queue("redis://:hunter2@127.0.0.1:notaport/0")
    assert "hunter2" not in str(caught.value)
    with pytest.raises(QueueError, match="brace-free"):
        await open_queue("redis://127.0.0.1:1/0", QueueSettings(name="{x}"))
