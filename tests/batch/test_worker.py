"""The worker on a real queue (SQLite and Redis), a real SQLite ledger and the emulator over HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from claude_router.batch import Job, JobStatus, StatusCounts
from claude_router.batch.worker import Worker, WorkerSettings, worker_router
from claude_router.config import QueueSettings, Settings
from claude_router.emulator.config import EmulatorConfig, FaultConfig
from claude_router.emulator.server import running_emulator
from claude_router.ledger import BufferedLedger, open_ledger

from .conftest import OpenQueue

HAIKU = "claude-haiku-4-5"


def jobs_of(batch_id: str, bodies: list[dict[str, Any]]) -> list[Job]:
    return [
        Job(id=f"{batch_id}:r{i}", batch_id=batch_id, position=i, params=body, customer="acme")
        for i, body in enumerate(bodies)
    ]


def body(text: str, model: str = HAIKU, **extra: Any) -> dict[str, Any]:
    return {"model": model, "max_tokens": 32, "messages": [{"role": "user", "content": text}], **extra}


async def settings_for(base_url: str) -> Settings:
    upstream = {"base_url": base_url, "api_key": SecretStr("sk-test")}
    return Settings.load(upstream=upstream, classifier={"kind": "local"})


@pytest.fixture
async def ledger(tmp_path: Path) -> AsyncIterator[BufferedLedger]:
    async with await open_ledger(tmp_path / "ledger.db") as opened:
        yield opened


#: The worker's lease unless a test is about leases: longer than any test, so that only what a
#: test does costs a job an attempt, however loaded the machine (renewals come every third of it).
LEASE_S = 30.0


async def drain(
    queue_settings: QueueSettings,
    connect: OpenQueue,
    ledger: BufferedLedger,
    emulator: EmulatorConfig | None = None,
    **overrides: Any,
) -> Worker:
    async with running_emulator(emulator or EmulatorConfig()) as base_url:
        settings = await settings_for(base_url)
        async with worker_router(settings) as router:
            options = {
                "once": True,
                "lease_s": LEASE_S,
                "max_attempts": queue_settings.max_attempts,
                **overrides,
            }
            worker = Worker(await connect(), router, ledger, WorkerSettings(**options))
            await worker.run()
    await ledger.flush()
    return worker


async def test_a_batch_is_answered_in_order_with_one_ledger_row_per_job(
    connect: OpenQueue, queue_settings: QueueSettings, ledger: BufferedLedger
) -> None:
    queue = await connect()
    texts = [f"What is {i} plus {i}?" for i in range(25)]
    jobs = jobs_of("b1", [body(t, model="auto") for t in texts])
    await queue.submit("b1", jobs)

    worker = await drain(queue_settings, connect, ledger, chunk=7)

    assert await queue.batch_status("b1") == StatusCounts(done=25)
    finished = await queue.results("b1")
    assert [job.id for job in finished] == [job.id for job in jobs]
    for job in finished:
        assert job.result is not None
        assert job.result["message"]["type"] == "message"
        assert job.result["routing"]["request_id"] == job.id
    rows = await ledger.rows()
    assert sorted(r.request_id for r in rows) == sorted(job.id for job in jobs)
    assert {r.customer for r in rows} == {"acme"}
    assert sum(r.total_cost_usd for r in rows) == worker.stats.cost_usd > 0
    assert worker.stats.done == 25
    assert worker.stats.failed == 0


async def test_a_refused_request_fails_at_once_and_is_still_accounted(
    connect: OpenQueue, queue_settings: QueueSettings, ledger: BufferedLedger
) -> None:
    queue = await connect()
    bad = body("hi", messages=[{"role": "robot", "content": "hi"}])
    unknown = body("hi", model="claude-nope")
    await queue.submit("b2", jobs_of("b2", [body("fine"), bad, unknown]))

    worker = await drain(queue_settings, connect, ledger)

    finished = await queue.results("b2")
    assert [job.status for job in finished] == [JobStatus.DONE, JobStatus.FAILED, JobStatus.FAILED]
    assert [job.attempts for job in finished] == [1, 1, 1]  # a 400 is not worth a second try
    assert finished[1].last_error is not None
    assert finished[1].last_error.type == "invalid_request_error"
    assert finished[2].last_error is not None
    assert finished[2].last_error.type == "not_found_error"
    rows = {r.request_id: r for r in await ledger.rows()}
    assert set(rows) == {job.id for job in finished}
    assert rows["b2:r1"].status == "invalid_request_error"
    assert rows["b2:r2"].status == "not_found_error"
    assert worker.stats.failed == 2


async def test_a_poison_job_is_parked_after_max_attempts_and_blocks_nothing(
    connect: OpenQueue, queue_settings: QueueSettings, ledger: BufferedLedger
) -> None:
    queue = await connect()
    poison = body("always overloaded", extra_headers={"x-emulator-fault": "529"})
    await queue.submit("b3", jobs_of("b3", [poison, *(body(f"q{i}") for i in range(10))]))

    worker = await drain(queue_settings, connect, ledger)

    finished = await queue.results("b3")
    assert finished[0].status is JobStatus.PARKED
    assert finished[0].attempts == queue_settings.max_attempts
    assert finished[0].last_error is not None
    assert finished[0].last_error.type == "overloaded_error"
    assert all(job.status is JobStatus.DONE for job in finished[1:])
    rows = {r.request_id: r for r in await ledger.rows()}
    assert len(rows) == 11  # the parked job's row is written once, by its last attempt
    assert rows["b3:r0"].status == "overloaded_error"
    assert worker.stats.requeued == queue_settings.max_attempts - 1


async def test_429s_pause_the_worker_and_every_job_still_finishes_on_its_first_claim(
    connect: OpenQueue, queue_settings: QueueSettings, ledger: BufferedLedger
) -> None:
    queue = await connect()
    await queue.submit("b4", jobs_of("b4", [body(f"q{i}") for i in range(40)]))
    faults = FaultConfig(seed=7, rate_limited=0.3, retry_after_s=0)

    worker = await drain(queue_settings, connect, ledger, EmulatorConfig(faults=faults))

    finished = await queue.results("b4")
    assert {job.status for job in finished} == {JobStatus.DONE}
    assert {job.attempts for job in finished} == {1}  # a rate limit costs no queue attempt
    assert worker.stats.throttled > 0
    assert len(await ledger.rows()) == 40


async def test_leases_are_renewed_while_a_slow_chunk_runs(
    connect: OpenQueue, queue_settings: QueueSettings, ledger: BufferedLedger
) -> None:
    queue = await connect()
    slow = [body(f"q{i}", extra_headers={"x-emulator-delay-ms": "1000"}) for i in range(4)]
    await queue.submit("b5", jobs_of("b5", slow))

    # The queue's short lease (0.4 s) while each answer takes 1 s: only renewals keep the jobs.
    await drain(queue_settings, connect, ledger, lease_s=queue_settings.lease_s)

    finished = await queue.results("b5")
    assert {job.status for job in finished} == {JobStatus.DONE}
    assert all(job.attempts == 1 and job.last_error is None for job in finished)
