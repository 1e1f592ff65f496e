"""`claude-router worker` and `claude-router batch submit|status|results|cancel|retry`.

Without a queue URL the embedded SQLite queue in the data directory is used, and without an API
key the worker sends its requests to the built-in emulator.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ..cli_options import ConfigOption, load_settings
from ..cli_runner import run
from ..errors import InvalidJobError
from .job import Job, JobMode, JobStatus

if TYPE_CHECKING:  # the queue, the worker and the SDK load when a command runs, not for --help
    from rich.progress import Progress

    from ..config import Settings
    from .queue import JobQueue
    from .worker import Worker, WorkerSettings, WorkerStats

STATS_EVERY_S = 0.5

QueueOption = Annotated[
    str | None,
    typer.Option("--queue", help="A SQLite path or redis:// URL (default: queue.db in the data home)."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]
MarginOption = Annotated[
    str | None,
    typer.Option(
        help="Room beyond the Batches API's 24 h window for auto (default: [queue] batches_api_margin_s)."
    ),
]


@asynccontextmanager
async def _queue(
    settings: Settings, target: str | None, *, readonly: bool = False
) -> AsyncIterator[JobQueue]:
    """The queue at `target` (else the configured one), closed on the way out; `readonly`: only
    read, nothing created (`MissingQueueError` for a SQLite queue that does not exist)."""
    from .queue import open_queue

    queue = await open_queue(target, settings.queue, readonly=readonly)
    try:
        yield queue
    finally:
        await queue.close()


def _margin(settings: Settings, option: str | None) -> timedelta:
    """The `--margin` given, else the configured one."""
    from .submit import parse_duration

    return parse_duration(option) if option else timedelta(seconds=settings.queue.batches_api_margin_s)


# ---- worker ------------------------------------------------------------------------------------


def worker(
    queue: QueueOption = None,
    ledger: Annotated[
        str | None,
        typer.Option(help="A SQLite path or postgresql:// URL (default: ledger.db in the data home)."),
    ] = None,
    once: Annotated[bool, typer.Option("--once", help="Drain what is queued, then exit.")] = False,
    concurrency: Annotated[int, typer.Option(min=1, help="The most requests in flight at once.")] = 64,
    chunk: Annotated[int, typer.Option(min=1, help="Jobs claimed at a time.")] = 50,
    margin: MarginOption = None,
    config: ConfigOption = None,
) -> None:
    """Run queued jobs through the router into the ledger, pacing to the API's rate limits.

    SIGTERM stops it cleanly: nothing more is claimed, requests in flight finish, unfinished jobs
    go back to the queue at once, and it exits 0 (a second SIGTERM ends it at once). Ctrl-C stops
    it within a second: requests in flight are abandoned (their jobs run again later), what
    finished is accounted, the rest goes back to the queue, and it exits 130. An upstream that
    refuses the worker's key stops it at the first refusal, its jobs still queued.
    """
    from .pacing import PacingSettings
    from .worker import WorkerSettings

    settings = load_settings(config)
    pacing = PacingSettings(initial=min(8, concurrency), maximum=concurrency)
    worker_settings = WorkerSettings(
        chunk=chunk,
        once=once,
        lease_s=settings.queue.lease_s,
        max_attempts=settings.queue.max_attempts,
        pacing=pacing,
        margin=_margin(settings, margin),
    )
    refused = run(_run_worker(settings, queue, ledger, worker_settings))
    if refused is not None:
        raise refused


async def _run_worker(
    settings: Settings, queue_url: str | None, ledger_url: str | None, worker_settings: WorkerSettings
) -> BaseException | None:
    """Drain the queue; the upstream's refusal of the worker's key, if that is what stopped it."""
    from ..ledger import open_ledger
    from ..upstream.emulated import upstream_settings
    from .worker import Worker, worker_router

    # The ledger and the queue first: either failing is one line before anything starts.
    async with (
        await open_ledger(ledger_url or settings.ledger.url) as ledger,
        _queue(settings, queue_url) as queue,
        upstream_settings(settings, realistic=False) as (routed, _),
        worker_router(routed) as router,
    ):
        draining = Worker(queue, router, ledger, worker_settings)
        try:
            with _progress() as progress:
                task = progress.add_task("jobs", total=None, failed=0, cost="0", rate="-")

                def show(stats: WorkerStats, pending: int | None) -> None:
                    total = stats.done + stats.failed + pending if pending is not None else None
                    progress.update(
                        task,
                        completed=stats.done + stats.failed,
                        total=total,
                        failed=stats.failed,
                        cost=f"{stats.cost_usd:.4f}",
                        rate=f"{draining.pacer.current}",
                    )

                watcher = asyncio.create_task(_watch(queue, draining, show))
                try:
                    with _stop_on_sigterm(draining):
                        await draining.run()
                finally:
                    watcher.cancel()
                    show(draining.stats, 0 if worker_settings.once and not draining.stop_requested else None)
        finally:  # also when interrupted: what was done, and what went back to the queue
            _summary(draining.stats)
        return draining.refused


def _summary(stats: WorkerStats) -> None:
    from ..report.fmt import usd6

    typer.echo(
        f"done {stats.done}, failed {stats.failed}, requeued {stats.requeued}, "
        f"released {stats.released}, 429s {stats.throttled}, cost {usd6(stats.cost_usd)}",
        err=True,
    )


@contextmanager
def _stop_on_sigterm(draining: Worker) -> Iterator[None]:
    """SIGTERM stops `draining` cleanly; a second one gets the default behaviour (exit now). Ctrl-C
    is the command line's: it cancels the run (see `cli_runner`)."""
    loop = asyncio.get_running_loop()

    def stop() -> None:
        loop.remove_signal_handler(signal.SIGTERM)
        typer.echo("stopping: finishing requests in flight, releasing the rest", err=True)
        draining.stop()

    loop.add_signal_handler(signal.SIGTERM, stop)
    try:
        yield
    finally:
        loop.remove_signal_handler(signal.SIGTERM)


