"""The Message Batches API path: jobs that can wait up to 24 hours, at half the price.

    outcomes = await BatchesApiRunner(router).run(jobs)

Each job is routed when it is sent: `auto` is classified and mapped to a model by the router's
classifier and policy, so one Message Batch mixes tiers. Jobs go out in Message Batches of at most
100,000 requests or 256 MB, each request's `custom_id` derived from its job id (unique, and in the
character set the API accepts). The runner polls with a growing interval until the batch has
ended, then reads the results file: a succeeded request is priced at batch rates; an errored,
expired or canceled one is handed back to run in real time while its deadline allows, and
reported as failed otherwise (a request the API refused as invalid is never retried).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import anthropic
from anthropic.types.messages import MessageBatchIndividualResponse

from ..errors import RouterError
from ..routing.accounting import Outcome, classifier_cost, new_record
from ..routing.policy import ModelArgKind
from ..routing.router import Router
from ..types import NO_USAGE, ClassifierSource, Decision, Label, Route, TokenUsage, UsageRecord
from ..upstream import routed_params
from .job import Job, JobError, MessageBatchRef, utcnow
from .results import classify_failure, job_meta, routing_facts

MAX_REQUESTS = 100_000
MAX_BYTES = 256 * 1024 * 1024
ENVELOPE_BYTES = 64  # {"custom_id": ..., "params": ...} around each request's params
SDK_ONLY = ("extra_headers", "extra_query", "timeout", "stream")  # options of a call, not body fields
NOT_RETRIED = frozenset({"invalid_request_error", "not_found_error", "authentication_error"})


@dataclass(frozen=True, slots=True)
class BatchesApiSettings:
    max_requests: int = MAX_REQUESTS
    max_bytes: int = MAX_BYTES
    poll_first_s: float = 1.0
    poll_max_s: float = 60.0
    poll_factor: float = 1.5


@dataclass(frozen=True, slots=True)
class BatchOutcome:
    """How one job ended on this path: a result to ack, an error to fail it with, or real time."""

    job: Job
    record: UsageRecord | None = None
    result: dict[str, Any] | None = None
    error: JobError | None = None
    realtime: bool = False  # run it in real time instead


@dataclass(frozen=True, slots=True)
class _Prepared:
    job: Job
    custom_id: str
    body: dict[str, Any]
    decision: Decision | None
    route: Route
    size: int
    adapted: tuple[str, ...] = ()  # what was changed in the body for the routed model
    effort: str | None = None  # the effort the routed model was sent


def batch_custom_id(job_id: str) -> str:
    """A custom_id the API accepts (`[a-zA-Z0-9_-]{1,64}`), unique per job id."""
    return "j" + hashlib.sha256(job_id.encode()).hexdigest()[:48]


def split(prepared: Sequence[_Prepared], max_requests: int, max_bytes: int) -> list[list[_Prepared]]:
    """Consecutive chunks within both limits."""
    chunks: list[list[_Prepared]] = []
    current: list[_Prepared] = []
    size = 0
    for item in prepared:
        if current and (len(current) >= max_requests or size + item.size > max_bytes):
            chunks.append(current)
            current, size = [], 0
        current.append(item)
        size += item.size
    if current:
        chunks.append(current)
    return chunks


@dataclass(frozen=True, slots=True)
class SentBatch:
    """A Message Batch that holds these jobs' requests: poll it and read them with `collect`."""

    id: str
    items: list[_Prepared]


OnSent = Callable[[str, Mapping[str, MessageBatchRef]], Awaitable[None]]


