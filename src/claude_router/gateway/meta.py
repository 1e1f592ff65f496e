"""`x-router-*` request headers → `RequestMeta`: what a caller says about a request over HTTP.

x-router-task-id       the caller's id for the task
x-router-customer      who is billed (a virtual key's own customer wins over it)
x-router-tags          comma-separated tags (tag floors, rules)
x-router-floor         simple | moderate | complex: never route below it
x-router-force-model   call exactly this model
x-router-session       conversation id, for sticky routing
"""

from __future__ import annotations

from starlette.datastructures import Headers

from ..types import Label, RequestMeta
from .errors import invalid_request

MAX_HEADER_CHARS = 256


def request_meta(headers: Headers, *, customer: str | None = None, key_id: str | None = None) -> RequestMeta:
    """The meta the headers carry; `customer` / `key_id` (from the virtual key) override the headers'."""
    tags = frozenset(t.strip() for t in _get(headers, "x-router-tags", "").split(",") if t.strip())
    floor_text = _get(headers, "x-router-floor", "").strip().lower()
    floor: Label | None = None
    if floor_text:
        try:
            floor = Label(floor_text)
        except ValueError:
            allowed = ", ".join(label.value for label in Label)
            raise invalid_request(f"x-router-floor must be one of {allowed}") from None
    return RequestMeta(
        task_id=_get(headers, "x-router-task-id") or None,
        customer=customer or _get(headers, "x-router-customer") or None,
        key_id=key_id,
        tags=tags,
        floor=floor,
        force_model=_get(headers, "x-router-force-model") or None,
        session=_get(headers, "x-router-session") or None,
    )


def _get(headers: Headers, name: str, default: str = "") -> str:
    value = headers.get(name, default)
    if len(value) > MAX_HEADER_CHARS:
        raise invalid_request(f"{name} is longer than {MAX_HEADER_CHARS} characters")
    return value
