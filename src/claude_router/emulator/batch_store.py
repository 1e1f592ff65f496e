"""Message Batches state: the batches of one emulator and the background tasks that process them.

A batch runs in_progress -> (canceling ->) ended. Its requests are answered one after another by the
engine, `batch_seconds_per_request` apart. Cancelling lets the request in flight finish and marks the
rest canceled; reaching `expires_at` first marks the rest expired. As in the API, the tallies other
than `processing` stay zero until the whole batch has ended.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from .config import EmulatorConfig
from .engine import Engine
from .errors import EmulatorError
from .rules import Context

log = logging.getLogger(__name__)

ProcessingStatus = Literal["in_progress", "canceling", "ended"]
ResultType = Literal["succeeded", "errored", "canceled", "expired"]
RESULT_TYPES: tuple[ResultType, ...] = ("succeeded", "errored", "canceled", "expired")


@dataclass(slots=True)
class BatchRequest:
    """One request of a batch and, once decided, its `result` object as the results file shows it."""

    custom_id: str
    params: dict[str, Any]
    result: dict[str, Any] | None = None


@dataclass(slots=True)
class Batch:
    id: str
    seq: int  # creation order: lists run newest first, cursors compare on it
    requests: list[BatchRequest]
    created_at: datetime
    expires_at: datetime
    deadline: float  # expires_at on the event loop's clock
    context: Context  # the API version and betas the batch was created with
    status: ProcessingStatus = "in_progress"
    ended_at: datetime | None = None
    cancel_initiated_at: datetime | None = None
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def ended(self) -> bool:
        return self.status == "ended"

    def request_counts(self) -> dict[str, int]:
        if not self.ended:
            return {"processing": len(self.requests), **dict.fromkeys(RESULT_TYPES, 0)}
        return {"processing": 0, **{kind: self.counts.get(kind, 0) for kind in RESULT_TYPES}}


def not_found(batch_id: str) -> EmulatorError:
    return EmulatorError(404, "not_found_error", f"Message Batch not found: {batch_id!r}.")


class BatchStore:
    """Owns every batch of one emulator and the task processing each; `close()` stops the tasks."""

    def __init__(self, engine: Engine, config: EmulatorConfig) -> None:
        self._engine = engine
        self._config = config
        self._batches: dict[str, Batch] = {}
        # Sequence numbers of every id ever issued, so a cursor still works after its batch is deleted.
        self._seq_of: dict[str, int] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    # --- API operations ---------------------------------------------------------------------------

    def create(self, requests: list[BatchRequest], context: Context | None = None) -> Batch:
        now = datetime.now(UTC)
        expiry = self._config.batch_expiry_seconds
        batch = Batch(
            id=self._engine.ids.new("msgbatch"),
            seq=len(self._seq_of),
            requests=requests,
            created_at=now,
            expires_at=now + timedelta(seconds=expiry),
            deadline=asyncio.get_running_loop().time() + expiry,
            context=context or Context(batch=True),
        )
        self._batches[batch.id] = batch
        self._seq_of[batch.id] = batch.seq
        task = asyncio.create_task(self._process(batch), name=f"emulator batch {batch.id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return batch

    def get(self, batch_id: str) -> Batch:
        batch = self._batches.get(batch_id)
        if batch is None:
            raise not_found(batch_id)
        return batch

    def cancel(self, batch_id: str) -> Batch:
        batch = self.get(batch_id)
        if batch.ended:
            raise EmulatorError(
                400,
                "invalid_request_error",
                f"Message Batch {batch_id} has already ended and can no longer be canceled.",
            )
        if batch.status == "in_progress":
            batch.status = "canceling"
            batch.cancel_initiated_at = datetime.now(UTC)
        return batch

    def delete(self, batch_id: str) -> None:
        batch = self.get(batch_id)
        if not batch.ended:
            raise EmulatorError(
                400,
                "invalid_request_error",
                f"Message Batch {batch_id} is still processing; cancel it and wait for it to end "
                "before deleting it.",
            )
        del self._batches[batch_id]

    def page(self, limit: int, before_id: str | None, after_id: str | None) -> tuple[list[Batch], bool]:
        """One page, newest first: `after_id` pages toward older batches, `before_id` toward newer."""
        newest_first = list(reversed(self._batches.values()))  # the dict keeps creation order
        if after_id is not None:
            cursor = self._cursor(after_id)
            older = [b for b in newest_first if b.seq < cursor]
            return older[:limit], len(older) > limit
        if before_id is not None:
            cursor = self._cursor(before_id)
            newer = [b for b in newest_first if b.seq > cursor]
            return newer[-limit:], len(newer) > limit
        return newest_first[:limit], len(newest_first) > limit

    async def close(self) -> None:
        """Stop every processing task (batches keep the state they reached)."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _cursor(self, batch_id: str) -> int:
        seq = self._seq_of.get(batch_id)
        if seq is None:
            raise EmulatorError(400, "invalid_request_error", f"Invalid pagination cursor: {batch_id!r}.")
        return seq

    # --- background processing --------------------------------------------------------------------

    async def _process(self, batch: Batch) -> None:
        delay = self._config.batch_seconds_per_request
        try:
            async with asyncio.timeout_at(batch.deadline):
                for request in batch.requests:
                    if batch.status != "in_progress":
                        break
                    # Also yields to the loop between requests when the delay is zero.
                    await asyncio.sleep(delay)
                    request.result = await self._answer(request.params, batch.context)
        except TimeoutError:
            pass  # the batch expired: what is left unanswered is marked below
        self._finish(batch)

    def _finish(self, batch: Batch) -> None:
        leftover: ResultType = "canceled" if batch.cancel_initiated_at is not None else "expired"
        for request in batch.requests:
            if request.result is None:
                request.result = {"type": leftover}
        batch.counts = dict(Counter(str(r.result["type"]) for r in batch.requests if r.result))
        batch.status = "ended"
        batch.ended_at = datetime.now(UTC)

    async def _answer(self, params: dict[str, Any], context: Context) -> dict[str, Any]:
        try:
            _check_batch_only_rules(params)
            message = await self._engine.complete(params, context)
        except EmulatorError as err:
            return {"type": "errored", "error": err.body(self._engine.ids.new("req"))}
        except Exception:  # task boundary: one failing request must not stall its batch
            log.exception("emulator: batch request failed unexpectedly")
            error = EmulatorError(500, "api_error", "Internal server error")
            return {"type": "errored", "error": error.body(self._engine.ids.new("req"))}
        usage = message.get("usage")
        if isinstance(usage, dict):
            usage["service_tier"] = "batch"
        return {"type": "succeeded", "message": message}


def _check_batch_only_rules(params: dict[str, Any]) -> None:
    """Rules a batch adds to the Messages API's own: no streaming, and max_tokens of at least 1."""
    if params.get("stream") is True:
        raise EmulatorError(
            400, "invalid_request_error", "stream: streaming is not supported in Message Batches."
        )
    max_tokens = params.get("max_tokens")
    if isinstance(max_tokens, int) and not isinstance(max_tokens, bool) and max_tokens < 1:
        raise EmulatorError(
            400, "invalid_request_error", "max_tokens: must be at least 1 in a Message Batch request."
        )
