"""Serving the gateway with uvicorn: `serve` (blocking, for the CLI) and `running_gateway`
(in-process on a free local port, for tests and benchmarks)."""

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


def serve(app: ASGIApp, *, host: str, port: int, log_level: str = "info") -> None:
    """Run `app` until interrupted (one uvicorn worker)."""
    config = uvicorn_config(app, log_level=log_level)
    config.host, config.port = host, port
    # What is imported and built by now lives as long as the process (the SDK's many types above
    # all): moved out of the collector's sight, a full collection walks only what requests
    # allocate, so its pauses, and the tail latency they cause, stay short.
    gc.freeze()
    uvicorn.Server(config).run()


@asynccontextmanager
async def running_gateway(app: ASGIApp, *, log_level: str = "warning") -> AsyncIterator[str]:
    """`app` served on a free port of 127.0.0.1 for the duration; yields its base URL."""
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY only on sockets that say so, and without it
    # each response (headers, then body) waits out the client's delayed ACK (~40 ms).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((LOCALHOST, 0))
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
