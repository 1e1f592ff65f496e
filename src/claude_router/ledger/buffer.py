"""`BufferedLedger`: records are queued in memory and written in batches by one background task,
so recording a request costs a list append, not a database round trip.

A batch is written when 500 rows are waiting or 100 ms after the first of them arrived,
whichever comes first, and on `flush()` / `close()`. The buffer is bounded (10,000 rows by
default). When it is full, `record()` waits for the writer to make room: backpressure, never
a dropped record. A failed write (database down, locked, deadlock) keeps its rows and is retried
with backoff, so a record accepted by `record()` reaches the database once it is reachable again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from ..errors import LedgerError
from ..types import UsageRecord
from .base import Dimension, Group
from .engine import db_reason
from .rows import record_to_row
from .sources import SourceCount
from .store import SqlLedger

log = logging.getLogger(__name__)

BATCH_ROWS = 500
INTERVAL_S = 0.1
CAPACITY = 10_000
_RETRY_FIRST_S = 0.05
_RETRY_MAX_S = 5.0
_CLOSE_TIMEOUT_S = 30.0

#: Called with the records of each batch once it is committed (e.g. spend alerts).
Listener = Callable[[Sequence[UsageRecord]], Coroutine[Any, Any, None]]
#: Errors a write survives by retrying: the database is unreachable, locked or chose a deadlock
#: victim. Anything else is a bug, and stops the writer loudly.
_TRANSIENT = (OperationalError, InterfaceError, OSError, TimeoutError)
#: SQLSTATE classes that mean "try again": connection (08), rollback / deadlock (40), resources
#: (53), lock not available (55), cancelled or shutting down (57), system (58).
_TRANSIENT_SQLSTATE = frozenset({"08", "40", "53", "55", "57", "58"})


def is_transient(exc: BaseException) -> bool:
    """Whether a failed write may succeed if retried unchanged."""
    if isinstance(exc, _TRANSIENT):
        return True
    if isinstance(exc, DBAPIError):
        code = getattr(exc.orig, "sqlstate", None)
        return exc.connection_invalidated or (isinstance(code, str) and code[:2] in _TRANSIENT_SQLSTATE)
    return False


class _Signal:
    """Wake every waiter whose condition may have changed (settable from a done-callback)."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def notify(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    async def wait_for(self, predicate: Callable[[], bool]) -> None:
        while not predicate():
            await self._event.wait()


