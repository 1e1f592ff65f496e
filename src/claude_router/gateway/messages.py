"""`POST /v1/messages` (plain and SSE) and `POST /v1/messages/count_tokens`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from ..routing.policy import ModelArgKind
from ..routing.session import with_session
from ..types import Decision, RequestMeta, Route, UsageRecord, new_request_id
from .admission import admit
from .body import CountTokensBody, MessagesBody, check, read_json, read_raw_json
from .budgets import Reservation
from .errors import JSON, invalid_request, relayed_headers, relayed_raw_headers
from .meta import request_meta
from .metrics import Observation
from .relay import Forward, PlainRelay, relays_raw
from .state import GatewayState, RequestScope, request_scope
from .streaming import SSERelay, SSEResponse

MESSAGES = "messages"  # the endpoint's name in metrics
RESERVED_FIELDS = ("meta",)  # `Router.create` keyword arguments that are not API body fields
ADAPTED_HEADER = "x-router-adapted"  # what was changed in the body for the model that answered


async def messages(request: Request) -> Response:
    scope = request_scope(request)
    state = scope.state
    body, raw = await read_raw_json(request, state.max_body_bytes)
    request.state.model = body.get("model")  # for the ledger row of a refusal
    check(body, MessagesBody)
    for name in RESERVED_FIELDS:
        if name in body:
            raise invalid_request(f"{name}: Extra inputs are not permitted")
    if body.get("max_tokens") is None and _concrete(state, body["model"]):
        # As the API: a request to a model names its ceiling. Routed ones get the route's (the policy's).
        raise invalid_request("max_tokens: Field required")
    span = state.tracing.request(body["model"])
    if scope.seen is not None:
        scope.seen.span = span  # ended with the observation, whatever happens
    with state.tracing.current(span):
        return await _answer(request, scope, body, raw)


async def _answer(request: Request, scope: RequestScope, body: dict[str, Any], raw: bytes) -> Response:
    state, seen = scope.state, scope.seen
    meta = with_session(_meta(request, scope), body)
    meta, reservation = await admit(state, scope.key, body, len(raw), meta)
    params = {k: v for k, v in body.items() if k != "stream"}
    forward = Forward.of(request.headers, request.scope["query_string"])
    if body.get("stream"):
        return await _stream(state, params, meta, seen, reservation, forward, raw)
    try:  # the record (and its cost) is kept before either returns or raises
        if relays_raw(state.router, params, meta):
            return await _relay(state, params, meta, seen, forward, raw)
        routed = await state.router.create(**params, **forward.sdk_options(), meta=meta)
    finally:
        if reservation is not None:
            await reservation.release()
    if seen is not None:
        seen.record, seen.decision = routed.record, routed.decision
    headers = _routing_headers(routed.record, routed.route, routed.model_used, seen)
    upstream_id = getattr(routed.message, "_request_id", None)
    if isinstance(upstream_id, str):
        headers["request-id"] = upstream_id
    return Response(routed.message.to_json(indent=None), media_type=JSON, headers=headers)


async def _relay(
    state: GatewayState,
    params: dict[str, Any],
    meta: RequestMeta,
    seen: Observation | None,
    forward: Forward,
    raw: bytes,
) -> Response:
    """The upstream's answer relayed byte for byte, routed and accounted like `Router.create`."""
    request_id = meta.request_id or new_request_id()
    relay = PlainRelay(state.router, params, meta, request_id, state.tracing, forward, raw)
    try:
        result = await relay.run()
    finally:
        if seen is not None:
            seen.record, seen.decision = relay.record, relay.decision
    assert relay.record is not None
    assert relay.route is not None
    own = _routing_headers(relay.record, relay.route, result.model_used, seen)
    response = Response(result.body)  # its content-length; the upstream's headers, then the router's
    response.raw_headers += relayed_raw_headers(result.headers, own, content_type=JSON)
    return response


