"""The gateway: an Anthropic-compatible HTTP API in front of the router.

    app = create_app(settings)            # builds its Router and ledger in the lifespan
    uvicorn.run(app)

Routes: `POST /v1/messages` (plain and SSE), `POST /v1/messages/count_tokens`,
`/v1/messages/batches*`, `GET /v1/models` (+ `/v1/models/{id}`), `GET /metrics` (Prometheus text),
`GET /healthz`, `GET /readyz`. Every error is Anthropic-shaped; each handler is wrapped so that
nothing it raises becomes a traceback.
"""

from __future__ import annotations

import importlib.util
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..classify.capture import CapturingClassifier
from ..config import Settings
from ..errors import LedgerError, RouterError
from ..ledger import open_ledger
from ..ledger.examples import ExampleBuffer, ExampleStore
from ..ledger.verdicts import VerdictStore
from ..monitor import attach_monitor
from ..routing.router import RecordSink, Router
from ..routing.thinking_writers import ThinkingWriters
from ..types import UsageRecord, new_request_id
from ..upstream import upstream_errors
from ..upstream.emulated import upstream_settings
from .auth import authenticate
from .batches import batch_results, cancel_batch, create_batch, delete_batch, list_batches, retrieve_batch
from .errors import JSON, GatewayError, error_body, error_response, json_error, scrub
from .keys import KeyStore
from .messages import MESSAGES, count_tokens, messages
from .meta import header_session, refused_task_id
from .metrics import CONTENT_TYPE_LATEST, GatewayMetrics
from .models import get_model, list_models
from .readiness import check_dependencies
from .state import GatewayState, RequestScope, gateway_state, observation, request_key
from .tracing import Tracing

if TYPE_CHECKING:
    from .redis_state import SharedState

log = logging.getLogger(__name__)

Handler = Callable[[Request], Awaitable[Response]]
UNREAD_MODEL = "unknown"  # a refusal's `model_requested` when the body was never read (or named none)
_HTTP_ERROR_TYPES = {404: "not_found_error", 405: "invalid_request_error", 413: "request_too_large"}


