"""How a command runs its async work: `run(coro)`, with Ctrl-C that stops it within a second.

On the first Ctrl-C the work is cancelled, so that its `async with` blocks close what they opened
(a ledger flushes, a queue releases its jobs), and logging goes quiet: servers being torn down
(the embedded emulator, uvicorn) would otherwise log a traceback per cancelled request. If the
clean-up has not finished `INTERRUPT_GRACE_S` later, or on a second Ctrl-C, the process ends
there: an interrupted user must not wait for a graceful shutdown's timeouts. Either way the
command line's boundary prints one line and exits 130.
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
    """End the process now, after one line on stderr (buffers flushed: `os._exit` would not)."""
    try:
        sys.stdout.flush()
        sys.stderr.write(line + "\n")
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
        self._timer = threading.Timer(grace_s, on_deadline)
        self._timer.daemon = True

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        if self.fired:  # a second Ctrl-C: no more waiting
            hard_exit()
        self.fired = True
        logging.disable(logging.CRITICAL)
        self._timer.start()
        if self.task is not None:
            self.loop.call_soon_threadsafe(self.task.cancel)

    def disarm(self) -> None:
        self._timer.cancel()


def run(work: Coroutine[Any, Any, T], *, grace_s: float = INTERRUPT_GRACE_S) -> T:
    """Run `work` to completion on a new event loop; `KeyboardInterrupt` once Ctrl-C has stopped it."""
    with asyncio.Runner() as runner:
        interrupt = _Interrupt(runner.get_loop(), grace_s, hard_exit)

        async def main() -> T:
            interrupt.task = asyncio.current_task()
            return await work

        in_main_thread = threading.current_thread() is threading.main_thread()
        previous = signal.signal(signal.SIGINT, interrupt) if in_main_thread else None
        try:
            return runner.run(main())
        except asyncio.CancelledError:
            if interrupt.fired:
                raise KeyboardInterrupt from None
            raise
        finally:
            if previous is not None:
                signal.signal(signal.SIGINT, previous)
            if interrupt.fired:
                runner.close()  # cancels what the work left behind, under the deadline
            interrupt.disarm()


__all__ = ["INTERRUPTED_EXIT", "INTERRUPTED_LINE", "INTERRUPT_GRACE_S", "hard_exit", "run"]
