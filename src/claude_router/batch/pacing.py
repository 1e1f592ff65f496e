"""How many requests a worker keeps in flight: additive increase, multiplicative decrease (AIMD).

The limit grows by about one request per round of completions while the API's
`anthropic-ratelimit-*-remaining` headers say there is room, holds when the room runs low, and
halves on a 429 (at most once per back-off, so a burst of 429s from one moment is one signal,
not many). A 429's `retry-after` pauses every new request until it has passed: the account's
bucket refills meanwhile, and nothing hammers a limit that is already spent.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass

from ..upstream import RateLimits

LIMIT_KINDS = ("requests", "tokens", "input-tokens", "output-tokens")
DEFAULT_PAUSE_S = 1.0  # a 429 without retry-after


@dataclass(frozen=True, slots=True)
class PacingSettings:
    initial: int = 8
    minimum: int = 1
    maximum: int = 256
    grow_while_room_above: float = 0.2  # remaining / limit, the tightest limit family
    decrease_factor: float = 0.5


def room(limits: RateLimits | None) -> float | None:
    """The smallest remaining/limit fraction over the limit families the headers report."""
    if limits is None:
        return None
    fractions = []
    for kind in LIMIT_KINDS:
        limit, remaining = limits.limit(kind), limits.remaining(kind)
        if limit and remaining is not None:
            fractions.append(remaining / limit)
    return min(fractions) if fractions else None


class AdaptiveConcurrency:
    """A semaphore whose size follows the rate-limit signals: `async with pacer: ...`."""

    def __init__(self, settings: PacingSettings | None = None, *, clock: Callable[[], float] | None = None):
        self.settings = settings = settings or PacingSettings()
        if not 1 <= settings.minimum <= settings.initial <= settings.maximum:
            raise ValueError("concurrency must satisfy 1 <= minimum <= initial <= maximum")
        self.limit = float(settings.initial)
        self.in_flight = 0
        self.throttled = 0  # 429s seen
        self.peak = settings.initial
        self._clock = clock or time.monotonic
        self._paused_until = 0.0
        self._changed = asyncio.Condition()

    @property
    def current(self) -> int:
        return max(self.settings.minimum, int(self.limit))

    async def __aenter__(self) -> AdaptiveConcurrency:
        async with self._changed:
            while True:
                wait = self._paused_until - self._clock()
                if wait <= 0 and self.in_flight < self.current:
                    break
                # Woken by a release or a limit change, or when the pause ends.
                with suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), timeout=wait if wait > 0 else None)
            self.in_flight += 1
        return self

    async def __aexit__(self, *_: object) -> None:
        async with self._changed:
            self.in_flight -= 1
            self._changed.notify_all()

    def succeeded(self, limits: RateLimits | None) -> None:
        """A request was answered; grow while the tightest limit has room (or no headers say)."""
        fraction = room(limits)
        if fraction is None or fraction > self.settings.grow_while_room_above:
            self.limit = min(float(self.settings.maximum), self.limit + 1.0 / self.limit)
            self.peak = max(self.peak, self.current)

    def throttle(self, retry_after_s: float | None) -> float:
        """A 429: halve (once per pause) and pause new requests; returns the seconds to wait."""
        self.throttled += 1
        pause = retry_after_s if retry_after_s is not None and retry_after_s >= 0 else DEFAULT_PAUSE_S
        now = self._clock()
        if now >= self._paused_until:  # the first 429 of this back-off
            self.limit = max(float(self.settings.minimum), self.limit * self.settings.decrease_factor)
        self._paused_until = max(self._paused_until, now + pause)
        return self._paused_until - now


__all__ = ["AdaptiveConcurrency", "PacingSettings", "room"]
