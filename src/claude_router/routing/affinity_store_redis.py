"""The Redis store of cache-aware routing: every gateway replica sees which tier holds a
conversation's warm prompt cache. Needs the `redis` extra.

One string per key (`claude-router:affinity:<key>`) holding the JSON of its warm caches, expiring
with the last of them. A Redis failure reads as "nothing warm" and a lost write as nothing learnt:
routing then falls back to the plain policy, never to an error. Redis is left alone for
`retry_after_s` after a failure, so an outage costs one timeout, not one per request.
"""

from __future__ import annotations

import json

from redis import asyncio as aioredis
from redis.exceptions import RedisError

from .affinity_store import TTL_S, Entries, WarmCache
from .redis_hints import RedisHints

REDIS_PREFIX = "claude-router:affinity:"


class RedisAffinityStore(RedisHints):
    store, hints = "cache affinity", "cache hints"

    def __init__(self, redis: str | aioredis.Redis, *, prefix: str = REDIS_PREFIX, **options: float) -> None:
        super().__init__(redis, prefix=prefix, **options)

    async def load(self, key: str) -> Entries:
        if self.resting:
            return {}
        try:
            raw = await self.redis.get(self.prefix + key)
        except RedisError as exc:
            self.failed(exc)
            return {}
        if raw is None:
            return {}
        try:
            return {str(family): _entry(value) for family, value in json.loads(raw).items()}
        except (ValueError, TypeError, KeyError, AttributeError):  # a foreign or older value: nothing warm
            return {}

    async def save(self, key: str, entries: Entries, *, now: float) -> None:
        if not entries or self.resting:
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
            self.failed(exc)


def _entry(value: dict[str, object]) -> WarmCache:
    ttl = str(value["ttl"])
    if ttl not in TTL_S:
        raise ValueError(f"unknown cache TTL {ttl!r}")
    return WarmCache(str(value["model"]), int(str(value["tokens"])), float(str(value["expires_at"])), ttl)
