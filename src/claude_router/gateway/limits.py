"""Per-key rate limits in this process: requests per minute and tokens per minute.

Each limit is a token bucket that holds a minute's allowance and refills continuously, so a key
may burst up to its limit and then proceeds at the limit's pace. A request's tokens are its
input (estimated from the body's size, before any call) plus its `max_tokens`, as the API
counts them for its own limits. Both buckets are checked before either is charged, so a refused
request costs nothing. One event loop owns the buckets: no locks are needed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from ..errors import RateLimitedError
from .keys import KeyInfo

MINUTE_S = 60.0
CHARS_PER_TOKEN = 4  # a conservative estimate of the input's tokens from its JSON size


def estimated_tokens(body_bytes: int, max_tokens: int | None) -> int:
    return body_bytes // CHARS_PER_TOKEN + (max_tokens or 0)


class RateLimits(Protocol):
    async def check(self, key: KeyInfo, tokens: int) -> None:
        """Charge one request of `tokens` to `key`, or raise `RateLimitedError` charging nothing."""
        ...


@dataclass(slots=True)
class _Bucket:
    capacity: float
    level: float
    updated: float

    def refill(self, now: float) -> None:
        rate = self.capacity / MINUTE_S
        self.level = min(self.capacity, self.level + (now - self.updated) * rate)
        self.updated = now

    def wait_s(self, amount: float) -> float:
        """Seconds until `amount` fits (0: it fits now); past a full bucket it never fits."""
        if amount <= self.level:
            return 0.0
        if amount > self.capacity:
            return MINUTE_S
        return (amount - self.level) * MINUTE_S / self.capacity


class RateLimiter:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._buckets: dict[tuple[str, str], _Bucket] = {}

    def admit(self, key: KeyInfo, tokens: int) -> None:
        """Charge one request of `tokens` to `key`, or raise `RateLimitedError` with a retry-after."""
        now = self._clock()
        wanted = [(b, n, what) for b, n, what in self._charges(key, tokens, now) if b is not None]
        for bucket, amount, what in wanted:
            wait = bucket.wait_s(amount)
            if wait > 0:
                raise RateLimitedError(
                    f"this key's {what} limit ({int(bucket.capacity)} per minute) is reached", wait
                )
        for bucket, amount, _ in wanted:
            bucket.level -= amount

    async def check(self, key: KeyInfo, tokens: int) -> None:
        """`admit`, as the shared (Redis) limiter is called."""
        self.admit(key, tokens)

    def _charges(self, key: KeyInfo, tokens: int, now: float) -> list[tuple[_Bucket | None, float, str]]:
        return [
            (self._bucket(key.key_id, "rpm", key.rpm, now), 1.0, "requests-per-minute"),
            (self._bucket(key.key_id, "tpm", key.tpm, now), float(tokens), "tokens-per-minute"),
        ]

    def _bucket(self, key_id: str, kind: str, limit: int | None, now: float) -> _Bucket | None:
        if limit is None:
            return None
        bucket = self._buckets.get((key_id, kind))
        if bucket is None or bucket.capacity != limit:
            bucket = self._buckets[(key_id, kind)] = _Bucket(float(limit), float(limit), now)
        else:
            bucket.refill(now)
        return bucket
