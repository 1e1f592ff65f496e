"""The router as an `anthropic` client middleware: unmodified SDK code, routed and accounted.

    async with Router() as router:
        client = anthropic.AsyncAnthropic(middleware=[router_middleware(router)])
        message = await client.messages.create(model="auto", max_tokens=256, messages=[...])
        raw = await client.messages.with_raw_response.create(model="auto", max_tokens=256, messages=[...])
        raw.headers["x-router-label"], raw.headers["x-router-model"], raw.headers["x-router-cost-usd"]

    with SyncRouter() as router:                         # the synchronous client
        client = anthropic.Anthropic(middleware=[router_middleware(router)])

On a POST to /v1/messages (plain, beta, streamed or not):

- `model="auto"` or `"router:<alias>"` is classified on the call's first attempt and routed: the
  model, max_tokens when the caller gave none, prompt caching. The SDK's retries reuse that
  decision. A concrete model id is sent as asked and still accounted. An unknown alias or model
  raises `UnknownModelError` before anything is sent.
- The SDK retries as it is configured to. When it would give up on a failure another model may
  not share (a 429 that is not a spend limit, a 5xx, a 529), the route's fallbacks are tried in
  turn, one attempt each, as `Router.create` does.
- The response carries `x-router-request-id`, `-model`, `-label`, `-confidence`,
  `-classifier-source` and, once known, `-cost-usd` (classifier included). A stream's headers
  go out at once; its cost is known when it ends.
- Each logical call leaves exactly one `UsageRecord` (`router.recent`, and the ledger if any):
  at once for a plain call; for a stream when its response is closed (read to the end or closed
  early), from the usage its events reported.
- `x-router-task-id`, `x-router-customer` and `x-router-tags` (comma-separated) request headers
  become the record's `RequestMeta`; they are not sent upstream.

`/v1/messages/count_tokens` with `"auto"` or an alias is counted on the model the route would
take. Every other endpoint passes through untouched.

To tell the SDK's last attempt the middleware needs the client's retry budget. It reads a
per-call `max_retries` option from the request, else uses `router_middleware(..., max_retries=N)`
when given, else learns the client's own from its first response (until then, and for a client
it never heard from, the SDK's default: 2). Give `max_retries` when a client with another budget
may meet a connection failure before any response. A stream falls back only before it starts
(an HTTP error status); a failure inside a started stream reaches the caller as the SDK raises
it, its tokens accounted.
"""

from __future__ import annotations

from collections.abc import Coroutine, Mapping
from contextvars import ContextVar
from datetime import UTC, datetime
from enum import Enum
from time import perf_counter
from typing import Any, TypeVar, cast

import anthropic
import httpx2
from anthropic import APIRequest, APIResponse, AsyncAPIResponse, AsyncCallNext, CallNext, Middleware

from ._middleware_call import (
    OVERLOADED,
    RoutedCall,
    Verdict,
    answer_usage,
    error_type_of,
    outgoing_headers,
    request_id_for,
    request_meta,
)
from .catalog.signatures import in_answer
from .routing.accounting import Outcome, new_record
from .routing.policy import ALIAS_PREFIX, AUTO, ModelArgKind
from .routing.router import Router, error_type
from .routing.session import with_session
from .sync import EventLoopThread, SyncRouter
from .types import NO_USAGE, ClassifierSource, UsageRecord
from .upstream import routed_params
from .upstream.attempts import is_spend_limit
from .upstream.sse_tap import SSETap
from .upstream.sse_tee import AsyncTee, SyncTee

T = TypeVar("T")

MESSAGES_PATH = "/v1/messages"
COUNT_TOKENS_PATH = "/v1/messages/count_tokens"

_Response = APIResponse[Any] | AsyncAPIResponse[Any]

# The call whose attempts the SDK is making in this task (or thread). Context variables belong
# at module level; their values are per task.
_CURRENT: ContextVar[RoutedCall | None] = ContextVar("claude_router_middleware_call", default=None)


