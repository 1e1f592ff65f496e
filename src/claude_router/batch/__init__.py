"""The batch queue: durable jobs (SQLite by default, Redis Streams across machines).

queue = await open_queue()                     # <data home>/queue.db, or a redis:// URL
await queue.submit(batch_id, jobs)             # idempotent on each job id
for job in await queue.claim("worker-1", 50):  # leased, not yet done
    await queue.ack(job.id, message)           # or queue.fail(job.id, JobError(...), retry=True)
await queue.results(batch_id)                  # in input order
"""

from __future__ import annotations

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
from .queue import JobQueue, open_queue
from .sqlite_queue import SqliteJobQueue

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
