"""What a finished job stores, and how a failure is judged: shared by the real-time and Batches API paths."""

from __future__ import annotations

from typing import Any

import anthropic

from ..errors import RouterError
from ..routing.router import RoutedResponse, error_type
from ..types import RequestMeta, UsageRecord
from ..upstream.attempts import failure_of
from .job import Job, JobError


def job_meta(job: Job) -> RequestMeta:
    return RequestMeta(
        task_id=custom_id(job),
        request_id=job.id,
        customer=job.customer,
        tags=frozenset(job.tags),
        deadline=job.deadline,
    )


def custom_id(job: Job) -> str:
    """The caller's id for the job's line (job ids are `<batch id>:<custom id>`)."""
    return job.id.removeprefix(f"{job.batch_id}:")


def success_result(routed: RoutedResponse, *, batch: bool = False) -> dict[str, Any]:
    """What a done job stores: the Message, and the routing facts beside it."""
    record = routed.record
    return {
        "message": routed.message.model_dump(mode="json"),
        "routing": routing_facts(record, batch=batch),
    }


def routing_facts(record: UsageRecord, *, batch: bool) -> dict[str, Any]:
    return {
        "request_id": record.request_id,
        "model_used": record.model_used,
        "label": record.label.value if record.label else None,
        "classifier_source": record.classifier_source.value,
        "cost_usd": str(record.total_cost_usd) if record.priced else None,  # unpriced: not $0
        "batch": batch,
    }


def classify_failure(exc: BaseException) -> tuple[JobError, bool]:
    """The job error for `exc`, and whether another attempt may succeed."""
    if isinstance(exc, anthropic.APIStatusError):
        retry = exc.status_code in (408, 409) or exc.status_code >= 500
        return JobError(error_type(exc), exc.message), retry
    if isinstance(exc, anthropic.APIConnectionError):  # includes timeouts
        return JobError(error_type(exc), str(exc)), True
    if isinstance(exc, RouterError):
        return JobError(exc.error_type, exc.message), exc.status_code >= 500
    if isinstance(exc, (ValueError, TypeError)):  # the SDK refused the body before sending it
        return JobError("invalid_request_error", str(exc)), False
    return JobError("api_error", f"{type(exc).__name__}: {exc}"), True


def is_rate_limited(exc: BaseException) -> bool:
    """A 429 worth waiting out (a spend limit is not: waiting does not lift it)."""
    if not isinstance(exc, anthropic.RateLimitError):
        return False
    failure = failure_of(exc)
    return not (failure and failure.attempts and failure.attempts[-1].spend_limited)


def retry_after(exc: anthropic.APIStatusError) -> float | None:
    raw = exc.response.headers.get("retry-after")
    try:
        return float(raw) if raw is not None else None
    except ValueError:
        return None


__all__ = [
    "classify_failure",
    "custom_id",
    "is_rate_limited",
    "job_meta",
    "retry_after",
    "routing_facts",
    "success_result",
]
