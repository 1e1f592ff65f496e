"""Emulator throughput: requests per second on one uvicorn worker, as a ratio to a bare Starlette route.

    .venv/bin/python bench/emulator.py [--seconds 3] [--rounds 2] [--connections 16]

Each server runs alone in its own process (uvicorn, one worker); the load generator is this process,
a lean asyncio HTTP/1.1 client holding keep-alive connections. The servers alternate within one run
and each figure is the best of its rounds (noise only ever slows a round down), so the ratio is
what to read. The baseline is a Starlette route that reads the body and returns a fixed answer.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import socket
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

TARGET_RPS = 3000
HOST = "127.0.0.1"
BODY = json.dumps(
    {
        "model": "claude-haiku-4-5",
        "max_tokens": 64,
        "messages": [{"role": "user", "content": "Is this review positive or negative? 'Great product.'"}],
    }
).encode()


def _request(path: str, body: bytes) -> bytes:
    head = (
        f"POST {path} HTTP/1.1\r\nhost: {HOST}\r\ncontent-type: application/json\r\n"
        f"x-api-key: bench\r\nanthropic-version: 2023-06-01\r\ncontent-length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


# --- servers (each in its own process) ------------------------------------------------------------


def _serve_bare(port: int) -> None:
    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    answer = json.dumps(
        {
            "id": "msg_01" + "x" * 22,
            "type": "message",
            "role": "assistant",
            "model": "claude-haiku-4-5-20251001",
            "content": [{"type": "text", "text": "Positive."}],
            "stop_reason": "end_turn",
            "stop_sequence": None,
            "usage": {"input_tokens": 20, "output_tokens": 3},
        }
    ).encode()

    async def messages(request: Request) -> Response:
        await request.body()
        return Response(answer, media_type="application/json")

    app = Starlette(routes=[Route("/v1/messages", messages, methods=["POST"])])
    uvicorn.run(app, host=HOST, port=port, log_level="warning", access_log=False)


def _serve_emulator(port: int) -> None:
    from claude_router.emulator.server import serve

    serve(None, HOST, port, log_level="warning")


# --- load generator -------------------------------------------------------------------------------


@dataclass
class _Tally:
    ok: int = 0
    failed: int = 0


class _Connection(asyncio.Protocol):
    """Sends the request, reads one whole response (sized or chunked), and sends it again."""

    def __init__(self, request: bytes, tally: _Tally, deadline: float, done: asyncio.Future[None]) -> None:
        self._request = request
        self._tally = tally
        self._deadline = deadline
        self._done = done
        self._buffer = b""
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        transport.write(self._request)

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        while (size := _response_size(self._buffer)) is not None:
            status = int(self._buffer[9:12])
            self._buffer = self._buffer[size:]
            if status == 200:
                self._tally.ok += 1
            else:
                self._tally.failed += 1
            assert self._transport is not None
            if time.perf_counter() >= self._deadline:
                self._transport.close()
                return
            self._transport.write(self._request)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self._done.done():
            self._done.set_result(None)


def _response_size(buffer: bytes) -> int | None:
    """The length of the first complete response in `buffer`, or None while it is incomplete."""
    end = buffer.find(b"\r\n\r\n")
    if end < 0:
        return None
    head = buffer[:end].lower()
    at = head.find(b"content-length:")
    if at >= 0:
        line_end = head.find(b"\r\n", at)
        length = int(head[at + 15 : line_end if line_end >= 0 else len(head)])
        total = end + 4 + length
        return total if len(buffer) >= total else None
    tail = buffer.find(b"\r\n0\r\n\r\n", end)  # chunked: the last chunk
    return tail + 7 if tail >= 0 else None


async def _load(port: int, request: bytes, seconds: float, connections: int) -> float:
    loop = asyncio.get_running_loop()
    tally = _Tally()
    deadline = time.perf_counter() + seconds
    futures = []
    started = time.perf_counter()
    for _ in range(connections):
        done: asyncio.Future[None] = loop.create_future()
        futures.append(done)
        await loop.create_connection(lambda d=done: _Connection(request, tally, deadline, d), HOST, port)
    await asyncio.gather(*futures)
    elapsed = time.perf_counter() - started
    if tally.failed:
        raise RuntimeError(f"{tally.failed} requests failed")
    return tally.ok / elapsed


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _wait_ready(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((HOST, port), 0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"server on port {port} did not start")


def _measure(target: Callable[[int], None], request: bytes, seconds: float, connections: int) -> float:
    port = _free_port()
    process = multiprocessing.get_context("spawn").Process(target=target, args=(port,), daemon=True)
    process.start()
    try:
        _wait_ready(port)
        asyncio.run(_load(port, request, 0.5, connections))  # warm up
        return asyncio.run(_load(port, request, seconds, connections))
    finally:
        process.terminate()
        process.join()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()
    plain = _request("/v1/messages", BODY)
    streamed = _request("/v1/messages", json.dumps({**json.loads(BODY), "stream": True}).encode())
    runs: dict[str, list[float]] = {"bare": [], "emulator": [], "emulator_stream": []}
    for _ in range(args.rounds):
        runs["bare"].append(_measure(_serve_bare, plain, args.seconds, args.connections))
        runs["emulator"].append(_measure(_serve_emulator, plain, args.seconds, args.connections))
        runs["emulator_stream"].append(_measure(_serve_emulator, streamed, args.seconds, args.connections))
    bare, emulator, stream = (max(runs[name]) for name in ("bare", "emulator", "emulator_stream"))
    print(
        f"emulator benchmark: best of {args.rounds} rounds x {args.seconds:g} s, "
        f"{args.connections} keep-alive connections, one uvicorn worker"
    )
    print(f"{'server':<34}{'req/s':>10}{'vs bare route':>16}")
    print(f"{'bare Starlette route (baseline)':<34}{bare:>10,.0f}{1.0:>15.2f}x")
    print(f"{'emulator POST /v1/messages':<34}{emulator:>10,.0f}{emulator / bare:>15.2f}x")
    print(f"{'emulator, stream=true':<34}{stream:>10,.0f}{stream / bare:>15.2f}x")
    verdict = "meets" if emulator >= TARGET_RPS else "MISSES"
    print(f"target >= {TARGET_RPS:,} non-streaming req/s: {verdict} ({emulator / TARGET_RPS:.2f}x target)")
    sys.exit(0 if emulator >= TARGET_RPS else 1)


if __name__ == "__main__":
    main()
