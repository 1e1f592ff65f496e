"""A synchronous face for scripts: one `Router` on a private event loop in a daemon thread.

    with SyncRouter() as router:
        routed = router.create(model="auto", max_tokens=256, messages=[...])
        print(routed.label, routed.model_used, routed.cost_usd)

Every call hands a coroutine to that loop (`asyncio.run_coroutine_threadsafe`) and blocks until it
ends, so the router, its connection pool and its classifier cache live on one loop for their
whole life. `close()` (or leaving the `with` block) closes the router, stops the loop and joins the
thread; a router that is never closed is closed at interpreter exit, so the thread never leaks.
The synchronous `anthropic.Anthropic` client takes a `SyncRouter` as middleware
(`router_middleware(sync_router)`), which runs the router's work on the same loop.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
import weakref
from collections.abc import Coroutine, Iterable, Mapping
from types import TracebackType
from typing import Any, Self, TypeVar

from .config import Settings
from .routing.router import RoutedError, RoutedResponse, Router, RouterRequest
from .types import Decision, RequestMeta

T = TypeVar("T")

STARTUP_TIMEOUT_S = 10.0


class LoopClosedError(RuntimeError):
    """Work was handed to an event loop thread that has been closed."""


class EventLoopThread:
    """An asyncio event loop running in a daemon thread, fed coroutines from other threads.

    The loop runs under `asyncio.run`, so closing it cancels what is still pending, finalises
    async generators and shuts the default executor down before the thread ends.
    """

    def __init__(self, name: str = "claude-router") -> None:
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._closed = False
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._main, name=name, daemon=True)
        self._thread.start()
        if not self._ready.wait(STARTUP_TIMEOUT_S):
            raise RuntimeError("the event loop thread did not start")

    def _main(self) -> None:
        asyncio.run(self._serve())

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        self._ready.set()
        await self._stop.wait()

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        assert self._loop is not None  # set before __init__ returns
        return self._loop

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def thread(self) -> threading.Thread:
        return self._thread

    def in_loop_thread(self) -> bool:
        return threading.current_thread() is self._thread

    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Schedule `coro` on the loop; its result arrives in the returned future."""
        with self._lock:
            if self._closed:
                coro.close()  # never started: close it so it is not reported as never awaited
                raise LoopClosedError("this router is closed")
            return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run `coro` on the loop and wait for its result (from any thread but the loop's own)."""
        if self.in_loop_thread():
            coro.close()
            raise RuntimeError("blocking on the router's own loop from inside it would deadlock")
        future = self.submit(coro)
        try:
            return future.result()
        except BaseException:  # KeyboardInterrupt while waiting: stop the work too
            future.cancel()
            raise

    async def run_async(self, coro: Coroutine[Any, Any, T]) -> T:
        """Await `coro` from another event loop while it runs on this one."""
        if self.in_loop_thread():
            return await coro
        return await asyncio.wrap_future(self.submit(coro))

    def close(self) -> None:
        """Stop the loop (pending work is cancelled) and join the thread. Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        assert self._stop is not None
        self.loop.call_soon_threadsafe(self._stop.set)
        if not self.in_loop_thread():
            self._thread.join()


def _shutdown(thread: EventLoopThread, router: Router) -> None:
    """Close `router` on its loop, then the loop. Holds no reference to the `SyncRouter`."""
    if thread.closed:
        return
    try:
        if not thread.in_loop_thread():
            thread.run(router.aclose())
    finally:
        thread.close()


class SyncRouter:
    """`Router` for synchronous code: the same methods, blocking. A context manager.

    `settings` and `router_kwargs` are `Router`'s (`ledger=`, `classifier=`, `upstream=`, ...);
    the router is built on the private loop, where all of its work runs.
    """

    def __init__(self, settings: Settings | None = None, **router_kwargs: Any) -> None:
        thread = EventLoopThread()
        try:
            router = thread.run(_build(settings, router_kwargs))
        except BaseException:
            thread.close()
            raise
        self.loop_thread = thread
        self.router = router
        self._finalizer = weakref.finalize(self, _shutdown, thread, router)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the router and stop its thread. Idempotent."""
        self._finalizer()

    @property
    def closed(self) -> bool:
        return self.loop_thread.closed

    def create(self, *, meta: RequestMeta | None = None, **params: Any) -> RoutedResponse:
        """`Router.create`, blocking."""
        return self.loop_thread.run(self.router.create(meta=meta, **params))

    def map(
        self, requests: Iterable[RouterRequest | Mapping[str, Any]], *, concurrency: int = 5
    ) -> list[RoutedResponse | RoutedError]:
        """`Router.map`, blocking: at most `concurrency` at a time, results in input order."""
        return self.loop_thread.run(self.router.map(list(requests), concurrency=concurrency))

    def classify(self, params: Mapping[str, Any]) -> Decision:
        """The classifier's decision for a Messages API body."""
        return self.loop_thread.run(self.router.classify(params))


async def _build(settings: Settings | None, router_kwargs: Mapping[str, Any]) -> Router:
    return Router(settings, **router_kwargs)


__all__ = ["EventLoopThread", "LoopClosedError", "SyncRouter"]
