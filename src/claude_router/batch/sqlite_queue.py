"""The embedded queue: one SQLite file in WAL mode, shared by every worker process on a machine.

Each queue object owns one connection on one dedicated thread (the stdlib `sqlite3`: on the
claim/ack path it beats SQLAlchemy's async engine, see `bench/queue.py`). A claim runs under
`BEGIN IMMEDIATE`, which takes the file's write lock before reading, so two workers (threads or
processes) never lease the same job; each claim first returns expired leases to the queue.

A call cancelled while its statement runs still completes on the thread: a claim lost that way
is leased to nobody who knows it, and comes back when its lease expires.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

from ..config import QueueSettings
from ..errors import MissingQueueError, QueueError
from . import sqlite_schema as sql
from .job import Job, JobError, JobStatus, MessageBatchRef, QueueStats, StatusCounts, check_submission, dumps

T = TypeVar("T")

BUSY_TIMEOUT_MS = 10_000  # how long a writer waits for another process's write lock


def _connect_readonly(path: Path) -> sqlite3.Connection:
    """A connection that cannot write, to an existing queue file: nothing is created or migrated."""
    if not path.is_file():
        raise MissingQueueError(f"no queue at {path}: nothing has been submitted there yet")
    conn = sqlite3.connect(f"file:{quote(str(path))}?mode=ro", uri=True, isolation_level=None)
    try:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        lacking = sql.missing(conn)
    except BaseException:
        conn.close()
        raise
    if lacking:
        conn.close()
        if len(lacking) == len(sql.MIGRATIONS):
            raise MissingQueueError(f"no queue in {path}: nothing has been submitted there yet")
        raise QueueError(
            f"the queue {path} was written by an older claude-router (it lacks {', '.join(lacking)}):"
            " submit to it once (batch submit) to upgrade it"
        )
    return conn


def _connect(path: Path, synchronous: str) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    # isolation_level=None: no implicit transactions; every write is either one statement or
    # an explicit BEGIN IMMEDIATE block.
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute(f"PRAGMA synchronous = {synchronous.upper()}")
    sql.migrate(conn)
    return conn


class SqliteJobQueue:
    """`JobQueue` on a SQLite file. Open with `await SqliteJobQueue.open(path, settings)`."""

    backend = "sqlite"

    def __init__(
        self, path: Path, conn: sqlite3.Connection, executor: ThreadPoolExecutor, settings: QueueSettings
    ) -> None:
        self.path = path
        self.settings = settings
        self._conn = conn  # used only on the executor's single thread
        self._executor = executor
        self._closed = False

    @classmethod
    async def open(
        cls, path: Path, settings: QueueSettings | None = None, *, readonly: bool = False
    ) -> SqliteJobQueue:
        """The queue in the file at `path`, created and migrated as needed; `readonly`: an existing
        queue, opened so that nothing can be written (`MissingQueueError` when there is none)."""
        settings = settings or QueueSettings()
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="claude-router-queue")
        loop = asyncio.get_running_loop()
        connect = (
            partial(_connect_readonly, path)
            if readonly
            else partial(_connect, path, settings.sqlite_synchronous)
        )
        try:
            conn = await loop.run_in_executor(executor, connect)
        except (sqlite3.Error, OSError, QueueError) as exc:
            executor.shutdown(wait=False)
            if isinstance(exc, QueueError):
                raise
            raise QueueError(f"cannot open the queue database {path}: {exc}") from None
        return cls(path, conn, executor, settings)

    async def _call(self, fn: Callable[[], T]) -> T:
        if self._closed:
            raise QueueError(f"the queue {self.path} is closed")
        try:
            return await asyncio.get_running_loop().run_in_executor(self._executor, fn)
        except sqlite3.Error as exc:
            raise QueueError(f"queue database {self.path}: {exc}") from exc

    # -- the protocol -------------------------------------------------------------------------

    async def submit(self, batch_id: str, jobs: Sequence[Job]) -> list[str]:
        check_submission(batch_id, jobs)
        rows = [(job.id, job.batch_id, job.position, job.spec_json()) for job in jobs]
        return await self._call(partial(self._submit, rows))

    async def claim(self, consumer: str, n: int, lease_s: float | None = None) -> list[Job]:
        lease = _lease(lease_s, self.settings)
        if not consumer:
            raise ValueError("a consumer name is required")
        if n <= 0:
            return []
        return await self._call(partial(self._claim, consumer, n, lease))

    async def ack(self, job_id: str, result: Mapping[str, Any]) -> bool:
        params = {"id": job_id, "result": dumps(result, f"the result of job {job_id!r}"), "now": time.time()}
        return await self._call(partial(self._write, sql.ACK, params)) == 1

    async def fail(self, job_id: str, error: JobError, *, retry: bool) -> JobStatus | None:
        params = {
            "id": job_id,
            "error": dumps(error.to_record()),
            "retry": retry,
            "max_attempts": self.settings.max_attempts,
            "now": time.time(),
        }
        return await self._call(partial(self._fail, params))

    async def extend(self, job_id: str, lease_s: float | None = None) -> bool:
        now = time.time()
        params = {"id": job_id, "until": now + _lease(lease_s, self.settings), "now": now}
        return await self._call(partial(self._write, sql.EXTEND, params)) == 1

    async def record_message_batch(self, consumer: str, refs: Mapping[str, MessageBatchRef]) -> int:
        now = time.time()
        rows = [
            {"id": job_id, "batch": ref.id, "request": ref.request_json(), "owner": consumer, "now": now}
            for job_id, ref in refs.items()
        ]
        return await self._call(partial(self._write_many, sql.RECORD_MESSAGE_BATCH, rows))

    async def release(self, consumer: str, job_ids: Sequence[str]) -> int:
        now = time.time()
        rows = [{"id": job_id, "owner": consumer, "now": now} for job_id in job_ids]
        return await self._call(partial(self._write_many, sql.RELEASE, rows))

    async def reclaim_expired(self) -> int:
        return await self._call(self._reclaim_tx)

    async def batch_status(self, batch_id: str) -> StatusCounts:
        rows = await self._call(partial(self._read, sql.BATCH_COUNTS, (batch_id,)))
        return StatusCounts.from_mapping(dict(rows))

    async def results(self, batch_id: str) -> list[Job]:
        rows = await self._call(partial(self._read, sql.RESULTS, (batch_id,)))
        return [
            Job.from_stored(
                spec,
                status=status,
                attempts=attempts,
                last_error=error,
                result=result,
                message_batch_id=batch,
                message_batch_request=request,
            )
            for spec, status, attempts, error, result, batch, request in rows
        ]

    async def cancel(self, batch_id: str) -> int:
        return await self._call(partial(self._write, sql.CANCEL, {"batch_id": batch_id, "now": time.time()}))

    async def retry(self, batch_id: str) -> int:
        return await self._call(partial(self._write, sql.RETRY, {"batch_id": batch_id, "now": time.time()}))

    async def stats(self) -> QueueStats:
        rows = await self._call(partial(self._read, sql.ALL_COUNTS, ()))
        return QueueStats(self.backend, str(self.path), StatusCounts.from_mapping(dict(rows)))

    async def close(self) -> None:
        if self._closed:
            return
        try:
            await self._call(self._conn.close)
        finally:
            self._closed = True
            self._executor.shutdown(wait=False)

    # -- on the queue's thread ----------------------------------------------------------------

    def _submit(self, rows: list[tuple[str, str, int, str]]) -> list[str]:
        now = time.time()
        self._conn.execute("BEGIN IMMEDIATE")
        with self._conn:  # under the write lock, the ids known now stay the ids known
            seen = self._known_ids([row[0] for row in rows])
            fresh = []
            for job_id, batch_id, position, spec in rows:
                if job_id not in seen:
                    seen.add(job_id)
                    fresh.append((job_id, batch_id, position, now, spec, now))
            self._conn.executemany(sql.INSERT, fresh)
        return [row[0] for row in fresh]

    def _known_ids(self, ids: list[str]) -> set[str]:
        known: set[str] = set()
        for start in range(0, len(ids), sql.IDS_PER_QUERY):
            chunk = ids[start : start + sql.IDS_PER_QUERY]
            query = sql.KNOWN_IDS.format(marks=",".join("?" * len(chunk)))
            known.update(row[0] for row in self._conn.execute(query, chunk))
        return known

    def _claim(self, consumer: str, n: int, lease_s: float) -> list[Job]:
        now = time.time()
        self._conn.execute("BEGIN IMMEDIATE")
        with self._conn:
            self._reclaim(now)
            params = {"owner": consumer, "until": now + lease_s, "now": now, "n": n}
            rows = self._conn.execute(sql.CLAIM, params).fetchall()
        rows.sort(key=lambda row: (row[0], row[1]))  # RETURNING does not keep the subquery's order
        return [
            Job.from_stored(
                spec,
                status=status,
                attempts=attempts,
                last_error=error,
                message_batch_id=batch,
                message_batch_request=request,
            )
            for _, _, spec, status, attempts, error, batch, request in rows
        ]

    def _reclaim_tx(self) -> int:
        self._conn.execute("BEGIN IMMEDIATE")
        with self._conn:
            return self._reclaim(time.time())

    def _reclaim(self, now: float) -> int:
        params = {"now": now, "max_attempts": self.settings.max_attempts}
        parked = self._conn.execute(sql.PARK_EXPIRED, params).rowcount
        return parked + self._conn.execute(sql.REQUEUE_EXPIRED, {"now": now}).rowcount

    def _fail(self, params: dict[str, Any]) -> JobStatus | None:
        row = self._conn.execute(sql.FAIL, params).fetchone()
        if row is None:  # not leased (already finished, canceled, or requeued): leave it be
            row = self._conn.execute(sql.STATUS_OF, (params["id"],)).fetchone()
        return JobStatus(row[0]) if row else None

    def _write(self, statement: str, params: Mapping[str, Any]) -> int:
        return self._conn.execute(statement, params).rowcount

    def _write_many(self, statement: str, rows: list[dict[str, Any]]) -> int:
        if not rows:
            return 0
        self._conn.execute("BEGIN IMMEDIATE")
        with self._conn:
            return self._conn.executemany(statement, rows).rowcount

    def _read(self, statement: str, params: tuple[Any, ...]) -> list[Any]:
        return self._conn.execute(statement, params).fetchall()


def _lease(lease_s: float | None, settings: QueueSettings) -> float:
    lease = settings.lease_s if lease_s is None else lease_s
    if lease <= 0:
        raise ValueError(f"a lease must be positive, got {lease}s")
    return lease


__all__ = ["SqliteJobQueue"]
