"""The Redis store of thinking-signature writers: every gateway worker and replica knows which
model wrote a signature any of them passed on. Needs the `redis` extra.

One string per digest (`<prefix><digest>` holding the model id), expiring after `TTL_S`. A Redis
failure reads as "writer unknown" and a lost write as nothing learnt: the conversation is then
routed by its label, never refused. Redis is left alone for `retry_after_s` after a failure
(`redis_hints.RedisHints`).
"""

from __future__ import annotations

from collections.abc import Iterable

from redis import asyncio as aioredis
from redis.exceptions import RedisError

from .redis_hints import RedisHints
from .thinking_writers import TTL_S

REDIS_PREFIX = "claude-router:thinking:"


class RedisWriterStore(RedisHints):
    store, hints = "thinking writers", "them"

    def __init__(
        self, redis: str | aioredis.Redis, *, prefix: str = REDIS_PREFIX, ttl_s: int = TTL_S, **options: float
    ) -> None:
        super().__init__(redis, prefix=prefix, **options)
        self.ttl_s = ttl_s

    async def recall(self, key: str) -> str | None:
        if self.resting:
            return None
        try:
            raw = await self.redis.get(self.prefix + key)
        except RedisError as exc:
            self.failed(exc)
            return None
        if raw is None:
            return None
        return raw.decode() if isinstance(raw, bytes) else str(raw)

    async def remember(self, keys: Iterable[str], model: str) -> None:
        if self.resting:
            return
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                for key in keys:
                    pipe.set(self.prefix + key, model, ex=self.ttl_s)
                await pipe.execute()
        except RedisError as exc:
            self.failed(exc)


__all__ = ["REDIS_PREFIX", "RedisWriterStore"]
