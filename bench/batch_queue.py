"""Throughput of the bare batch queue: jobs/s enqueued, and claimed + acknowledged.

    .venv/bin/python bench/batch_queue.py [--jobs 10000] [--chunk 50] [--rounds 1]
                                          [--backends sqlite,redis] [--redis URL]

Each figure is printed with its ratio to a baseline measured in the same run, on the same
machine, doing the same storage work without the queue's bookkeeping:

- SQLite: a raw sqlite3 loop on the same schema (one INSERT transaction; per chunk a claim
  transaction, then one UPDATE per ack), same WAL and synchronous settings.
- Redis: raw stream commands (XADD in a pipeline; XREADGROUP per chunk, then one XACK per job).

For the SQLite backend's design choice it also runs the claim/ack path through SQLAlchemy Core's
async engine (aiosqlite), when SQLAlchemy's asyncio extra (greenlet) is installed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sqlite3
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path
from typing import Any

from redis.exceptions import RedisError

from claude_router.batch import Job, JobQueue, open_queue
from claude_router.batch import sqlite_schema as sql
from claude_router.config import QueueSettings
from claude_router.errors import QueueError

RESULT = {"id": "msg_0", "type": "message", "content": [{"type": "text", "text": "An answer. " * 8}]}
Row = tuple[str, str, float, float]  # what, backend/variant, seconds, baseline seconds


def make_jobs(batch_id: str, n: int) -> list[Job]:
    return [
        Job(
            id=f"{batch_id}-{i}",
            batch_id=batch_id,
            position=i,
            params={
                "model": "auto",
                "max_tokens": 256,
                "messages": [{"role": "user", "content": f"Q{i}? " * 10}],
            },
        )
        for i in range(n)
    ]


async def timed(work: Callable[[], Awaitable[Any]]) -> float:
    started = time.perf_counter()
    await work()
    return time.perf_counter() - started


async def drain(queue: JobQueue, chunk: int) -> None:
    result = RESULT
    while jobs := await queue.claim("bench", chunk):
        for job in jobs:
            await queue.ack(job.id, result)


# -- SQLite ------------------------------------------------------------------------------------


def raw_sqlite(path: Path, jobs: list[Job], chunk: int, synchronous: str) -> tuple[float, float]:
    """The baseline: the same statements from a plain loop, no thread, no job objects."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute(f"PRAGMA synchronous = {synchronous}")
    sql.migrate(conn)
    started = time.perf_counter()
    rows = [(job.id, job.batch_id, job.position, 0.0, job.spec_json(), 0.0) for job in jobs]
    conn.execute("BEGIN IMMEDIATE")
    with conn:
        conn.executemany(sql.INSERT, rows)
    enqueue = time.perf_counter() - started
    result = json.dumps(RESULT, separators=(",", ":"))
    started = time.perf_counter()
    while True:
        now = time.time()
        conn.execute("BEGIN IMMEDIATE")
        with conn:
            claimed = conn.execute(
                sql.CLAIM, {"owner": "raw", "until": now + 300, "now": now, "n": chunk}
            ).fetchall()
        if not claimed:
            break
        for _, seq, *_ in claimed:
            conn.execute("UPDATE jobs SET status = 'done', result = ? WHERE seq = ?", (result, seq))
    drain_s = time.perf_counter() - started
    conn.close()
    return enqueue, drain_s


async def sqlalchemy_drain(path: Path, chunk: int, synchronous: str) -> float | None:
    """The queue's claim/ack path (same SQL) through SQLAlchemy Core's async engine."""
    try:
        from sqlalchemy import event, text
        from sqlalchemy.ext.asyncio import create_async_engine
    except ImportError:
        return None
    try:
        engine = create_async_engine(f"sqlite+aiosqlite:///{path}", isolation_level="AUTOCOMMIT")
    except ImportError:  # greenlet (SQLAlchemy's asyncio extra) is missing
        return None

    @event.listens_for(engine.sync_engine, "connect")
    def _pragmas(dbapi_conn: Any, _: Any) -> None:
        dbapi_conn.execute(f"PRAGMA synchronous = {synchronous}")

    claim, ack = text(sql.CLAIM), text(sql.ACK)
    park, requeue = text(sql.PARK_EXPIRED), text(sql.REQUEUE_EXPIRED)
    result = json.dumps(RESULT, separators=(",", ":"))
    started = time.perf_counter()
    async with engine.connect() as conn:
        while True:
            now = time.time()
            await conn.exec_driver_sql("BEGIN IMMEDIATE")
            await conn.execute(park, {"now": now, "max_attempts": 5})
            await conn.execute(requeue, {"now": now})
            claimed = (
                await conn.execute(claim, {"owner": "sa", "until": now + 300, "now": now, "n": chunk})
            ).all()
            await conn.exec_driver_sql("COMMIT")
            if not claimed:
                break
            for row in claimed:
                job_id = json.loads(row.spec)["id"]
                await conn.execute(ack, {"id": job_id, "result": result, "now": time.time()})
    elapsed = time.perf_counter() - started
    await engine.dispose()
    return elapsed


