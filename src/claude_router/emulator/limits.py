"""Rate limits as the API applies them: token buckets per API key, refilled continuously.

A bucket holds up to its per-minute limit and refills at limit/60 per second. A request needs one
request token, its input tokens (uncached input plus cache writes) and a non-empty output bucket;
its output tokens are charged once the answer is known (so a large answer can overdraw the bucket
and hold the next request back). Every answer carries the `anthropic-ratelimit-*` headers; a
refusal is a 429 rate_limit_error with `retry-after` (whole seconds until the request would fit).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from .config import RateLimits
from .errors import EmulatorError

_PREFIX = "anthropic-ratelimit-"


@dataclass(slots=True)
class Bucket:
    limit: int
    level: float
    updated: float

    @property
    def rate(self) -> float:
        return self.limit / 60.0

    def refill(self, now: float) -> None:
        self.level = min(self.limit, self.level + (now - self.updated) * self.rate)
        self.updated = now

    def wait_for(self, amount: float) -> float:
        """Seconds until `amount` fits (infinite when it never can)."""
        if amount > self.limit:
            return math.inf
        return max(0.0, (amount - self.level) / self.rate)

    def full_in(self) -> float:
        return max(0.0, (self.limit - self.level) / self.rate)


class RateLimiter:
    def __init__(
        self, limits: RateLimits, clock: Callable[[], float], wall_clock: Callable[[], datetime]
    ) -> None:
        self._limits = {
            "requests": limits.requests_per_minute,
            "input-tokens": limits.input_tokens_per_minute,
            "output-tokens": limits.output_tokens_per_minute,
        }
        self._accounts: dict[str, dict[str, Bucket]] = {}
        self._clock = clock
        self._wall_clock = wall_clock

    def admit(self, key: str, input_tokens: int) -> dict[str, str]:
        """Take one request and `input_tokens` from `key`'s buckets, or raise a 429."""
        buckets = self._buckets(key)
        needs = {"requests": 1.0, "input-tokens": float(input_tokens), "output-tokens": 1.0}
        waits = {name: b.wait_for(needs[name]) for name, b in buckets.items()}
        blocked = {name: w for name, w in waits.items() if w > 0}
        if blocked:
            name, wait = max(blocked.items(), key=lambda item: item[1])
            headers = self.headers(key)
            if math.isfinite(wait):
                headers["retry-after"] = str(max(1, math.ceil(wait)))
            raise EmulatorError(
                429,
                "rate_limit_error",
                f"This request would exceed your rate limit of {buckets[name].limit} "
                f"{name.replace('-', ' ')} per minute. "
                "Please wait before retrying, or reduce the prompt length or max_tokens.",
                headers=headers,
            )
        for name in ("requests", "input-tokens"):
            if name in buckets:
                buckets[name].level -= needs[name]
        return self.headers(key)

    def charge_output(self, key: str, output_tokens: int) -> None:
        bucket = self._buckets(key).get("output-tokens")
        if bucket is not None:
            bucket.level -= output_tokens

    def headers(self, key: str) -> dict[str, str]:
        now = self._wall_clock()
        out: dict[str, str] = {}
        buckets = self._buckets(key)
        for name, bucket in buckets.items():
            out.update(_bucket_headers(name, bucket, now))
        tokens = [buckets[n] for n in ("input-tokens", "output-tokens") if n in buckets]
        if tokens:  # the combined tokens-* headers report the most restrictive token bucket
            tightest = min(tokens, key=lambda b: b.level / b.limit)
            out.update(_bucket_headers("tokens", tightest, now))
        return out

    def _buckets(self, key: str) -> dict[str, Bucket]:
        buckets = self._accounts.get(key)
        now = self._clock()
        if buckets is None:
            buckets = {n: Bucket(lim, float(lim), now) for n, lim in self._limits.items() if lim}
            self._accounts[key] = buckets
        for bucket in buckets.values():
            bucket.refill(now)
        return buckets


def _bucket_headers(name: str, bucket: Bucket, now: datetime) -> dict[str, str]:
    reset = now + timedelta(seconds=bucket.full_in())
    return {
        f"{_PREFIX}{name}-limit": str(bucket.limit),
        f"{_PREFIX}{name}-remaining": str(max(0, math.floor(bucket.level))),
        f"{_PREFIX}{name}-reset": reset.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
    }
