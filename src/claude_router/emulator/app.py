"""The emulator as an ASGI app (Starlette): the Messages, Token Counting, Models and Batches APIs.

Every response carries a `request-id` header; every error is the API's JSON shape
`{"type": "error", "error": {"type", "message"}, "request_id"}` with the API's status.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .batch_store import BatchStore
from .batches import batch_routes
from .config import EmulatorConfig
from .engine import Engine
from .errors import EmulatorError
from .faults import FaultInjector, forced_stop
from .ids import IdFactory
from .limits import RateLimiter
from .responses import DroppedResponse, StreamResponse, error_response, json_body, json_response
from .rules import Context

logger = logging.getLogger(__name__)

ANONYMOUS = "anonymous"
MODELS_PAGE_DEFAULT = 20
MODELS_PAGE_MAX = 1000
_DEFAULT_LIFECYCLES = frozenset({"active", "deprecated"})
_LIFECYCLES = frozenset({"active", "deprecated", "retired"})
#: A refused key is not worth a retry: the API says so, and clients give up at once.
NO_RETRY = {"x-should-retry": "false"}


def api_key(headers: Any) -> str | None:
    """The caller's key: x-api-key, or an `Authorization: Bearer` token."""
    key = headers.get("x-api-key")
    if key:
        return str(key)
    auth = str(headers.get("authorization") or "")
    if auth[:7].lower() != "bearer ":
        return None
    return auth[7:].strip() or None


class _Edge:
    """Outermost middleware: a request id on every response, and the API-key check."""

    def __init__(self, app: ASGIApp, config: EmulatorConfig, ids: IdFactory) -> None:
        self.app = app
        self.config = config
        self.ids = ids
        self._keys = frozenset(config.api_keys)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = self.ids.new("req")
        scope.setdefault("state", {})["request_id"] = request_id
        header = (b"request-id", request_id.encode())
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        refusal = self._refusal(scope)
        if refusal is not None:
            await error_response(refusal, request_id)(scope, receive, send_with_id)
            return
        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            logger.exception("unexpected error answering %s %s", scope["method"], scope["path"])
            if not started:
                internal = EmulatorError(500, "api_error", "Internal server error")
                await error_response(internal, request_id)(scope, receive, send_with_id)

    def _refusal(self, scope: Scope) -> EmulatorError | None:
        if not self.config.require_api_key or not scope["path"].startswith("/v1/"):
            return None
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        key = api_key(headers)
        if key is None:
            return EmulatorError(401, "authentication_error", "x-api-key header is required", NO_RETRY)
        if self._keys and key not in self._keys:
            return EmulatorError(401, "authentication_error", "invalid x-api-key", NO_RETRY)
        return None


async def read_body(request: Request, limit: int) -> bytes:
    """The request body; 413 request_too_large as soon as it passes `limit` bytes."""
    too_large = EmulatorError(
        413,
        "request_too_large",
        f"Request exceeds the maximum allowed number of bytes. The maximum request size is {limit} bytes.",
    )
    declared = request.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and (len(declared) > 18 or int(declared) > limit):
        raise too_large
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


