"""The Redis store of cache-aware routing: every gateway replica sees which tier holds a
conversation's warm prompt cache. Needs the `redis` extra.

One string per key (`claude-router:affinity:<key>`) holding the JSON of its warm caches, expiring
with the last of them. A Redis failure reads as "nothing warm" and a lost write as nothing learnt:
routing then falls back to the plain policy, never to an error. Redis is left alone for
`retry_after_s` after a failure, so an outage costs one timeout, not one per request.
"""

from __future__ import annotations

import json
import logging
import time

from redis import asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from .affinity_store import TTL_S, Entries, WarmCache

log = logging.getLogger(__name__)

REDIS_PREFIX = "claude-router:affinity:"


class RedisAffinityStore:
    def __init__(
        self,
        redis: str | aioredis.Redis,
        *,
        prefix: str = REDIS_PREFIX,
        timeout_s: float = 0.25,
        retry_after_s: float = 5.0,
    ) -> None:
        self._owned = isinstance(redis, str)
        if isinstance(redis, str):  # routing must not wait on its hints: short timeouts, no retries
            redis = aioredis.Redis.from_url(
                redis, socket_timeout=timeout_s, socket_connect_timeout=timeout_s, retry=Retry(NoBackoff(), 0)
            )
        self.redis = redis
        self.prefix = prefix
        self.retry_after_s = retry_after_s
        self._down_until = 0.0

    async def load(self, key: str) -> Entries:
        if time.monotonic() < self._down_until:
            return {}
        try:
            raw = await self.redis.get(self.prefix + key)
        except RedisError as exc:
            self._failed(exc)
            return {}
        if raw is None:
            return {}
        try:
            return {str(family): _entry(value) for family, value in json.loads(raw).items()}
        except (ValueError, TypeError, KeyError, AttributeError):  # a foreign or older value: nothing warm
            return {}

    async def save(self, key: str, entries: Entries, *, now: float) -> None:
        if not entries or time.monotonic() < self._down_until:
            return
        ttl_ms = int((max(e.expires_at for e in entries.values()) - now) * 1000)
        if ttl_ms <= 0:
            return
        value = json.dumps(
            {
                f: {"model": e.model, "tokens": e.tokens, "expires_at": e.expires_at, "ttl": e.ttl}
                for f, e in entries.items()
            }
        )
        try:
            await self.redis.set(self.prefix + key, value, px=ttl_ms)
        except RedisError as exc:
            self._failed(exc)

    async def aclose(self) -> None:
        if self._owned:
            await self.redis.aclose()

    def _failed(self, exc: RedisError) -> None:
        if time.monotonic() >= self._down_until:  # once per outage; the type only, never the URL
            log.warning(
                "cache affinity: Redis unavailable (%s); routing without cache hints", type(exc).__name__
            )
        self._down_until = time.monotonic() + self.retry_after_s


def _entry(value: dict[str, object]) -> WarmCache:
    ttl = str(value["ttl"])
    if ttl not in TTL_S:
        raise ValueError(f"unknown cache TTL {ttl!r}")
    return WarmCache(str(value["model"]), int(str(value["tokens"])), float(str(value["expires_at"])), ttl)
