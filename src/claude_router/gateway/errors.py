"""Every failure as the Anthropic API shapes it: `{"type": "error", "error": {"type", "message"}}`.

    GatewayError                 a request the gateway refuses itself (status + Anthropic type)
    error_response(exc, secrets) any exception → its JSON response: our own errors by their
                                 status, `RouterError`s by theirs, upstream SDK errors relayed
                                 with their own status and body

Secrets (the upstream key) are scrubbed from every message and relayed body.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from starlette.responses import Response

from ..errors import BudgetExceededError, RateLimitedError, RouterError
from ..upstream import WireError
from .refusals import GatewayError, invalid_request

if TYPE_CHECKING:  # the SDK is imported where it is used
    import anthropic

__all__ = [
    "JSON",
    "GatewayError",
    "error_body",
    "error_response",
    "invalid_request",
    "json_error",
    "relayed_headers",
    "relayed_raw_headers",
    "scrub",
]

JSON = "application/json"
SHOULD_RETRY = "x-should-retry"
# A budget only held by requests in flight frees up as they finish: ask for a retry soon.
HELD_RETRY_AFTER_MS = 500
REDACTED = "[redacted]"


def error_body(error_type: str, message: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": error_type, "message": message}}


def scrub(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    return text


def json_error(
    status: int,
    error_type: str,
    message: str,
    *,
    secrets: Iterable[str] = (),
    headers: Mapping[str, str] | None = None,
) -> Response:
    body = json.dumps(error_body(error_type, message))
    return Response(scrub(body, secrets), status_code=status, media_type=JSON, headers=headers)


def error_response(exc: BaseException, secrets: Iterable[str] = ()) -> Response:
    """The response for an error a handler raised; anything unknown is a clean 500 api_error."""
    secrets = tuple(secrets)
    if isinstance(exc, GatewayError):
        hint = {SHOULD_RETRY: "true" if exc.should_retry else "false"}
        return json_error(exc.status_code, exc.error_type, exc.message, secrets=secrets, headers=hint)
    if isinstance(exc, RouterError):
        return json_error(exc.status_code, exc.error_type, exc.message, secrets=secrets, headers=_hints(exc))
    if isinstance(exc, WireError):
        return _relayed_wire(exc, secrets)
    import anthropic  # what remains is the SDK's (the library path), so it is loaded already

    if isinstance(exc, anthropic.APIStatusError):
        return _relayed(exc, secrets)
    if isinstance(exc, anthropic.APITimeoutError):
        return json_error(504, "timeout_error", "the upstream API timed out", secrets=secrets)
    if isinstance(exc, anthropic.APIConnectionError):
        return json_error(502, "api_error", "could not reach the upstream API", secrets=secrets)
    return json_error(500, "api_error", "internal error", secrets=secrets)


def upstream_error_event(exc: BaseException, secrets: Iterable[str] = ()) -> bytes:
    """An SSE `error` event for a failure after the stream's first byte (the status is already sent)."""
    if isinstance(exc, WireError):
        payload = json.dumps(error_body("api_error" if exc.status is None else exc.type, exc.message))
    else:
        payload = json.dumps(_sdk_error_body(exc))
    return f"event: error\ndata: {scrub(payload, secrets)}\n\n".encode()


def _sdk_error_body(exc: BaseException) -> Any:
    """An error event's data for a failure that is not the relay's: the SDK's (so it is loaded)."""
    import anthropic

    if isinstance(exc, anthropic.APIStatusError) and _is_error_body(exc.body):
        return exc.body
    if isinstance(exc, anthropic.APIStatusError):
        return error_body(exc.type or "api_error", exc.message)
    return error_body("api_error", "the upstream stream failed")


def _relayed(exc: anthropic.APIStatusError, secrets: tuple[str, ...]) -> Response:
    """The upstream's own status, body and headers (the body wrapped in the error shape when it
    was not one)."""
    import httpx2

    headers = relayed_headers(exc.response.headers)
    if _is_error_body(exc.body):
        try:
            raw = exc.response.content.decode("utf-8", errors="replace")
        except httpx2.ResponseNotRead:
            raw = json.dumps(exc.body)
        return Response(scrub(raw, secrets), status_code=exc.status_code, headers=headers)
    headers.pop("content-type", None)
    body = json.dumps(error_body(exc.type or "api_error", exc.message))
    return Response(scrub(body, secrets), status_code=exc.status_code, media_type=JSON, headers=headers)


# Headers that describe the upstream connection, not the answer: never relayed.
_HOP_HEADERS = frozenset(
    {"connection", "keep-alive", "transfer-encoding", "content-length", "content-encoding", "date", "server"}
)


def relayed_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """An upstream answer's headers for the client (`request-id`, `anthropic-ratelimit-*`, ...):
    all of them but the upstream connection's own."""
    return {k.lower(): v for k, v in headers.items() if k.lower() not in _HOP_HEADERS}


def relayed_raw_headers(
    upstream: Mapping[str, str], own: Mapping[str, str], *, content_type: str
) -> list[tuple[bytes, bytes]]:
    """`relayed_headers` with the router's `own` on top, encoded for the response in one pass
    (the answer's headers copied once), and `content_type` when the upstream named none."""
    raw: list[tuple[bytes, bytes]] = []
    typed = False
    for name, value in upstream.items():
        lower = name.lower()
        if lower in _HOP_HEADERS or lower in own:
            continue
        typed = typed or lower == "content-type"
        raw.append((lower.encode("latin-1"), value.encode("latin-1")))
    raw.extend((name.encode("latin-1"), value.encode("latin-1")) for name, value in own.items())
    if not typed:
        raw.append((b"content-type", content_type.encode("latin-1")))
    return raw


def _relayed_wire(exc: WireError, secrets: tuple[str, ...]) -> Response:
    """The upstream's error as it sent it: status, body and headers (bar the connection's own)."""
    if exc.status_code == 504:
        return json_error(504, "timeout_error", "the upstream API timed out", secrets=secrets)
    if exc.status is None or not exc.body:
        return json_error(exc.status_code, "api_error", "could not reach the upstream API", secrets=secrets)
    headers = relayed_headers(exc.headers)
    body = scrub(exc.body.decode("utf-8", errors="replace"), secrets)
    return Response(body, status_code=exc.status_code, headers=headers)


def _is_error_body(body: object) -> bool:
    return isinstance(body, dict) and body.get("type") == "error" and isinstance(body.get("error"), dict)


def _hints(exc: RouterError) -> dict[str, str] | None:
    """When a client may try again (`x-should-retry`, which the official SDKs obey before anything
    else). A spent budget is not lifted by the SDK's quick retries, so it says not to retry and,
    for a daily or monthly budget, when the period starts again. Money only held by requests in
    flight frees up when they finish, so that refusal asks for a retry shortly."""
    if isinstance(exc, RateLimitedError):
        return {SHOULD_RETRY: "true", **_retry_after(exc.retry_after_s)}
    if isinstance(exc, BudgetExceededError):
        if exc.held:
            return {SHOULD_RETRY: "true", "retry-after-ms": str(HELD_RETRY_AFTER_MS), "retry-after": "1"}
        hints = {SHOULD_RETRY: "false"}
        if exc.retry_after_s is not None:
            hints.update(_retry_after(exc.retry_after_s))
        return hints
    return {SHOULD_RETRY: "true" if exc.status_code >= 500 else "false"}


def _retry_after(seconds: float) -> dict[str, str]:
    return {"retry-after": str(max(1, round(seconds + 0.499)))}
