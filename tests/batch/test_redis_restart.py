"""A Redis restart loses no acknowledged and no queued job, with the persistence settings of
docs/redis-persistence.md (AOF, appendfsync always). The test runs its own redis-server on a
spare port and stops it both cleanly (SIGTERM) and abruptly (SIGKILL)."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError

from claude_router.batch import JobStatus, StatusCounts, open_queue
from claude_router.config import QueueSettings

from .conftest import make_jobs

pytestmark = pytest.mark.slow  # starts processes

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def spare_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class RedisServer:
    """A redis-server of our own, persisting to `directory` with AOF fsynced on every write."""

    def __init__(self, binary: str, directory: Path, *, aof: bool = True) -> None:
        self.binary = binary
        self.directory = directory
        self.persistence = (
            ("--appendonly", "yes", "--appendfsync", "always") if aof else ("--appendonly", "no")
        )
        self.port = spare_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        self.process = await asyncio.create_subprocess_exec(
            self.binary,
            *("--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.directory)),
            *self.persistence,
            *("--save", ""),  # no RDB snapshots: AOF alone must carry the data
            *("--logfile", str(self.directory / "redis.log")),
        )
        client = aioredis.Redis.from_url(self.url)
        try:
            async with asyncio.timeout(10):
                while True:
                    try:
                        if await client.ping():
                            return
                    except RedisConnectionError:
                        await asyncio.sleep(0.02)
        finally:
            await client.aclose()

    async def stop(self, sig: signal.Signals) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(sig)
            await self.process.wait()
        self.process = None


@pytest.fixture(params=[True], ids=["aof"])
async def server(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[RedisServer]:
    binary = shutil.which("redis-server")
    if binary is None:
        if IN_CI:
            pytest.fail("redis-server is not installed, and CI=true requires it", pytrace=False)
        pytest.skip("redis-server is not installed")
    running = RedisServer(binary, tmp_path, aof=request.param)
    await running.start()
    yield running
    await running.stop(signal.SIGKILL)


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "sigkill"])
async def test_a_restart_loses_no_acknowledged_or_queued_job(
    server: RedisServer, stop: signal.Signals
) -> None:
    settings = QueueSettings(name="restart", lease_s=0.3)
    queue = await open_queue(server.url, settings)
    await queue.submit("b1", make_jobs("b1", 20))
    claimed = await queue.claim("w1", 8)
    for job in claimed[:5]:
        assert await queue.ack(job.id, {"n": job.position})
    await queue.close()

    await server.stop(stop)
    await server.start()

    queue = await open_queue(server.url, settings)
    try:
        assert await queue.batch_status("b1") == StatusCounts(queued=12, leased=3, done=5)
        before = {job.id: job for job in await queue.results("b1")}
        assert [before[job.id].result for job in claimed[:5]] == [{"n": job.position} for job in claimed[:5]]
        # Jobs leased when the server died come back once their lease runs out; all finish.
        finished_now: list[str] = []
        while (await queue.batch_status("b1")).pending:
            jobs = await queue.claim("w2", 10)
            for job in jobs:
                assert await queue.ack(job.id, {"n": job.position})
            finished_now += [job.id for job in jobs]
            await asyncio.sleep(0 if jobs else 0.05)
        assert sorted(finished_now) == sorted(set(before) - {job.id for job in claimed[:5]})
        after = await queue.results("b1")
        assert [job.status for job in after] == [JobStatus.DONE] * 20
        assert [job.result for job in after] == [{"n": i} for i in range(20)]
    finally:
        await queue.close()


@pytest.mark.parametrize("server", [False], ids=["no-aof"], indirect=True)
async def test_without_aof_a_crash_loses_the_queue(server: RedisServer) -> None:
    """The control: the restart above really empties the server's memory."""
    queue = await open_queue(server.url, QueueSettings(name="restart"))
    await queue.submit("b1", make_jobs("b1", 5))
    await queue.close()
    await server.stop(signal.SIGKILL)
    await server.start()
    queue = await open_queue(server.url, QueueSettings(name="restart"))
    try:
        assert await queue.batch_status("b1") == StatusCounts()
    finally:
        await queue.close()