async def bench_sqlite(n: int, chunk: int, workdir: Path) -> list[Row]:
    rows: list[Row] = []
    for synchronous in ("full", "normal"):
        jobs = make_jobs("b", n)
        base_enqueue, base_drain = raw_sqlite(workdir / f"raw-{synchronous}.db", jobs, chunk, synchronous)
        queue = await open_queue(
            workdir / f"queue-{synchronous}.db", QueueSettings(sqlite_synchronous=synchronous)
        )
        try:
            enqueue = await timed(partial(queue.submit, "b", jobs))
            drained = await timed(partial(drain, queue, chunk))
        finally:
            await queue.close()
        variant = f"sqlite (synchronous={synchronous})"
        rows += [("enqueue", variant, enqueue, base_enqueue), ("claim+ack", variant, drained, base_drain)]
        # The same claim/ack SQL through SQLAlchemy's async engine, on a fresh copy of the jobs.
        queue = await open_queue(
            workdir / f"sa-{synchronous}.db", QueueSettings(sqlite_synchronous=synchronous)
        )
        await queue.submit("b", jobs)
        await queue.close()
        sa = await sqlalchemy_drain(workdir / f"sa-{synchronous}.db", chunk, synchronous)
        if sa is not None:
            rows.append(("claim+ack", f"sqlalchemy async (synchronous={synchronous})", sa, base_drain))
    return rows


# -- Redis -------------------------------------------------------------------------------------


async def raw_redis(url: str, n: int, chunk: int) -> tuple[float, float]:
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(url, decode_responses=True)
    stream = f"bench:{{{uuid.uuid4().hex}}}:raw"
    try:
        started = time.perf_counter()
        for start in range(0, n, 500):
            async with client.pipeline(transaction=False) as pipe:
                for i in range(start, min(start + 500, n)):
                    pipe.xadd(stream, {"id": f"b-{i}"})
                await pipe.execute()
        enqueue = time.perf_counter() - started
        await client.xgroup_create(stream, "g", id="0")
        started = time.perf_counter()
        while True:
            read: Any = await client.xreadgroup("g", "raw", {stream: ">"}, count=chunk)
            if not read:
                break
            for entry_id, _ in read[0][1]:
                await client.xack(stream, "g", entry_id)
        return enqueue, time.perf_counter() - started
    finally:
        await client.delete(stream)
        await client.aclose()


async def bench_redis(url: str, n: int, chunk: int) -> list[Row]:
    import redis.asyncio as aioredis

    base_enqueue, base_drain = await raw_redis(url, n, chunk)
    settings = QueueSettings(name=f"bench-{uuid.uuid4().hex[:8]}")
    queue = await open_queue(url, settings)
    try:
        jobs = make_jobs("b", n)
        enqueue = await timed(partial(queue.submit, "b", jobs))
        drained = await timed(partial(drain, queue, chunk))
    finally:
        await queue.close()
        client = aioredis.Redis.from_url(url)
        async for key in client.scan_iter(match=f"claude-router:queue:{{{settings.name}}}:*", count=1000):
            await client.delete(key)
        await client.aclose()
    return [
        ("enqueue", "redis streams", enqueue, base_enqueue),
        ("claim+ack", "redis streams", drained, base_drain),
    ]


# -- report ------------------------------------------------------------------------------------


def report(rows: list[Row], n: int) -> None:
    print(f"\n{n:,} jobs; ratio = the queue's jobs/s over its baseline's (1.00 = as fast as raw)\n")
    print(f"{'operation':<10} {'backend':<40} {'jobs/s':>9} {'baseline/s':>11} {'ratio':>6}")
    for what, variant, seconds, baseline in rows:
        print(
            f"{what:<10} {variant:<40} {n / seconds:>9,.0f} {n / baseline:>11,.0f} {baseline / seconds:>6.2f}"
        )


def best_of(rows: list[Row]) -> list[Row]:
    """Per measurement, the fastest round of the queue and of its baseline (the least noise)."""
    best: dict[tuple[str, str], Row] = {}
    for what, variant, seconds, baseline in rows:
        seen = best.get((what, variant))
        if seen is not None:
            seconds, baseline = min(seconds, seen[2]), min(baseline, seen[3])
        best[(what, variant)] = (what, variant, seconds, baseline)
    return list(best.values())


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--chunk", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=1, help="report the best of this many rounds")
    parser.add_argument("--backends", default="sqlite,redis", help="comma-separated: sqlite, redis")
    parser.add_argument(
        "--redis", default=os.environ.get("CLAUDE_ROUTER_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    )
    args = parser.parse_args()
    backends = set(args.backends.split(","))
    rows: list[Row] = []
    for _ in range(args.rounds):
        if "sqlite" in backends:
            with tempfile.TemporaryDirectory(prefix="queue-bench-") as workdir:
                rows += await bench_sqlite(args.jobs, args.chunk, Path(workdir))
        if "redis" in backends:
            try:
                rows += await bench_redis(args.redis, args.jobs, args.chunk)
            except (QueueError, RedisError) as exc:  # no Redis server here: report the rest
                print(f"Redis skipped: {exc}")
    report(best_of(rows), args.jobs)


if __name__ == "__main__":
    asyncio.run(main())
