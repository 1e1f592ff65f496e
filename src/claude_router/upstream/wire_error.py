"""`WireError`: an upstream failure met by the gateway's relay (`wire.py`), kept as the upstream sent it.

Apart from `wire.py` so that the fallback rules (`attempts.may_fall_back`) can judge it without
importing the relay's HTTP client.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any


class WireError(Exception):
    """An upstream failure: an error status (`status`, `headers` and `body` as sent), an `error`
    event inside a 200 stream (`status` 200), or no answer at all (`status` None)."""

    def __init__(
        self,
        status: int | None,
        body: bytes = b"",
        headers: Mapping[str, str] | None = None,
        *,
        error_type: str | None = None,
        message: str = "",
    ) -> None:
        error = _error_object(body)
        self.status = status
        self.body = body
        self.headers: Mapping[str, str] = headers if headers is not None else {}
        self.type = error_type or _str(error.get("type")) or _fallback_type(status)
        self.message = message or _str(error.get("message")) or self.type
        super().__init__(self.message)

    @property
    def status_code(self) -> int:
        """The status a client gets: the upstream's, else 504 (timed out) or 502 (unreachable)."""
        if self.status is not None and self.status >= 400:
            return self.status
        return 504 if self.type == "timeout_error" else 502


def _error_object(body: bytes) -> Mapping[str, Any]:
    if not body:
        return {}
    try:
        parsed = json.loads(body)
    except ValueError:
        return {}
    error = parsed.get("error") if isinstance(parsed, dict) else None
    return error if isinstance(error, dict) else {}


def _str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _fallback_type(status: int | None) -> str:
    return "connection_error" if status is None else f"http_{status}"
