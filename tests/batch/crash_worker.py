"""A stand-in worker for the crash tests, run as a subprocess.

It claims jobs in chunks and "processes" each one slowly: it records the run in `runs` (every
delivery, duplicates included) and the outcome in `results` with INSERT OR IGNORE keyed on the
job id, as the ledger is idempotent on the request id, then acknowledges the job. It exits when
nothing of the batch is pending.

    python crash_worker.py QUEUE SINK BATCH --name N --prefix P --consumer C --lease S --delay S --chunk N
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
from pathlib import Path

from claude_router.batch import open_queue
from claude_router.config import QueueSettings

SINK_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS results (job_id TEXT PRIMARY KEY, consumer TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS runs (job_id TEXT NOT NULL, consumer TEXT NOT NULL)",
)


def open_sink(path: Path) -> sqlite3.Connection:
    sink = sqlite3.connect(path, isolation_level=None, timeout=10)
    sink.execute("PRAGMA journal_mode = WAL")
    for statement in SINK_SCHEMA:
        sink.execute(statement)
    return sink


async def work(args: argparse.Namespace) -> None:
    settings = QueueSettings(
        name=args.name, redis_prefix=args.prefix or None, lease_s=args.lease, max_attempts=10
    )
    queue = await open_queue(args.queue, settings)
    sink = open_sink(Path(args.sink))
    try:
        while (await queue.batch_status(args.batch)).pending:
            jobs = await queue.claim(args.consumer, args.chunk)
            if not jobs:
                await asyncio.sleep(0.05)
                continue
            for job in jobs:
                await asyncio.sleep(args.delay)
                sink.execute("INSERT INTO runs VALUES (?, ?)", (job.id, args.consumer))
                sink.execute("INSERT OR IGNORE INTO results VALUES (?, ?)", (job.id, args.consumer))
                await queue.ack(job.id, {"by": args.consumer})
    finally:
        sink.close()
        await queue.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("queue")
    parser.add_argument("sink")
    parser.add_argument("batch")
    parser.add_argument("--name", default="default")
    parser.add_argument("--prefix", default="", help="the queue's Redis key prefix (default: the package's)")
    parser.add_argument("--consumer", required=True)
    parser.add_argument("--lease", type=float, default=1.0)
    parser.add_argument("--delay", type=float, default=0.02)
    parser.add_argument("--chunk", type=int, default=10)
    asyncio.run(work(parser.parse_args()))


if __name__ == "__main__":
    main()
