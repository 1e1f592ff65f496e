"""`GET /v1/models`: the upstream's real models, then the router's own names in the same shape."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ..routing.policy import ALIAS_PREFIX, AUTO
from .errors import GatewayError
from .state import GatewayState, gateway_state

ALIAS_CREATED_AT = "1970-01-01T00:00:00Z"  # router names have no release date
PAGE_SIZE = 1000


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
    real = [m.to_dict(mode="json") async for m in state.router.upstream.client.models.list(limit=PAGE_SIZE)]
    data = real + router_models(state)
    return JSONResponse(
        {"data": data, "has_more": False, "first_id": data[0]["id"], "last_id": data[-1]["id"]}
    )


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
