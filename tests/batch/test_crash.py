"""A worker killed with SIGKILL mid-chunk: another worker reclaims its jobs and finishes them,
and every job ends with exactly one result (the sink is idempotent on the job id, as the
ledger is on the request id)."""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from claude_router.batch import StatusCounts
from claude_router.config import QueueSettings

from .conftest import OpenQueue, make_jobs

pytestmark = pytest.mark.slow  # starts processes

WORKER = Path(__file__).with_name("crash_worker.py")
JOBS = 30
CHUNK = 10


async def start_worker(
    target: str, sink: Path, settings: QueueSettings, consumer: str
) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        str(WORKER),
        target,
        str(sink),
        "b1",
        *("--name", settings.name, "--prefix", settings.redis_prefix or "", "--consumer", consumer),
        *("--lease", "1"),
        *("--delay", "0.03", "--chunk", str(CHUNK)),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )


def rows(sink: Path, query: str) -> list[tuple[str, ...]]:
    if not sink.exists():
        return []
    with sqlite3.connect(sink, timeout=10) as conn:
        try:
            return conn.execute(query).fetchall()
        except sqlite3.OperationalError:  # the worker has not created its tables yet
            return []


async def wait_until(condition: Callable[[], bool], timeout_s: float) -> None:
    """Poll another process's progress (no event to wait on across processes)."""
    async with asyncio.timeout(timeout_s):
        while True:
            if condition():
                return
            await asyncio.sleep(0.005)


async def test_a_worker_killed_mid_chunk_is_finished_by_another(
    connect: OpenQueue, queue_target: str, queue_settings: QueueSettings, tmp_path: Path
) -> None:
    queue = await connect()
    jobs = make_jobs("b1", JOBS)
    await queue.submit("b1", jobs)
    sink = tmp_path / "sink.db"

    doomed = await start_worker(queue_target, sink, queue_settings, "doomed")
    results_so_far = "SELECT job_id FROM results"
    # Kill it in the middle of a chunk: a few jobs of the chunk done, the rest still leased.
    await wait_until(lambda: len(rows(sink, results_so_far)) % CHUNK in (3, 4, 5), timeout_s=20)
    doomed.kill()
    assert await doomed.wait() == -signal.SIGKILL
    assert (await queue.batch_status("b1")).leased > 0  # it died holding leases

    heir = await start_worker(queue_target, sink, queue_settings, "heir")
    _, err = await asyncio.wait_for(heir.communicate(), 40)
    assert heir.returncode == 0, err.decode()

    assert await queue.batch_status("b1") == StatusCounts(done=JOBS)
    assert sorted(r[0] for r in rows(sink, results_so_far)) == sorted(job.id for job in jobs)
    runs = rows(sink, "SELECT job_id, consumer FROM runs")
    assert {consumer for _, consumer in runs} == {"doomed", "heir"}
    assert len(runs) >= JOBS  # at least once (a job run but not acked before the kill runs twice)
    finished = await queue.results("b1")
    reclaimed = [job for job in finished if job.attempts > 1]
    assert reclaimed  # the heir took over the doomed worker's leases ...
    assert all(job.result == {"by": "heir"} for job in reclaimed)  # ... and finished them
    assert all(job.last_error and job.last_error.type == "lease_expired" for job in reclaimed)
