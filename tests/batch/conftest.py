"""Queue fixtures: every contract test runs on real SQLite and on the real local Redis (under the
test's own key prefix, see `redis_prefix`)."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from claude_router.batch import Job, JobQueue, open_queue
from claude_router.batch.pacing import PacingSettings
from claude_router.batch.worker import Worker, WorkerSettings, WorkerStats, worker_router
from claude_router.config import QueueSettings, Settings
from claude_router.ledger import open_ledger
from claude_router.upstream.emulated import upstream_settings

OpenQueue = Callable[..., Awaitable[JobQueue]]


def queue_env(settings: QueueSettings) -> dict[str, str]:
    """The `[queue]` settings naming the test's queue (its name and Redis prefix), as variables."""
    env = {"CLAUDE_ROUTER_QUEUE__NAME": settings.name}
    if settings.redis_prefix is not None:
        env["CLAUDE_ROUTER_QUEUE__REDIS_PREFIX"] = settings.redis_prefix
    return env


def worker_env(settings: QueueSettings, home: Path, **extra: str) -> dict[str, str]:
    """The environment of a `claude-router worker` process on the test's queue, with none of the
    caller's `CLAUDE_ROUTER_*` or `ANTHROPIC_*` settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "CLAUDE_ROUTER_"))}
    return env | {"CLAUDE_ROUTER_HOME": str(home)} | queue_env(settings) | extra


async def drain_in_process(
    queue: JobQueue, ledger: Path, settings: Settings | None = None, *, concurrency: int = 64, **options: Any
) -> WorkerStats:
    """What `claude-router worker --once --ledger LEDGER` does, in this process: the router on
    `settings` (default: the embedded emulator), the queue drained into the ledger. The worker that
    takes over from a killed one needs no process of its own; the killed one does."""
    pacing = PacingSettings(initial=min(8, concurrency), maximum=concurrency)
    async with (
        upstream_settings(settings or Settings.load(), realistic=False) as (routed, _),
        worker_router(routed) as router,
        await open_ledger(ledger) as opened,
    ):
        return await Worker(queue, router, opened, WorkerSettings(once=True, pacing=pacing, **options)).run()


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