def create_app(
    settings: Settings,
    *,
    router: Router | None = None,
    ledger: RecordSink | None = None,
    keys: KeyStore | None = None,
    shared: SharedState | None = None,
    tracer_provider: Any | None = None,
    state: GatewayState | None = None,
) -> Starlette:
    """The gateway app. A `router` passed in is used as is (and left open); otherwise one is built
    on `settings` (on the embedded emulator when they name no upstream) with a ledger. With
    `settings.gateway.auth`, clients need a virtual key from `keys` (else the ledger database's),
    and the router's record sink is wrapped so that each kept record counts against its budgets.
    Rate limits and budgets live in `shared` (else in Redis at `gateway.redis_url`, else in this
    process); a `shared` passed in is left open. Request spans go to `tracer_provider` (else
    OpenTelemetry's global provider), when the `otel` extra is installed. A `state` from
    `open_gateway_state` (opened, and checked, before the server starts) is used as is."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            ready = state
            if ready is None:
                ready = await stack.enter_async_context(
                    open_gateway_state(settings, router=router, ledger=ledger, keys=keys, shared=shared)
                )
            ready.tracing = Tracing(tracer_provider)
            ready.router.spans = ready.tracing  # classify and upstream spans, on every path
            app.state.gateway = ready
            yield

    routes = [
        Route("/v1/messages", guarded(messages, MESSAGES), methods=["POST"]),
        Route("/v1/messages/count_tokens", guarded(count_tokens, "count_tokens"), methods=["POST"]),
        Route("/v1/messages/batches", guarded(create_batch, "batches"), methods=["POST"]),
        Route("/v1/messages/batches", guarded(list_batches, "batches"), methods=["GET"]),
        Route("/v1/messages/batches/{batch_id}", guarded(retrieve_batch, "batches"), methods=["GET"]),
        Route("/v1/messages/batches/{batch_id}", guarded(delete_batch, "batches"), methods=["DELETE"]),
        Route("/v1/messages/batches/{batch_id}/cancel", guarded(cancel_batch, "batches"), methods=["POST"]),
        Route(
            "/v1/messages/batches/{batch_id}/results",
            guarded(batch_results, "batches"),
            methods=["GET"],
            name="batch_results",
        ),
        Route("/v1/models", guarded(list_models, "models"), methods=["GET"]),
        Route("/v1/models/{model_id:path}", guarded(get_model, "models"), methods=["GET"]),
        Route("/metrics", metrics_text, methods=["GET"]),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
    ]
    return Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={HTTPException: _http_exception, Exception: _unhandled},
    )


@asynccontextmanager
async def open_gateway_state(
    settings: Settings,
    *,
    router: Router | None = None,
    ledger: RecordSink | None = None,
    keys: KeyStore | None = None,
    shared: SharedState | None = None,
) -> AsyncIterator[GatewayState]:
    """What the gateway's handlers share, opened for the duration (see `create_app`): the key store,
    the ledger, the router on its upstream (the embedded emulator without one), Redis."""
    async with AsyncExitStack() as stack:
        yield await _build_state(stack, settings, router, ledger, GatewayMetrics(), keys, shared)


async def _build_state(
    stack: AsyncExitStack,
    settings: Settings,
    router: Router | None,
    ledger: RecordSink | None,
    metrics: GatewayMetrics,
    keys: KeyStore | None,
    shared: SharedState | None,
) -> GatewayState:
    emulated = False
    if not settings.gateway.auth:
        keys = None
        log.warning("client authentication is off: every request is accepted without a virtual key")
    elif keys is None:
        keys = await KeyStore.open(settings.ledger.url)
        stack.push_async_callback(keys.close)
    if router is None:
        settings_used, emulated = await stack.enter_async_context(
            upstream_settings(settings, realistic=False)
        )
        if emulated:
            log.warning("no upstream API key or base URL: serving from the embedded emulator")
        settings_used = _gateway_transport(settings_used)
        opened = None
        if ledger is None:
            opened = await open_ledger(settings.ledger.url)
            stack.push_async_callback(opened.close)
            ledger = opened
        router = Router(settings_used, ledger=ledger, thinking_writers=_thinking_writers(settings))
        stack.push_async_callback(router.aclose)
        if opened is not None and settings.classifier.capture:
            # The LLM classifier's labels become training examples for `train --from-ledger`.
            examples = ExampleBuffer(ExampleStore(opened.store.engine))
            stack.push_async_callback(examples.close)  # before the router and the ledger close
            keep = settings.classifier.keep_prompts
            router.classifier = CapturingClassifier(router.classifier, examples, keep_prompts=keep)
        if opened is not None and settings.monitor.enabled:
            # Quality monitoring samples answers in the background; verdicts go beside the ledger.
            attach_monitor(router, VerdictStore(opened.store.engine))
    if shared is None and keys is not None and settings.gateway.redis_url:
        from .redis_keys import PREFIX
        from .redis_state import SharedState  # the optional `redis` extra

        shared = SharedState.open(settings.gateway.redis_url, prefix=settings.gateway.redis_prefix or PREFIX)
        stack.push_async_callback(shared.aclose)
    return GatewayState.build(settings, router, ledger, metrics, keys, emulated=emulated, shared=shared)


def _thinking_writers(settings: Settings) -> ThinkingWriters | None:
    """With `gateway.redis_url`, the writers of thinking signatures live there, under the gateway's
    prefix, so every worker and replica keeps a conversation on the model that wrote its thinking."""
    gateway = settings.gateway
    if not gateway.redis_url:
        return None  # the router's in-process memory
    from ..routing.thinking_writers_redis import RedisWriterStore  # the optional `redis` extra
    from .redis_keys import PREFIX

    return ThinkingWriters(
        RedisWriterStore(gateway.redis_url, prefix=f"{gateway.redis_prefix or PREFIX}:thinking:")
    )


def _gateway_transport(settings: Settings) -> Settings:
    """`[upstream] http_client = "auto"` is aiohttp here when installed: the gateway's one event
    loop lives as long as its connections, and the SDK's call costs about 0.7x the CPU on it."""
    if settings.upstream.http_client != "auto" or importlib.util.find_spec("aiohttp") is None:
        return settings
    upstream = settings.upstream.model_copy(update={"http_client": "aiohttp"})
    return settings.model_copy(update={"upstream": upstream})


