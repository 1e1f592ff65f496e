"""The batch queue: durable jobs (SQLite by default, Redis Streams across machines).

queue = await open_queue()                     # <data home>/queue.db, or a redis:// URL
await queue.submit(batch_id, jobs)             # idempotent on each job id
for job in await queue.claim("worker-1", 50):  # leased, not yet done
    await queue.ack(job.id, message)           # or queue.fail(job.id, JobError(...), retry=True)
await queue.results(batch_id)                  # in input order
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .job import (
    Job,
    JobError,
    JobMode,
    JobStatus,
    MessageBatchRef,
    QueueStats,
    StatusCounts,
    new_batch_id,
    new_job_id,
)

if TYPE_CHECKING:
    from .queue import JobQueue, open_queue
    from .sqlite_queue import SqliteJobQueue

# Loaded on first use: importing a module of this package (its commands) stays light.
_LAZY = {
    "JobQueue": "queue",
    "open_queue": "queue",
    "SqliteJobQueue": "sqlite_queue",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)


__all__ = [
    "Job",
    "JobError",
    "JobMode",
    "JobQueue",
    "JobStatus",
    "MessageBatchRef",
    "QueueStats",
    "SqliteJobQueue",
    "StatusCounts",
    "new_batch_id",
    "new_job_id",
    "open_queue",
]
