"""Queue fixtures: every contract test runs on real SQLite and on the real local Redis (under the
test's own key prefix, see `redis_prefix`)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from claude_router.batch import Job, JobQueue, open_queue
from claude_router.config import QueueSettings

OpenQueue = Callable[..., Awaitable[JobQueue]]


def make_jobs(batch_id: str, n: int, *, prefix: str | None = None, start: int = 0) -> list[Job]:
    """`n` jobs of one batch, positions `start..start+n-1`, each asking a different question."""
    prefix = prefix or batch_id
    return [
        Job(
            id=f"{prefix}-{i}",
            batch_id=batch_id,
            position=i,
            params={"model": "auto", "max_tokens": 64, "messages": [{"role": "user", "content": f"q{i}"}]},
        )
        for i in range(start, start + n)
    ]


@pytest.fixture
def queue_settings(redis_prefix: str) -> QueueSettings:
    """Short leases and few attempts keep the reliability tests quick; on Redis, a fresh stream
    under the test's own prefix."""
    return QueueSettings(
        name=f"test-{uuid.uuid4().hex[:8]}", redis_prefix=f"{redis_prefix}:queue", lease_s=0.4, max_attempts=3
    )


@pytest.fixture(params=["sqlite", "redis"])
def queue_target(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "queue.db")
    url: str = request.getfixturevalue("redis_url")
    return url


@pytest.fixture
async def connect(queue_target: str, queue_settings: QueueSettings) -> AsyncIterator[OpenQueue]:
    """Open another connection to the test's queue (as another worker would); closed afterwards."""
    opened: list[JobQueue] = []

    async def _open(**overrides: Any) -> JobQueue:
        queue = await open_queue(queue_target, queue_settings.model_copy(update=overrides))
        opened.append(queue)
        return queue

    yield _open
    for queue in opened:
        await queue.close()


@pytest.fixture
async def queue(connect: OpenQueue) -> JobQueue:
    return await connect()