async def _watch(queue: JobQueue, draining: Worker, show: Any) -> None:
    while True:
        counts = (await queue.stats()).counts
        show(draining.stats, counts.pending)
        await asyncio.sleep(STATS_EVERY_S)


@contextmanager
def _progress() -> Iterator[Progress]:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("[red]failed {task.fields[failed]}"),
        TextColumn("[green]${task.fields[cost]}"),
        TextColumn("[dim]concurrency {task.fields[rate]}"),
        TimeRemainingColumn(),
        console=Console(stderr=True),
    )
    with progress:
        yield progress


# ---- batch ---------------------------------------------------------------------------------------

batch_app = typer.Typer(
    help="Queue requests that can wait, follow them, read their results.", no_args_is_help=True
)


@batch_app.command("submit")
def submit(
    requests: Annotated[
        Path, typer.Argument(help="A JSONL file: one Messages API body per line (+ custom_id).")
    ],
    deadline: Annotated[
        str | None, typer.Option(help="When the results are needed: 6h, 2d or an ISO time.")
    ] = None,
    mode: Annotated[JobMode, typer.Option(help="auto: the deadline decides.")] = JobMode.AUTO,
    customer: Annotated[str | None, typer.Option(help="Who the requests are for (in the ledger).")] = None,
    tag: Annotated[list[str] | None, typer.Option(help="A tag for every request (repeatable).")] = None,
    batch_id: Annotated[str | None, typer.Option(help="Name the batch; resubmitting it is a no-op.")] = None,
    margin: MarginOption = None,
    queue: QueueOption = None,
    json_out: JsonOption = False,
    config: ConfigOption = None,
) -> None:
    """Queue every request of a JSONL file as one batch and print its id.

    Every line is checked as the API would check it first: if any would be refused, each such
    line is named with its number and nothing is queued.
    """
    from .submit import enqueue, prepare_jobs

    settings = load_settings(config)
    jobs = prepare_jobs(
        requests,
        batch_id=batch_id,
        mode=mode,
        deadline=deadline,
        customer=customer,
        tags=tag or (),
        margin=_margin(settings, margin),
    )

    async def submit_all() -> dict[str, Any]:
        async with _queue(settings, queue) as q:
            return (await enqueue(q, jobs)).to_dict()

    result = run(submit_all())
    if json_out:
        typer.echo(json.dumps(result))
        return
    typer.echo(result["batch_id"])
    modes = ", ".join(f"{n} {m}" for m, n in result["modes"].items())
    typer.echo(f"queued {result['accepted']} of {result['jobs']} requests ({modes})", err=True)


