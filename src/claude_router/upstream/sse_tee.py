"""The SDK middleware's view of a streamed response: its byte stream swapped for a tee.

The SDK middleware sees a streamed `/v1/messages` response before its caller reads a byte. It
swaps the response's byte stream for a tee (`AsyncTee`, `SyncTee`) that hands every chunk to an
`SSETap` on its way to the caller. When the response is closed (read to the end, or closed early
by the caller) the tee calls `on_close` exactly once. Apart from `sse_tap.py` because these wrap
the SDK's HTTP client's streams, which the gateway's relay never loads.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Generator, Iterator

import httpx2

from .sse_tap import SSETap


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


__all__ = ["AsyncTee", "SyncTee"]
