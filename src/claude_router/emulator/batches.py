"""The Message Batches API over HTTP: create, retrieve, list, cancel, delete and results.

`batch_routes(engine, config)` returns the Starlette routes; the app mounts them and renders any
`EmulatorError` they raise. Wire formats follow the API reference: a `message_batch` object with RFC 3339
timestamps, cursor pages (`data`, `has_more`, `first_id`, `last_id`, newest first) and a JSONL results
file served once the batch has ended.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from .batch_store import Batch, BatchRequest, BatchStore
from .config import EmulatorConfig
from .engine import Engine
from .errors import EmulatorError
from .rules import Context
from .schema import describe

__all__ = ["BatchStore", "batch_routes"]

DEFAULT_PAGE_LIMIT = 20
MAX_PAGE_LIMIT = 1000
RESULTS_MEDIA_TYPE = "application/x-jsonl"
_RESULT_LINES_PER_CHUNK = 500


class _RequestBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    custom_id: Annotated[str, StringConstraints(pattern=r"^[a-zA-Z0-9_-]{1,64}$")]
    params: dict[str, Any]


class _CreateBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    requests: list[_RequestBody] = Field(min_length=1)


def batch_routes(engine: Engine, config: EmulatorConfig, store: BatchStore | None = None) -> list[BaseRoute]:
    """The `/v1/messages/batches` routes, backed by `store` (a new one when not given).

    Pass a store you own to stop its background tasks on shutdown with `await store.close()`.
    """
    handlers = _Handlers(store if store is not None else BatchStore(engine, config), config)
    return [
        Route("/v1/messages/batches", handlers.create, methods=["POST"], name="batch_create"),
        Route("/v1/messages/batches", handlers.list_batches, methods=["GET"], name="batch_list"),
        Route("/v1/messages/batches/{batch_id}", handlers.retrieve, methods=["GET"], name="batch_retrieve"),
        Route("/v1/messages/batches/{batch_id}", handlers.delete, methods=["DELETE"], name="batch_delete"),
        Route(
            "/v1/messages/batches/{batch_id}/cancel", handlers.cancel, methods=["POST"], name="batch_cancel"
        ),
        Route(
            "/v1/messages/batches/{batch_id}/results", handlers.results, methods=["GET"], name="batch_results"
        ),
    ]


class _Handlers:
    def __init__(self, store: BatchStore, config: EmulatorConfig) -> None:
        self.store = store
        self.config = config

    async def create(self, request: Request) -> Response:
        raw = await _read_body(request, self.config.batch_max_bytes)
        context = Context.from_headers(request.headers, batch=True)
        batch = self.store.create(_parse_create(raw, self.config.batch_max_requests), context)
        return JSONResponse(_batch_json(batch, request))

    async def list_batches(self, request: Request) -> Response:
        limit, before_id, after_id = _page_params(request)
        page, has_more = self.store.page(limit, before_id, after_id)
        return JSONResponse(
            {
                "data": [_batch_json(batch, request) for batch in page],
                "has_more": has_more,
                "first_id": page[0].id if page else None,
                "last_id": page[-1].id if page else None,
            }
        )

    async def retrieve(self, request: Request) -> Response:
        return JSONResponse(_batch_json(self.store.get(request.path_params["batch_id"]), request))

    async def cancel(self, request: Request) -> Response:
        return JSONResponse(_batch_json(self.store.cancel(request.path_params["batch_id"]), request))

    async def delete(self, request: Request) -> Response:
        batch_id = request.path_params["batch_id"]
        self.store.delete(batch_id)
        return JSONResponse({"id": batch_id, "type": "message_batch_deleted"})

    async def results(self, request: Request) -> Response:
        batch = self.store.get(request.path_params["batch_id"])
        if not batch.ended:
            raise EmulatorError(
                400,
                "invalid_request_error",
                f"Results for Message Batch {batch.id} are not available until processing has ended "
                f"(processing_status: {batch.status}).",
            )
        return StreamingResponse(
            _result_lines(batch),
            media_type=RESULTS_MEDIA_TYPE,
            headers={"content-disposition": f"attachment; filename*=utf-8''{batch.id}_results.jsonl"},
        )


# --- request parsing ------------------------------------------------------------------------------


async def _read_body(request: Request, max_bytes: int) -> bytes:
    """The body, refused with 413 as soon as it passes `max_bytes` (before reading it all)."""
    too_large = EmulatorError(
        413,
        "request_too_large",
        f"Request exceeds the maximum allowed number of bytes. The maximum size of a Message Batch "
        f"request is {max_bytes} bytes.",
    )
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


def _parse_create(raw: bytes, max_requests: int) -> list[BatchRequest]:
    try:
        body = _CreateBody.model_validate_json(raw)
    except ValidationError as err:
        raise EmulatorError(400, "invalid_request_error", describe(err)) from None
    if len(body.requests) > max_requests:
        raise EmulatorError(
            400,
            "invalid_request_error",
            f"requests: a Message Batch holds at most {max_requests} requests, got {len(body.requests)}.",
        )
    seen: set[str] = set()
    for index, item in enumerate(body.requests):
        if item.custom_id in seen:
            raise EmulatorError(
                400,
                "invalid_request_error",
                f"requests.{index}.custom_id: duplicate custom_id {item.custom_id!r}; each custom_id "
                "must be unique within a Message Batch.",
            )
        seen.add(item.custom_id)
    return [BatchRequest(custom_id=item.custom_id, params=item.params) for item in body.requests]


def _page_params(request: Request) -> tuple[int, str | None, str | None]:
    query = request.query_params
    raw_limit = query.get("limit", str(DEFAULT_PAGE_LIMIT))
    try:
        limit = int(raw_limit)
    except ValueError:
        raise EmulatorError(400, "invalid_request_error", "limit: Input should be a valid integer.") from None
    if not 1 <= limit <= MAX_PAGE_LIMIT:
        raise EmulatorError(
            400, "invalid_request_error", f"limit: must be between 1 and {MAX_PAGE_LIMIT}, got {limit}."
        )
    before_id, after_id = query.get("before_id"), query.get("after_id")
    if before_id is not None and after_id is not None:
        raise EmulatorError(400, "invalid_request_error", "Only one of before_id and after_id may be given.")
    return limit, before_id, after_id


# --- wire formats ---------------------------------------------------------------------------------


def _timestamp(moment: datetime | None) -> str | None:
    """RFC 3339 in UTC with a `Z`, as the API writes it (`2024-08-20T18:37:24.100435Z`)."""
    if moment is None:
        return None
    return moment.isoformat(timespec="microseconds").replace("+00:00", "Z")


def _batch_json(batch: Batch, request: Request) -> dict[str, Any]:
    results_url = str(request.url_for("batch_results", batch_id=batch.id)) if batch.ended else None
    return {
        "id": batch.id,
        "type": "message_batch",
        "processing_status": batch.status,
        "request_counts": batch.request_counts(),
        "ended_at": _timestamp(batch.ended_at),
        "created_at": _timestamp(batch.created_at),
        "expires_at": _timestamp(batch.expires_at),
        "archived_at": None,
        "cancel_initiated_at": _timestamp(batch.cancel_initiated_at),
        "results_url": results_url,
    }


async def _result_lines(batch: Batch) -> AsyncIterator[bytes]:
    lines: list[str] = []
    for item in batch.requests:
        lines.append(json.dumps({"custom_id": item.custom_id, "result": item.result}, separators=(",", ":")))
        if len(lines) == _RESULT_LINES_PER_CHUNK:
            yield ("\n".join(lines) + "\n").encode()
            lines.clear()
    if lines:
        yield ("\n".join(lines) + "\n").encode()