class _Handlers:
    def __init__(self, config: EmulatorConfig, engine: Engine) -> None:
        self.config = config
        self.engine = engine
        self.faults = FaultInjector(config.faults)
        limits = config.rate_limits
        self.limiter = (
            RateLimiter(limits, time.monotonic, lambda: datetime.now(UTC)) if limits.enabled else None
        )

    async def messages(self, request: Request) -> Response | StreamResponse | DroppedResponse:
        engine = self.engine
        body = await read_body(request, self.config.max_body_bytes)
        prompt = engine.parse(body, Context.from_headers(request.headers))
        plan = engine.cache.plan(prompt)
        key = api_key(request.headers) or ANONYMOUS
        headers: dict[str, str] = {}
        if self.limiter is not None:
            headers = self.limiter.admit(key, prompt.input_tokens - plan.read_tokens)
        fault = self.faults.draw(request.headers, prompt.model.id)
        stop = forced_stop(request.headers)
        if fault.delay_s:
            await asyncio.sleep(fault.delay_s)
        if fault.kind is not None and fault.kind != "drop":
            raise self.faults.error(fault.kind)
        completion = await engine.answer(prompt, plan, stop=stop)
        if self.limiter is not None:
            self.limiter.charge_output(key, completion.answer.output_tokens)
        latency = self.config.latency_for(prompt.model.line, fast=prompt.speed == "fast")
        if prompt.stream:
            return StreamResponse(completion.message, latency, headers, drop=fault.kind == "drop")
        total = latency.total_s(completion.answer.output_tokens)
        if total:
            await asyncio.sleep(total)
        body = json_body(completion.message)
        if fault.kind == "drop":
            return DroppedResponse(body, headers)
        return Response(body, headers=headers, media_type="application/json")

    async def count_tokens(self, request: Request) -> Response:
        body = await read_body(request, self.config.max_body_bytes)
        return json_response(self.engine.count_tokens(body, Context.from_headers(request.headers)))

    async def list_models(self, request: Request) -> Response:
        query = request.query_params
        limit = _limit(query.get("limit"))
        before_id, after_id = query.get("before_id"), query.get("after_id")
        if before_id is not None and after_id is not None:
            raise EmulatorError(
                400, "invalid_request_error", "Only one of before_id and after_id may be given."
            )
        wanted = query.getlist("lifecycle[]") + query.getlist("lifecycle")
        unknown = set(wanted) - _LIFECYCLES
        if unknown:
            raise EmulatorError(
                400,
                "invalid_request_error",
                "lifecycle: Input should be 'active', 'deprecated' or 'retired'",
            )
        lifecycles = frozenset(wanted) or _DEFAULT_LIFECYCLES
        return json_response(self.engine.catalog.page(limit, before_id, after_id, lifecycles))

    async def get_model(self, request: Request) -> Response:
        return json_response(self.engine.catalog.describe(request.path_params["model_id"]))


def _limit(raw: str | None) -> int:
    if raw is None:
        return MODELS_PAGE_DEFAULT
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 6:
        raise EmulatorError(400, "invalid_request_error", "limit: Input should be a valid integer")
    limit = int(raw)
    if not 1 <= limit <= MODELS_PAGE_MAX:
        raise EmulatorError(400, "invalid_request_error", f"limit: must be between 1 and {MODELS_PAGE_MAX}")
    return limit


def _request_id(request: Request) -> str:
    return str(request.scope.get("state", {}).get("request_id", ""))


async def _emulator_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, EmulatorError)
    return error_response(exc, _request_id(request))


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    kind = "not_found_error" if exc.status_code == 404 else "invalid_request_error"
    message = "Not Found" if exc.status_code == 404 else str(exc.detail)
    return error_response(EmulatorError(exc.status_code, kind, message), _request_id(request))


def create_app(config: EmulatorConfig | None = None, *, engine: Engine | None = None) -> Starlette:
    """The emulator app. Pass `engine` to share one (and its prompt cache) with other code."""
    config = config or EmulatorConfig()
    engine = engine or Engine(config)
    handlers = _Handlers(config, engine)
    store = BatchStore(engine, config)
    routes: list[BaseRoute] = [
        Route("/v1/messages", handlers.messages, methods=["POST"]),
        Route("/v1/messages/count_tokens", handlers.count_tokens, methods=["POST"]),
        Route("/v1/models", handlers.list_models, methods=["GET"]),
        Route("/v1/models/{model_id:path}", handlers.get_model, methods=["GET"]),
        *batch_routes(engine, config, store),
    ]

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await store.close()

    app = Starlette(
        routes=routes,
        exception_handlers={
            EmulatorError: _emulator_error,
            HTTPException: _http_error,
        },
        lifespan=lifespan,
    )
    app.add_middleware(_Edge, config=config, ids=engine.ids)
    app.state.engine = engine
    return app
