"""The `JobQueue` protocol every backend implements, and `open_queue`, which picks one.

Delivery is at least once: a job is leased to one worker at a time, and a lease that runs out
(the worker died or stalled) puts the job back for another worker. Whatever a worker does for a
job must therefore be idempotent on the job id, as the ledger is.

Lifecycle of a job::

    submit ─► queued ─claim─► leased ─ack──────────────► done
                 ▲              │ ─fail(retry=False)──► failed
                 │              │ ─fail(retry=True)───► queued again, or parked after max_attempts
                 ├──lease expired (or parked after max_attempts)
                 └──release (a worker stopping: at once, and the claim not counted)
    cancel: queued / leased ─► canceled
    retry: failed / parked ─► queued, with its attempts at 0 (`batch retry`)

A job sent to the Message Batches API has that Message Batch recorded with it while it is
leased (`record_message_batch`); the recording survives expiry and release, so whoever claims
the job next polls that Message Batch instead of sending the request again.

A late `ack` from a worker whose lease had expired still records its result (the work was done,
and paid for) unless the job is already done: the first result wins.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlparse

from ..config import QueueSettings
from ..errors import QueueError
from ..paths import data_home
from .job import Job, JobError, JobStatus, MessageBatchRef, QueueStats, StatusCounts
from .sqlite_queue import SqliteJobQueue

DEFAULT_FILE = "queue.db"
REDIS_SCHEMES = frozenset({"redis", "rediss", "unix"})


class JobQueue(Protocol):
    """A durable queue of jobs grouped in batches. Every method is safe to call concurrently."""

    async def submit(self, batch_id: str, jobs: Sequence[Job]) -> list[str]:
        """Enqueue `jobs` (all of `batch_id`); return the ids accepted. A known id is a no-op."""
        ...

    async def claim(self, consumer: str, n: int, lease_s: float | None = None) -> list[Job]:
        """Lease up to `n` jobs to `consumer` for `lease_s` seconds (oldest first); may be empty.

        Jobs whose lease expired are reclaimed first. `lease_s` defaults to the queue's lease.
        """
        ...

    async def ack(self, job_id: str, result: Mapping[str, Any]) -> bool:
        """Store `result` and mark the job done; False if it was already done (or is unknown)."""
        ...

    async def fail(self, job_id: str, error: JobError, *, retry: bool) -> JobStatus | None:
        """Record a failure of a leased job and return its new status (None: unknown job).

        `retry=True` puts it back in the queue, or parks it once it has been claimed
        `max_attempts` times; `retry=False` fails it for good. A job that is not leased is
        left as it is, and its current status returned.
        """
        ...

    async def extend(self, job_id: str, lease_s: float | None = None) -> bool:
        """Renew a leased job's lease to `lease_s` from now; False if it is no longer leased."""
        ...

    async def record_message_batch(self, consumer: str, refs: Mapping[str, MessageBatchRef]) -> int:
        """Record the Message Batch of each job (by id) that `consumer` holds; return how many."""
        ...

    async def release(self, consumer: str, job_ids: Sequence[str]) -> int:
        """Put jobs `consumer` holds back in the queue at once, their claim not counted as an
        attempt (a worker stopping); return how many were released."""
        ...

    async def reclaim_expired(self) -> int:
        """Put every job whose lease expired back in the queue (or park it); return how many."""
        ...

    async def batch_status(self, batch_id: str) -> StatusCounts:
        """Counts by status of one batch (all zero for an unknown batch)."""
        ...

    async def results(self, batch_id: str) -> list[Job]:
        """Every job of the batch in input order; `result` is the error record when it failed."""
        ...

    async def cancel(self, batch_id: str) -> int:
        """Cancel the batch's queued and leased jobs; return how many were canceled."""
        ...

    async def retry(self, batch_id: str) -> int:
        """Put the batch's failed and parked jobs back in the queue, their attempts and any Message
        Batch they were in forgotten (they are sent afresh); return how many were re-queued."""
        ...

    async def stats(self) -> QueueStats:
        """Counts by status of the whole queue."""
        ...

    async def close(self) -> None: ...


async def open_queue(
    target: str | Path | None = None, settings: QueueSettings | None = None, *, readonly: bool = False
) -> JobQueue:
    """Open the queue at `target`: a SQLite path (or `sqlite:///path`) or a `redis://` URL.

    Without a target, `settings.url` is used, else `<data home>/queue.db`. A `readonly` queue is
    only read: nothing (no file, table or consumer group) is created, and a SQLite queue that does
    not exist is `MissingQueueError`.
    """
    settings = settings or QueueSettings()
    raw = str(target) if target is not None else settings.url
    if raw and urlparse(raw).scheme.lower() in REDIS_SCHEMES:
        return await _open_redis(raw, settings, readonly)
    return await SqliteJobQueue.open(sqlite_path(raw, create=not readonly), settings, readonly=readonly)


def sqlite_path(raw: str | None, *, create: bool = True) -> Path:
    """The SQLite file a queue target names; `None` is the default file in the data home (which
    is made unless `create` is False)."""
    if not raw:
        return data_home(create=create) / DEFAULT_FILE
    scheme = urlparse(raw).scheme.lower()
    if scheme == "sqlite":  # SQLAlchemy's form: sqlite:///relative or sqlite:////absolute
        return Path(raw.removeprefix("sqlite:///"))
    if len(scheme) > 1:  # a one-letter scheme is a Windows drive
        raise QueueError(f"unsupported queue URL scheme {scheme!r}: use a SQLite path or redis://")
    return Path(raw).expanduser()


async def _open_redis(url: str, settings: QueueSettings, readonly: bool) -> JobQueue:
    try:
        from .redis_queue import RedisJobQueue
    except ImportError:  # the optional `redis` extra is not installed
        raise QueueError("a redis:// queue needs: pip install 'claude-router[redis]'") from None
    return await RedisJobQueue.open(url, settings, readonly=readonly)


__all__ = ["DEFAULT_FILE", "JobQueue", "open_queue", "sqlite_path"]
