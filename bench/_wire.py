"""HTTP/1.1 on raw asyncio protocols (uvloop, httptools' C parser) for the gateway benchmark's stub
upstream and load generator: both cost a few microseconds a request, so on a 2-core machine the
CPU goes to the servers being measured, not to the harness around them.

Keep-alive only, no pipelining, Content-Length bodies (chunked only where the stub streams).
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast
from urllib.parse import urlsplit

import httptools
import uvloop

# ---- the stub upstream --------------------------------------------------------------------------


@dataclass(frozen=True)
class StubAnswers:
    """What the stub sends: a JSON body at once, or for a `"stream": true` request an SSE head
    at once and its tail after `hold_s`."""

    json: bytes
    sse_head: bytes
    sse_tail: bytes
    hold_s: float


def _response(body: bytes, content_type: bytes) -> bytes:
    return (
        b"HTTP/1.1 200 OK\r\ncontent-type: " + content_type + b"\r\nrequest-id: req_bench\r\n"
        b"content-length: " + str(len(body)).encode() + b"\r\n\r\n" + body
    )


def _chunk(data: bytes) -> bytes:
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


class _HttpProtocol(asyncio.Protocol):
    """One connection fed to an httptools parser (which calls back `on_body` and the like)."""

    def __init__(self, parser: httptools.HttpRequestParser | httptools.HttpResponseParser) -> None:
        self._parser = parser
        self._body = bytearray()
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's is one, not a subclass

    def data_received(self, data: bytes) -> None:
        self._parser.feed_data(data)

    def on_body(self, body: bytes) -> None:
        self._body += body


class _StubProtocol(_HttpProtocol):
    def __init__(self, answers: StubAnswers, json_response: bytes) -> None:
        super().__init__(httptools.HttpRequestParser(self))
        self._answers = answers
        self._json_response = json_response

    def on_message_complete(self) -> None:
        transport = self._transport
        assert transport is not None
        streamed = b'"stream":true' in bytes(self._body).replace(b" ", b"")
        self._body.clear()
        if not streamed:
            transport.write(self._json_response)
            return
        transport.write(
            b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nrequest-id: req_bench\r\n"
            b"transfer-encoding: chunked\r\n\r\n" + _chunk(self._answers.sse_head)
        )

        def finish() -> None:
            if not transport.is_closing():
                transport.write(_chunk(self._answers.sse_tail) + b"0\r\n\r\n")

        asyncio.get_running_loop().call_later(self._answers.hold_s, finish)


def serve_stub(host: str, port: int, answers: StubAnswers) -> None:
    """Serve `answers` on `host:port` until the process is stopped."""
    json_response = _response(answers.json, b"application/json")

    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(
            lambda: _StubProtocol(answers, json_response), host, port, backlog=2048
        )
        await server.serve_forever()

    uvloop.run(main())


# ---- the load generator -------------------------------------------------------------------------


class _ClientProtocol(_HttpProtocol):
    """One keep-alive connection: `request` sends the prepared bytes and waits for the whole answer."""

    def __init__(self) -> None:
        super().__init__(httptools.HttpResponseParser(self))
        self._done: asyncio.Future[int] | None = None

    def on_message_complete(self) -> None:
        if self._done is not None and not self._done.done():
            self._done.set_result(self._parser.get_status_code())

    def connection_lost(self, exc: Exception | None) -> None:
        if self._done is not None and not self._done.done():
            self._done.set_exception(ConnectionError(f"connection lost: {exc}"))

    async def request(self, wire: bytes) -> tuple[int, bytes]:
        assert self._transport is not None
        self._done = asyncio.get_running_loop().create_future()
        self._body.clear()
        self._transport.write(wire)
        status = await self._done
        return status, bytes(self._body)


def request_bytes(url: str, path: str, body: bytes, headers: dict[str, str]) -> bytes:
    netloc = urlsplit(url).netloc
    lines = [f"POST {path} HTTP/1.1", f"host: {netloc}", f"content-length: {len(body)}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


@dataclass(frozen=True)
class LoadResult:
    p50: float
    p99: float
    rps: float

    def as_dict(self) -> dict[str, float]:
        return {"p50": self.p50, "p99": self.p99, "rps": self.rps}


def run_load(url: str, wire: bytes, concurrency: int, requests: int, warmup: int = 20) -> LoadResult:
    """`requests` requests over `concurrency` keep-alive connections, each sent as soon as the
    connection's previous answer is in; every answer must be a 200."""
    return uvloop.run(_load(url, wire, concurrency, requests, warmup))


async def _load(url: str, wire: bytes, concurrency: int, requests: int, warmup: int) -> LoadResult:
    parts = urlsplit(url)
    loop = asyncio.get_running_loop()
    connections: list[_ClientProtocol] = []
    for _ in range(concurrency):
        _, protocol = await loop.create_connection(_ClientProtocol, parts.hostname, parts.port)
        connections.append(protocol)

    async def checked(connection: _ClientProtocol) -> None:
        status, body = await connection.request(wire)
        if status != 200:
            raise RuntimeError(f"{url}: {status} {body[:200]!r}")

    for i in range(warmup):  # warm-up: caches on the far side, then every connection at once
        await checked(connections[i % concurrency])
    await asyncio.gather(*(checked(c) for c in connections))
    latencies: list[float] = []
    remaining = requests
    clock: Callable[[], float] = time.perf_counter

    async def worker(connection: _ClientProtocol) -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            started = clock()
            await checked(connection)
            latencies.append(clock() - started)

    began = clock()
    await asyncio.gather(*(worker(c) for c in connections))
    elapsed = clock() - began
    for connection in connections:
        if connection._transport is not None:
            connection._transport.close()
    latencies.sort()
    return LoadResult(
        p50=statistics.median(latencies),
        p99=latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
        rps=len(latencies) / elapsed,
    )
