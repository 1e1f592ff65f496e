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
_COUNT_COLUMNS = (*TOKEN_COLUMNS, *CLASSIFIER_TOKEN_COLUMNS, "retries")
#: Longest value each text column holds (PostgreSQL enforces them; SQLite would not).
_TEXT_LIMITS = {
    "task_id": 256,
    "customer": 256,
    "key_id": 128,
    "model_requested": 128,
    "model_used": 128,
    "status": 64,
    "error_type": 64,
    "effort": 16,
    "inference_geo": 32,
    "speed": 16,
    "session": 128,
}
_TAG_LIMIT = 128
_ADAPTED_LIMIT = 256  # characters of one adaptation's description


def _refuse(rid: str, what: str) -> LedgerError:
    return LedgerError(f"ledger record {rid!r}: {what}")


def _text_ok(value: object, limit: int) -> bool:
    return value is None or (isinstance(value, str) and len(value) <= limit and "\x00" not in value)


def _nano(value: Decimal, what: str, rid: str) -> int:
    if not isinstance(value, Decimal) or not value.is_finite():
        raise _refuse(rid, f"{what} must be a finite Decimal, got {value!r}")
    nano = to_nano(value)
    if not 0 <= nano <= _BIGINT_MAX:
        raise _refuse(rid, f"{what} out of range: {value}")
    return nano


def _tags(rec: UsageRecord) -> str:
    if not rec.tags:
        return "[]"
    tags = sorted(set(rec.tags))
    if not all(_text_ok(t, _TAG_LIMIT) and t for t in tags):
        raise _refuse(rec.request_id, f"a tag must be text of 1-{_TAG_LIMIT} characters")
    return json.dumps(tags)


def _adapted(rec: UsageRecord) -> str:
    if not rec.adapted:
        return "[]"
    if not all(_text_ok(a, _ADAPTED_LIMIT) and a for a in rec.adapted):
        raise _refuse(rec.request_id, f"an adaptation must be text of 1-{_ADAPTED_LIMIT} characters")
    return json.dumps(list(rec.adapted))


def record_to_row(rec: UsageRecord) -> dict[str, Any]:
    """The `usage` row for `rec`; `LedgerError` if a field cannot be stored exactly. Called for
    every request, so it checks with few, cheap operations."""
    rid = rec.request_id
    if not (isinstance(rid, str) and 0 < len(rid) <= 128 and "\x00" not in rid):
        raise LedgerError(f"ledger record needs a request id of 1-128 characters, got {rid!r}")
    created = rec.created_at if rec.created_at.tzinfo else rec.created_at.replace(tzinfo=UTC)
    created = created.astimezone(UTC)
    u, c = rec.usage, rec.classifier_usage
    source = rec.classifier_source
    row: dict[str, Any] = {
        "request_id": rid,
        "created_at": created,
        "day": created.date(),
        "task_id": rec.task_id,
        "customer": rec.customer,
        "key_id": rec.key_id,
        "tags": _tags(rec),
        "label": None if rec.label is None else Label(rec.label).value,
        "confidence": rec.confidence,
        "classifier_source": source.value
        if isinstance(source, ClassifierSource)
        else ClassifierSource(source).value,
        "model_requested": rec.model_requested,
        "model_used": rec.model_used,
        "fallback": bool(rec.fallback),
        "retries": rec.retries,
        "status": rec.status,
        "error_type": rec.error_type,
        "batch": bool(rec.batch),
        "input_tokens": u.input_tokens,
        "output_tokens": u.output_tokens,
        "cache_write_5m_tokens": u.cache_write_5m_tokens,
        "cache_write_1h_tokens": u.cache_write_1h_tokens,
        "cache_read_tokens": u.cache_read_tokens,
        "classifier_input_tokens": c.input_tokens,
        "classifier_output_tokens": c.output_tokens,
        "classifier_cache_write_5m_tokens": c.cache_write_5m_tokens,
        "classifier_cache_write_1h_tokens": c.cache_write_1h_tokens,
        "classifier_cache_read_tokens": c.cache_read_tokens,
        "cost_nusd": _nano(rec.cost_usd, "cost_usd", rid),
        "classifier_cost_nusd": _nano(rec.classifier_cost_usd, "classifier_cost_usd", rid),
        "cost_if_opus_nusd": _nano(rec.cost_if_opus_usd, "cost_if_opus_usd", rid),
        "cost_if_sonnet_nusd": _nano(rec.cost_if_sonnet_usd, "cost_if_sonnet_usd", rid),
        "latency_s": float(rec.latency_s),
        "ttft_s": None if rec.ttft_s is None else float(rec.ttft_s),
        "speculative": bool(rec.speculative),
        "escalated": bool(rec.escalated),
        "effort": rec.effort,
        "adapted": _adapted(rec),
        "priced": bool(rec.priced),
        "inference_geo": u.inference_geo,
        "speed": u.speed,
        "session": rec.session,
    }
    counts = [row[name] for name in _COUNT_COLUMNS]
    if not all(type(n) is int for n in counts) or min(counts) < 0 or max(counts) > _BIGINT_MAX:
        raise _refuse(rid, f"token counts and retries must be integers in 0..2^63-1, got {counts}")
    for column, limit in _TEXT_LIMITS.items():
        if not _text_ok(row[column], limit):
            raise _refuse(rid, f"{column} must be text of at most {limit} characters")
    if not row["model_requested"] or not row["status"]:
        raise _refuse(rid, "model_requested and status are required")
    return row


def _tokens(
    row: Mapping[str, Any], columns: tuple[str, ...], geo: str | None = None, speed: str | None = None
) -> TokenUsage:
    fresh, output, write_5m, write_1h, read = (int(row[c]) for c in columns)
    return TokenUsage(fresh, output, write_5m, write_1h, read, inference_geo=geo, speed=speed)


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
        usage=_tokens(row, TOKEN_COLUMNS, row["inference_geo"], row["speed"]),
        classifier_usage=_tokens(row, CLASSIFIER_TOKEN_COLUMNS),
        latency_s=float(row["latency_s"]),
        ttft_s=row["ttft_s"],
        speculative=bool(row["speculative"]),
        escalated=bool(row["escalated"]),
        effort=row["effort"],
        adapted=tuple(json.loads(row["adapted"] or "[]")),
        priced=bool(row["priced"]),
        cost_usd=from_nano(int(row["cost_nusd"])),
        classifier_cost_usd=from_nano(int(row["classifier_cost_nusd"])),
        cost_if_opus_usd=from_nano(int(row["cost_if_opus_nusd"])),
        cost_if_sonnet_usd=from_nano(int(row["cost_if_sonnet_nusd"])),
        session=row["session"],
    )
