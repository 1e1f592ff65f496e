"""Read a streamed response's usage from its bytes as they pass, without changing them.

`SSETap` is fed every chunk of a server-sent event stream on its way to the caller (the gateway's
relay, `wire_stream.py`, and the SDK middleware's tees, `sse_tee.py`). It splits the events itself
(the few rules of the SSE format it needs: `event:` and `data:` fields, comments, a blank line ends
an event) and reads `message_start` / `message_delta` usage (as the upstream's `StreamUsage` does),
an `error` event's type, and whether `message_stop` came. Only those events' data is parsed.
"""

from __future__ import annotations

import json
from typing import Any

from ..types import TokenUsage
from .streaming import StreamUsage

CONNECTION_ERROR = "connection_error"
CANCELLED = "cancelled"


class SSETap:
    """Usage, time to first token and the outcome of one event stream, fed chunk by chunk."""

    __slots__ = ("_data", "_event", "_partial", "_usage", "error_data", "error_type", "events")

    def __init__(self, started_at: float) -> None:
        self._usage = StreamUsage(started_at)
        self._partial = b""
        self._event = b""  # the `event:` field of the event being read
        self._data: list[bytes] = []  # its `data:` lines
        self.error_type: str | None = None  # an `error` event's type, or a broken connection
        self.error_data: bytes = b""  # the `error` event's data, as it came
        self.events = 0  # whole events decoded so far

    def feed(self, chunk: bytes) -> None:
        lines = (self._partial + chunk).splitlines(keepends=True)
        # A line is whole once its "\n" arrived (a lone "\r" may be the first half of "\r\n").
        self._partial = lines.pop() if lines and not lines[-1].endswith(b"\n") else b""
        for line in lines:
            self._line(line.rstrip(b"\r\n"))

    def flush(self) -> None:
        if self._partial:
            self._line(self._partial.rstrip(b"\r\n"))
            self._partial = b""
        self._line(b"")  # an event not yet ended by a blank line

    def broke(self) -> None:
        self.error_type = self.error_type or CONNECTION_ERROR

    def _line(self, line: bytes) -> None:
        if not line:  # a blank line ends the event
            if self._event or self._data:
                self._dispatch()
            return
        name, _, value = line.partition(b":")
        if value[:1] == b" ":
            value = value[1:]
        if name == b"event":
            self._event = value
        elif name == b"data":
            self._data.append(value)
        # anything else (a comment, `id:`, `retry:`) says nothing about usage

    def _dispatch(self) -> None:
        event, data = self._event.decode("utf-8", errors="replace"), b"\n".join(self._data)
        self._event, self._data = b"", []
        self.events += 1
        try:
            if event == "error":
                self.error_data = data
                self.error_type = _error_type(json.loads(data))
            else:
                self._usage.observe_wire(event, data)
        except (ValueError, LookupError, TypeError, AttributeError):
            pass  # a malformed event is the caller's SDK's to report; the tap must not break the relay

    @property
    def usage(self) -> TokenUsage:
        return self._usage.usage

    @property
    def accounting(self) -> StreamUsage:
        return self._usage

    @property
    def started(self) -> bool:
        """Whether `message_start` came: output reached the client, so no other model may answer."""
        return self._usage.started

    @property
    def ttft_s(self) -> float | None:
        return self._usage.ttft_s

    @property
    def outcome(self) -> str | None:
        """None for a complete stream, else the error type (`cancelled` when closed early)."""
        if self.error_type is not None:
            return self.error_type
        return None if self._usage.completed else CANCELLED


def _error_type(body: Any) -> str:
    error = body.get("error") if isinstance(body, dict) else None
    kind = error.get("type") if isinstance(error, dict) else None
    return kind if isinstance(kind, str) and kind else "api_error"


__all__ = ["SSETap"]
