"""Reading a request body: its size bounded, its JSON checked just enough to route on.

Only the fields the gateway itself relies on are checked (their types, and that the required
ones are there); everything else travels to the upstream as the caller sent it, and the upstream
judges it. The shapes are typed dicts, checked without building an object per body or per turn
(a coding agent's conversation is hundreds of turns, each a list of blocks).
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal, NotRequired

from pydantic import ConfigDict, Field, TypeAdapter, ValidationError, with_config
from starlette.requests import Request
from typing_extensions import TypedDict  # pydantic needs it before Python 3.12

from .errors import GatewayError, invalid_request

_STRICT = ConfigDict(strict=True)


@with_config(_STRICT)
class _Turn(TypedDict):
    role: Literal["user", "assistant", "system"]  # system turns: Opus 4.8 and later take them
    content: str | list[dict[str, Any]]


@with_config(_STRICT)
class _CountTokens(TypedDict):
    model: Annotated[str, Field(min_length=1)]
    messages: list[_Turn]
    system: NotRequired[str | list[dict[str, Any]] | None]
    tools: NotRequired[list[dict[str, Any]] | None]


class _Messages(_CountTokens):
    max_tokens: NotRequired[Annotated[int, Field(gt=0)] | None]  # None: the route's ceiling
    stream: NotRequired[bool]
    metadata: NotRequired[dict[str, Any] | None]


CountTokensBody = TypeAdapter(_CountTokens)
MessagesBody = TypeAdapter(_Messages)


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


def check(body: dict[str, Any], shape: TypeAdapter[Any], *, prefix: str = "") -> None:
    """400 naming the first wrong or missing field; the body itself is relayed unchanged."""
    try:
        shape.validate_python(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = prefix + (".".join(str(part) for part in first["loc"]) or "body")
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise invalid_request(f"{where}: {first['msg']}{more}") from None


def _too_large(max_bytes: int) -> GatewayError:
    return GatewayError(413, "request_too_large", f"the request body exceeds {max_bytes} bytes")
