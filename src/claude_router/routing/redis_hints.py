"""What routing's Redis stores share: they hold hints (warm caches, who wrote a thinking block), so
a Redis that is slow or down must cost a request nothing but the hint. Needs the `redis` extra."""

from __future__ import annotations

import logging
import time
from typing import ClassVar

from redis import asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

log = logging.getLogger(__name__)


class RedisHints:
    """A Redis client that answers fast or not at all (short timeouts, no retries), left alone for
    `retry_after_s` after a failure, so an outage costs one timeout, not one per request; the
    failure is logged once per outage, its type only, never the URL."""

    #: For the log line: "<store>: Redis unavailable (...); routing without <hints>".
    store: ClassVar[str]
    hints: ClassVar[str]

    def __init__(
        self, redis: str | aioredis.Redis, *, prefix: str, timeout_s: float = 0.25, retry_after_s: float = 5.0
    ) -> None:
        self._owned = isinstance(redis, str)
        if isinstance(redis, str):
            redis = aioredis.Redis.from_url(
                redis, socket_timeout=timeout_s, socket_connect_timeout=timeout_s, retry=Retry(NoBackoff(), 0)
            )
        self.redis = redis
        self.prefix = prefix
        self.retry_after_s = retry_after_s
        self._down_until = 0.0

    @property
    def resting(self) -> bool:
        """Whether Redis is being left alone after a failure."""
        return time.monotonic() < self._down_until

    def failed(self, exc: RedisError) -> None:
        if not self.resting:
            log.warning(
                "%s: Redis unavailable (%s); routing without %s", self.store, type(exc).__name__, self.hints
            )
        self._down_until = time.monotonic() + self.retry_after_s

    async def aclose(self) -> None:
        if self._owned:
            await self.redis.aclose()


__all__ = ["RedisHints"]
