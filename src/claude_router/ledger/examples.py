"""Training examples for the local classifier: the LLM classifier's labels, beside the ledger.

`classifier_examples` holds one row per distinct reading (`key`: a hash of the stored features),
so a request labelled again adds nothing. `features` is what training needs (the local model's
feature strings, as JSON); `input`, the whole classifier input, is set only when the user opted in
to keeping prompts (`[classifier] keep_prompts`). The ledger knows nothing of classifiers: an
example is anything shaped like `ExampleLike` (`classify.capture.LabelledExample` is).

    buffer = ExampleBuffer(ExampleStore(ledger.store.engine))
    buffer.offer(example)            # a list append; written in batches by a background task
    rows = await ExampleStore(engine).rows()          # oldest first, for training
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from ..errors import LedgerError
from .buffer import is_transient
from .engine import SQLITE_BEGIN
from .schema import classifier_examples

log = logging.getLogger(__name__)

BATCH_ROWS = 200
INTERVAL_S = 1.0  # examples are not urgent: fewer, larger writes
CAPACITY = 5_000
_RETRY_FIRST_S = 0.05
_RETRY_MAX_S = 5.0
_READ_BETWEEN_YIELDS = 16  # examples whose features are read (~0.2 ms each) before yielding the loop
_LABELS = ("simple", "moderate", "complex")


class ExampleLike(Protocol):
    """What the store needs of an example (see `classify.capture.LabelledExample`)."""

    @property
    def created_at(self) -> datetime: ...

    @property
    def label(self) -> str: ...

    @property
    def labeller(self) -> str | None: ...

    @property
    def features_version(self) -> str: ...

    @property
    def features_json(self) -> str: ...

    @property
    def input_json(self) -> str | None: ...


@dataclass(frozen=True, slots=True)
class StoredExample:
    """A row of `classifier_examples`, as training reads it."""

    id: int
    created_at: datetime
    label: str
    labeller: str | None
    features_version: str
    features: str  # JSON
    input: str | None  # JSON, only when prompts were kept


def example_row(example: ExampleLike) -> dict[str, Any]:
    """The row for `example` (its features are read here); `LedgerError` if it cannot be stored."""
    label = str(example.label)
    if label not in _LABELS:
        raise LedgerError(f"a classifier example needs a label of {', '.join(_LABELS)}, got {label!r}")
    created = example.created_at
    created = created.replace(tzinfo=UTC) if created.tzinfo is None else created.astimezone(UTC)
    version, features = example.features_version, example.features_json
    key = hashlib.sha256(f"{version}\x00{features}".encode()).hexdigest()
    labeller = example.labeller[:128] if example.labeller else None
    return {
        "key": key,
        "created_at": created,
        "label": label,
        "labeller": labeller,
        "features_version": version[:32],
        "features": features,
        "input": example.input_json,
    }


class ExampleStore:
    """`classifier_examples` on the ledger's database (migrated by `m006_classifier_learning`)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._dialect = sqlite if engine.dialect.name == "sqlite" else postgresql

    async def write(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Insert rows from `example_row`; a key already stored is skipped."""
        if not rows:
            return
        stmt = self._dialect.insert(classifier_examples).on_conflict_do_nothing(index_elements=["key"])
        async with self.engine.connect() as raw:
            conn = await raw.execution_options(**{SQLITE_BEGIN: "IMMEDIATE"})
            async with conn.begin():
                await conn.execute(stmt, [dict(row) for row in rows])

    async def rows(
        self, *, since: datetime | None = None, until: datetime | None = None, limit: int | None = None
    ) -> list[StoredExample]:
        """Examples in [since, until), oldest first (the newest last: the validation share)."""
        c = classifier_examples.c
        stmt = sa.select(classifier_examples)
        if since is not None:
            stmt = stmt.where(c.created_at >= since)
        if until is not None:
            stmt = stmt.where(c.created_at < until)
        stmt = stmt.order_by(c.created_at, c.id).limit(limit)
        async with self.engine.connect() as conn:
            return [
                StoredExample(
                    id=int(row["id"]),
                    created_at=row["created_at"],
                    label=row["label"],
                    labeller=row["labeller"],
                    features_version=row["features_version"],
                    features=row["features"],
                    input=row["input"],
                )
                for row in (await conn.execute(stmt)).mappings()
            ]

    async def count(self) -> int:
        async with self.engine.connect() as conn:
            found = await conn.execute(sa.select(sa.func.count()).select_from(classifier_examples))
            return int(found.scalar_one())


@dataclass(slots=True)
class BufferStats:
    offered: int = 0
    written: int = 0  # rows sent to the database (a key already there is skipped by it)
    dropped: int = 0  # the buffer was full or closed, or the example could not be stored
    failed: int = 0  # rows lost to a write that could not be retried


class ExampleBuffer:
    """Examples queued in memory and written in batches by one background task (the ledger's own
    `BufferedLedger` pattern). Unlike usage records, an example is never worth waiting for: when
    the buffer is full an example is dropped and counted, so a request never slows down."""

    def __init__(
        self,
        store: ExampleStore,
        *,
        batch_rows: int = BATCH_ROWS,
        interval_s: float = INTERVAL_S,
        capacity: int = CAPACITY,
    ) -> None:
        if not 0 < batch_rows <= capacity:
            raise ValueError("need 0 < batch_rows <= capacity")
        self.store = store
        self.stats = BufferStats()
        self._batch_rows = batch_rows
        self._interval_s = interval_s
        self._capacity = capacity
        self._pending: list[ExampleLike] = []
        self._wake = asyncio.Event()
        self._hurry = asyncio.Event()
        self._writer: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()  # one batch in flight; taken off the queue only under it
        self._closed = False

    def offer(self, example: ExampleLike) -> None:
        """Queue `example` (never waits, never raises)."""
        self.stats.offered += 1
        if self._closed or len(self._pending) >= self._capacity:
            self.stats.dropped += 1
            return
        self._pending.append(example)
        if self._writer is None:
            self._writer = asyncio.get_running_loop().create_task(self._run(), name="example-writer")
        self._wake.set()
        if len(self._pending) >= self._batch_rows:
            self._hurry.set()

    @property
    def pending(self) -> int:
        return len(self._pending)

    async def flush(self) -> None:
        """Write everything queued so far (in this task)."""
        while self._pending:
            await self._write_next_batch()

    async def close(self) -> None:
        """Stop taking examples, write the queued ones, stop the writer."""
        self._closed = True
        if self._writer is not None:
            async with self._lock:  # the writer is between batches: nothing of it is lost
                self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer
            self._writer = None
        await self.flush()

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            if not self._hurry.is_set():
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self._interval_s):
                        await self._hurry.wait()
            await self._write_next_batch()

    async def _write_next_batch(self) -> None:
        async with self._lock:
            batch = self._pending[: self._batch_rows]
            del self._pending[: len(batch)]
            if not self._pending:
                self._wake.clear()
                self._hurry.clear()
            rows = []
            for n, example in enumerate(batch):
                if n and n % _READ_BETWEEN_YIELDS == 0:
                    await asyncio.sleep(0)  # reading features is CPU: let requests run in between
                try:
                    rows.append(example_row(example))
                except (LedgerError, ValueError) as exc:
                    self.stats.dropped += 1
                    log.warning("a classifier example could not be stored: %s", exc)
            await self._write_with_retry(rows)

    async def _write_with_retry(self, rows: list[dict[str, Any]]) -> None:
        delay = _RETRY_FIRST_S
        while rows:
            try:
                await self.store.write(rows)
                self.stats.written += len(rows)
                return
            except (OSError, TimeoutError, SQLAlchemyError) as exc:
                if is_transient(exc) and not self._closed:
                    log.warning(
                        "writing %d classifier example(s) failed, retrying in %.2fs", len(rows), delay
                    )
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, _RETRY_MAX_S)
                    continue
                # Training data is best effort: a write that cannot succeed loses its rows, loudly.
                self.stats.failed += len(rows)
                log.error("%d classifier example(s) were not stored: %r", len(rows), exc)
                return


__all__ = [
    "BufferStats",
    "ExampleBuffer",
    "ExampleLike",
    "ExampleStore",
    "StoredExample",
    "classifier_examples",
    "example_row",
]