async def count_tokens(request: Request) -> Response:
    """Token count for the model the request would be routed to ("auto" and aliases resolved)."""
    scope = request_scope(request)
    state = scope.state
    body = await read_json(request, state.max_body_bytes)
    check(body, CountTokensBody)
    router = state.router
    arg = router.policy.resolve_model_arg(body["model"])
    decision: Decision | None = None
    if arg.kind is ModelArgKind.CONCRETE:
        model = arg.model
    else:
        decision = await router.classify(body)
        model = router.route(body, decision, _meta(request, scope)).model
        body = dict(router.upstream.adapter.body_for(body, model).body)  # as it would be sent
    forward = Forward.of(request.headers, request.scope["query_string"])  # betas change what is counted
    raw = await router.upstream.client.messages.with_raw_response.count_tokens(
        **_sdk_kwargs(body, state.count_tokens_args), **forward.sdk_options(), model=model
    )
    headers = {"x-router-model": model}
    if decision is not None:
        headers["x-router-label"] = decision.label.value
    if (upstream_id := raw.http_response.headers.get("request-id")) is not None:
        headers["request-id"] = upstream_id
    return Response(raw.http_response.content, media_type=JSON, headers=headers)


async def _stream(
    state: GatewayState,
    params: dict[str, Any],
    meta: RequestMeta,
    seen: Observation | None,
    reservation: Reservation | None,
    forward: Forward,
    raw: bytes,
) -> Response:
    request_id = meta.request_id or new_request_id()
    relay = SSERelay(state.router, params, meta, request_id, state.tracing, forward, raw)
    try:
        await relay.open()
    except BaseException:
        if reservation is not None:
            await reservation.release()
        raise
    finally:
        if seen is not None:
            seen.record, seen.decision = relay.record, relay.decision
    stream = relay.stream
    headers = relayed_headers(stream.headers) if stream is not None else {}
    headers["x-router-request-id"] = meta.request_id or ""
    if relay.route is not None:
        headers["x-router-model"] = relay.model_used or relay.route.model
        headers["x-router-reason"] = relay.route.reason
        if seen is not None and seen.span is not None:
            seen.span.set_attribute("claude_router.reason", relay.route.reason)
        if relay.route.label is not None:
            headers["x-router-label"] = relay.route.label.value
    if relay.decision is not None:
        headers["x-router-confidence"] = f"{relay.decision.confidence:.3f}"
    if relay.adapted:
        headers[ADAPTED_HEADER] = ",".join(relay.adapted)

    async def done(finished: SSERelay) -> None:
        if reservation is not None:
            await reservation.release()  # after the relay kept its record
        if seen is not None:
            seen.record = finished.record
            seen.finish(200)

    if seen is not None:
        seen.deferred = True
    return SSEResponse(relay, headers=headers, secrets=state.secrets, on_done=done)


def _concrete(state: GatewayState, model: str) -> bool:
    return state.router.policy.resolve_model_arg(model).kind is ModelArgKind.CONCRETE


def _meta(request: Request, scope: RequestScope) -> RequestMeta:
    key = scope.key
    customer, key_id = (key.customer, key.key_id) if key is not None else (None, None)
    request_id = getattr(request.state, "request_id", None) or new_request_id()
    return request_meta(request.headers, customer=customer, key_id=key_id, request_id=request_id)


def _routing_headers(
    record: UsageRecord, route: Route, model_used: str, seen: Observation | None
) -> dict[str, str]:
    if seen is not None and seen.span is not None:
        seen.span.set_attribute("claude_router.reason", route.reason)
    headers = {
        "x-router-model": model_used,
        "x-router-cost-usd": str(record.total_cost_usd) if record.priced else "unpriced",
        "x-router-request-id": record.request_id,
        "x-router-reason": route.reason,
    }
    if record.label is not None:
        headers["x-router-label"] = record.label.value
    if record.confidence is not None:
        headers["x-router-confidence"] = f"{record.confidence:.3f}"
    if record.adapted:
        headers[ADAPTED_HEADER] = ",".join(record.adapted)
    return headers


def _sdk_kwargs(body: Mapping[str, Any], accepted: frozenset[str]) -> dict[str, Any]:
    """The body as SDK keyword arguments (without `model`); unnamed fields travel in `extra_body`."""
    kwargs: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    for key, value in body.items():
        if key != "model":
            (kwargs if key in accepted else extra)[key] = value
    if extra:
        kwargs["extra_body"] = extra
    return kwargs
