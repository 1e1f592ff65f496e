"""`/v1/messages/batches*`: the Message Batches API through the router.

At submission every request's "auto" (or `router:<alias>`) is classified and routed, so the
upstream receives concrete models (and the route's `max_tokens` where a request had none). When
results are fetched, each answered request is accounted at batch prices under the id
`batch:<batch id>:<custom id>`: the ledger keeps one row per id, so fetching twice never counts twice
(and with authentication on, only the first fetch is accounted at all).

With authentication off, listing, retrieving, cancelling and deleting are relayed as they are.
With it on, batches belong to the key that created them (`BatchOwners`, beside the keys):

- Another key's batch (or one not created through the gateway) is a 404 `not_found_error`, and
  nothing is sent upstream. A list pages through the calling key's own batches, newest first,
  and retrieves each of them upstream. Results are accounted to the owner's key and customer.
- A batch is admitted only when the worst case of all its requests, at their routed models and at
  batch prices, fits what is left of every budget of the key and its customer; else a 429 naming
  the budget. Once created, it holds that worst case against those budgets (`batch_holds`) until
  its results are fetched and accounted (once, however often they are fetched) or it is deleted
  through the gateway; a cancelled batch keeps holding until then. So batches whose results are
  not fetched yet count against the next one, and the real cost replaces the worst case when the
  results come in.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, cast

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter
from starlette.requests import Request
from starlette.responses import Response

from ..ledger.money import to_nano
from ..routing.accounting import Outcome, new_record
from ..routing.policy import ModelArgKind
from ..routing.router import Router
from ..types import RequestMeta, TokenUsage
from ..upstream import routed_params
from . import batch_holds
from .batch_owners import BatchOwner, BatchOwners
from .body import MessagesBody, check, read_json
from .errors import JSON, GatewayError, invalid_request
from .keys import KeyInfo
from .state import GatewayState, RequestScope, request_scope

if TYPE_CHECKING:  # the SDK is imported where it is used
    pass

CLASSIFY_CONCURRENCY = 8
RETRIEVE_CONCURRENCY = 8
DEFAULT_PAGE_LIMIT, MAX_PAGE_LIMIT = 20, 1000


class _BatchItem(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    custom_id: str = Field(min_length=1, max_length=64)
    params: dict[str, Any]


class _BatchBody(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)
    requests: list[_BatchItem] = Field(min_length=1)


BATCH_BODY = TypeAdapter(_BatchBody)


async def create_batch(request: Request) -> Response:
    scope = request_scope(request)
    state, key = scope.state, scope.key
    body = await read_json(request, state.max_body_bytes)
    check(body, BATCH_BODY)
    for i, item in enumerate(body["requests"]):
        check(item["params"], MessagesBody, prefix=f"requests.{i}.params.")
    if key is not None:
        # One request against the key's requests-per-minute, before any classifier call; its
        # tokens are the Batches API's own (asynchronous) business, not the per-minute limit's.
        await state.limiter.check(key, 0)
    gate = asyncio.Semaphore(CLASSIFY_CONCURRENCY)
    meta = _meta(key)

    async def resolve(item: dict[str, Any]) -> dict[str, Any]:
        async with gate:
            return {**item, "params": await _routed(state.router, item["params"], meta)}

    requests = await asyncio.gather(*(resolve(item) for item in body["requests"]))
    worst = batch_holds.worst_case(state, key, requests, meta)
    admitted = await batch_holds.admit(state, key, worst)
    try:
        batches = state.router.upstream.client.messages.batches
        raw = await batches.with_raw_response.create(requests=cast(Any, requests))
        if key is not None and state.keys is not None:
            batch_id = raw.http_response.json()["id"]
            owner = await state.keys.batches.record(batch_id, key.key_id, key.customer, to_nano(worst))
            await batch_holds.hold(state, owner)  # before the reservation goes: never uncounted
    finally:
        if admitted is not None:
            await admitted.release()
    return _relay_batch(request, raw.http_response)


async def list_batches(request: Request) -> Response:
    scope = request_scope(request)
    state, key = scope.state, scope.key
    client = state.router.upstream.client
    owners = _owners(state)
    if owners is None or key is None:
        query = {k: v for k, v in request.query_params.items() if k in ("limit", "before_id", "after_id")}
        raw = await client.messages.batches.with_raw_response.list(**query)  # type: ignore[arg-type]
        return _relay_batch(request, raw.http_response)
    limit, before_id, after_id = _page_query(request)
    page = await owners.page(key.key_id, limit, before_id=before_id, after_id=after_id)
    gate = asyncio.Semaphore(RETRIEVE_CONCURRENCY)

    async def fetch(batch_id: str) -> dict[str, Any] | None:
        import anthropic

        async with gate:
            try:
                raw = await client.messages.batches.with_raw_response.retrieve(batch_id)
            except anthropic.NotFoundError:
                return None  # gone upstream: expired, or deleted there directly
            found: dict[str, Any] = raw.http_response.json()
            return found

    data = [batch for batch in await asyncio.gather(*map(fetch, page.ids)) if batch is not None]
    _link_results(request, data)
    # The cursors are the page's own ids, so paging goes on past a batch gone upstream.
    first, last = (page.ids[0], page.ids[-1]) if page.ids else (None, None)
    listed = {"data": data, "has_more": page.has_more, "first_id": first, "last_id": last}
    return Response(json.dumps(listed).encode(), media_type=JSON)


async def retrieve_batch(request: Request) -> Response:
    scope = request_scope(request)
    await _owner(request, scope)
    client = scope.state.router.upstream.client
    raw = await client.messages.batches.with_raw_response.retrieve(request.path_params["batch_id"])
    return _relay_batch(request, raw.http_response)


async def cancel_batch(request: Request) -> Response:
    scope = request_scope(request)
    await _owner(request, scope)
    client = scope.state.router.upstream.client
    raw = await client.messages.batches.with_raw_response.cancel(request.path_params["batch_id"])
    return _relay_batch(request, raw.http_response)


async def delete_batch(request: Request) -> Response:
    scope = request_scope(request)
    owner = await _owner(request, scope)
    state = scope.state
    raw = await state.router.upstream.client.messages.batches.with_raw_response.delete(
        request.path_params["batch_id"]
    )
    owners = _owners(state)
    if owner is not None and owners is not None and await owners.forget(owner.batch_id):
        await batch_holds.release(state, owner)
    return _relay(raw.http_response)


async def batch_results(request: Request) -> Response:
    """The results as the upstream sent them; each succeeded request is accounted at batch prices,
    to the key and customer that own the batch (with authentication on), whose hold then ends."""
    scope = request_scope(request)
    owner = await _owner(request, scope)
    state = scope.state
    batch_id = request.path_params["batch_id"]
    raw = await state.router.upstream.client.messages.batches.with_raw_response.results(batch_id)
    content = await raw.read()  # a streamed (binary) response: read it whole
    owners = _owners(state)
    # Only the fetch that marks an owned batch accounted keeps its records: the ledger would drop
    # a repeat, but the budget books would count it again (and release the hold twice).
    if owner is not None and owners is not None and not await owners.account(batch_id):
        return _relay(raw.http_response)
    meta = RequestMeta(customer=owner.customer, key_id=owner.key_id) if owner else _meta(scope.key)
    for line in content.splitlines():
        if line.strip():
            await _account(state.router, batch_id, json.loads(line), meta)
    if owner is not None:  # the real cost is counted now, so the worst case goes
        await batch_holds.release(state, owner)
    return _relay(raw.http_response)


def _owners(state: GatewayState) -> BatchOwners | None:
    """Who owns which batch; None when authentication is off (every batch is everyone's)."""
    return state.keys.batches if state.keys is not None else None


async def _owner(request: Request, scope: RequestScope) -> BatchOwner | None:
    """The batch's owner with authentication on (None with it off); a 404 for any other key, as
    if the batch did not exist, so that nothing about it leaks."""
    owners, key = _owners(scope.state), scope.key
    if owners is None or key is None:
        return None
    batch_id = request.path_params["batch_id"]
    owner = await owners.get(batch_id)
    if owner is None or owner.key_id != key.key_id or owner.deleted_at is not None:
        raise GatewayError(404, "not_found_error", f"Message Batch not found: {batch_id!r}")
    return owner


def _page_query(request: Request) -> tuple[int, str | None, str | None]:
    query = request.query_params
    try:
        limit = int(query.get("limit", DEFAULT_PAGE_LIMIT))
    except ValueError:
        raise invalid_request("limit: must be an integer") from None
    if not 1 <= limit <= MAX_PAGE_LIMIT:
        raise invalid_request(f"limit: must be between 1 and {MAX_PAGE_LIMIT}, got {limit}")
    before_id, after_id = query.get("before_id"), query.get("after_id")
    if before_id is not None and after_id is not None:
        raise invalid_request("before_id and after_id cannot be given together")
    return limit, before_id, after_id


async def _routed(router: Router, params: dict[str, Any], meta: RequestMeta) -> dict[str, Any]:
    arg = router.policy.resolve_model_arg(params.get("model"))
    decision = None if arg.kind is ModelArgKind.CONCRETE else await router.classify(params)
    route = router.policy.route(decision, meta, params, alias=arg.alias, now=datetime.now(UTC))
    sent = router.upstream.outgoing(routed_params(params, route), as_written=route.as_written)
    return {**sent.body(route.model), "model": route.model}  # adapted to the model it goes to


async def _account(router: Router, batch_id: str, line: dict[str, Any], meta: RequestMeta) -> None:
    result = line.get("result") or {}
    message = result.get("message") if result.get("type") == "succeeded" else None
    if not isinstance(message, dict) or not isinstance(message.get("model"), str):
        return
    model = message["model"]  # a model the sheet does not know is recorded unpriced
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
        baseline=router.baseline,
    )
    await router.keep_record(record)


def _meta(key: KeyInfo | None) -> RequestMeta:
    return RequestMeta(customer=key.customer, key_id=key.key_id) if key is not None else RequestMeta()


def _relay_batch(request: Request, response: Any) -> Response:
    """A batch (or a page of them) relayed with its results linked through the gateway."""
    if response.status_code != 200:
        return _relay(response)
    body = response.json()
    _link_results(request, body.get("data", [body]) if isinstance(body, dict) else [])
    return _relay(response, json.dumps(body).encode())


def _link_results(request: Request, batches: list[Any]) -> None:
    """Point `results_url` here, so results are fetched (and accounted) through the gateway rather
    than straight from the upstream."""
    for batch in batches:
        if isinstance(batch, dict) and batch.get("results_url"):
            batch["results_url"] = str(request.url_for("batch_results", batch_id=batch["id"]))


def _relay(response: Any, content: bytes | None = None) -> Response:
    headers = {}
    if (request_id := response.headers.get("request-id")) is not None:
        headers["request-id"] = request_id
    media_type = response.headers.get("content-type", JSON)
    body = response.content if content is None else content
    return Response(body, status_code=response.status_code, media_type=media_type, headers=headers)
