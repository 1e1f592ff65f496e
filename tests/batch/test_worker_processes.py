"""Real `claude-router worker` processes on one queue (SQLite file or Redis stream) and one ledger:
a worker killed with SIGKILL mid-chunk is finished by another (the same worker, run in this
process), and two worker processes share a queue; either way the ledger holds exactly one row
per job."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sqlite3
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from claude_router.batch import Job, StatusCounts
from claude_router.config import QueueSettings

from .conftest import OpenQueue, drain_in_process, worker_env

pytestmark = pytest.mark.slow  # starts processes

LEASE = {"CLAUDE_ROUTER_QUEUE__LEASE_S": "1", "CLAUDE_ROUTER_QUEUE__MAX_ATTEMPTS": "10"}


def slow_jobs(batch_id: str, n: int, delay_ms: int) -> list[Job]:
    params: dict[str, Any] = {
        "model": "claude-haiku-4-5",
        "max_tokens": 16,
        "extra_headers": {"x-emulator-delay-ms": str(delay_ms)},
    }
    return [
        Job(
            id=f"{batch_id}:r{i}",
            batch_id=batch_id,
            position=i,
            params={**params, "messages": [{"role": "user", "content": f"q{i}"}]},
        )
        for i in range(n)
    ]


async def start_worker(
    target: str, ledger: Path, settings: QueueSettings, home: Path, *options: str
) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "claude_router.cli",
        "worker",
        *("--queue", target, "--ledger", str(ledger), "--once", *options),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
        env=worker_env(settings, home, **LEASE),
    )


def ledger_rows(ledger: Path) -> list[tuple[str, str]]:
    if not ledger.exists():
        return []
    try:
        with sqlite3.connect(ledger, timeout=10) as db:
            return db.execute("SELECT request_id, status FROM usage").fetchall()
    except sqlite3.OperationalError:  # not migrated yet
        return []


async def wait_until(condition: Callable[[], bool], timeout_s: float) -> None:
    """Poll another process's progress (no event to wait on across processes)."""
    async with asyncio.timeout(timeout_s):
        while True:
            if condition():
                return
            await asyncio.sleep(0.01)


def holds_open(pid: int, path: Path) -> bool:
    """Whether process `pid` has `path` (or its journal) open: a worker that opened its ledger is
    past its imports and about to claim (read from /proc, Linux's view of the process)."""
    prefix = str(path.resolve())
    try:
        fds = list(Path(f"/proc/{pid}/fd").iterdir())
    except OSError:  # gone already
        return False
    for fd in fds:
        try:
            if os.readlink(fd).startswith(prefix):
                return True
        except OSError:  # closed while we looked
            continue
    return False


def done_count(stderr: bytes) -> int:
    match = re.search(r"done (\d+), failed (\d+)", stderr.decode())
    assert match, stderr.decode()
    assert match.group(2) == "0", stderr.decode()
    return int(match.group(1))


async def test_a_worker_killed_mid_chunk_is_finished_by_another_with_one_ledger_row_per_job(
    connect: OpenQueue, queue_target: str, queue_settings: QueueSettings, tmp_path: Path
) -> None:
    queue = await connect()
    jobs = slow_jobs("b1", 24, delay_ms=150)
    await queue.submit("b1", jobs)
    ledger = tmp_path / "ledger.db"

    doomed = await start_worker(
        queue_target, ledger, queue_settings, tmp_path, "--chunk", "8", "--concurrency", "2"
    )
    # Kill it mid-chunk: a few jobs accounted and acknowledged, the rest of its chunk still leased.
    await wait_until(lambda: len(ledger_rows(ledger)) >= 3, timeout_s=40)
    doomed.send_signal(signal.SIGKILL)
    assert await doomed.wait() == -signal.SIGKILL
    before = await queue.batch_status("b1")
    assert before.leased > 0  # it died holding leases
    assert 0 < before.done < len(jobs)

    # The heir: `worker --once --chunk 8` with the same lease and attempts, in this process.
    heir = await connect(lease_s=1, max_attempts=10)
    async with asyncio.timeout(45):
        stats = await drain_in_process(heir, ledger, chunk=8, lease_s=1, max_attempts=10)
    assert stats.failed == 0

    assert await queue.batch_status("b1") == StatusCounts(done=len(jobs))
    rows = ledger_rows(ledger)
    assert sorted(request_id for request_id, _ in rows) == sorted(job.id for job in jobs)
    assert {status for _, status in rows} == {"ok"}
    finished = await queue.results("b1")
    reclaimed = [job for job in finished if job.attempts > 1]
    assert reclaimed  # the heir took over the killed worker's leases ...
    assert all(job.last_error is not None and job.last_error.type == "lease_expired" for job in reclaimed)
    assert all(job.result and job.result["routing"]["request_id"] == job.id for job in finished)


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="telling when a worker is up needs /proc")
async def test_two_worker_processes_share_one_queue(
    connect: OpenQueue, queue_target: str, queue_settings: QueueSettings, tmp_path: Path
) -> None:
    queue = await connect()
    jobs = slow_jobs("b2", 40, delay_ms=200)
    await queue.submit("b2", jobs)
    ledger = tmp_path / "ledger.db"
    # Held here until both processes are up: however loaded the machine, neither drains the
    # queue alone while the other is still starting. Waiting (`--once`) on held jobs, they poll.
    held = await queue.claim("gate", len(jobs), lease_s=120)

    workers = [
        await start_worker(
            queue_target, ledger, queue_settings, tmp_path, "--chunk", "5", "--concurrency", "4"
        )
        for _ in range(2)
    ]
    await wait_until(lambda: all(holds_open(w.pid, ledger) for w in workers), timeout_s=60)
    assert await queue.release("gate", [job.id for job in held]) == len(jobs)
    outputs = await asyncio.wait_for(asyncio.gather(*(w.communicate() for w in workers)), 50)

    assert [w.returncode for w in workers] == [0, 0], [err.decode() for _, err in outputs]
    shares = [done_count(err) for _, err in outputs]
    assert sum(shares) >= len(jobs)  # at least once: a job reclaimed from a slow worker may run twice
    assert all(share > 0 for share in shares)  # both took part
    assert await queue.batch_status("b2") == StatusCounts(done=len(jobs))
    assert sorted(r for r, _ in ledger_rows(ledger)) == sorted(job.id for job in jobs)
