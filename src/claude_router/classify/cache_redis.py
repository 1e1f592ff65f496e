"""The Redis backend of the classifier cache: shared by every gateway replica, entries expire.

Values are compact (`simple:0.8`); every key starts with `REDIS_PREFIX`. Needs the `redis` extra.
"""

from __future__ import annotations

import asyncio
import logging
import time

from redis import asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from ..types import Decision, Label
from .cache import cached_decision

log = logging.getLogger(__name__)

#: Every Redis key this cache writes starts with this.
REDIS_PREFIX = "claude-router:clf:"
DEFAULT_TTL_S = 7 * 24 * 3600

_LABELS_BY_VALUE = {label.value: label for label in Label}


class RedisCache:
    """Shared by every process; entries expire after `ttl_s`. A Redis failure is a miss.

    After a failure Redis is left alone for `retry_after_s`, so an outage costs one timeout,
    not one per request; the failure is logged once per outage (type only, never the URL).
    """

    def __init__(
        self,
        redis: str | aioredis.Redis,
        *,
        ttl_s: int = DEFAULT_TTL_S,
        prefix: str = REDIS_PREFIX,
        timeout_s: float = 0.25,
        retry_after_s: float = 5.0,
    ) -> None:
        if isinstance(redis, str):
            # A cache must answer fast or not at all: short timeouts, no client-side retries.
            redis = aioredis.Redis.from_url(
                redis, socket_timeout=timeout_s, socket_connect_timeout=timeout_s, retry=Retry(NoBackoff(), 0)
            )
            self._owned = True
        else:
            self._owned = False
        self.redis = redis
        self.ttl_s = ttl_s
        self.prefix = prefix.encode()
        self.timeout_s = timeout_s
        self.retry_after_s = retry_after_s
        self._down_until = 0.0
        self._outage_logged = False

    def redis_key(self, key: bytes) -> bytes:
        return self.prefix + key.hex().encode()

    async def get(self, key: bytes) -> Decision | None:
        if self._resting():
            return None
        try:
            async with asyncio.timeout(self.timeout_s):
                raw = await self.redis.get(self.redis_key(key))
        except (RedisError, OSError, TimeoutError) as exc:
            self._failed(exc)
            return None
        self._recovered()
        return None if raw is None else _decode(raw)

    async def set(self, key: bytes, decision: Decision) -> None:
        if self._resting():
            return
        try:
            async with asyncio.timeout(self.timeout_s):
                await self.redis.set(self.redis_key(key), _encode(decision), ex=self.ttl_s)
        except (RedisError, OSError, TimeoutError) as exc:
            self._failed(exc)
            return
        self._recovered()

    async def aclose(self) -> None:
        if self._owned:
            await self.redis.aclose()

    def _resting(self) -> bool:
        return self._down_until > 0.0 and time.monotonic() < self._down_until

    def _failed(self, exc: BaseException) -> None:
        self._down_until = time.monotonic() + self.retry_after_s
        if not self._outage_logged:
            self._outage_logged = True
            log.warning(
                "classifier cache: Redis unavailable (%s); serving misses, retrying every %.0f s",
                type(exc).__name__,
                self.retry_after_s,
            )

    def _recovered(self) -> None:
        if self._outage_logged:
            self._outage_logged = False
            log.info("classifier cache: Redis is back")
        self._down_until = 0.0


def _encode(decision: Decision) -> bytes:
    return f"{decision.label.value}:{decision.confidence:g}".encode()


def _decode(raw: bytes | str) -> Decision | None:
    """A stored value, or None (a miss) if it is not one of ours."""
    text = raw if isinstance(raw, str) else raw.decode("ascii", "replace")
    label, _, confidence = text.partition(":")
    try:
        return cached_decision(_LABELS_BY_VALUE[label], float(confidence))
    except (KeyError, ValueError):
        return None
