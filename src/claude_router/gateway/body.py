"""Reading a request body: its size bounded, its JSON checked just enough to route on.

Only the fields the gateway itself relies on are checked (their types, and that the required
ones are there); everything else travels to the upstream as the caller sent it, and the upstream
judges it.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.requests import Request

from .errors import GatewayError, invalid_request


class _Loose(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)


class _Turn(_Loose):
    role: Literal["user", "assistant", "system"]  # system turns: Opus 4.8 and later take them
    content: str | list[dict[str, Any]]


class CountTokensBody(_Loose):
    model: str = Field(min_length=1)
    messages: list[_Turn]
    system: str | list[dict[str, Any]] | None = None
    tools: list[dict[str, Any]] | None = None


class MessagesBody(CountTokensBody):
    max_tokens: int | None = Field(default=None, gt=0)  # None: the route's ceiling
    stream: bool = False
    metadata: dict[str, Any] | None = None


async def read_json(request: Request, max_bytes: int) -> dict[str, Any]:
    """The body as a JSON object; 413 past `max_bytes` (read no further), 400 if it is not one."""
    return (await read_raw_json(request, max_bytes))[0]


async def read_raw_json(request: Request, max_bytes: int) -> tuple[dict[str, Any], bytes]:
    """As `read_json`, with the bytes it came as (relayed as they are when routing changes
    nothing in them)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise _too_large(max_bytes)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise _too_large(max_bytes)
        chunks.append(chunk)
    raw = b"".join(chunks)
    if not raw.strip():
        raise invalid_request("the request body is empty: a JSON object is expected")
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise invalid_request(f"the request body is not valid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise invalid_request("the request body must be a JSON object")
    return body, raw


def check(body: dict[str, Any], shape: type[BaseModel], *, prefix: str = "") -> None:
    """400 naming the first wrong or missing field; the body itself is relayed unchanged."""
    try:
        shape.model_validate(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = prefix + (".".join(str(part) for part in first["loc"]) or "body")
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise invalid_request(f"{where}: {first['msg']}{more}") from None


def _too_large(max_bytes: int) -> GatewayError:
    return GatewayError(413, "request_too_large", f"the request body exceeds {max_bytes} bytes")