def _answered_errors() -> tuple[type[Exception], ...]:
    """Failures answered in the Anthropic error shape: the gateway's own, the router's, the upstream's."""
    return (GatewayError, RouterError, *upstream_errors())


def guarded(handler: Handler, endpoint: str) -> Handler:
    """`handler` measured, with every failure answered in the Anthropic error shape. A Messages
    request refused before any call (400, 401, 404, 413, 429) still gets its ledger row."""
    refusals_recorded = endpoint == MESSAGES

    async def run(request: Request) -> Response:
        state = gateway_state(request)
        on_request = request.state
        on_request.observation = seen = state.metrics.start(endpoint)
        if refusals_recorded:
            on_request.request_id = new_request_id()
        try:
            keys = state.keys
            key = await authenticate(request.headers, keys) if keys is not None else None
            on_request.key = key
            on_request.scope = RequestScope(state, key, seen)  # what the handler reads, in one
            response = await handler(request)
        except _answered_errors() as exc:
            response = error_response(exc, state.secrets)
            if (
                refusals_recorded
                and isinstance(exc, GatewayError | RouterError)
                and not isinstance(exc, LedgerError)
            ):
                await _record_refusal(state, request, exc)  # upstream failures: the router recorded them
        except BaseException:
            seen.finish(500)  # answered by the app's last-resort handler
            raise
        if not seen.deferred:
            seen.finish(response.status_code)
        return response

    return run


async def _record_refusal(state: GatewayState, request: Request, exc: GatewayError | RouterError) -> None:
    """The ledger row of a request the gateway refused itself: no model, no cost, the error type
    as its status. Under the request's own id, so a request the router recorded keeps its row."""
    if state.ledger is None:
        return
    key = request_key(request)
    seen = observation(request)
    model = getattr(request.state, "model", None)
    record = UsageRecord(
        request_id=request.state.request_id,
        created_at=datetime.now(UTC),
        task_id=refused_task_id(request.headers),
        model_requested=model if isinstance(model, str) and model else UNREAD_MODEL,
        customer=key.customer if key is not None else None,
        key_id=key.key_id if key is not None else None,
        status=exc.error_type,
        error_type=exc.error_type,
        latency_s=seen.elapsed_s if seen is not None else 0.0,
        session=header_session(request.headers),
    )
    await state.ledger.record(record)


async def metrics_text(request: Request) -> Response:
    return Response(gateway_state(request).metrics.render(), media_type=CONTENT_TYPE_LATEST)


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    """200 when every dependency answers; else 503 naming each one that does not."""
    state: GatewayState | None = getattr(request.app.state, "gateway", None)
    if state is None:
        return json_error(503, "api_error", "the gateway is starting")
    checks = await check_dependencies(state)
    details = {check.name: check.detail for check in checks}
    failed = [f"{check.name}: {check.detail}" for check in checks if not check.ok]
    if failed:
        body = {**error_body("api_error", "not ready: " + "; ".join(failed)), "checks": details}
        return Response(scrub(json.dumps(body), state.secrets), status_code=503, media_type=JSON)
    return JSONResponse({"status": "ready", "emulated": state.emulated, "checks": details})


async def _http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    error_type = _HTTP_ERROR_TYPES.get(
        exc.status_code, "api_error" if exc.status_code >= 500 else "invalid_request_error"
    )
    return json_error(exc.status_code, error_type, str(exc.detail))


async def _unhandled(request: Request, exc: Exception) -> Response:
    """The process boundary: log the bug (never the request's secrets) and answer a clean 500."""
    log.error("unhandled %s on %s %s", type(exc).__name__, request.method, request.url.path, exc_info=exc)
    return json_error(500, "api_error", "internal error")
