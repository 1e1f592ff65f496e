"""What only the Redis backend does: its key layout, a stream that holds only unfinished work,
expiry of finished jobs, the parked set, and separate queues by name."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from claude_router.batch import JobError, JobStatus, StatusCounts
from claude_router.batch import redis_keys as rk
from claude_router.batch.redis_keys import QueueKeys
from claude_router.batch.redis_queue import RedisJobQueue
from claude_router.config import QueueSettings

from .conftest import make_jobs


@pytest.fixture
async def client(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    connection = aioredis.Redis.from_url(redis_url, decode_responses=True)
    yield connection
    await connection.aclose()


@pytest.fixture
def settings(redis_prefix: str) -> QueueSettings:
    return QueueSettings(name="q1", redis_prefix=f"{redis_prefix}:queue", lease_s=0.3, max_attempts=2)


@pytest.fixture
async def queue(redis_url: str, settings: QueueSettings) -> AsyncIterator[RedisJobQueue]:
    opened = await RedisJobQueue.open(redis_url, settings)
    yield opened
    await opened.close()


def test_keys_are_under_the_default_prefix_unless_another_is_set() -> None:
    assert QueueKeys("q1").stream == "claude-router:queue:{q1}:stream"
    assert QueueKeys("q1", "staging:queue").stream == "staging:queue:{q1}:stream"
    with pytest.raises(ValueError, match="brace-free"):
        QueueKeys("q1", "{staging}")


async def test_every_key_is_under_the_prefix_and_the_queue_hash_tag(
    queue: RedisJobQueue, client: aioredis.Redis, redis_prefix: str
) -> None:
    await queue.submit("b1", make_jobs("b1", 3))
    [job] = await queue.claim("w", 1)
    await queue.ack(job.id, {"ok": True})
    keys = [str(key) async for key in client.scan_iter(match=f"{redis_prefix}:*")]
    assert keys
    assert all(key.startswith(f"{redis_prefix}:queue:{{q1}}:") for key in keys)


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


async def test_an_extended_lease_is_handed_back_not_stolen(redis_url: str, queue: RedisJobQueue) -> None:
    other = await RedisJobQueue.open(redis_url, queue.settings)
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


async def test_queues_with_different_names_are_separate(
    redis_url: str, queue: RedisJobQueue, settings: QueueSettings
) -> None:
    other = await RedisJobQueue.open(redis_url, settings.model_copy(update={"name": "q2"}))
    try:
        await queue.submit("b1", make_jobs("b1", 2))
        assert await other.submit("b1", make_jobs("b1", 2)) == ["b1-0", "b1-1"]
        assert len(await other.claim("w", 10)) == 2
        assert len(await queue.claim("w", 10)) == 2
    finally:
        await other.close()
