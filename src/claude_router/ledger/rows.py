"""A `UsageRecord` as a `usage` row and back. Validation happens here, before a record is queued,
so a record the database would refuse is the caller's error, never a lost write later."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from ..errors import LedgerError
from ..types import ClassifierSource, Label, TokenUsage, UsageRecord
from .money import from_nano, to_nano
from .schema import CLASSIFIER_TOKEN_COLUMNS, TOKEN_COLUMNS

_BIGINT_MAX = 2**63 - 1
_TOKEN_FIELDS = (
    "input_tokens",
    "output_tokens",
    "cache_write_5m_tokens",
    "cache_write_1h_tokens",
    "cache_read_tokens",
)
_MONEY_FIELDS = {
    "cost_nusd": "cost_usd",
    "classifier_cost_nusd": "classifier_cost_usd",
    "cost_if_opus_nusd": "cost_if_opus_usd",
    "cost_if_sonnet_nusd": "cost_if_sonnet_usd",
}


def _count(value: int, what: str, request_id: str) -> int:
    if not isinstance(value, int) or not 0 <= value <= _BIGINT_MAX:
        raise LedgerError(f"ledger record {request_id!r}: {what} out of range: {value}")
    return value


#: Longest value each text column holds (PostgreSQL enforces them; SQLite would not).
_TEXT_LIMITS = {
    "task_id": 256,
    "customer": 256,
    "key_id": 128,
    "model_requested": 128,
    "model_used": 128,
    "status": 64,
    "error_type": 64,
}
_TAG_LIMIT = 128


def _text(value: str | None, what: str, limit: int, request_id: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > limit or "\x00" in value:
        raise LedgerError(f"ledger record {request_id!r}: {what} must be text of at most {limit} characters")
    return value


def _money(value: Decimal, what: str, request_id: str) -> int:
    if not isinstance(value, Decimal) or not value.is_finite():
        raise LedgerError(f"ledger record {request_id!r}: {what} must be a finite Decimal, got {value!r}")
    return _count(to_nano(value), what, request_id)


def record_to_row(rec: UsageRecord) -> dict[str, Any]:
    """The `usage` row for `rec`; `LedgerError` if a field cannot be stored exactly."""
    rid = rec.request_id
    if not isinstance(rid, str) or not rid or len(rid) > 128 or "\x00" in rid:
        raise LedgerError(f"ledger record needs a request id of 1-128 characters, got {rid!r}")
    tags = sorted(set(rec.tags))
    for tag in tags:
        _text(tag, "a tag", _TAG_LIMIT, rid)
    created = rec.created_at if rec.created_at.tzinfo else rec.created_at.replace(tzinfo=UTC)
    created = created.astimezone(UTC)
    row: dict[str, Any] = {
        "request_id": rid,
        "created_at": created,
        "day": created.date(),
        "task_id": rec.task_id,
        "customer": rec.customer,
        "key_id": rec.key_id,
        "tags": json.dumps(tags),
        "label": rec.label.value if rec.label is not None else None,
        "confidence": rec.confidence,
        "classifier_source": ClassifierSource(rec.classifier_source).value,
        "model_requested": rec.model_requested,
        "model_used": rec.model_used,
        "fallback": bool(rec.fallback),
        "retries": _count(rec.retries, "retries", rid),
        "status": rec.status,
        "error_type": rec.error_type,
        "batch": bool(rec.batch),
        "latency_s": float(rec.latency_s),
        "ttft_s": None if rec.ttft_s is None else float(rec.ttft_s),
        "speculative": bool(rec.speculative),
        "escalated": bool(rec.escalated),
    }
    for column, limit in _TEXT_LIMITS.items():
        row[column] = _text(row[column], column, limit, rid)
    if row["model_requested"] is None or not row["status"]:
        raise LedgerError(f"ledger record {rid!r}: model_requested and status are required")
    for column, name in zip(TOKEN_COLUMNS, _TOKEN_FIELDS, strict=True):
        row[column] = _count(getattr(rec.usage, name), name, rid)
    for column, name in zip(CLASSIFIER_TOKEN_COLUMNS, _TOKEN_FIELDS, strict=True):
        row[column] = _count(getattr(rec.classifier_usage, name), f"classifier {name}", rid)
    for column, name in _MONEY_FIELDS.items():
        row[column] = _money(getattr(rec, name), name, rid)
    return row


def _tokens(row: Mapping[str, Any], columns: tuple[str, ...]) -> TokenUsage:
    return TokenUsage(*(int(row[c]) for c in columns))


def row_to_record(row: Mapping[str, Any]) -> UsageRecord:
    """The `UsageRecord` a `usage` row stores."""
    created: datetime = row["created_at"]
    return UsageRecord(
        request_id=row["request_id"],
        created_at=created,
        model_requested=row["model_requested"],
        model_used=row["model_used"],
        task_id=row["task_id"],
        customer=row["customer"],
        key_id=row["key_id"],
        tags=tuple(json.loads(row["tags"] or "[]")),
        label=Label(row["label"]) if row["label"] else None,
        confidence=row["confidence"],
        classifier_source=ClassifierSource(row["classifier_source"]),
        fallback=bool(row["fallback"]),
        retries=int(row["retries"]),
        status=row["status"],
        error_type=row["error_type"],
        batch=bool(row["batch"]),
        usage=_tokens(row, TOKEN_COLUMNS),
        classifier_usage=_tokens(row, CLASSIFIER_TOKEN_COLUMNS),
        latency_s=float(row["latency_s"]),
        ttft_s=row["ttft_s"],
        speculative=bool(row["speculative"]),
        escalated=bool(row["escalated"]),
        cost_usd=from_nano(int(row["cost_nusd"])),
        classifier_cost_usd=from_nano(int(row["classifier_cost_nusd"])),
        cost_if_opus_usd=from_nano(int(row["cost_if_opus_nusd"])),
        cost_if_sonnet_usd=from_nano(int(row["cost_if_sonnet_nusd"])),
    )
