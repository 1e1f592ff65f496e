"""The emulator's error: an Anthropic-shaped error body with its HTTP status."""

from __future__ import annotations

from typing import Any


class EmulatorError(Exception):
    """Raised anywhere in the emulator; answered as `{"type":"error","error":{...}}`."""

    def __init__(
        self, status: int, error_type: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error_type = error_type
        self.message = message
        self.headers = headers or {}

    def body(self, request_id: str) -> dict[str, Any]:
        return {
            "type": "error",
            "error": {"type": self.error_type, "message": self.message},
            "request_id": request_id,
        }
