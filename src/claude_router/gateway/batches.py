"""`/v1/messages/batches*`: the Message Batches API through the router.

At submission every request's "auto" (or `router:<alias>`) is classified and routed, so the
upstream receives concrete models (and the route's `max_tokens` where a request had none).
Listing, retrieving, cancelling and deleting are relayed as they are. When results are fetched,
each answered request is accounted at batch prices under the id `batch:<batch id>:<custom id>`:
the ledger keeps one row per id, so fetching twice never counts twice.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any, cast

from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import Response

from ..accounting import Outcome, new_record
from ..policy import ModelArgKind
from ..router import Router
from ..types import RequestMeta, TokenUsage
from ..upstream import routed_params
from .body import MessagesBody, check, read_json
from .errors import JSON
from .state import gateway_state, request_key

CLASSIFY_CONCURRENCY = 8


class _BatchItem(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    custom_id: str = Field(min_length=1, max_length=64)
    params: dict[str, Any]


class _BatchBody(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)
    requests: list[_BatchItem] = Field(min_length=1)


async def create_batch(request: Request) -> Response:
    state = gateway_state(request)
    body = await read_json(request, state.max_body_bytes)
    check(body, _BatchBody)
    for i, item in enumerate(body["requests"]):
        check(item["params"], MessagesBody, prefix=f"requests.{i}.params.")
    gate = asyncio.Semaphore(CLASSIFY_CONCURRENCY)

    async def resolve(item: dict[str, Any]) -> dict[str, Any]:
        async with gate:
            return {**item, "params": await _routed(state.router, item["params"], _meta(request))}

    requests = await asyncio.gather(*(resolve(item) for item in body["requests"]))
    batches = state.router.upstream.client.messages.batches
    raw = await batches.with_raw_response.create(requests=cast(Any, requests))
    return _relay_batch(request, raw.http_response)


async def list_batches(request: Request) -> Response:
    client = gateway_state(request).router.upstream.client
    query = {k: v for k, v in request.query_params.items() if k in ("limit", "before_id", "after_id")}
    raw = await client.messages.batches.with_raw_response.list(**query)  # type: ignore[arg-type]
    return _relay_batch(request, raw.http_response)


async def retrieve_batch(request: Request) -> Response:
    client = gateway_state(request).router.upstream.client
    raw = await client.messages.batches.with_raw_response.retrieve(request.path_params["batch_id"])
    return _relay_batch(request, raw.http_response)


async def cancel_batch(request: Request) -> Response:
    client = gateway_state(request).router.upstream.client
    raw = await client.messages.batches.with_raw_response.cancel(request.path_params["batch_id"])
    return _relay_batch(request, raw.http_response)


async def delete_batch(request: Request) -> Response:
    client = gateway_state(request).router.upstream.client
    raw = await client.messages.batches.with_raw_response.delete(request.path_params["batch_id"])
    return _relay(raw.http_response)


async def batch_results(request: Request) -> Response:
    """The results as the upstream sent them; each succeeded request is accounted at batch prices."""
    state = gateway_state(request)
    batch_id = request.path_params["batch_id"]
    raw = await state.router.upstream.client.messages.batches.with_raw_response.results(batch_id)
    content = await raw.read()  # a streamed (binary) response: read it whole
    meta = _meta(request)
    for line in content.splitlines():
        if line.strip():
            await _account(state.router, batch_id, json.loads(line), meta)
    return _relay(raw.http_response)


async def _routed(router: Router, params: dict[str, Any], meta: RequestMeta) -> dict[str, Any]:
    arg = router.policy.resolve_model_arg(params.get("model"))
    decision = None if arg.kind is ModelArgKind.CONCRETE else await router.classify(params)
    route = router.policy.route(decision, meta, params, alias=arg.alias, now=datetime.now(UTC))
    return {**routed_params(params, route), "model": route.model}


async def _account(router: Router, batch_id: str, line: dict[str, Any], meta: RequestMeta) -> None:
    result = line.get("result") or {}
    message = result.get("message") if result.get("type") == "succeeded" else None
    if not isinstance(message, dict) or not isinstance(message.get("model"), str):
        return
    model = message["model"]
    if model not in router.prices:
        return
    outcome = Outcome(model_used=model, answer=TokenUsage.from_api(message.get("usage")))
    record = new_record(
        router.prices,
        request_id=f"batch:{batch_id}:{line.get('custom_id')}",
        model_requested=model,
        meta=meta,
        decision=None,
        route=None,
        outcome=outcome,
        batch=True,
    )
    await router.keep_record(record)


def _meta(request: Request) -> RequestMeta:
    key = request_key(request)
    return RequestMeta(customer=key.customer, key_id=key.key_id) if key is not None else RequestMeta()


def _relay_batch(request: Request, response: Any) -> Response:
    """A batch (or a page of them) with `results_url` pointing here, so results are fetched (and
    accounted) through the gateway rather than straight from the upstream."""
    if response.status_code != 200:
        return _relay(response)
    body = response.json()
    for batch in body.get("data", [body]) if isinstance(body, dict) else []:
        if isinstance(batch, dict) and batch.get("results_url"):
            batch["results_url"] = str(request.url_for("batch_results", batch_id=batch["id"]))
    return _relay(response, json.dumps(body).encode())


def _relay(response: Any, content: bytes | None = None) -> Response:
    headers = {}
    if (request_id := response.headers.get("request-id")) is not None:
        headers["request-id"] = request_id
    media_type = response.headers.get("content-type", JSON)
    body = response.content if content is None else content
    return Response(body, status_code=response.status_code, media_type=media_type, headers=headers)
