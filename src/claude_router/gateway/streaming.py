"""SSE relay: classify, route, open the upstream stream, then pass its bytes on as they arrive.

The bytes are never re-framed or buffered (`Upstream.relay_stream`: usage is read from them as they
pass). A failure before the first event is an ordinary HTTP error (and falls back like a
non-streaming call, inside `WireStream`); after it, an upstream `error` event goes through as the
upstream sent it, and a broken upstream connection ends the stream with an SSE `error` event of
the gateway's. A client that goes away cancels the upstream call, and the usage its events
reported so far is still accounted: exactly one record per request, whatever happens.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping

import anyio
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from ..routing.router import stream_outcome
from ..types import Decision, UsageRecord
from ..upstream import WireStream, upstream_errors
from .errors import upstream_error_event
from .relay import Relay

log = logging.getLogger(__name__)

SSE_HEADERS = {"cache-control": "no-cache", "x-accel-buffering": "no"}
RecordHook = Callable[[UsageRecord, Decision | None], Awaitable[None]]


class SSERelay(Relay):
    """One streamed request: `await relay.open()` (routing, first event), then `SSEResponse(relay)`."""

    _stream: WireStream | None = None  # set by `open`
    _closed = False

    @property
    def model_used(self) -> str | None:
        return self._stream.model_used if self._stream is not None else None

    @property
    def stream(self) -> WireStream | None:
        """The upstream stream, once `open` succeeded."""
        return self._stream

    @property
    def adapted(self) -> tuple[str, ...]:
        """What was changed in the body for the model that answered."""
        return self._stream.result().adapted if self._stream is not None else ()

    async def open(self) -> None:
        """Classify, route and wait for the first event; an upstream failure is recorded, then raised."""
        forward = self._forward
        try:
            route = await self._routed()
            stream = self._router.upstream.relay_stream(
                self._body(route),
                model=route.model,
                fallbacks=route.fallbacks,
                headers=forward.headers,
                query=forward.query,
                as_written=route.as_written,
                raw=self._raw_body(route),
            )
            with self._upstream_span(route):  # until the first event
                await stream.open()
        except upstream_errors() as exc:
            self._closed = True
            await self._record_failure(exc)
            raise
        self._stream = stream

    async def relay(self, send: Callable[[bytes], Awaitable[None]], secrets: tuple[str, ...]) -> None:
        """Send the upstream's bytes; a broken upstream mid-stream ends with an SSE `error` event."""
        assert self._stream is not None, "open() first"
        try:
            async for chunk in self._stream.chunks():
                await send(chunk)
        except upstream_errors() as exc:
            await send(upstream_error_event(exc, secrets))

    async def close(self, exc: BaseException | None = None) -> None:
        """Close the upstream response and account the stream (once; safe under cancellation)."""
        if self._closed or self._stream is None:
            return
        self._closed = True
        with anyio.CancelScope(shield=True):
            try:
                await self._stream.aclose(exc)
            finally:
                await self._account()

    async def _account(self) -> None:
        assert self._stream is not None
        await self._keep(stream_outcome(self._stream.result(), self._started), answered=True)


class SSEResponse(Response):
    """Streams an opened `SSERelay`; a client disconnect cancels the upstream call at once."""

    media_type = "text/event-stream"

    def __init__(
        self,
        relay: SSERelay,
        *,
        headers: Mapping[str, str],
        secrets: tuple[str, ...],
        on_done: Callable[[SSERelay], Awaitable[None]],
    ) -> None:
        self._relay = relay
        self._secrets = secrets
        self._on_done = on_done
        self.status_code = 200
        self.background = None
        self.init_headers({**SSE_HEADERS, **headers})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_chunk(chunk: bytes) -> None:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})

        failure: BaseException | None = None
        try:
            await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
            async with anyio.create_task_group() as group:

                async def watch_disconnect() -> None:
                    while (await receive())["type"] != "http.disconnect":
                        pass
                    group.cancel_scope.cancel()

                group.start_soon(watch_disconnect)
                await self._relay.relay(send_chunk, self._secrets)
                await send({"type": "http.response.body", "body": b"", "more_body": False})
                group.cancel_scope.cancel()
        except OSError as exc:  # the client went away while we were sending
            failure = exc
        except BaseException as exc:
            failure = exc
            raise
        finally:
            await self._relay.close(failure)
            with anyio.CancelScope(shield=True):
                await self._on_done(self._relay)
