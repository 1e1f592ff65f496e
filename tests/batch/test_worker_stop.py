"""`claude-router worker` as a process of its own on the embedded emulator: SIGTERM stops it cleanly
(requests in flight finish and are accounted, the rest are released to the queue at once, exit 0),
Ctrl-C within a second (what finished is accounted, the rest released, exit 130); and, run through
its console entry point in this process, the deadline margin comes from `[queue] batches_api_margin_s`."""

from __future__ import annotations

import asyncio
import dataclasses
import re
import signal
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from claude_router.batch import JobMode, JobStatus, StatusCounts, open_queue
from claude_router.batch.job import utcnow
from claude_router.config import QueueSettings
from claude_router.ledger import open_ledger
from cli_runner import run_cli

from .conftest import OpenQueue, drain_in_process, queue_env, worker_env
from .test_worker_processes import ledger_rows, slow_jobs, wait_until

JOBS = 30


async def start_worker(
    target: str, ledger: Path, settings: QueueSettings, home: Path, *options: str
) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        *("-m", "claude_router.cli", "worker", "--queue", target, "--ledger", str(ledger), *options),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
        env=worker_env(settings, home),
    )


def released_count(stderr: bytes) -> int:
    match = re.search(r"released (\d+)", stderr.decode())
    assert match, stderr.decode()
    return int(match.group(1))


@pytest.mark.slow
@pytest.mark.parametrize(("sig", "status"), [(signal.SIGTERM, 0), (signal.SIGINT, 130)])
async def test_a_signal_stops_the_worker_cleanly_and_releases_what_it_holds(
    connect: OpenQueue,
    queue_target: str,
    queue_settings: QueueSettings,
    tmp_path: Path,
    sig: signal.Signals,
    status: int,
) -> None:
    queue = await connect()
    jobs = slow_jobs("b1", JOBS, delay_ms=300)
    await queue.submit("b1", jobs)
    ledger = tmp_path / "ledger.db"

    # Not --once: it would run forever. The default 300 s lease: a job not released would wait it out.
    worker = await start_worker(
        queue_target, ledger, queue_settings, tmp_path, "--chunk", "10", "--concurrency", "2"
    )
    await wait_until(lambda: len(ledger_rows(ledger)) >= 2, timeout_s=40)
    worker.send_signal(sig)
    _, err = await asyncio.wait_for(worker.communicate(), 30)
    assert worker.returncode == status, err.decode()
    assert "Traceback" not in err.decode()

    counts = await queue.batch_status("b1")
    assert counts.leased == 0  # nothing left holding a lease
    assert counts.done + counts.queued == JOBS
    assert 0 < counts.done < JOBS
    assert released_count(err) > 0
    waiting = [job for job in await queue.results("b1") if job.status is JobStatus.QUEUED]
    assert {job.attempts for job in waiting} == {0}  # a release costs no attempt
    done_ids = sorted(job.id for job in await queue.results("b1") if job.status is JobStatus.DONE)
    assert sorted(r for r, _ in ledger_rows(ledger)) == done_ids  # what finished was accounted

    # The next worker (`worker --once --concurrency 8`, the default 300 s lease), in this process.
    heir = await connect(lease_s=300.0)
    async with asyncio.timeout(40):  # well within the lease: released at once
        stats = await drain_in_process(heir, ledger, concurrency=8)
    assert stats.failed == 0
    assert await queue.batch_status("b1") == StatusCounts(done=JOBS)
    assert sorted(r for r, _ in ledger_rows(ledger)) == sorted(job.id for job in jobs)


@pytest.mark.parametrize(("margin_s", "batch"), [("1800", True), ("7200", False)])
def test_the_worker_decides_auto_jobs_with_the_configured_margin(
    queue_target: str, queue_settings: QueueSettings, tmp_path: Path, margin_s: str, batch: bool
) -> None:
    # Queued by the library as `auto`: the worker decides. 25 h leaves 1 h beyond the 24 h window.
    (job,) = slow_jobs("b1", 1, delay_ms=0)
    job = dataclasses.replace(job, mode=JobMode.AUTO, deadline=utcnow() + timedelta(hours=25))

    async def submit() -> None:
        queue = await open_queue(queue_target, queue_settings)
        try:
            await queue.submit("b1", [job])
        finally:
            await queue.close()

    asyncio.run(submit())
    ledger = tmp_path / "ledger.db"

    env = queue_env(queue_settings) | {"CLAUDE_ROUTER_QUEUE__BATCHES_API_MARGIN_S": margin_s}
    done = run_cli(
        "worker", "--queue", queue_target, "--ledger", str(ledger), "--once", home=tmp_path, env_extra=env
    )
    assert done.returncode == 0, done.stderr

    async def recorded() -> bool:
        async with await open_ledger(ledger) as opened:
            (row,) = await opened.rows()
        return row.batch

    assert asyncio.run(recorded()) is batch
