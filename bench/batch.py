"""The batch pipeline against a requests-per-minute limit, and the Batches API's price.

    .venv/bin/python bench/batch.py [--jobs 10000] [--rpm 4500] [--concurrency 64]

Three runs of the same jobs (`auto` model, the local classifier: no classifier calls), each on a
fresh SQLite queue and ledger and a fresh emulator process whose API key allows `--rpm`
requests per minute (a token bucket that starts full, as the API's does):

1. the worker as shipped: adaptive concurrency (AIMD on the rate-limit headers and 429s);
2. the baseline: the same worker held at a fixed concurrency (`--concurrency`);
3. the same jobs through the Message Batches API path.

For 1 and 2 it prints the share of the limit used (requests answered / requests the bucket
allowed over the run: its initial fill plus its refill), the same share in the steady state (after
the first 429, when the initial fill is spent), the 429s met and the failed jobs; ratios are to
the baseline. For 3 it prints the cost against run 1's: exactly 0.5 when the discount is applied.
The steady share may read a little above 100%: it is sampled every 50 ms from acknowledged jobs,
which lag the answers by up to one commit (0.1 s).
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from _common import BENCH_KEY, emulator_process, ratio
from claude_router.batch import Job, JobMode, open_queue
from claude_router.batch.batches_api import BatchesApiSettings
from claude_router.batch.pacing import PacingSettings
from claude_router.batch.worker import Worker, WorkerSettings, worker_router
from claude_router.config import QueueSettings, Settings
from claude_router.emulator.config import EmulatorConfig, RateLimits
from claude_router.ledger import open_ledger

TOPICS = ("a sorting algorithm", "the water cycle", "a REST API", "photosynthesis", "a hash map")


@dataclass(frozen=True, slots=True)
class Run:
    name: str
    jobs: int
    elapsed_s: float
    done: int
    failed: int
    throttled: int
    cost: Decimal
    used: float  # of the whole run's allowance
    steady: float  # after the first 429


def make_jobs(n: int, mode: JobMode) -> list[Job]:
    jobs = []
    for i in range(n):
        text = f"Explain {TOPICS[i % len(TOPICS)]} in one sentence (#{i})."
        params: dict[str, Any] = {
            "model": "auto",
            "max_tokens": 32,
            "messages": [{"role": "user", "content": text}],
        }
        jobs.append(Job(id=f"b:{i}", batch_id="b", position=i, params=params, mode=mode))
    return jobs


async def run_once(name: str, base_url: str, jobs: list[Job], rpm: int, pacing: PacingSettings) -> Run:
    settings = Settings.load(
        upstream={"base_url": base_url, "api_key": SecretStr(BENCH_KEY)}, classifier={"kind": "local"}
    )
    with tempfile.TemporaryDirectory(prefix="bench-batch-") as scratch:
        queue = await open_queue(Path(scratch) / "queue.db", QueueSettings(sqlite_synchronous="normal"))
        await queue.submit("b", jobs)
        samples: list[tuple[float, int, int]] = []  # (time, done, 429s)
        async with (
            worker_router(settings) as router,
            await open_ledger(Path(scratch) / "ledger.db") as ledger,
        ):
            options = WorkerSettings(
                chunk=50,
                once=True,
                pacing=pacing,
                batches_api=BatchesApiSettings(poll_first_s=0.2),
                collect_s=0.5,
            )
            worker = Worker(queue, router, ledger, options)

            async def sample() -> None:
                while True:
                    samples.append((time.perf_counter(), worker.stats.done, worker.stats.throttled))
                    await asyncio.sleep(0.05)

            sampler = asyncio.create_task(sample())
            started = time.perf_counter()
            stats = await worker.run()
            elapsed = time.perf_counter() - started
            sampler.cancel()
            cost = sum((r.total_cost_usd for r in await ledger.rows()), Decimal(0))
        await queue.close()
    return Run(
        name,
        len(jobs),
        elapsed,
        stats.done,
        stats.failed,
        stats.throttled,
        cost,
        used=stats.done / (rpm + rpm / 60 * elapsed),
        steady=steady_share(samples, started + elapsed, stats.done, rpm),
    )


def steady_share(samples: list[tuple[float, int, int]], ended: float, done: int, rpm: int) -> float:
    """Answers per second after the first 429, as a share of the refill rate (NaN if none came)."""
    first = next(((t, d) for t, d, throttled in samples if throttled), None)
    if first is None or ended - first[0] <= 0:
        return float("nan")
    return (done - first[1]) / (ended - first[0]) / (rpm / 60)


async def measure(args: argparse.Namespace) -> list[Run]:
    limits = EmulatorConfig(rate_limits=RateLimits(requests_per_minute=args.rpm))
    fixed = args.concurrency
    plans = [
        ("adaptive (AIMD)", JobMode.REALTIME, PacingSettings(initial=8, maximum=max(8, fixed))),
        (
            f"fixed at {fixed} (baseline)",
            JobMode.REALTIME,
            PacingSettings(initial=fixed, minimum=fixed, maximum=fixed),
        ),
        ("Message Batches API", JobMode.BATCHES_API, PacingSettings()),
    ]
    runs = []
    for name, mode, pacing in plans:
        with emulator_process(limits) as base_url:  # a fresh, full bucket for every run
            runs.append(await run_once(name, base_url, make_jobs(args.jobs, mode), args.rpm, pacing))
    return runs


def report(runs: list[Run], rpm: int) -> None:
    adaptive, baseline, batches = runs
    print(f"{adaptive.jobs} jobs, limit {rpm} requests/minute\n")
    print(f"{'run':<26}{'time s':>8}{'done':>7}{'failed':>7}{'429s':>7}{'limit used':>12}{'steady':>9}")
    for run in (adaptive, baseline):
        print(
            f"{run.name:<26}{run.elapsed_s:>8.1f}{run.done:>7}{run.failed:>7}{run.throttled:>7}"
            f"{run.used:>11.1%}{run.steady:>9.1%}"
        )
    print(
        f"\nadaptive / baseline: limit used x{ratio(adaptive.used, baseline.used):.2f}, "
        f"429s x{ratio(adaptive.throttled, baseline.throttled):.2f}"
    )
    share = batches.cost / adaptive.cost if adaptive.cost else Decimal("NaN")
    print(
        f"Batches API: done {batches.done}, failed {batches.failed}, cost ${batches.cost} "
        f"vs real time ${adaptive.cost}: ratio {share}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--rpm", type=int, default=4_500)
    parser.add_argument("--concurrency", type=int, default=64, help="the baseline's fixed concurrency")
    args = parser.parse_args()
    report(asyncio.run(measure(args)), args.rpm)


if __name__ == "__main__":
    main()
