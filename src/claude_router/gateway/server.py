"""Serving the gateway with uvicorn: `serve` (on a socket from `listen`, for the CLI) and
`running_gateway` (in-process on a free local port, for tests and benchmarks)."""

from __future__ import annotations

import asyncio
import gc
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import uvicorn
from starlette.types import ASGIApp

LOCALHOST = "127.0.0.1"
STARTUP_TIMEOUT_S = 15.0


def uvicorn_config(app: ASGIApp, *, log_level: str = "info", access_log: bool = False) -> uvicorn.Config:
    # No WebSocket routes: `ws="none"` keeps uvicorn from importing a WebSocket library at all.
    return uvicorn.Config(
        app, log_level=log_level, access_log=access_log, server_header=False, lifespan="on", ws="none"
    )


def listen(host: str, port: int) -> socket.socket:
    """A listening TCP socket on `host:port` (port 0: a free one); `OSError` when it is taken."""
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY only on sockets that say so, and without it
    # each response (headers, then body) waits out the client's delayed ACK (~40 ms).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


async def serve(app: ASGIApp, sock: socket.socket, *, log_level: str = "info") -> None:
    """Serve `app` on `sock` until interrupted (one uvicorn worker in this event loop)."""
    # What is imported and built by now lives as long as the process (the SDK's many types above
    # all): moved out of the collector's sight, a full collection walks only what requests
    # allocate, so its pauses, and the tail latency they cause, stay short.
    gc.freeze()
    await uvicorn.Server(uvicorn_config(app, log_level=log_level)).serve(sockets=[sock])


@asynccontextmanager
async def running_gateway(app: ASGIApp, *, log_level: str = "warning") -> AsyncIterator[str]:
    """`app` served on a free port of 127.0.0.1 for the duration; yields its base URL."""
    sock = listen(LOCALHOST, 0)
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn_config(app, log_level=log_level))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        async with asyncio.timeout(STARTUP_TIMEOUT_S):
            while not server.started:
                if task.done():
                    await task  # startup failed: raise its error
                    raise RuntimeError("the gateway stopped during startup")
                await asyncio.sleep(0.005)
        yield f"http://{LOCALHOST}:{port}"
    finally:
        server.should_exit = True
        await task
        sock.close()
