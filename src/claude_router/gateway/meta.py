"""`x-router-*` request headers → `RequestMeta`: what a caller says about a request over HTTP.

x-router-task-id       the caller's id for the task
x-router-customer      who is billed (a virtual key's own customer wins over it)
x-router-tags          comma-separated tags (tag floors, rules)
x-router-floor         simple | moderate | complex: never route below it
x-router-force-model   call exactly this model
x-router-session       conversation id, for sticky routing and `report --by session`

Claude Code names its session in `X-Claude-Code-Session-Id` on every request; it is the session
when `x-router-session` is absent (and `metadata.user_id` in the body when both are:
`routing/session.py`).
"""

from __future__ import annotations

from starlette.datastructures import Headers

from ..routing.session import fitted
from ..types import Label, RequestMeta
from .errors import invalid_request

MAX_HEADER_CHARS = 256
CLAUDE_CODE_SESSION = "x-claude-code-session-id"


def request_meta(
    headers: Headers, *, customer: str | None = None, key_id: str | None = None, request_id: str | None = None
) -> RequestMeta:
    """The meta the headers carry; `customer` / `key_id` (from the virtual key) override the headers'."""
    found = _router_headers(headers)
    if not found:  # the common case: a plain Anthropic request, or Claude Code's
        session = _session(headers.get(CLAUDE_CODE_SESSION))
        return RequestMeta(customer=customer, key_id=key_id, request_id=request_id, session=session)
    tags = frozenset(t.strip() for t in _get(found, "x-router-tags").split(",") if t.strip())
    floor_text = _get(found, "x-router-floor").strip().lower()
    floor: Label | None = None
    if floor_text:
        try:
            floor = Label(floor_text)
        except ValueError:
            allowed = ", ".join(label.value for label in Label)
            raise invalid_request(f"x-router-floor must be one of {allowed}") from None
    return RequestMeta(
        task_id=_get(found, "x-router-task-id") or None,
        customer=customer or _get(found, "x-router-customer") or None,
        key_id=key_id,
        tags=tags,
        floor=floor,
        force_model=_get(found, "x-router-force-model") or None,
        session=_get(found, "x-router-session") or _session(headers.get(CLAUDE_CODE_SESSION)),
        request_id=request_id,
    )


def _router_headers(headers: Headers) -> dict[str, str]:
    """The `x-router-*` headers in one pass over the raw list (names arrive lower-cased); the
    first of a repeated header wins, as `Headers.get` has it."""
    found: dict[str, str] = {}
    for name, value in headers.raw:
        if name.startswith(b"x-router-"):
            found.setdefault(name.decode("latin-1").lower(), value.decode("latin-1"))
    return found


def header_session(headers: Headers) -> str | None:
    """The session the headers name, for a request refused before its body was read; never raises."""
    value = headers.get("x-router-session") or headers.get(CLAUDE_CODE_SESSION)
    return fitted(value) if value else None


def _session(value: str | None) -> str | None:
    if value is not None and len(value) > MAX_HEADER_CHARS:
        raise invalid_request(f"{CLAUDE_CODE_SESSION} is longer than {MAX_HEADER_CHARS} characters")
    return (value.strip() or None) if value is not None else None


def _get(found: dict[str, str], name: str) -> str:
    value = found.get(name, "")
    if len(value) > MAX_HEADER_CHARS:
        raise invalid_request(f"{name} is longer than {MAX_HEADER_CHARS} characters")
    return value


def refused_task_id(headers: Headers) -> str | None:
    """The task id of a request refused before its meta was read (a bad key, say), when usable."""
    value = headers.get("x-router-task-id")
    return value if value and len(value) <= MAX_HEADER_CHARS else None
