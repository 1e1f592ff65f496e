"""Read a streamed response's usage from its bytes as they pass, without changing them.

The SDK middleware sees a streamed `/v1/messages` response before its caller reads a byte. It
swaps the response's byte stream for a tee (`AsyncTee`, `SyncTee`) that hands every chunk to an
`SSETap` on its way to the caller. The tap decodes the server-sent events with the SDK's own
decoder and reads `message_start` / `message_delta` usage (as the upstream's `StreamUsage`
does), an `error` event's type, and whether `message_stop` came. When the response is closed
(read to the end, or closed early by the caller) the tee calls `on_close` exactly once.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Generator, Iterator
from typing import Any

import httpx2
from anthropic._streaming import SSEDecoder  # the SDK's own SSE decoder, fed line by line here

from ..types import TokenUsage
from .streaming import StreamUsage

CONNECTION_ERROR = "connection_error"
CANCELLED = "cancelled"


class SSETap:
    """Usage, time to first token and the outcome of one event stream, fed chunk by chunk."""

    def __init__(self, started_at: float) -> None:
        self._usage = StreamUsage(started_at)
        self._decoder = SSEDecoder()
        self._partial = b""
        self.error_type: str | None = None  # an `error` event's type, or a broken connection
        self.error_data: bytes = b""  # the `error` event's data, as it came
        self.events = 0  # whole events decoded so far

    def feed(self, chunk: bytes) -> None:
        lines = (self._partial + chunk).splitlines(keepends=True)
        # A line is whole once its "\n" arrived (a lone "\r" may be the first half of "\r\n").
        self._partial = lines.pop() if lines and not lines[-1].endswith(b"\n") else b""
        for line in lines:
            self._line(line)

    def flush(self) -> None:
        if self._partial:
            self._line(self._partial)
            self._partial = b""
        self._line(b"")  # an event not yet ended by a blank line

    def broke(self) -> None:
        self.error_type = self.error_type or CONNECTION_ERROR

    def _line(self, raw: bytes) -> None:
        sse = self._decoder.decode(raw.rstrip(b"\r\n").decode("utf-8", errors="replace"))
        if sse is None:
            return
        self.events += 1
        try:
            if sse.event == "error":
                self.error_data = sse.data.encode()
                self.error_type = _error_type(sse.json())
            else:
                self._usage.observe_wire(sse)
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


class AsyncTee(httpx2.AsyncByteStream):
    """An async response body that shows every chunk to `tap`; `on_close` runs once, at the end."""

    def __init__(
        self, inner: httpx2.AsyncByteStream, tap: SSETap, on_close: Callable[[SSETap], Awaitable[None]]
    ) -> None:
        self._inner = inner
        self._tap = tap
        self._on_close: Callable[[SSETap], Awaitable[None]] | None = on_close

    async def __aiter__(self) -> AsyncIterator[bytes]:
        chunks = self._inner.__aiter__()
        try:
            async for chunk in chunks:
                self._tap.feed(chunk)
                yield chunk
            self._tap.flush()
        except httpx2.TransportError:
            self._tap.broke()
            raise
        finally:
            if isinstance(chunks, AsyncGenerator):
                await chunks.aclose()

    async def aclose(self) -> None:
        try:
            await self._inner.aclose()
        finally:
            on_close, self._on_close = self._on_close, None
            if on_close is not None:
                await on_close(self._tap)


class SyncTee(httpx2.SyncByteStream):
    """The same for the synchronous client."""

    def __init__(self, inner: httpx2.SyncByteStream, tap: SSETap, on_close: Callable[[SSETap], None]) -> None:
        self._inner = inner
        self._tap = tap
        self._on_close: Callable[[SSETap], None] | None = on_close

    def __iter__(self) -> Iterator[bytes]:
        chunks = iter(self._inner)
        try:
            for chunk in chunks:
                self._tap.feed(chunk)
                yield chunk
            self._tap.flush()
        except httpx2.TransportError:
            self._tap.broke()
            raise
        finally:
            if isinstance(chunks, Generator):
                chunks.close()

    def close(self) -> None:
        try:
            self._inner.close()
        finally:
            on_close, self._on_close = self._on_close, None
            if on_close is not None:
                on_close(self._tap)


__all__ = ["AsyncTee", "SSETap", "SyncTee"]
