"""A job on the batch queue: one Messages API request, who it is for, and where it stands.

A job is written once at submission (its *spec*: id, batch, position, params, customer, tags,
deadline, mode, created_at) and then only its state moves: status, attempts, last error and
result. Backends store the spec as one compact JSON document beside the state columns.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from ..errors import InvalidJobError

MAX_ID_LENGTH = 256


class JobStatus(StrEnum):
    QUEUED = "queued"  # waiting for a worker
    LEASED = "leased"  # a worker holds it until its lease expires
    DONE = "done"  # a result is stored
    FAILED = "failed"  # a permanent error (not worth retrying) is stored
    PARKED = "parked"  # it failed `max_attempts` times; kept aside with its last error
    CANCELED = "canceled"  # its batch was canceled before it finished

    @property
    def pending(self) -> bool:
        return self in (JobStatus.QUEUED, JobStatus.LEASED)


class JobMode(StrEnum):
    """How a job reaches the API: the deadline decides (`auto`), now, or the Batches API."""

    AUTO = "auto"
    REALTIME = "realtime"
    BATCHES_API = "batches-api"


def dumps(value: Any, what: str = "the value") -> str:
    """Compact JSON, as every backend stores it; `what` names the value in the error."""
    try:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    except (TypeError, ValueError) as exc:
        raise InvalidJobError(f"{what} is not JSON-serializable: {exc}") from None


def new_job_id() -> str:
    return f"job_{uuid.uuid4().hex}"


def new_batch_id() -> str:
    return f"batch_{uuid.uuid4().hex}"


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class JobError:
    """Why a job failed, as an Anthropic-shaped error (`type` is e.g. `overloaded_error`)."""

    type: str
    message: str

    def to_record(self) -> dict[str, Any]:
        return {"type": "error", "error": {"type": self.type, "message": self.message}}

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> JobError:
        inner = record.get("error")
        if record.get("type") != "error" or not isinstance(inner, Mapping):
            raise InvalidJobError(f"not an error record: {dumps(record)[:200]}")
        return cls(type=str(inner.get("type", "api_error")), message=str(inner.get("message", "")))

    @classmethod
    def from_json(cls, text: str | None) -> JobError | None:
        return cls.from_record(json.loads(text)) if text else None


@dataclass(frozen=True, slots=True)
class MessageBatchRef:
    """Where a job went on the Message Batches API, stored with the job as soon as it is sent.

    Whoever claims the job next (its worker died, or stopped) polls this Message Batch for the
    job's result instead of sending the request again, and paying for it twice.
    """

    id: str  # the Message Batch id
    custom_id: str  # the job's request in it
    routing: dict[str, Any] = field(default_factory=dict)  # how it was routed (for its ledger row)

    def request_json(self) -> str:
        """What backends store beside the id: the custom_id and the routing."""
        return dumps({"custom_id": self.custom_id, "routing": self.routing}, "a Message Batch request")

    @classmethod
    def from_stored(cls, batch_id: str | None, request: str | None) -> MessageBatchRef | None:
        if not batch_id or not request:
            return None
        data = json.loads(request)
        return cls(id=batch_id, custom_id=str(data["custom_id"]), routing=dict(data.get("routing") or {}))


@dataclass(frozen=True, slots=True)
class Job:
    """One queued request. `id` is the idempotency key: submitting an existing id is a no-op.

    `result` holds the response on `done`, and the error record (`JobError.to_record()`) on
    `failed` and `parked`. `attempts` counts the times a worker claimed the job.
    """

    id: str
    batch_id: str
    position: int  # the input order within the batch; results come back in this order
    params: dict[str, Any]  # a Messages API body
    customer: str | None = None
    tags: tuple[str, ...] = ()
    deadline: datetime | None = None  # UTC
    mode: JobMode = JobMode.AUTO
    attempts: int = 0
    last_error: JobError | None = None
    status: JobStatus = JobStatus.QUEUED
    result: dict[str, Any] | None = None
    created_at: datetime = field(default_factory=utcnow)
    message_batch: MessageBatchRef | None = None  # set once its request is in a Message Batch

    def __post_init__(self) -> None:
        _check_id("job id", self.id)
        _check_id("batch id", self.batch_id)
        if isinstance(self.position, bool) or not isinstance(self.position, int) or self.position < 0:
            raise InvalidJobError(f"job {self.id!r}: position must be a non-negative integer")
        if not isinstance(self.params, dict):
            raise InvalidJobError(f"job {self.id!r}: params must be a JSON object (a Messages API body)")
        object.__setattr__(self, "deadline", _utc(self.deadline, f"job {self.id!r}: deadline"))
        object.__setattr__(self, "created_at", _utc(self.created_at, f"job {self.id!r}: created_at"))
        object.__setattr__(self, "mode", JobMode(self.mode))
        object.__setattr__(self, "status", JobStatus(self.status))
        object.__setattr__(self, "tags", tuple(self.tags))

    @property
    def custom_id(self) -> str:
        """The caller's id for the job's line (job ids are `<batch id>:<custom id>`)."""
        return self.id.removeprefix(f"{self.batch_id}:")

    def spec_json(self) -> str:
        """The immutable part of the job, as stored at submission."""
        return dumps(self._spec(), f"job {self.id!r}")

    def _spec(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "batch_id": self.batch_id,
            "position": self.position,
            "params": self.params,
            "customer": self.customer,
            "tags": list(self.tags),
            "deadline": self.deadline.isoformat() if self.deadline else None,
            "mode": self.mode.value,
            "created_at": self.created_at.isoformat(),
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            **self._spec(),
            "status": self.status.value,
            "attempts": self.attempts,
            "last_error": self.last_error.to_record() if self.last_error else None,
            "result": self.result,
            "message_batch": _ref_dict(self.message_batch),
        }

    def to_json(self) -> str:
        return dumps(self.to_dict())

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Job:
        last_error = data.get("last_error")
        return cls(
            id=data["id"],
            batch_id=data["batch_id"],
            position=data["position"],
            params=data["params"],
            customer=data.get("customer"),
            tags=tuple(data.get("tags") or ()),
            deadline=_parse_time(data.get("deadline")),
            mode=JobMode(data.get("mode", JobMode.AUTO)),
            attempts=int(data.get("attempts", 0)),
            last_error=JobError.from_record(last_error) if last_error else None,
            status=JobStatus(data.get("status", JobStatus.QUEUED)),
            result=data.get("result"),
            created_at=_parse_time(data.get("created_at")) or utcnow(),
            message_batch=_ref(data.get("message_batch")),
        )

    @classmethod
    def from_json(cls, text: str | bytes) -> Job:
        return cls.from_dict(json.loads(text))

    @classmethod
    def from_stored(
        cls,
        spec: str | bytes,
        *,
        status: str,
        attempts: int,
        last_error: str | None = None,
        result: str | None = None,
        message_batch_id: str | None = None,
        message_batch_request: str | None = None,
    ) -> Job:
        """Rebuild a job from a backend's spec document and state columns (JSON texts)."""
        data = json.loads(spec)
        data.update(
            status=status,
            attempts=attempts,
            last_error=json.loads(last_error) if last_error else None,
            result=json.loads(result) if result else None,
        )
        job = cls.from_dict(data)
        ref = MessageBatchRef.from_stored(message_batch_id, message_batch_request)
        return job if ref is None else replace(job, message_batch=ref)