class BufferedLedger:
    """A `Ledger` that buffers writes in front of a `SqlLedger` (see the module docstring)."""

    def __init__(
        self,
        store: SqlLedger,
        *,
        batch_rows: int = BATCH_ROWS,
        interval_s: float = INTERVAL_S,
        capacity: int = CAPACITY,
    ) -> None:
        if not 0 < batch_rows <= capacity:
            raise ValueError("need 0 < batch_rows <= capacity")
        self.store = store
        self._batch_rows = batch_rows
        self._interval_s = interval_s
        self._capacity = capacity
        self._pending: list[tuple[UsageRecord, dict[str, Any]]] = []
        self._accepted = 0  # records ever accepted
        self._written = 0  # records ever committed (or found already present)
        self._flush_target = 0  # write without waiting until this many are committed
        self._wake = asyncio.Event()  # rows are waiting
        self._hurry = asyncio.Event()  # write now: a full batch, a flush or close
        self._progress = _Signal()  # the writer committed a batch, or stopped
        self._listeners: list[Listener] = []
        self._listener_tasks: set[asyncio.Task[None]] = set()
        self._writer: asyncio.Task[None] | None = None
        self._failure: BaseException | None = None
        self._closed = False

    def subscribe(self, listener: Listener) -> None:
        """Call `listener` with every committed batch, in a task of its own (never delaying writes)."""
        self._listeners.append(listener)

    @property
    def url(self) -> str:
        return self.store.url

    @property
    def failure(self) -> BaseException | None:
        """Why the writer stopped for good (None while it runs): records are no longer written."""
        return self._failure

    @property
    def pending(self) -> int:
        """Records accepted but not yet committed."""
        return self._accepted - self._written

    # ---- write side ----------------------------------------------------------------------

    async def record(self, rec: UsageRecord) -> None:
        """Queue `rec`. Raises `LedgerError` at once if it cannot be stored or the ledger is closed;
        waits (backpressure) only while the buffer is full."""
        if self._closed:
            raise LedgerError("the ledger is closed")
        self._raise_if_dead()
        row = record_to_row(rec)
        self._ensure_writer()
        if len(self._pending) >= self._capacity:
            self._hurry.set()
            await self._progress.wait_for(lambda: len(self._pending) < self._capacity or self._dead())
            self._raise_if_dead()
        self._pending.append((rec, row))
        self._accepted += 1
        self._wake.set()
        if len(self._pending) >= self._batch_rows:
            self._hurry.set()

    async def flush(self) -> None:
        """Return when every record accepted before this call is committed."""
        target = self._accepted
        if self._written < target:
            self._ensure_writer()
            self._flush_target = max(self._flush_target, target)
            self._hurry.set()
            await self._progress.wait_for(lambda: self._written >= target or self._dead())
        self._raise_if_dead()
        if self._listener_tasks:  # their failures are logged by `_listener_done`
            await asyncio.wait(set(self._listener_tasks))

    async def close(self, timeout_s: float = _CLOSE_TIMEOUT_S) -> None:
        """Flush (waiting at most `timeout_s` for an unreachable database), then release it."""
        if self._closed:
            return
        self._closed = True
        try:
            async with asyncio.timeout(timeout_s):
                await self.flush()
        except TimeoutError:
            raise LedgerError(f"{self.pending} ledger record(s) could not be written before close") from None
        finally:
            await self._stop_writer()
            await self.store.close()

    async def __aenter__(self) -> BufferedLedger:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    # ---- the writer task -----------------------------------------------------------------

    def _ensure_writer(self) -> None:
        if self._writer is None and self._failure is None:
            self._writer = asyncio.get_running_loop().create_task(self._run(), name="ledger-writer")
            self._writer.add_done_callback(self._writer_done)

    def _writer_done(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            self._failure = task.exception()
            log.error("the ledger writer stopped: %r; %d record(s) unwritten", self._failure, self.pending)
        self._writer = None
        self._progress.notify()

    async def _stop_writer(self) -> None:
        if self._writer is not None:
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer

    def _dead(self) -> bool:
        return self._failure is not None

    def _raise_if_dead(self) -> None:
        if self._failure is not None:
            url = self.store.engine.url.render_as_string(hide_password=False)
            reason = db_reason(self._failure, url)
            raise LedgerError(f"cannot write to the ledger at {self.store.url}: {reason}") from self._failure

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            if not self._hurry.is_set():
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self._interval_s):
                        await self._hurry.wait()
            await self._write_next_batch()

    async def _write_next_batch(self) -> None:
        batch = self._pending[: self._batch_rows]
        await self._write_with_retry([row for _, row in batch])
        del self._pending[: len(batch)]
        self._written += len(batch)
        if not self._pending:
            self._wake.clear()
        if len(self._pending) < self._batch_rows and self._written >= self._flush_target:
            self._hurry.clear()
        self._progress.notify()
        self._notify([rec for rec, _ in batch])

    async def _write_with_retry(self, rows: list[dict[str, Any]]) -> None:
        delay = _RETRY_FIRST_S
        while True:
            try:
                await self.store.write(rows)
                return
            except (*_TRANSIENT, DBAPIError) as exc:
                if not is_transient(exc):
                    raise
                log.warning("ledger write of %d row(s) failed, retrying in %.2fs: %s", len(rows), delay, exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, _RETRY_MAX_S)

    def _notify(self, records: Sequence[UsageRecord]) -> None:
        for listener in self._listeners:
            task = asyncio.get_running_loop().create_task(listener(records))
            self._listener_tasks.add(task)
            task.add_done_callback(self._listener_done)

    def _listener_done(self, task: asyncio.Task[None]) -> None:
        self._listener_tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("a ledger listener failed: %r", task.exception())

    # ---- read side: flush first, so a reader sees its own writes -------------------------

    async def rows(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        customer: str | None = None,
        request_ids: Sequence[str] | None = None,
        limit: int | None = None,
    ) -> list[UsageRecord]:
        await self.flush()
        return await self.store.rows(
            since=since, until=until, customer=customer, request_ids=request_ids, limit=limit
        )

    async def iter_rows(
        self, *, since: datetime | None = None, until: datetime | None = None, customer: str | None = None
    ) -> AsyncIterator[UsageRecord]:
        """Every record in the window, oldest first, streamed (see `SqlLedger.iter_rows`)."""
        await self.flush()
        async for rec in self.store.iter_rows(since=since, until=until, customer=customer):
            yield rec

    async def sources(
        self, *, since: datetime | None = None, until: datetime | None = None, customer: str | None = None
    ) -> list[SourceCount]:
        """Requests per day by label source (see `SqlLedger.sources`)."""
        await self.flush()
        return await self.store.sources(since=since, until=until, customer=customer)

    async def totals(
        self,
        by: Sequence[Dimension] = (),
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        customer: str | None = None,
    ) -> list[Group]:
        await self.flush()
        return await self.store.totals(by, since=since, until=until, customer=customer)


async def open_ledger(
    url_or_path: str | Path | None = None,
    *,
    home: Path | None = None,
    batch_rows: int = BATCH_ROWS,
    interval_s: float = INTERVAL_S,
    capacity: int = CAPACITY,
) -> BufferedLedger:
    """Open (creating and migrating as needed) the ledger at a SQLite path or `postgresql://` URL.

    None means `ledger.db` in `home`, which defaults to the data directory (`CLAUDE_ROUTER_HOME`,
    else the user data directory). Close it (or use it as an async context manager) to flush.
    """
    store = await SqlLedger.open(url_or_path, home=home)
    return BufferedLedger(store, batch_rows=batch_rows, interval_s=interval_s, capacity=capacity)
