"""Serving the emulator: `serve` (blocking, for the CLI), `running_emulator` (in-process, for tests
and the demo: a real uvicorn server on a free local port) and `emulator_thread` (the same on a
background thread, for synchronous code).

    async with running_emulator(EmulatorConfig()) as base_url:
        client = anthropic.AsyncAnthropic(base_url=base_url, api_key="any")
"""

from __future__ import annotations

import asyncio
import logging
import queue
import socket
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager

import uvicorn

from .app import create_app
from .config import EmulatorConfig

LOCALHOST = "127.0.0.1"
STARTUP_TIMEOUT_S = 10.0
SHUTDOWN_TIMEOUT_S = 10.0


class _InjectedDrops(logging.Filter):
    """Hides uvicorn's complaint about an unfinished response: the emulator drops those on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != "ASGI callable returned without completing response."


def _config(config: EmulatorConfig | None, log_level: str, access_log: bool) -> uvicorn.Config:
    server_log = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _InjectedDrops) for f in server_log.filters):
        server_log.addFilter(_InjectedDrops())
    return uvicorn.Config(
        create_app(config),
        log_level=log_level,
        access_log=access_log,
        server_header=False,
        lifespan="on",
    )


def serve(
    config: EmulatorConfig | None = None,
    host: str = LOCALHOST,
    port: int = 8099,
    *,
    log_level: str = "info",
    access_log: bool = False,
) -> None:
    """Run the emulator until interrupted (one uvicorn worker)."""
    settings = _config(config, log_level, access_log)
    settings.host, settings.port = host, port
    uvicorn.Server(settings).run()


@asynccontextmanager
async def running_emulator(
    config: EmulatorConfig | None = None, *, log_level: str = "warning"
) -> AsyncIterator[str]:
    """An emulator served on a free port of 127.0.0.1 for the duration; yields its base URL.

    It starts and stops in milliseconds: uvicorn's own `serve()` polls for shutdown every 100 ms
    and then sleeps another 100 ms, which a test suite starting hundreds of servers would feel.
    """
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY only on sockets that say so, and without it
    # every response (headers, then body) waits out the client's delayed ACK.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((LOCALHOST, 0))
    port = sock.getsockname()[1]
    settings = _config(config, log_level, access_log=False)
    settings.load()
    server = uvicorn.Server(settings)
    server.lifespan = settings.lifespan_class(settings)
    try:
        await server.startup(sockets=[sock])
        if server.should_exit:
            raise RuntimeError("the emulator failed to start (see the log above)")
        yield f"http://{LOCALHOST}:{port}"
    finally:
        if server.started:
            await _stop(server)
        sock.close()


async def _stop(server: uvicorn.Server) -> None:
    """uvicorn's graceful shutdown, without its fixed waits: stop listening, let open requests
    finish (connections close once idle), then run the app's shutdown (batch tasks stop)."""
    for listener in server.servers:
        listener.close()
    for connection in list(server.server_state.connections):
        connection.shutdown()
    in_flight = set(server.server_state.tasks)
    task = asyncio.current_task()
    if task is not None and task.cancelling():  # its owner is being cancelled: no one waits for answers
        for request in in_flight:
            request.cancel()
    if in_flight:
        await asyncio.wait(in_flight, timeout=SHUTDOWN_TIMEOUT_S)
    await server.lifespan.shutdown()


@contextmanager
def emulator_thread(config: EmulatorConfig | None = None, *, log_level: str = "warning") -> Iterator[str]:
    """`running_emulator` on its own event loop in a background thread, for synchronous callers."""
    ready: queue.Queue[str | BaseException] = queue.Queue()
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()

    async def main() -> None:
        try:
            async with running_emulator(config, log_level=log_level) as url:
                ready.put(url)
                await stop.wait()
        except Exception as exc:  # noqa: BLE001 - a thread boundary: handed to the caller, raised there
            ready.put(exc)

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    thread.start()
    started = ready.get(timeout=STARTUP_TIMEOUT_S)
    try:
        if isinstance(started, BaseException):
            raise started
        yield started
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join()
        loop.close()