@dataclass(frozen=True, slots=True)
class StatusCounts:
    """How many jobs are in each status (of one batch, or of the whole queue)."""

    queued: int = 0
    leased: int = 0
    done: int = 0
    failed: int = 0
    parked: int = 0
    canceled: int = 0

    @classmethod
    def from_mapping(cls, counts: Mapping[str, int | str]) -> StatusCounts:
        known = {s.value for s in JobStatus}
        return cls(**{k: max(int(v), 0) for k, v in counts.items() if k in known})

    @property
    def total(self) -> int:
        return self.queued + self.leased + self.done + self.failed + self.parked + self.canceled

    @property
    def pending(self) -> int:
        return self.queued + self.leased

    @property
    def finished(self) -> bool:
        """Every job of a non-empty batch has reached a final status."""
        return self.total > 0 and self.pending == 0

    def as_dict(self) -> dict[str, int]:
        return {s.value: getattr(self, s.value) for s in JobStatus}


@dataclass(frozen=True, slots=True)
class QueueStats:
    backend: str  # "sqlite" or "redis"
    location: str  # the file path, or the Redis URL without its password
    # Jobs by status. SQLite counts the jobs in its file; Redis counts every job since the
    # queue began, including finished ones whose hashes have expired.
    counts: StatusCounts


def check_submission(batch_id: str, jobs: Sequence[Job]) -> None:
    """A submission names one batch, and every job in it belongs to that batch."""
    _check_id("batch id", batch_id)
    for job in jobs:
        if job.batch_id != batch_id:
            raise InvalidJobError(f"job {job.id!r} belongs to batch {job.batch_id!r}, not {batch_id!r}")


def _check_id(what: str, value: object) -> None:
    if not isinstance(value, str) or not value or len(value) > MAX_ID_LENGTH:
        raise InvalidJobError(f"{what} must be a non-empty string of at most {MAX_ID_LENGTH} characters")
    if not value.isprintable():
        raise InvalidJobError(f"{what} {value!r} contains control characters")


def _utc(value: datetime | None, what: str) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidJobError(f"{what} must carry a time zone (UTC), got {value.isoformat()}")
    return value.astimezone(UTC)


def _ref_dict(ref: MessageBatchRef | None) -> dict[str, Any] | None:
    return None if ref is None else {"id": ref.id, "custom_id": ref.custom_id, "routing": ref.routing}


def _ref(data: Mapping[str, Any] | None) -> MessageBatchRef | None:
    if not data:
        return None
    return MessageBatchRef(str(data["id"]), str(data["custom_id"]), dict(data.get("routing") or {}))


def _parse_time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None
