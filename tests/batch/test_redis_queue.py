"""What only the Redis backend does: its key layout, a stream that holds only unfinished work,
expiry of finished jobs, the parked set, and separate queues by name."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from claude_router.batch import JobError, JobStatus, StatusCounts
from claude_router.batch import redis_keys as rk
from claude_router.batch.redis_queue import RedisJobQueue
from claude_router.config import QueueSettings

from .conftest import make_jobs


@pytest.fixture
async def client(clean_redis_url: str) -> AsyncIterator[aioredis.Redis]:
    connection = aioredis.Redis.from_url(clean_redis_url, decode_responses=True)
    yield connection
    await connection.aclose()


@pytest.fixture
async def queue(clean_redis_url: str) -> AsyncIterator[RedisJobQueue]:
    opened = await RedisJobQueue.open(clean_redis_url, QueueSettings(name="q1", lease_s=0.3, max_attempts=2))
    yield opened
    await opened.close()


async def test_every_key_is_under_the_queue_hash_tag(queue: RedisJobQueue, client: aioredis.Redis) -> None:
    await queue.submit("b1", make_jobs("b1", 3))
    [job] = await queue.claim("w", 1)
    await queue.ack(job.id, {"ok": True})
    keys = [str(key) for key in await client.keys("*")]
    assert keys
    assert all(key.startswith("claude-router:queue:{q1}:") for key in keys)


async def test_the_stream_holds_only_unfinished_work(queue: RedisJobQueue, client: aioredis.Redis) -> None:
    stream = queue.keys.stream
    await queue.submit("b1", make_jobs("b1", 4))
    assert await client.xlen(stream) == 4
    a, b, c = await queue.claim("w", 3)
    assert (await client.xpending(stream, rk.GROUP))["pending"] == 3
    await queue.ack(a.id, {})
    await queue.fail(b.id, JobError("api_error", "x"), retry=False)
    await queue.fail(c.id, JobError("api_error", "x"), retry=True)  # a new entry at the end
    assert await client.xlen(stream) == 2
    assert (await client.xpending(stream, rk.GROUP))["pending"] == 0
    await queue.cancel("b1")
    assert await client.xlen(stream) == 0


async def test_finished_jobs_and_batches_expire_pending_ones_do_not(
    queue: RedisJobQueue, client: aioredis.Redis
) -> None:
    await queue.submit("b1", make_jobs("b1", 2))
    first, second = await queue.claim("w", 2)
    await queue.ack(first.id, {})
    assert 0 < await client.ttl(queue.keys.job(first.id)) <= rk.RESULT_TTL_S
    assert await client.ttl(queue.keys.job(second.id)) == -1
    assert await client.ttl(queue.keys.batch("b1")) == -1  # something is still pending
    await queue.ack(second.id, {})
    assert 0 < await client.ttl(queue.keys.batch("b1")) <= rk.RESULT_TTL_S
    assert 0 < await client.ttl(queue.keys.batch_counts("b1")) <= rk.RESULT_TTL_S
    await queue.submit("b1", make_jobs("b1", 1, start=2))  # the batch grows: pending again
    assert await client.ttl(queue.keys.batch("b1")) == -1


async def test_parked_jobs_are_listed_until_they_succeed(
    queue: RedisJobQueue, client: aioredis.Redis
) -> None:
    await queue.submit("b1", make_jobs("b1", 1))
    for _ in range(2):
        [job] = await queue.claim("w", 1)
        status = await queue.fail(job.id, JobError("overloaded_error", "Overloaded"), retry=True)
    assert status is JobStatus.PARKED
    assert await client.zrange(queue.keys.parked, 0, -1) == ["b1-0"]
    assert await queue.ack("b1-0", {"fixed": "by hand"})
    assert await client.zrange(queue.keys.parked, 0, -1) == []
    assert await queue.batch_status("b1") == StatusCounts(done=1)


async def test_an_extended_lease_is_handed_back_not_stolen(
    clean_redis_url: str, queue: RedisJobQueue
) -> None:
    other = await RedisJobQueue.open(clean_redis_url, queue.settings)
    try:
        await queue.submit("b1", make_jobs("b1", 1))
        [job] = await queue.claim("w1", 1)
        await queue.extend(job.id, 30)
        await asyncio.sleep(0.4)  # idle beyond the lease the other worker claims with
        assert await other.claim("w2", 1) == []
        assert await other.reclaim_expired() == 0
        assert await queue.ack(job.id, {"by": "w1"})
    finally:
        await other.close()


async def test_queues_with_different_names_are_separate(clean_redis_url: str, queue: RedisJobQueue) -> None:
    other = await RedisJobQueue.open(clean_redis_url, QueueSettings(name="q2"))
    try:
        await queue.submit("b1", make_jobs("b1", 2))
        assert await other.submit("b1", make_jobs("b1", 2)) == ["b1-0", "b1-1"]
        assert len(await other.claim("w", 10)) == 2
        assert len(await queue.claim("w", 10)) == 2
    finally:
        await other.close()
