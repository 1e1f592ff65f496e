"""The Message Batches API path through the worker, against the emulator's batches API over HTTP."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from claude_router.batch import Job, JobMode, JobStatus
from claude_router.batch.batches_api import BatchesApiSettings, batch_custom_id, split
from claude_router.batch.job import utcnow
from claude_router.catalog.pricing import PriceTable
from claude_router.config import ClassifierSettings, QueueSettings
from claude_router.emulator.config import EmulatorConfig
from claude_router.ledger import BufferedLedger, open_ledger

from .conftest import OpenQueue
from .test_worker import body, drain, jobs_of

FAST_POLL = BatchesApiSettings(poll_first_s=0.05, poll_max_s=0.2)
PROMPTS = [
    "What is 2+2?",
    "Translate 'good morning' to French.",
    "Design a fault-tolerant distributed database with consensus, sharding and proofs of correctness.",
    "Summarise the trade-offs between REST and gRPC for internal services in a few paragraphs.",
]


@pytest.fixture
async def ledger(tmp_path: Path) -> AsyncIterator[BufferedLedger]:
    async with await open_ledger(tmp_path / "ledger.db") as opened:
        yield opened


def in_mode(jobs: list[Job], mode: JobMode, **changes: Any) -> list[Job]:
    return [dataclasses.replace(job, mode=mode, **changes) for job in jobs]


async def run_worker(
    queue_settings: QueueSettings,
    connect: OpenQueue,
    ledger: BufferedLedger,
    emulator: EmulatorConfig | None = None,
) -> None:
    await drain(queue_settings, connect, ledger, emulator, batches_api=FAST_POLL, collect_s=0.0)


async def test_the_same_jobs_cost_exactly_half_through_the_batches_api(
    connect: OpenQueue, queue_settings: QueueSettings, ledger: BufferedLedger
) -> None:
    queue = await connect()
    bodies = [body(p, model="auto") for p in PROMPTS] + [body("Name a colour.", model="claude-sonnet-4-6")]
    bodies.append(body("Name a fruit.", model="auto", temperature=0.5))  # adapted to the routed model
    await queue.submit("now", in_mode(jobs_of("now", bodies), JobMode.REALTIME))
    await queue.submit("later", in_mode(jobs_of("later", bodies), JobMode.BATCHES_API))

    await run_worker(queue_settings, connect, ledger)

    rows = {r.request_id: r for r in await ledger.rows()}
    assert len(rows) == 2 * len(bodies)
    now = [rows[f"now:r{i}"] for i in range(len(bodies))]
    later = [rows[f"later:r{i}"] for i in range(len(bodies))]
    assert [r.batch for r in later] == [True] * len(bodies)
    assert [r.batch for r in now] == [False] * len(bodies)
    assert [r.model_used for r in later] == [r.model_used for r in now]  # auto resolved alike
    assert len({r.model_used for r in later}) > 1  # one Message Batch, several tiers
    assert [r.usage for r in later] == [r.usage for r in now]
    assert [r.adapted for r in later] == [r.adapted for r in now]  # recorded alike
    assert "sampling:dropped" in later[-1].adapted
    for fast, slow in zip(now, later, strict=True):
        assert slow.cost_usd * 2 == fast.cost_usd > 0
    finished = await queue.results("later")
    assert {job.status for job in finished} == {JobStatus.DONE}
    assert all(job.result and job.result["routing"]["batch"] is True for job in finished)


async def test_expired_requests_run_in_real_time_while_the_deadline_allows(
    connect: OpenQueue, queue_settings: QueueSettings, ledger: BufferedLedger
) -> None:
    queue = await connect()
    soon = utcnow() + timedelta(hours=1)
    passed = utcnow() - timedelta(seconds=1)
    jobs = in_mode(jobs_of("b", [body(f"q{i}") for i in range(6)]), JobMode.BATCHES_API)
    jobs = [dataclasses.replace(job, deadline=soon if job.position < 4 else passed) for job in jobs]
    await queue.submit("b", jobs)
    # Each request takes 0.2 s and the batch expires after 0.3 s: the first answered, the rest expire.
    slow = EmulatorConfig(batch_seconds_per_request=0.2, batch_expiry_seconds=0.3)

    await run_worker(queue_settings, connect, ledger, slow)

    finished = await queue.results("b")
    rows = {r.request_id: r for r in await ledger.rows()}
    assert [job.status for job in finished[:4]] == [JobStatus.DONE] * 4
    assert rows["b:r0"].batch  # answered inside the Message Batch
    assert not rows["b:r3"].batch  # expired there, then answered in real time
    for job in finished[4:]:  # expired, and too late for another try
        assert job.status is JobStatus.FAILED
        assert job.last_error is not None
        assert job.last_error.type == "batch_expired"
        assert rows[job.id].status == "batch_expired"


async def test_a_request_the_batches_api_refuses_fails_without_a_retry(
    connect: OpenQueue, queue_settings: QueueSettings, ledger: BufferedLedger
) -> None:
    queue = await connect()
    bad = body("hi", messages=[{"role": "robot", "content": "hi"}])
    await queue.submit("b", in_mode(jobs_of("b", [body("fine"), bad]), JobMode.BATCHES_API))

    await run_worker(queue_settings, connect, ledger)

    finished = await queue.results("b")
    assert [job.status for job in finished] == [JobStatus.DONE, JobStatus.FAILED]
    assert finished[1].last_error is not None
    assert finished[1].last_error.type == "invalid_request_error"
    assert finished[1].attempts == 1
    rows = {r.request_id: r for r in await ledger.rows()}
    assert rows["b:r1"].batch
    assert rows["b:r1"].status == "invalid_request_error"


def test_chunks_respect_the_request_and_byte_limits() -> None:
    from claude_router.batch.batches_api import _Prepared
    from claude_router.types import Route

    jobs = jobs_of("b", [body(f"q{i}") for i in range(7)])
    items = [_Prepared(job, batch_custom_id(job.id), job.params, None, Route("m"), size=100) for job in jobs]
    assert [len(c) for c in split(items, max_requests=3, max_bytes=10_000)] == [3, 3, 1]
    assert [len(c) for c in split(items, max_requests=100, max_bytes=250)] == [2, 2, 2, 1]
    ids = {batch_custom_id(f"batch_x:{i}") for i in range(1000)}
    assert len(ids) == 1000
    assert all(len(i) <= 64 and i.replace("_", "").replace("-", "").isalnum() for i in ids)


def test_batch_prices_are_half_of_real_time_prices_in_the_table() -> None:
    from claude_router.types import TokenUsage

    prices = PriceTable.default()
    usage = TokenUsage(input_tokens=1234, output_tokens=567, cache_read_tokens=89)
    for model in ("claude-haiku-4-5", "claude-sonnet-4-6"):
        assert prices.cost(model, usage, batch=True) * 2 == prices.cost(model, usage)


async def test_an_auto_job_queued_by_the_library_is_sent_by_its_deadline(
    connect: OpenQueue, queue_settings: QueueSettings, ledger: BufferedLedger
) -> None:
    queue = await connect()
    later = utcnow() + timedelta(days=3)
    jobs = jobs_of("b", [body("q0"), body("q1")])  # JobMode.AUTO, the library's default
    await queue.submit("b", [jobs[0], dataclasses.replace(jobs[1], deadline=later)])

    await run_worker(queue_settings, connect, ledger)

    rows = {r.request_id: r for r in await ledger.rows()}
    assert not rows["b:r0"].batch  # no deadline: real time
    assert rows["b:r1"].batch  # three days: room for the 24 h window


async def test_the_classifier_call_is_priced_in_full_and_only_the_answer_at_batch_rates(
    connect: OpenQueue, queue_settings: QueueSettings, ledger: BufferedLedger
) -> None:
    from claude_router.batch.worker import Worker, WorkerSettings, worker_router
    from claude_router.emulator.server import running_emulator

    from .test_worker import settings_for

    queue = await connect()
    await queue.submit("b", in_mode(jobs_of("b", [body("What is 2+2?", model="auto")]), JobMode.BATCHES_API))
    async with running_emulator() as base_url:
        settings = (await settings_for(base_url)).model_copy(
            update={"classifier": ClassifierSettings(kind="llm")}
        )
        async with worker_router(settings) as router:
            options = WorkerSettings(
                once=True, lease_s=queue_settings.lease_s, batches_api=FAST_POLL, collect_s=0
            )
            await Worker(await connect(), router, ledger, options).run()

    (row,) = await ledger.rows()
    prices = PriceTable.default()
    assert row.batch
    assert row.classifier_source.value == "llm"
    classifier_model = settings.classifier.model
    assert row.classifier_cost_usd == prices.cost(classifier_model, row.classifier_usage) > 0
    assert row.cost_usd == prices.cost(row.model_used or "", row.usage, batch=True)