class BatchesApiRunner:
    """`send` jobs as Message Batches, then `collect` each; `resume` a batch another worker sent."""

    def __init__(self, router: Router, settings: BatchesApiSettings | None = None) -> None:
        self.router = router
        self.settings = settings or BatchesApiSettings()
        self.client = router.upstream.client
        self.submitted: list[str] = []  # the Message Batch ids sent, oldest first

    async def run(self, jobs: Sequence[Job]) -> list[BatchOutcome]:
        """Send the jobs and wait for every result."""
        outcomes, sent = await self.send(jobs)
        for done in await asyncio.gather(*(self.collect(batch) for batch in sent)):
            outcomes.extend(done)
        return outcomes

    async def send(
        self, jobs: Sequence[Job], on_sent: OnSent | None = None
    ) -> tuple[list[BatchOutcome], list[SentBatch]]:
        """Route and send the jobs; `on_sent` hears of each Message Batch as soon as it exists.

        Returns the jobs that ended already (refused by the router, or by the create call) and
        the Message Batches sent.
        """
        outcomes: list[BatchOutcome] = []
        prepared: list[_Prepared] = []
        for item in await asyncio.gather(*(self._prepare(job) for job in jobs)):
            if isinstance(item, BatchOutcome):  # the router refused it before anything was sent
                outcomes.append(item)
            else:
                prepared.append(item)
        chunks = split(prepared, self.settings.max_requests, self.settings.max_bytes)
        sent: list[SentBatch] = []
        for result in await asyncio.gather(*(self._create(chunk, on_sent) for chunk in chunks)):
            if isinstance(result, SentBatch):
                sent.append(result)
            else:
                outcomes.extend(result)
        return outcomes, sent

    async def _prepare(self, job: Job) -> _Prepared | BatchOutcome:
        """Route the job now (classifying `auto`), as the request the Batches API will run."""
        meta = job_meta(job)
        try:
            arg = self.router.policy.resolve_model_arg(job.params.get("model"))
            concrete = arg.kind is ModelArgKind.CONCRETE
            decision = None if concrete else await self.router.classify(job.params)
            route = self.router.route(job.params, decision, meta)
        except (RouterError, anthropic.APIError) as exc:
            error, _ = classify_failure(exc)
            return BatchOutcome(job, self._record(job, None, None, None, error=error), error=error)
        outgoing = self.router.upstream.outgoing(
            routed_params(job.params, route), as_written=route.as_written
        )
        body = {k: v for k, v in outgoing.body(route.model).items() if k not in SDK_ONLY}
        body.update(body.pop("extra_body", None) or {})
        body["model"] = route.model
        size = len(json.dumps(body, separators=(",", ":")).encode()) + ENVELOPE_BYTES
        adapted, effort = outgoing.changes(route.model), outgoing.effort(route.model)
        return _Prepared(job, batch_custom_id(job.id), body, decision, route, size, adapted, effort)

    def resume(self, message_batch_id: str, jobs: Sequence[Job]) -> SentBatch:
        """The Message Batch another worker sent these jobs to (each has its `message_batch`)."""
        items = []
        for job in jobs:
            ref = job.message_batch
            if ref is None or ref.id != message_batch_id:
                raise ValueError(f"job {job.id!r} is not in Message Batch {message_batch_id!r}")
            decision, route = routing_from(ref.routing)
            adapted, effort = tuple(ref.routing.get("adapted") or ()), ref.routing.get("effort")
            items.append(_Prepared(job, ref.custom_id, {}, decision, route, 0, adapted, effort))
        return SentBatch(message_batch_id, items)

    async def _create(self, chunk: list[_Prepared], on_sent: OnSent | None) -> SentBatch | list[BatchOutcome]:
        requests: Any = [{"custom_id": p.custom_id, "params": p.body} for p in chunk]
        try:
            batch = await self.client.messages.batches.create(requests=requests)
        except anthropic.APIError as exc:
            error, retry = classify_failure(exc)
            return [self._unanswered(p, error, retry) for p in chunk]
        self.submitted.append(batch.id)
        if on_sent is not None:
            refs = {
                p.job.id: MessageBatchRef(
                    batch.id, p.custom_id, routing_doc(p.decision, p.route, p.adapted, p.effort)
                )
                for p in chunk
            }
            await on_sent(batch.id, refs)
        return SentBatch(batch.id, chunk)

    async def collect(self, sent: SentBatch) -> list[BatchOutcome]:
        """Wait for the Message Batch to end, then read its results for these jobs."""
        by_id = {p.custom_id: p for p in sent.items}
        outcomes = []
        try:
            await self._wait(sent.id)
            async for entry in await self.client.messages.batches.results(sent.id):
                item = by_id.pop(entry.custom_id, None)
                if item is not None:
                    outcomes.append(self._outcome(item, entry))
            missing = JobError("api_error", f"Message Batch {sent.id} returned no result for this request")
        except anthropic.APIError as exc:  # its results are out of reach: what is left runs again
            missing, _ = classify_failure(exc)
        outcomes.extend(self._unanswered(p, missing, True) for p in by_id.values())
        return outcomes

    async def _wait(self, batch_id: str) -> None:
        """Poll until the batch has ended, backing off from `poll_first_s` to `poll_max_s`.

        A poll that fails for a passing reason (429, 5xx, a dropped connection) is just a poll
        missed; the batch runs on regardless.
        """
        delay = self.settings.poll_first_s
        while True:
            try:
                if (await self.client.messages.batches.retrieve(batch_id)).processing_status == "ended":
                    return
            except anthropic.APIError as exc:
                if not (classify_failure(exc)[1] or isinstance(exc, anthropic.RateLimitError)):
                    raise
            await asyncio.sleep(delay)
            delay = min(self.settings.poll_max_s, delay * self.settings.poll_factor)

    def _outcome(self, item: _Prepared, entry: MessageBatchIndividualResponse) -> BatchOutcome:
        result = entry.result
        if result.type == "succeeded":
            message = result.message
            record = self._record(
                item.job, item.decision, item.route, TokenUsage.from_api(message.usage), item
            )
            payload = {
                "message": message.model_dump(mode="json"),
                "routing": routing_facts(record, batch=True),
            }
            return BatchOutcome(item.job, record, result=payload)
        if result.type == "errored":
            inner = result.error.error
            error = JobError(inner.type, inner.message)
            return self._unanswered(item, error, error.type not in NOT_RETRIED)
        why = f"the request was {result.type} in the Message Batch before it ran"
        return self._unanswered(item, JobError(f"batch_{result.type}", why), True)

    def _unanswered(self, item: _Prepared, error: JobError, retry: bool) -> BatchOutcome:
        """Real time if worth it and the deadline allows; else failed, with its row."""
        deadline = item.job.deadline
        if retry and (deadline is None or utcnow() < deadline):
            return BatchOutcome(item.job, realtime=True, error=error)
        record = self._record(item.job, item.decision, item.route, None, item, error=error)
        return BatchOutcome(item.job, record, error=error)

    def _record(
        self,
        job: Job,
        decision: Decision | None,
        route: Route | None,
        usage: TokenUsage | None,
        sent: _Prepared | None = None,
        *,
        error: JobError | None = None,
    ) -> UsageRecord:
        model = job.params.get("model")
        outcome = Outcome(
            model_used=route.model if route is not None and usage is not None else None,
            answer=usage or NO_USAGE,
            error_type=error.type if error is not None else None,
            adapted=sent.adapted if sent is not None else (),
            effort=sent.effort if sent is not None else None,
        )
        record = new_record(
            self.router.prices,
            request_id=job.id,
            model_requested=model if isinstance(model, str) else "",
            meta=job_meta(job),
            decision=decision,
            route=route,
            outcome=outcome,
            batch=True,
            created_at=utcnow(),
            baseline=self.router.baseline,
        )
        if decision is not None:  # the classifier's own call was a real-time one, at full price
            record.classifier_cost_usd = classifier_cost(self.router.prices, decision)
        return record


def routing_doc(
    decision: Decision | None, route: Route, adapted: Sequence[str] = (), effort: str | None = None
) -> dict[str, Any]:
    """How a request was routed and adapted, as JSON data: its ledger row is written from it later."""
    return {
        "route": asdict(route),
        "decision": asdict(decision) if decision is not None else None,
        "adapted": list(adapted),
        "effort": effort,
    }


def routing_from(doc: Mapping[str, Any]) -> tuple[Decision | None, Route]:
    route = dict(doc["route"])
    route["fallbacks"] = tuple(route.get("fallbacks") or ())
    route["label"] = Label(route["label"]) if route.get("label") else None
    raw = doc.get("decision")
    if raw is None:
        return None, Route(**route)
    decision = {
        **raw,
        "label": Label(raw["label"]),
        "source": ClassifierSource(raw["source"]),
        "usage": TokenUsage(**raw["usage"]),
    }
    return Decision(**decision), Route(**route)


__all__ = [
    "BatchOutcome",
    "BatchesApiRunner",
    "BatchesApiSettings",
    "SentBatch",
    "batch_custom_id",
    "routing_doc",
    "routing_from",
    "split",
]