class _Endpoint(Enum):
    MESSAGES = "messages"
    COUNT_TOKENS = "count_tokens"
    OTHER = "other"


def _endpoint(request: APIRequest) -> _Endpoint:
    if request.method.lower() != "post" or not isinstance(request.json, Mapping):
        return _Endpoint.OTHER
    path = httpx2.URL(request.url).path.rstrip("/")
    if path == MESSAGES_PATH:
        return _Endpoint.MESSAGES
    return _Endpoint.COUNT_TOKENS if path == COUNT_TOKENS_PATH else _Endpoint.OTHER


class RouterMiddleware(Middleware):
    """Client middleware that routes and accounts Messages API calls (see the module docstring).

    Over a `Router` it serves the async client, awaiting the router on the caller's loop. Over a
    `SyncRouter` it also serves the sync client, running the router's work on that router's loop.
    """

    def __init__(self, router: Router | SyncRouter, *, max_retries: int | None = None) -> None:
        self._loop_thread: EventLoopThread | None = None
        if isinstance(router, SyncRouter):
            self.router, self._loop_thread = router.router, router.loop_thread
        else:
            self.router = router
        self.max_retries = max_retries
        self._client_max_retries: int | None = None  # learned from a response's client

    # ---- the async client --------------------------------------------------------------------

    async def handle_async(self, request: APIRequest, call_next: AsyncCallNext) -> AsyncAPIResponse[Any]:
        endpoint = _endpoint(request)
        if endpoint is _Endpoint.COUNT_TOKENS:
            return await call_next(await self._run_async(self._count_tokens_request(request)))
        if endpoint is _Endpoint.OTHER:
            return await call_next(request)
        call = self._ongoing(request)
        if call is None:
            call = await self._run_async(self._begin(request))
        _CURRENT.set(call)
        while True:
            try:
                response = await call_next(call.next_request(request))
            except anthropic.APIConnectionError as exc:
                verdict = call.after_connection_error(self._retries_left(request, None))
                if verdict is Verdict.FALL_BACK:
                    continue
                if verdict is Verdict.FAILED:
                    await self._finish_async(
                        call.record(self.router, answered_by=None, error_type=error_type(exc))
                    )
                raise
            http = response.http_response
            self._note_status(call.model, http.status_code)
            spend_limited = await is_spend_limit(http)  # reads the body of a 429 only
            retries_left = self._retries_left(request, response)
            verdict = call.after_response(http, retries_left, spend_limited=spend_limited)
            if verdict is Verdict.FALL_BACK:
                await response.close()
                continue
            await self._settle_async(call, request, http, verdict)
            return response

    async def _settle_async(
        self, call: RoutedCall, request: APIRequest, http: httpx2.Response, verdict: Verdict
    ) -> None:
        if verdict is Verdict.RETRY:
            return
        if verdict is Verdict.FAILED:
            call.stamp(http.headers)
            failure = error_type_of(await http.aread(), http.status_code)
            await self._finish_async(call.record(self.router, answered_by=None, error_type=failure))
        elif request.stream:
            call.stamp(http.headers)
            _CURRENT.set(None)

            async def on_close(tap: SSETap) -> None:
                signed = tuple(tap.accounting.signatures)
                await self._run_async(
                    self.router.keep_record(_stream_record(self.router, call, tap), signatures=signed)
                )

            assert isinstance(http.stream, httpx2.AsyncByteStream)
            http.stream = AsyncTee(http.stream, SSETap(call.started), on_close)
        else:
            content = await http.aread()
            record = call.record(self.router, answered_by=call.model, usage=answer_usage(content))
            call.stamp(http.headers, record.total_cost_usd if record.priced else None)
            await self._finish_async(record, in_answer(content))

    async def _finish_async(self, record: UsageRecord, signatures: tuple[str, ...] = ()) -> None:
        _CURRENT.set(None)
        await self._run_async(self.router.keep_record(record, signatures=signatures))

    async def _run_async(self, coro: Coroutine[Any, Any, T]) -> T:
        """Await the router's work: here, or on the `SyncRouter`'s loop when it lives there."""
        if self._loop_thread is None:
            return await coro
        return await self._loop_thread.run_async(coro)

    # ---- the sync client ---------------------------------------------------------------------

    def handle(self, request: APIRequest, call_next: CallNext) -> APIResponse[Any]:
        thread = self._sync_loop_thread()
        endpoint = _endpoint(request)
        if endpoint is _Endpoint.COUNT_TOKENS:
            return call_next(thread.run(self._count_tokens_request(request)))
        if endpoint is _Endpoint.OTHER:
            return call_next(request)
        call = self._ongoing(request)
        if call is None:
            call = thread.run(self._begin(request))
        _CURRENT.set(call)
        while True:
            try:
                response = call_next(call.next_request(request))
            except anthropic.APIConnectionError as exc:
                verdict = call.after_connection_error(self._retries_left(request, None))
                if verdict is Verdict.FALL_BACK:
                    continue
                if verdict is Verdict.FAILED:
                    self._finish_sync(
                        thread, call.record(self.router, answered_by=None, error_type=error_type(exc))
                    )
                raise
            http = response.http_response
            self._note_status(call.model, http.status_code)
            spend_limited = _spend_limited_sync(http, thread)
            retries_left = self._retries_left(request, response)
            verdict = call.after_response(http, retries_left, spend_limited=spend_limited)
            if verdict is Verdict.FALL_BACK:
                response.close()
                continue
            self._settle_sync(thread, call, request, http, verdict)
            return response

    def _settle_sync(
        self,
        thread: EventLoopThread,
        call: RoutedCall,
        request: APIRequest,
        http: httpx2.Response,
        verdict: Verdict,
    ) -> None:
        if verdict is Verdict.RETRY:
            return
        if verdict is Verdict.FAILED:
            call.stamp(http.headers)
            failure = error_type_of(http.read(), http.status_code)
            self._finish_sync(thread, call.record(self.router, answered_by=None, error_type=failure))
        elif request.stream:
            call.stamp(http.headers)
            _CURRENT.set(None)

            def on_close(tap: SSETap) -> None:
                signed = tuple(tap.accounting.signatures)
                thread.run(self.router.keep_record(_stream_record(self.router, call, tap), signatures=signed))

            assert isinstance(http.stream, httpx2.SyncByteStream)
            http.stream = SyncTee(http.stream, SSETap(call.started), on_close)
        else:
            content = http.read()
            record = call.record(self.router, answered_by=call.model, usage=answer_usage(content))
            call.stamp(http.headers, record.total_cost_usd if record.priced else None)
            self._finish_sync(thread, record, in_answer(content))

    def _finish_sync(
        self, thread: EventLoopThread, record: UsageRecord, signatures: tuple[str, ...] = ()
    ) -> None:
        _CURRENT.set(None)
        thread.run(self.router.keep_record(record, signatures=signatures))

    def _sync_loop_thread(self) -> EventLoopThread:
        if self._loop_thread is None:
            raise TypeError(
                "the synchronous anthropic.Anthropic client needs router_middleware(SyncRouter(...)): "
                "a Router's work runs on an event loop, and a SyncRouter brings its own"
            )
        return self._loop_thread

    # ---- shared ------------------------------------------------------------------------------

    def _ongoing(self, request: APIRequest) -> RoutedCall | None:
        """The call an SDK retry belongs to; None on a first attempt."""
        call = _CURRENT.get()
        if request.retries_taken > 0 and call is not None and call.belongs_to(self, request):
            return call
        return None

    async def _begin(self, request: APIRequest) -> RoutedCall:
        """Classify (unless the model is concrete) and route a call's first attempt."""
        started = perf_counter()
        body = _body(request)
        router = self.router
        arg = router.policy.resolve_model_arg(body.get("model"))
        meta = with_session(request_meta(request), body)
        decision = None if arg.kind is ModelArgKind.CONCRETE else await router.classify(body)
        route = router.route(body, decision, meta, writers=await router.thinking_writers.known(body))
        key = request.options.idempotency_key
        return RoutedCall(
            owner=self,
            key=key,
            request_id=request_id_for(key),
            model_requested=arg.model,
            meta=meta,
            decision=decision,
            route=route,
            outgoing=router.upstream.outgoing(routed_params(body, route), as_written=route.as_written),
            models=router.upstream.candidates(route.model, route.fallbacks),
            created_at=datetime.now(UTC),
            started=started,
        )

    async def _count_tokens_request(self, request: APIRequest) -> APIRequest:
        """A count_tokens request for "auto" or an alias, sent for the model the route would take.

        The classifier's decision is cached, so the call that follows is not classified twice;
        a decision that cost tokens is accounted here, where it was bought.
        """
        body = _body(request)
        model = body.get("model")
        if not isinstance(model, str) or (model != AUTO and not model.startswith(ALIAS_PREFIX)):
            return request
        started, router = perf_counter(), self.router
        router.policy.resolve_model_arg(model)  # UnknownModelError for an unknown alias
        meta = request_meta(request)
        decision = await router.classify(body)
        route = router.route(body, decision, meta)
        if decision.source is ClassifierSource.LLM:
            outcome = Outcome(model_used=None, answer=NO_USAGE, latency_s=perf_counter() - started)
            record = new_record(
                router.prices,
                request_id=request_id_for(None),
                model_requested=model,
                meta=meta,
                decision=decision,
                route=route,
                outcome=outcome,
                baseline=router.baseline,
            )
            await router.keep_record(record)
        return request.copy(body={**body, "model": route.model}, headers=outgoing_headers(request))

    def _retries_left(self, request: APIRequest, response: _Response | None) -> int:
        """How many more attempts the SDK makes for this call after the current one."""
        return self._retry_budget(request, response) - request.retries_taken

    def _retry_budget(self, request: APIRequest, response: _Response | None) -> int:
        """The call's `max_retries`: per call, else as given here, else the client's own.

        The SDK has no public way to read a client's budget from middleware; a response holds
        its client, so the budget is read there and kept for attempts that get no response.
        """
        if isinstance(request.max_retries, int):
            return request.max_retries
        if self.max_retries is not None:
            return self.max_retries
        budget = getattr(getattr(response, "_client", None), "max_retries", None)
        if isinstance(budget, int):
            self._client_max_retries = budget
        return anthropic.DEFAULT_MAX_RETRIES if self._client_max_retries is None else self._client_max_retries

    def _note_status(self, model: str, status: int) -> None:
        """Share what the attempt said about `model` with the router's cooldowns."""
        if status == OVERLOADED:
            self.router.upstream.cooldowns.overloaded(model)
        elif 200 <= status < 300:
            self.router.upstream.cooldowns.succeeded(model)


def router_middleware(router: Router | SyncRouter, *, max_retries: int | None = None) -> RouterMiddleware:
    """The router as client middleware: `AsyncAnthropic(middleware=[router_middleware(router)])`.

    Give a `SyncRouter` for the synchronous `Anthropic` client. `max_retries` is the client's
    (learned from its responses when not given).
    """
    return RouterMiddleware(router, max_retries=max_retries)


def _stream_record(router: Router, call: RoutedCall, tap: SSETap) -> UsageRecord:
    return call.record(
        router, answered_by=call.model, usage=tap.usage, error_type=tap.outcome, ttft_s=tap.ttft_s
    )


def _spend_limited_sync(http: httpx2.Response, thread: EventLoopThread) -> bool:
    """`is_spend_limit` for the sync client: the body is read here, the check runs on the loop."""
    if http.status_code != 429:
        return False
    http.read()
    return thread.run(is_spend_limit(http))


def _body(request: APIRequest) -> Mapping[str, Any]:
    """The JSON body of a request `_endpoint` recognised (so a mapping)."""
    return cast(Mapping[str, Any], request.json)


__all__ = ["RouterMiddleware", "router_middleware"]
