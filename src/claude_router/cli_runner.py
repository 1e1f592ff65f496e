"""How a command runs its async work: `run(coro)`, with Ctrl-C that stops it within a second.

On the first Ctrl-C the work is cancelled, so that its `async with` blocks close what they opened
(a ledger flushes, a queue releases its jobs). If that clean-up has not finished
`INTERRUPT_GRACE_S` later, or on a second Ctrl-C, the process ends there: an interrupted user
must not wait out a graceful shutdown's timeouts. The command line's boundary then prints one
line and exits 130.

Whenever the work does not end normally (interrupted, failed, or stdout closed under it), what it
leaves behind is torn down quietly: servers being stopped (the embedded emulator, uvicorn) would
otherwise log a traceback for each request they were serving, burying the one line that matters.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Coroutine
from types import FrameType
from typing import Any, TypeVar

T = TypeVar("T")

INTERRUPT_GRACE_S = 1.0
INTERRUPTED_EXIT = 130  # 128 + SIGINT, as shells report it
INTERRUPTED_LINE = "interrupted"


def hard_exit(line: str = INTERRUPTED_LINE, code: int = INTERRUPTED_EXIT) -> None:
    """End the process now, after one line on stderr."""
    try:
        sys.stderr.write(line + "\n")
    finally:
        fast_exit(code)


def fast_exit(code: int) -> None:
    """End the process without the interpreter's teardown (most of a second once the SDK is loaded),
    for a user who pressed Ctrl-C. Standard streams are flushed first: `os._exit` would not."""
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        os._exit(code)


class _Interrupt:
    """The SIGINT handler while `run` is running: cancel the work, then a deadline, then exit."""

    def __init__(
        self, loop: asyncio.AbstractEventLoop, grace_s: float, on_deadline: Callable[[], None]
    ) -> None:
        self.loop = loop
        self.task: asyncio.Task[Any] | None = None
        self.fired = False
        self._deadline = threading.Timer(grace_s, on_deadline)
        self._deadline.daemon = True

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        if self.fired:  # a second Ctrl-C: no more waiting
            hard_exit()
        self.fired = True
        _quiet(self.loop)
        self._deadline.start()
        if self.task is not None:
            self.loop.call_soon_threadsafe(self.task.cancel)

    def disarm(self) -> None:
        self._deadline.cancel()


def _quiet(loop: asyncio.AbstractEventLoop) -> None:
    """No more log lines or "Task exception was never retrieved" while the work is torn down."""
    logging.disable(logging.CRITICAL)
    loop.set_exception_handler(lambda _loop, _context: None)


def run(
    work: Coroutine[Any, Any, T],
    *,
    grace_s: float = INTERRUPT_GRACE_S,
    loop_factory: Callable[[], asyncio.AbstractEventLoop] | None = None,
) -> T:
    """Run `work` to completion on a new event loop (made by `loop_factory`, else asyncio's own);
    `KeyboardInterrupt` once Ctrl-C has stopped it."""
    runner = asyncio.Runner(loop_factory=loop_factory)
    loop = runner.get_loop()
    interrupt = _Interrupt(loop, grace_s, hard_exit)

    async def main() -> T:
        interrupt.task = asyncio.current_task()
        return await work

    in_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGINT, interrupt) if in_main_thread else None
    logging_was = logging.root.manager.disable
    ended = False
    try:
        result = runner.run(main())
        ended = True
        return result
    except asyncio.CancelledError:
        if interrupt.fired:
            raise KeyboardInterrupt from None
        raise
    finally:
        if not ended:
            _quiet(loop)
        runner.close()  # cancels what the work left running (under the deadline when interrupted)
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
        interrupt.disarm()
        logging.disable(logging_was)


__all__ = ["INTERRUPTED_EXIT", "INTERRUPTED_LINE", "INTERRUPT_GRACE_S", "fast_exit", "hard_exit", "run"]
