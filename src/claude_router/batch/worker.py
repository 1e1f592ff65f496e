"""The batch worker: claims jobs in chunks, routes them at an adaptive concurrency, accounts each once.

    async with worker_router(settings) as router, await open_ledger() as ledger:
        stats = await Worker(queue, router, ledger, WorkerSettings(once=True)).run()

Each claimed job is sent through the `Router` with `request_id` = the job id, and its ledger row
is committed *before* the job is acknowledged. Delivery is at least once (a worker that dies
holding leases has its jobs run again elsewhere); the ledger ignores a second row for the same
request id, so every job is accounted exactly once.

The queue is the retry mechanism: the worker's router makes exactly one HTTP call per job (no SDK
retries, no model fallback), so a job is always priced at the model it was routed to. A 429 pauses
every new request for its `retry-after`, halves the concurrency and retries the job in place
(a rate limit says nothing against the job); an overload, a server error or a dropped connection
puts the job back in the queue, where it is parked after `max_attempts`; a request the API refuses
(400, 401, 404, 413, ...) fails at once.

A job sent to the Message Batches API has its Message Batch recorded in the queue as soon as the
batch exists; a worker that claims such a job (its first worker died or stopped) polls that batch
for the result instead of sending the request again.

`stop()` (the CLI calls it on SIGTERM or SIGINT) ends a run cleanly: nothing more is claimed,
real-time requests in flight get `stop_grace_s` to finish, Message Batches are no longer polled,
what finished is accounted and acknowledged, and every job still in hand is released to the
queue at once (a Message Batch it is in is resumed by the next claimer).
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any, Protocol

import anthropic

from ..classify import build_classifier
from ..config import Settings
from ..errors import QueueError
from ..routing.accounting import Outcome, new_record
from ..routing.router import RoutedResponse, Router, RouterRequest
from ..types import NO_USAGE, UsageRecord
from ..upstream import Upstream
from .batches_api import BatchesApiRunner, BatchesApiSettings, BatchOutcome, SentBatch
from .job import Job, JobError, JobMode, JobStatus, MessageBatchRef, utcnow
from .pacing import AdaptiveConcurrency, PacingSettings
from .queue import JobQueue
from .results import classify_failure, is_rate_limited, job_meta, retry_after, success_result
from .submit import DEFAULT_MARGIN, resolve_mode

log = logging.getLogger(__name__)

IDLE_POLL_S = 0.2  # how often an idle worker looks for new jobs
COMMIT_EVERY_S = 0.1  # how long a finished job may wait for its ledger row and ack
MAX_THROTTLED_TRIES = 100  # 429s one job may meet before it goes back to the queue


class LedgerSink(Protocol):
    """What the worker needs of a ledger (`BufferedLedger` is one)."""

    async def record(self, record: UsageRecord) -> None: ...

    async def flush(self) -> None: ...


@dataclass(frozen=True, slots=True)
class WorkerSettings:
    chunk: int = 50
    once: bool = False  # stop when nothing is pending in the queue
    lease_s: float = 300.0  # the queue's lease; leases in hand are renewed every third of it
    max_attempts: int = 5  # the queue's; the last attempt's failure is accounted before parking
    consumer: str = field(default_factory=lambda: f"{socket.gethostname()}-{os.getpid()}")
    pacing: PacingSettings = field(default_factory=PacingSettings)
    batches_api: BatchesApiSettings = field(default_factory=BatchesApiSettings)
    margin: timedelta = DEFAULT_MARGIN  # an `auto` job goes to the Batches API with this much room
    collect_s: float = 2.0  # how long Batches API jobs gather before their Message Batch goes out
    stop_grace_s: float = 30.0  # after stop(): how long requests in flight may take to finish


@dataclass(slots=True)
class WorkerStats:
    done: int = 0
    failed: int = 0  # failed for good or parked
    requeued: int = 0  # put back for a later attempt
    released: int = 0  # handed back unfinished when the worker stopped
    throttled: int = 0  # 429s met
    cost_usd: Decimal = Decimal(0)
    concurrency: int = 0
    pending: int | None = None  # in the whole queue, at the last look


@dataclass(frozen=True, slots=True)
class _Finished:
    job: Job
    record: UsageRecord | None
    result: dict[str, Any] | None = None  # set: ack
    error: JobError | None = None  # set: fail
    retry: bool = False


@asynccontextmanager
async def worker_router(settings: Settings) -> AsyncIterator[Router]:
    """A router that makes one HTTP call per job (the queue retries); its classifier keeps retries."""
    single = settings.upstream.model_copy(update={"max_retries": 0, "fallback_chain": []})
    classifier_upstream = Upstream(settings.upstream)
    try:
        classifier = build_classifier(settings.classifier, classifier_upstream)
        async with Router(settings.model_copy(update={"upstream": single}), classifier=classifier) as router:
            yield router
    finally:
        await classifier_upstream.aclose()


class Worker:
    """Drains a `JobQueue` through a `Router` into a ledger. `await worker.run()`; `worker.stop()`."""

    def __init__(
        self,
        queue: JobQueue,
        router: Router,
        ledger: LedgerSink,
        settings: WorkerSettings | None = None,
        *,
        on_progress: Callable[[WorkerStats], None] | None = None,
    ) -> None:
        self.queue = queue
        self.router = router
        self.ledger = ledger
        self.settings = settings = settings or WorkerSettings()
        if settings.chunk < 1:
            raise ValueError("chunk must be at least 1")
        self.pacer = AdaptiveConcurrency(settings.pacing)
        self.stats = WorkerStats(concurrency=self.pacer.current)
        self._on_progress = on_progress
        self.batches = BatchesApiRunner(router, settings.batches_api)
        self._in_hand: dict[str, Job] = {}
        self._held: dict[str, Job] = {}  # Batches API jobs, until their Message Batch has ended
        self._sent: set[str] = set()  # ... of which these are in a Message Batch already
        self._batch_started = 0.0  # when the oldest unsent Batches API job was claimed
        self._tasks: set[asyncio.Task[None]] = set()  # requests in flight, and Message Batches being sent
        self._polls: set[asyncio.Task[None]] = set()  # Message Batches being waited for
        self._finished: list[_Finished] = []
        self._wake_committer = asyncio.Event()
        self._stopping = asyncio.Event()
        self.stop_requested = False  # stop() was called (the run did not end by itself)

    def stop(self) -> None:
        """Claim no more; finish the requests in flight, release the rest, then return from `run`."""
        self.stop_requested = True
        self._stopping.set()

    async def run(self) -> WorkerStats:
        committer = asyncio.create_task(self._commit_loop(), name="worker commits")
        renewer = asyncio.create_task(self._renew_loop(), name="worker leases")
        try:
            while not self._stopping.is_set():
                if len(self._in_hand) - len(self._held) < max(self.pacer.current, self.settings.chunk // 2):
                    jobs = await self.queue.claim(
                        self.settings.consumer, self.settings.chunk, self.settings.lease_s
                    )
                    self._take(jobs)
                    if len(jobs) == self.settings.chunk and not self._batch_due():
                        continue
                    self._send_batch()  # the queue is momentarily empty, or the batch is due
                    if jobs:
                        continue
                    if self.settings.once and not self._in_hand and await self._drained():
                        break
                await self._idle()
            await self._wind_down()
        finally:
            self._stopping.set()
            tasks = [*self._tasks, *self._polls]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            renewer.cancel()
            await self._commit()  # what finished is accounted and acknowledged even on the way out
            committer.cancel()
            with suppress(asyncio.CancelledError):
                await asyncio.gather(committer, renewer, return_exceptions=True)
            await self._release_in_hand()
        return self.stats

    async def _wind_down(self) -> None:
        """After a stop: stop polling (the batches run on), give requests in flight their grace."""
        for task in self._polls:
            task.cancel()
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=self.settings.stop_grace_s)

    async def _release_in_hand(self) -> None:
        """Jobs claimed and not finished go back to the queue now, not when their leases expire."""
        if not self._in_hand:
            return
        try:
            self.stats.released += await self.queue.release(self.settings.consumer, list(self._in_hand))
        except QueueError as exc:  # their leases run out instead
            log.warning("could not release %d jobs: %s", len(self._in_hand), exc)
        self._in_hand.clear()

    def _take(self, jobs: list[Job]) -> None:
        resumed: dict[str, list[Job]] = {}
        for job in jobs:
            if job.id in self._in_hand:  # its lease lapsed and came back to us: it is in hand already
                continue
            self._in_hand[job.id] = job
            if job.message_batch is not None:  # sent already, by a worker that is gone: poll it
                self._held[job.id] = job
                self._sent.add(job.id)
                resumed.setdefault(job.message_batch.id, []).append(job)
                continue
            # A job queued as `auto` by the library (`batch submit` resolves it) is decided now.
            if resolve_mode(job.mode, job.deadline, utcnow(), self.settings.margin) is JobMode.BATCHES_API:
                self._held[job.id] = job
                self._batch_started = self._batch_started or time.monotonic()
            else:
                self._spawn(self._process(job), f"job {job.id}")
        for message_batch_id, held in resumed.items():
            self._poll(self.batches.resume(message_batch_id, held))

    def _spawn(
        self, work: Coroutine[Any, Any, None], name: str, tasks: set[asyncio.Task[None]] | None = None
    ) -> None:
        tasks = self._tasks if tasks is None else tasks
        task = asyncio.create_task(work, name=name)
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    def _poll(self, sent: SentBatch) -> None:
        self._spawn(self._collect(sent), f"message batch {sent.id}", self._polls)

    def _batch_due(self) -> bool:
        waiting = [job for job in self._held.values() if job.id not in self._sent]
        if not waiting:
            return False
        full = len(waiting) >= self.settings.batches_api.max_requests
        return full or time.monotonic() - self._batch_started >= self.settings.collect_s

    def _send_batch(self) -> None:
        """Send the Batches API jobs collected so far as Message Batches (in the background)."""
        jobs = [job for job in self._held.values() if job.id not in self._sent]
        if not jobs:
            return
        self._sent.update(job.id for job in jobs)
        self._batch_started = 0.0
        self._spawn(self._process_batch(jobs), f"message batch of {len(jobs)}")

    async def _process_batch(self, jobs: list[Job]) -> None:
        outcomes, sent = await self.batches.send(jobs, self._record_sent)
        self._settle_batch(outcomes)
        for batch in sent:
            self._poll(batch)

    async def _record_sent(self, message_batch_id: str, refs: Mapping[str, MessageBatchRef]) -> None:
        """Before anything else: a worker that takes these jobs over must poll, not send again."""
        try:
            await self.queue.record_message_batch(self.settings.consumer, refs)
        except QueueError as exc:  # the batch still runs and is polled here; only a takeover would resend
            log.warning("could not record Message Batch %s in the queue: %s", message_batch_id, exc)

    async def _collect(self, sent: SentBatch) -> None:
        self._settle_batch(await self.batches.collect(sent))

    def _settle_batch(self, outcomes: list[BatchOutcome]) -> None:
        for outcome in outcomes:
            self._held.pop(outcome.job.id, None)
            self._sent.discard(outcome.job.id)
            if outcome.realtime:  # errored or expired there, and the deadline allows a second try
                self._spawn(self._process(outcome.job), f"job {outcome.job.id}")
            else:
                self._finish(
                    _Finished(outcome.job, outcome.record, result=outcome.result, error=outcome.error)
                )

    async def _drained(self) -> bool:
        stats = await self.queue.stats()
        self.stats.pending = stats.counts.pending
        self._report()
        return stats.counts.pending == 0

    async def _idle(self) -> None:
        with suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), IDLE_POLL_S)

    # ---- one job ---------------------------------------------------------------------------

    async def _process(self, job: Job) -> None:
        request = RouterRequest(job.params, job_meta(job))
        for _ in range(MAX_THROTTLED_TRIES):
            async with self.pacer:
                if self._stopping.is_set():  # not sent yet: it is released, not run
                    return
                (outcome,) = await self.router.map([request], concurrency=1)
            if isinstance(outcome, RoutedResponse):
                self.pacer.succeeded(self.router.upstream.rate_limits(outcome.model_used))
                self._finish(_Finished(job, outcome.record, result=success_result(outcome)))
                return
            exc = outcome.error
            if not is_rate_limited(exc):
                break
            assert isinstance(exc, anthropic.RateLimitError)
            self.pacer.throttle(retry_after(exc))
            self.stats.throttled = self.pacer.throttled
        error, retry = classify_failure(exc)
        record = None
        # Only a final failure is accounted: a retried job gets its row from the attempt that ends it.
        if not retry or job.attempts >= self.settings.max_attempts:
            record = outcome.record or self._failure_record(job, error)
        self._finish(_Finished(job, record, error=error, retry=retry))

    def _failure_record(self, job: Job, error: JobError) -> UsageRecord:
        """The row of a job refused before any call (an unknown model, a malformed body)."""
        model = job.params.get("model")
        return new_record(
            self.router.prices,
            request_id=job.id,
            model_requested=model if isinstance(model, str) else "",
            meta=job_meta(job),
            decision=None,
            route=None,
            outcome=Outcome(model_used=None, answer=NO_USAGE, error_type=error.type),
            baseline=self.router.baseline,
        )

    def _finish(self, finished: _Finished) -> None:
        self._finished.append(finished)
        if len(self._finished) >= self.settings.chunk:
            self._wake_committer.set()

    # ---- commits and leases ------------------------------------------------------------------

    async def _commit_loop(self) -> None:
        while True:
            with suppress(TimeoutError):
                await asyncio.wait_for(self._wake_committer.wait(), COMMIT_EVERY_S)
            self._wake_committer.clear()
            await self._commit()

    async def _commit(self) -> None:
        """Ledger rows first (flushed), then the queue: a crash in between only repeats work."""
        batch, self._finished = self._finished, []
        if not batch:
            return
        for item in batch:
            if item.record is not None:
                await self.ledger.record(item.record)
        await self.ledger.flush()
        for item in batch:
            await self._settle(item)
            self._in_hand.pop(item.job.id, None)
        self.stats.concurrency = self.pacer.current
        self._report()

    async def _settle(self, item: _Finished) -> None:
        if item.result is not None:
            if not await self.queue.ack(item.job.id, item.result):
                return  # done already (by another worker that took it over): counted there
            self.stats.done += 1
            if item.record is not None:
                self.stats.cost_usd += item.record.total_cost_usd
            return
        assert item.error is not None
        status = await self.queue.fail(item.job.id, item.error, retry=item.retry)
        if status is JobStatus.QUEUED:
            self.stats.requeued += 1
        elif status in (JobStatus.FAILED, JobStatus.PARKED):
            self.stats.failed += 1

    async def _renew_loop(self) -> None:
        while True:
            await asyncio.sleep(self.settings.lease_s / 3)
            for job_id in list(self._in_hand):
                if not await self.queue.extend(job_id, self.settings.lease_s):
                    self._in_hand.pop(job_id, None)  # canceled or reclaimed: its ack will be moot

    def _report(self) -> None:
        if self._on_progress is not None:
            self._on_progress(self.stats)


__all__ = ["LedgerSink", "Worker", "WorkerSettings", "WorkerStats", "worker_router"]
