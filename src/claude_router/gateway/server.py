"""Serving the gateway with uvicorn: `serve` (on a socket from `listen`, for the CLI),
`serve_workers` (several processes on that socket) and `running_gateway` (in-process on a free
local port, for tests and benchmarks)."""

from __future__ import annotations

import asyncio
import gc
import logging
import multiprocessing
import os
import signal
import socket
import tempfile
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from functools import partial
from types import FrameType
from typing import Any

import uvicorn
from prometheus_client.multiprocess import mark_process_dead
from starlette.types import ASGIApp
from uvicorn.config import STARTUP_FAILURE

from .metrics import MULTIPROCESS_DIR

log = logging.getLogger(__name__)

LOCALHOST = "127.0.0.1"
STARTUP_TIMEOUT_S = 15.0
BACKLOG = 2048  # uvicorn's own default


def uvicorn_config(
    app: Any, *, log_level: str = "info", access_log: bool = False, **more: Any
) -> uvicorn.Config:
    # No WebSocket routes: `ws="none"` keeps uvicorn from importing a WebSocket library at all.
    return uvicorn.Config(
        app, log_level=log_level, access_log=access_log, server_header=False, lifespan="on", ws="none", **more
    )


def listen(host: str, port: int, *, reuse_port: bool = False) -> socket.socket:
    """A TCP socket bound to `host:port` (port 0: a free one); `OSError` when it is taken.
    `reuse_port`: other sockets with the option may bind the same port (one per worker)."""
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY only on sockets that say so, and without it
    # each response (headers, then body) waits out the client's delayed ACK (~40 ms).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
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


def serve_workers(
    factory: Callable[[], ASGIApp], host: str, port: int, *, workers: int, log_level: str = "info"
) -> None:
    """Serve in `workers` processes on `host:port` until SIGINT or SIGTERM.

    Each worker is spawned with a listening socket of its own, all bound to the port with
    SO_REUSEPORT, so the kernel spreads connections over the workers evenly (workers sharing one
    socket do not: whichever wakes first accepts a whole burst). Each builds its app with `factory`
    (pickled to it) and runs the app's lifespan. A worker that dies after starting is replaced on
    its socket; one that fails to start stops them all. SIGINT or SIGTERM stops every worker as
    uvicorn stops (requests and lifespans finished; then `KeyboardInterrupt` for SIGINT); a second
    one kills them. Runs in the main
    thread (it sets the signal handlers), outside any event loop; `OSError` when the port is taken.
    """
    sockets = _reuse_port_sockets(host, port, workers)
    config = uvicorn_config(partial(_frozen, factory), log_level=log_level, factory=True)
    try:
        # Each worker's metrics go to files here (the workers inherit the variable), and /metrics
        # in any worker sums them all.
        with tempfile.TemporaryDirectory(prefix="claude-router-metrics-") as shared_metrics:
            os.environ[MULTIPROCESS_DIR] = shared_metrics
            try:
                _supervise(config, sockets, shared_metrics)
            finally:
                del os.environ[MULTIPROCESS_DIR]
    finally:
        for sock in sockets:
            sock.close()


def _supervise(config: uvicorn.Config, sockets: list[socket.socket], shared_metrics: str) -> None:
    """One worker per socket, kept running until a signal (see `serve_workers`)."""
    spawn = multiprocessing.get_context("spawn")
    stopping = threading.Event()
    procs: list[multiprocessing.process.BaseProcess] = []
    received: list[int] = []

    def on_signal(signum: int, frame: FrameType | None) -> None:
        if stopping.is_set():  # asked twice: no more waiting
            for proc in procs:
                proc.kill()
        received.append(signum)
        stopping.set()

    def start(sock: socket.socket) -> multiprocessing.process.BaseProcess:
        proc = spawn.Process(target=_work, args=(config, sock), name="claude-router-gateway")
        proc.start()
        return proc

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        procs.extend(start(sock) for sock in sockets)
        while not stopping.wait(0.5):
            for i, proc in enumerate(procs):
                if proc.is_alive():
                    continue
                if proc.exitcode == STARTUP_FAILURE:  # it would fail the same way again
                    log.error("a gateway worker failed to start; stopping")
                    stopping.set()
                    break
                log.error("gateway worker %s exited (%s); starting another", proc.pid, proc.exitcode)
                if proc.pid is not None:  # its in-flight count went with it
                    mark_process_dead(proc.pid, shared_metrics)  # type: ignore[no-untyped-call]
                procs[i] = start(sockets[i])
        for proc in procs:
            if proc.is_alive():
                proc.terminate()  # SIGTERM: uvicorn's graceful stop
        for proc in procs:
            proc.join()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if received[:1] == [signal.SIGINT]:
        raise KeyboardInterrupt  # stopped cleanly; the command line says so as for one worker


def _reuse_port_sockets(host: str, port: int, count: int) -> list[socket.socket]:
    """`count` listening sockets on one port. The port is first bound alone, without SO_REUSEPORT:
    a port another server holds is an `OSError` here, not a port silently shared with it."""
    listen(host, port).close()
    sockets: list[socket.socket] = []
    try:
        for _ in range(count):
            sockets.append(listen(host, port, reuse_port=True))
            port = sockets[0].getsockname()[1]  # port 0: the one the first socket was given
    except OSError:
        for sock in sockets:
            sock.close()
        raise
    for sock in sockets:
        sock.listen(BACKLOG)
    return sockets


def _work(config: uvicorn.Config, sock: socket.socket) -> None:
    """A worker process: uvicorn on its own socket (its logging set up again: it was spawned)."""
    config.configure_logging()
    with suppress(KeyboardInterrupt):  # uvicorn re-raises the Ctrl-C it stopped on: the stop is done
        uvicorn.Server(config).run(sockets=[sock])


def _frozen(factory: Callable[[], ASGIApp]) -> ASGIApp:
    """`factory`'s app, with what the worker imported and built so far frozen, as `serve` does."""
    app = factory()
    gc.freeze()
    return app


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
