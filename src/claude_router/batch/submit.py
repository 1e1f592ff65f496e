"""From a JSONL file of Messages API bodies to jobs on the queue.

Each line is one request body, plus an optional `custom_id` (unique in the file; else `line-<n>`).
The whole file is checked before anything is enqueued, each line as the API would check it
(`request_check`): a line the API would refuse is reported with its line number, and a file with
any such line enqueues nothing. A job's id is `<batch id>:<custom id>`,
so submitting the same file again under the same `--batch-id` is a no-op.

`auto` mode is decided here, once per job: a deadline far enough away for the Batches API's
24-hour window plus a margin goes to the Batches API (half price); anything sooner, or without a
deadline, runs in real time.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from ..errors import InvalidJobError
from .job import Job, JobMode, new_batch_id, utcnow
from .queue import JobQueue
from .request_check import request_problem

BATCHES_API_WINDOW = timedelta(hours=24)
DEFAULT_MARGIN = timedelta(hours=1)
MAX_CUSTOM_ID = 200
MAX_REPORTED = 10  # malformed lines named in one error
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


@dataclass(frozen=True, slots=True)
class SubmitResult:
    batch_id: str
    jobs: int
    accepted: int  # new jobs; the rest were already queued (an idempotent resubmit)
    modes: dict[str, int]

    def to_dict(self) -> dict[str, Any]:
        return {"batch_id": self.batch_id, "jobs": self.jobs, "accepted": self.accepted, "modes": self.modes}


def parse_duration(text: str) -> timedelta:
    """`90s`, `30m`, `6h`, `2d` as a timedelta."""
    match = _DURATION.match(text.strip().lower())
    if not match:
        raise InvalidJobError(f"not a duration: {text!r} (use e.g. 90s, 30m, 6h, 2d)")
    return timedelta(**{_UNITS[match.group(2)]: float(match.group(1))})


def parse_deadline(text: str, now: datetime) -> datetime:
    """A duration from `now` (`6h`) or an ISO 8601 time with a zone."""
    if _DURATION.match(text.strip().lower()):
        return now + parse_duration(text)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidJobError(f"not a deadline: {text!r} (a duration like 6h, or an ISO 8601 time)") from None
    if moment.tzinfo is None:
        raise InvalidJobError(f"the deadline {text!r} needs a time zone (e.g. 2026-01-02T03:04:05Z)")
    return moment


def resolve_mode(
    mode: JobMode, deadline: datetime | None, now: datetime, margin: timedelta = DEFAULT_MARGIN
) -> JobMode:
    """`auto` becomes the Batches API when the deadline leaves room for its window, else real time."""
    if mode is not JobMode.AUTO:
        return mode
    if deadline is not None and deadline - now >= BATCHES_API_WINDOW + margin:
        return JobMode.BATCHES_API
    return JobMode.REALTIME


def parse_lines(lines: Iterable[str]) -> list[tuple[str | None, dict[str, Any]]]:
    """(custom_id, body) per non-blank line; `InvalidJobError` naming every bad line (up to 10)."""
    parsed: list[tuple[str | None, dict[str, Any]]] = []
    problems: list[str] = []
    seen: dict[str, int] = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            custom, body = _parse_line(line)
            if custom is not None:
                if custom in seen:
                    raise ValueError(f"duplicate custom_id {custom!r} (first on line {seen[custom]})")
                seen[custom] = number
            parsed.append((custom, body))
        except ValueError as exc:
            problems.append(f"line {number}: {exc}")
    if problems:
        more = f" (and {len(problems) - MAX_REPORTED} more)" if len(problems) > MAX_REPORTED else ""
        shown = "; ".join(problems[:MAX_REPORTED])
        raise InvalidJobError(f"{shown}{more}. Nothing was enqueued.")
    if not parsed:
        raise InvalidJobError("no requests: the file is empty. Nothing was enqueued.")
    return parsed


def _parse_line(line: str) -> tuple[str | None, dict[str, Any]]:
    try:
        body = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON ({exc.msg} at column {exc.colno})") from None
    if not isinstance(body, dict):
        raise ValueError("expected a JSON object (a Messages API body)")
    custom = body.pop("custom_id", None)
    if custom is not None and (
        not isinstance(custom, str) or not custom or len(custom) > MAX_CUSTOM_ID or not custom.isprintable()
    ):
        raise ValueError(f"custom_id must be a printable string of 1 to {MAX_CUSTOM_ID} characters")
    body.setdefault("model", "auto")
    problem = request_problem(body, size_bytes=len(line.encode("utf-8")))
    if problem is not None:
        raise ValueError(problem)
    return custom, body


def build_jobs(
    requests: Sequence[tuple[str | None, dict[str, Any]]],
    *,
    batch_id: str,
    mode: JobMode = JobMode.AUTO,
    deadline: datetime | None = None,
    customer: str | None = None,
    tags: Sequence[str] = (),
    margin: timedelta = DEFAULT_MARGIN,
    now: datetime | None = None,
) -> list[Job]:
    now = now or utcnow()
    resolved = resolve_mode(mode, deadline, now, margin)
    used = {custom for custom, _ in requests if custom is not None}
    jobs = []
    for position, (custom, body) in enumerate(requests):
        if custom is None:  # line-<n>, skipping any the caller already took
            custom = f"line-{position + 1}"
            while custom in used:
                custom += "_"
            used.add(custom)
        jobs.append(
            Job(
                id=f"{batch_id}:{custom}",
                batch_id=batch_id,
                position=position,
                params=body,
                customer=customer,
                tags=tuple(tags),
                deadline=deadline,
                mode=resolved,
                created_at=now,
            )
        )
    return jobs


def prepare_jobs(
    path: Path,
    *,
    batch_id: str | None = None,
    mode: JobMode = JobMode.AUTO,
    deadline: str | None = None,
    customer: str | None = None,
    tags: Sequence[str] = (),
    margin: timedelta = DEFAULT_MARGIN,
) -> list[Job]:
    """Read and check every line of `path` and make them one batch's jobs; `InvalidJobError`
    naming every bad line (before any queue is opened, so a bad file leaves nothing behind)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise InvalidJobError(f"cannot read {path}: {reason}") from None
    requests = parse_lines(text.splitlines())
    now = utcnow()
    return build_jobs(
        requests,
        batch_id=batch_id or new_batch_id(),
        mode=mode,
        deadline=parse_deadline(deadline, now) if deadline else None,
        customer=customer,
        tags=tags,
        margin=margin,
        now=now,
    )


async def enqueue(queue: JobQueue, jobs: Sequence[Job]) -> SubmitResult:
    """Submit one batch's jobs (from `prepare_jobs`): all of them, or none."""
    batch_id = jobs[0].batch_id
    accepted = await queue.submit(batch_id, jobs)
    modes: dict[str, int] = {}
    for job in jobs:
        modes[job.mode.value] = modes.get(job.mode.value, 0) + 1
    return SubmitResult(batch_id, len(jobs), len(accepted), modes)


__all__ = [
    "BATCHES_API_WINDOW",
    "DEFAULT_MARGIN",
    "SubmitResult",
    "build_jobs",
    "enqueue",
    "parse_deadline",
    "parse_duration",
    "parse_lines",
    "prepare_jobs",
    "resolve_mode",
]