@batch_app.command("status")
def status(
    batch_id: Annotated[str | None, typer.Argument(help="A batch id (default: the whole queue).")] = None,
    queue: QueueOption = None,
    json_out: JsonOption = False,
    config: ConfigOption = None,
) -> None:
    """Counts by status of one batch, or of the whole queue (read only: nothing is created)."""
    from ..errors import MissingQueueError
    from .job import StatusCounts
    from .queue import sqlite_path

    settings = load_settings(config)

    async def counts() -> dict[str, Any]:
        try:
            async with _queue(settings, queue, readonly=True) as q:
                if batch_id is None:
                    stats = await q.stats()
                    return {"queue": stats.location, "backend": stats.backend, **stats.counts.as_dict()}
                found = await q.batch_status(batch_id)
        except MissingQueueError:
            if batch_id is not None:
                raise _no_batch(batch_id) from None
            location = str(sqlite_path(queue or settings.queue.url, create=False))
            return {"queue": location, "backend": "sqlite", **StatusCounts().as_dict()}
        if found.total == 0:
            raise _no_batch(batch_id)
        return {"batch_id": batch_id, **found.as_dict(), "finished": found.finished}

    result = run(counts())
    if json_out:
        typer.echo(json.dumps(result))
        return
    typer.echo("  ".join(f"{k}={v}" for k, v in result.items()))


@batch_app.command("results")
def results(
    batch_id: Annotated[str, typer.Argument(help="The batch id `batch submit` printed.")],
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write the JSONL here (default: stdout).")
    ] = None,
    queue: QueueOption = None,
    config: ConfigOption = None,
) -> None:
    """One JSONL line per request, in input order: its Message, or an error record."""
    from ..errors import MissingQueueError

    settings = load_settings(config)

    async def read() -> list[Job]:
        try:
            async with _queue(settings, queue, readonly=True) as q:
                jobs = await q.results(batch_id)
        except MissingQueueError:
            jobs = []
        if not jobs:
            raise _no_batch(batch_id)
        return jobs

    jobs = run(read())
    lines = [json.dumps(result_line(job), ensure_ascii=False) + "\n" for job in jobs]
    if out is None:
        sys.stdout.writelines(lines)
    else:
        out.write_text("".join(lines), encoding="utf-8")
    pending = sum(1 for job in jobs if job.status.pending)
    failed = sum(1 for job in jobs if job.status in (JobStatus.FAILED, JobStatus.PARKED))
    if pending:
        typer.echo(f"{pending} of {len(jobs)} requests are not finished yet", err=True)
    if failed:
        typer.echo(
            f"{failed} of {len(jobs)} requests failed: `claude-router batch retry {batch_id}` "
            "queues them again",
            err=True,
        )


def _no_batch(batch_id: str) -> InvalidJobError:
    return InvalidJobError(f"no batch {batch_id!r} in this queue")


def result_line(job: Job) -> dict[str, Any]:
    """A line of the results file, shaped as the Message Batches API's results (plus routing)."""
    line: dict[str, Any] = {"custom_id": job.custom_id}
    if job.status is JobStatus.DONE and job.result is not None:
        line["result"] = {"type": "succeeded", "message": job.result.get("message")}
        line["routing"] = job.result.get("routing")
    elif job.status in (JobStatus.FAILED, JobStatus.PARKED):
        error = job.result or (job.last_error.to_record() if job.last_error else None)
        line["result"] = {"type": "errored", "error": error, "attempts": job.attempts}
    elif job.status is JobStatus.CANCELED:
        line["result"] = {"type": "canceled"}
    else:
        line["result"] = {"type": "pending"}
    return line


@batch_app.command("cancel")
def cancel(
    batch_id: Annotated[str, typer.Argument(help="The batch to cancel.")],
    queue: QueueOption = None,
    config: ConfigOption = None,
) -> None:
    """Cancel the batch's jobs that have not finished; finished ones keep their results."""
    settings = load_settings(config)

    async def cancel_jobs() -> int:
        async with _queue(settings, queue) as q:
            if (await q.batch_status(batch_id)).total == 0:
                raise _no_batch(batch_id)
            return await q.cancel(batch_id)

    typer.echo(f"canceled {run(cancel_jobs())} requests of {batch_id}")


@batch_app.command("retry")
def retry(
    batch_id: Annotated[str, typer.Argument(help="The batch whose failed requests to run again.")],
    queue: QueueOption = None,
    config: ConfigOption = None,
) -> None:
    """Queue the batch's failed (and parked) requests again, as new: a worker runs them next."""
    settings = load_settings(config)

    async def retry_jobs() -> int:
        async with _queue(settings, queue) as q:
            if (await q.batch_status(batch_id)).total == 0:
                raise _no_batch(batch_id)
            return await q.retry(batch_id)

    requeued = run(retry_jobs())
    typer.echo(f"queued {requeued} failed request{'' if requeued == 1 else 's'} of {batch_id} again")


__all__ = ["batch_app", "result_line", "worker"]
