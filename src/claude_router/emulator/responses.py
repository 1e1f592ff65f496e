"""ASGI responses the emulator needs beyond Starlette's: paced SSE, a dropped connection, errors.

A dropped connection is an answer that starts (status and headers sent) and never completes: the
server then closes the socket and the client sees the body cut short, as after a network failure.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Mapping
from typing import Any

from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send

from .config import TierLatency
from .errors import EmulatorError
from .sse import events

JSON_TYPE = b"application/json"
SSE_TYPE = b"text/event-stream; charset=utf-8"


def _raw(headers: Mapping[str, str]) -> list[tuple[bytes, bytes]]:
    return [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]


def json_body(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def json_response(
    payload: dict[str, Any], headers: Mapping[str, str] | None = None, status: int = 200
) -> Response:
    return Response(json_body(payload), status, headers=dict(headers or {}), media_type="application/json")


def error_response(error: EmulatorError, request_id: str) -> Response:
    return json_response(error.body(request_id), error.headers, error.status)


class DroppedResponse:
    """Sends the status, the headers and half the body, then stops: the connection is dropped."""

    def __init__(self, body: bytes, headers: Mapping[str, str]) -> None:
        self._body = body
        self._headers = headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = [(b"content-type", JSON_TYPE), (b"content-length", str(len(self._body)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers + _raw(self._headers)})
        await send(
            {"type": "http.response.body", "body": self._body[: len(self._body) // 2], "more_body": True}
        )


class StreamResponse:
    """A Message replayed as server-sent events, paced by the model line's latency.

    The first content event waits for the time to first token; later ones follow the output rate,
    scheduled from the start so that many small sleeps do not drift. With `drop`, the connection is
    dropped after the first content delta.
    """

    def __init__(
        self, message: dict[str, Any], latency: TierLatency, headers: Mapping[str, str], *, drop: bool = False
    ) -> None:
        self._message = message
        self._latency = latency
        self._headers = headers
        self._drop = drop

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = [(b"content-type", SSE_TYPE), (b"cache-control", b"no-cache"), *_raw(self._headers)]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        gone = asyncio.Event()
        watcher = asyncio.ensure_future(_watch_disconnect(receive, gone))
        try:
            if await self._send_events(send, gone):
                await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            watcher.cancel()

    async def _send_events(self, send: Send, gone: asyncio.Event) -> bool:
        """Send every event; False when the client left or the connection is to be dropped."""
        started = time.monotonic()
        due, tokens, rate = 0.0, 0.0, self._latency.output_tokens_per_s
        frames = list(events(self._message))
        # Events count tokens of the text they carry; the model's tokenizer may count more.
        carried = sum(e.output_tokens for e in frames)
        scale = self._message["usage"]["output_tokens"] / carried if carried else 1.0
        for event in frames:
            if event.first_content:
                due = self._latency.ttft_s
            tokens += event.output_tokens * scale
            wait = due + (tokens / rate if rate else 0.0) - (time.monotonic() - started)
            if wait > 0:
                await asyncio.sleep(wait)
            if gone.is_set():
                return False
            await send({"type": "http.response.body", "body": event.data, "more_body": True})
            if self._drop and event.output_tokens:
                return False
        return True


async def _watch_disconnect(receive: Receive, gone: asyncio.Event) -> None:
    while True:
        message: Message = await receive()
        if message["type"] == "http.disconnect":
            gone.set()
            return
