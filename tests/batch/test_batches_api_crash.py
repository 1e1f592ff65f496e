"""A worker killed (SIGKILL) while its Message Batch runs: the worker that takes its jobs over
(run in this process) polls that same Message Batch instead of sending (and paying for) the
requests again."""

from __future__ import annotations

import asyncio
import dataclasses
import signal
import sys
from pathlib import Path

import anthropic
import pytest

from claude_router.batch import Job, JobMode, StatusCounts
from claude_router.catalog.pricing import PriceTable
from claude_router.config import QueueSettings, Settings
from claude_router.emulator.config import EmulatorConfig
from claude_router.emulator.server import running_emulator
from claude_router.ledger import open_ledger

from .conftest import OpenQueue, drain_in_process, worker_env

JOBS = 6
KEY = "sk-test"


def batch_jobs(batch_id: str, n: int) -> list[Job]:
    return [
        Job(
            id=f"{batch_id}:r{i}",
            batch_id=batch_id,
            position=i,
            params={
                "model": "auto",
                "max_tokens": 16,
                "messages": [{"role": "user", "content": f"q{i} 2+2?"}],
            },
            mode=JobMode.BATCHES_API,
        )
        for i in range(n)
    ]


async def start_worker(
    target: str, ledger: Path, settings: QueueSettings, home: Path, base_url: str
) -> asyncio.subprocess.Process:
    env = worker_env(
        settings,
        home,
        CLAUDE_ROUTER_QUEUE__LEASE_S="1",
        CLAUDE_ROUTER_UPSTREAM__BASE_URL=base_url,
        CLAUDE_ROUTER_UPSTREAM__API_KEY=KEY,
        CLAUDE_ROUTER_CLASSIFIER__KIND="local",
    )
    return await asyncio.create_subprocess_exec(
        sys.executable,
        *("-m", "claude_router.cli", "worker", "--queue", target, "--ledger", str(ledger), "--once"),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )


@pytest.mark.slow
async def test_a_worker_killed_while_its_message_batch_runs_is_resumed_not_resent(
    connect: OpenQueue, queue_target: str, queue_settings: QueueSettings, tmp_path: Path
) -> None:
    queue = await connect()
    jobs = batch_jobs("b1", JOBS)
    await queue.submit("b1", jobs)
    ledger_path = tmp_path / "ledger.db"
    slow = EmulatorConfig(batch_seconds_per_request=0.5)  # the Message Batch takes 3 s

    async with running_emulator(slow) as base_url:
        client = anthropic.AsyncAnthropic(base_url=base_url, api_key=KEY)
        doomed = await start_worker(queue_target, ledger_path, queue_settings, tmp_path, base_url)
        async with asyncio.timeout(30):  # until its Message Batch is sent and recorded
            while True:  # another process's progress: no event to wait on
                if all(job.message_batch for job in await queue.results("b1")):
                    break
                await asyncio.sleep(0.02)
        doomed.send_signal(signal.SIGKILL)
        assert await doomed.wait() == -signal.SIGKILL
        (sent,) = [batch async for batch in client.messages.batches.list()]
        assert sent.processing_status == "in_progress"  # it died waiting for it
        assert {job.message_batch.id for job in await queue.results("b1") if job.message_batch} == {sent.id}
        assert (await queue.batch_status("b1")).leased == JOBS

        # The heir: the same `worker --once` (lease 1 s, local classifier), in this process.
        upstream = {"base_url": base_url, "api_key": KEY}
        settings = Settings.load(upstream=upstream, classifier={"kind": "local"})
        async with asyncio.timeout(40):
            stats = await drain_in_process(
                await connect(lease_s=1.0, max_attempts=5), ledger_path, settings, lease_s=1
            )
        assert stats.failed == 0

        batches = [batch async for batch in client.messages.batches.list()]
        assert [batch.id for batch in batches] == [sent.id]  # created exactly once
        assert batches[0].request_counts.succeeded == JOBS
        await client.close()

    assert await queue.batch_status("b1") == StatusCounts(done=JOBS)
    finished = await queue.results("b1")
    assert {job.attempts for job in finished} == {2}  # every job was taken over
    assert all(job.result and job.result["routing"]["batch"] for job in finished)
    async with await open_ledger(ledger_path) as ledger:
        rows = await ledger.rows()
    assert sorted(row.request_id for row in rows) == sorted(job.id for job in jobs)
    prices = PriceTable.default()
    for row in rows:
        assert row.batch
        assert row.status == "ok"
        assert row.cost_usd == prices.cost(row.model_used or "", row.usage, batch=True) > 0


async def test_a_worker_stopped_while_its_message_batch_runs_hands_it_over_at_once(
    connect: OpenQueue, queue_settings: QueueSettings, tmp_path: Path
) -> None:
    from claude_router.batch.batches_api import BatchesApiSettings
    from claude_router.batch.worker import Worker, WorkerSettings, worker_router

    from .test_worker import settings_for

    queue = await connect()
    jobs = batch_jobs("b1", JOBS)
    await queue.submit("b1", jobs)
    options = WorkerSettings(
        once=True,
        lease_s=60,  # far longer than the test: only a release lets the second worker in
        collect_s=0,
        batches_api=BatchesApiSettings(poll_first_s=0.05, poll_max_s=0.2),
    )
    slow = EmulatorConfig(batch_seconds_per_request=0.3)
    async with (
        running_emulator(slow) as base_url,
        worker_router(await settings_for(base_url)) as router,
        await open_ledger(tmp_path / "ledger.db") as ledger,
    ):
        first = Worker(await connect(), router, ledger, options)
        running = asyncio.create_task(first.run())
        async with asyncio.timeout(20):
            while True:
                if all(job.message_batch for job in await queue.results("b1")):
                    break
                await asyncio.sleep(0.02)
        first.stop()
        stats = await running
        assert stats.released == JOBS
        assert await queue.batch_status("b1") == StatusCounts(queued=JOBS)

        second = Worker(await connect(), router, ledger, dataclasses.replace(options, consumer="second"))
        second_stats = await second.run()
        assert second_stats.done == JOBS
        assert len(first.batches.submitted) == 1
        assert second.batches.submitted == []  # it polled the first one's Message Batch
        rows = await ledger.rows()

    assert await queue.batch_status("b1") == StatusCounts(done=JOBS)
    assert {job.attempts for job in await queue.results("b1")} == {1}  # a release costs no attempt
    assert sorted(row.request_id for row in rows) == sorted(job.id for job in jobs)
    assert all(row.batch for row in rows)
