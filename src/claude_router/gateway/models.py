"""`GET /v1/models`: the upstream's real models, then the router's own names, in the API's shape and
its cursor pages (`limit` 1-1000, `after_id` or `before_id`; `has_more`, `first_id`, `last_id`)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ..routing.policy import ALIAS_PREFIX, AUTO
from .errors import GatewayError, invalid_request
from .state import GatewayState, gateway_state

ALIAS_CREATED_AT = "1970-01-01T00:00:00Z"  # router names have no release date
PAGE_SIZE = 1000  # the API's largest page, and the one the upstream is read in
DEFAULT_LIMIT = 20  # the API's page size when the client names none


def router_models(state: GatewayState) -> list[dict[str, Any]]:
    """ "auto" and every `router:<alias>`, shaped like the API's model objects."""
    names = [AUTO, *(ALIAS_PREFIX + name for name in state.router.settings.policy.aliases)]
    return [
        {
            "type": "model",
            "id": name,
            "display_name": f"claude-router {name}: the cheapest capable model",
            "created_at": ALIAS_CREATED_AT,
            "lifecycle": "active",
        }
        for name in names
    ]


async def list_models(request: Request) -> Response:
    state = gateway_state(request)
    query = request.query_params
    limit = _limit(query.get("limit"))
    before_id, after_id = query.get("before_id"), query.get("after_id")
    if before_id is not None and after_id is not None:
        raise invalid_request("Only one of before_id and after_id may be given.")
    real = [m.to_dict(mode="json") async for m in state.router.upstream.client.models.list(limit=PAGE_SIZE)]
    return JSONResponse(page(real + router_models(state), limit, before_id=before_id, after_id=after_id))


def page(
    listed: list[dict[str, Any]], limit: int, *, before_id: str | None = None, after_id: str | None = None
) -> dict[str, Any]:
    """One page of `listed` as the API cuts it: after `after_id`, or the `limit` before `before_id`."""
    ids = [entry["id"] for entry in listed]
    if after_id is not None:
        start = _position(ids, after_id) + 1
        chunk, has_more = listed[start : start + limit], start + limit < len(listed)
    elif before_id is not None:
        end = _position(ids, before_id)
        chunk, has_more = listed[max(0, end - limit) : end], end - limit > 0
    else:
        chunk, has_more = listed[:limit], limit < len(listed)
    return {
        "data": chunk,
        "has_more": has_more,
        "first_id": chunk[0]["id"] if chunk else None,
        "last_id": chunk[-1]["id"] if chunk else None,
    }


def _limit(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_LIMIT
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 6:
        raise invalid_request("limit: Input should be a valid integer")
    limit = int(raw)
    if not 1 <= limit <= PAGE_SIZE:
        raise invalid_request(f"limit: must be between 1 and {PAGE_SIZE}")
    return limit


def _position(ids: list[str], model_id: str) -> int:
    try:
        return ids.index(model_id)
    except ValueError:
        raise GatewayError(404, "not_found_error", f"model: {model_id}") from None


async def get_model(request: Request) -> Response:
    state = gateway_state(request)
    model_id = request.path_params["model_id"]
    for entry in router_models(state):
        if entry["id"] == model_id:
            return JSONResponse(entry)
    if not model_id:
        raise GatewayError(404, "not_found_error", "model not found")
    model = await state.router.upstream.client.models.retrieve(model_id)
    return JSONResponse(model.to_dict(mode="json"))
