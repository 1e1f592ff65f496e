"""The `JobQueue` contract, run on both backends (real SQLite file, real local Redis)."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime

import pytest

from claude_router.batch import Job, JobError, JobQueue, JobStatus, StatusCounts
from claude_router.errors import InvalidJobError

from .conftest import OpenQueue, make_jobs

OVERLOADED = JobError("overloaded_error", "Overloaded")
LEASE = 0.4  # the fixtures' lease


async def drain(queue: JobQueue, consumer: str, *, poison: frozenset[str] = frozenset()) -> list[Job]:
    """Work the queue like a worker until nothing is pending: poison jobs fail, others succeed."""
    claimed: list[Job] = []
    while (await queue.stats()).counts.pending:
        jobs = await queue.claim(consumer, 2)
        if not jobs:
            await asyncio.sleep(0.05)
            continue
        claimed += jobs
        for job in jobs:
            if job.id in poison:
                await queue.fail(job.id, OVERLOADED, retry=True)
            else:
                await queue.ack(job.id, {"answer": job.params["messages"][0]["content"]})
    return claimed


async def test_submit_is_idempotent_on_the_job_id(queue: JobQueue) -> None:
    first = make_jobs("b1", 5)
    assert await queue.submit("b1", first) == [job.id for job in first]
    more = make_jobs("b1", 2, start=5)
    assert await queue.submit("b1", [*first, *more]) == [job.id for job in more]
    assert await queue.submit("b1", [more[0], more[0]]) == []
    assert await queue.batch_status("b1") == StatusCounts(queued=7)


async def test_a_repeated_id_within_one_submission_is_taken_once(queue: JobQueue) -> None:
    job = make_jobs("b1", 1)[0]
    assert await queue.submit("b1", [job, job]) == [job.id]
    assert len(await queue.claim("w", 10)) == 1


async def test_concurrent_duplicate_submits_accept_each_job_once(connect: OpenQueue) -> None:
    queues = [await connect() for _ in range(4)]
    jobs = make_jobs("b1", 200)
    accepted = await asyncio.gather(*(q.submit("b1", jobs) for q in queues))
    flat = [job_id for ids in accepted for job_id in ids]
    assert sorted(flat) == sorted(job.id for job in jobs)  # every id accepted by exactly one submit
    assert await queues[0].batch_status("b1") == StatusCounts(queued=200)
    assert len(await queues[1].claim("w", 500)) == 200


async def test_results_come_back_in_input_order(queue: JobQueue) -> None:
    jobs = make_jobs("b1", 8)
    random.Random(7).shuffle(jobs)  # submitted out of order: the position decides
    await queue.submit("b1", jobs)
    claimed = await queue.claim("w", 8)
    for job in reversed(claimed):  # finished in yet another order
        if job.position == 3:
            await queue.fail(job.id, JobError("invalid_request_error", "max_tokens: too large"), retry=False)
        else:
            await queue.ack(job.id, {"n": job.position})
    results = await queue.results("b1")
    assert [job.position for job in results] == list(range(8))
    assert [job.id for job in results] == [f"b1-{i}" for i in range(8)]
    assert results[3].status is JobStatus.FAILED
    assert results[3].result == {
        "type": "error",
        "error": {"type": "invalid_request_error", "message": "max_tokens: too large"},
    }
    assert [job.result for job in results if job.position != 3] == [{"n": i} for i in range(8) if i != 3]
    assert await queue.batch_status("b1") == StatusCounts(done=7, failed=1)


async def test_a_job_keeps_everything_it_was_submitted_with(queue: JobQueue) -> None:
    deadline = datetime(2031, 1, 2, 3, 4, 5, tzinfo=UTC)
    job = Job(
        id="custom-1",
        batch_id="b1",
        position=0,
        params={"model": "auto", "max_tokens": 5, "messages": [{"role": "user", "content": "héllo"}]},
        customer="acme",
        tags=("nightly", "eu"),
        deadline=deadline,
        mode="batches-api",  # type: ignore[arg-type]  # a plain string, as read from a file
    )
    await queue.submit("b1", [job])
    [claimed] = await queue.claim("w", 1)
    assert claimed.status is JobStatus.LEASED
    assert claimed.attempts == 1
    assert (claimed.params, claimed.customer, claimed.tags, claimed.deadline) == (
        job.params,
        "acme",
        ("nightly", "eu"),
        deadline,
    )
    assert claimed.mode == "batches-api"
    assert claimed.created_at == job.created_at


async def test_claims_take_the_oldest_jobs_first(queue: JobQueue) -> None:
    await queue.submit("early", make_jobs("early", 3))
    await queue.submit("late", make_jobs("late", 3))
    assert [job.id for job in await queue.claim("w", 4)] == ["early-0", "early-1", "early-2", "late-0"]


async def test_an_expired_lease_is_reclaimed_by_the_next_claim(connect: OpenQueue) -> None:
    q1, q2 = await connect(), await connect()
    await q1.submit("b1", make_jobs("b1", 3))
    held = await q1.claim("w1", 2)
    assert [job.id for job in await q2.claim("w2", 5, lease_s=30)] == ["b1-2"]  # the others are w1's
    await asyncio.sleep(LEASE + 0.2)
    retaken = await q2.claim("w2", 5)
    assert sorted(job.id for job in retaken) == ["b1-0", "b1-1"]
    assert all(job.attempts == 2 for job in retaken)
    assert all(job.last_error and job.last_error.type == "lease_expired" for job in retaken)
    # The first worker finishes late: its result still counts, and the second result is ignored.
    assert await q1.ack(held[0].id, {"by": "w1"})
    assert not await q2.ack(held[0].id, {"by": "w2"})
    assert {job.id: job.result for job in await q1.results("b1")}[held[0].id] == {"by": "w1"}


async def test_extend_keeps_a_job_from_being_reclaimed(connect: OpenQueue) -> None:
    q1, q2 = await connect(), await connect()
    await q1.submit("b1", make_jobs("b1", 1))
    [job] = await q1.claim("w1", 1)
    assert await q1.extend(job.id, 30)
    await asyncio.sleep(LEASE + 0.2)
    assert await q2.claim("w2", 1) == []
    assert await q1.extend(job.id)  # still held by w1
    assert await q1.ack(job.id, {"ok": True})
    assert not await q1.extend(job.id)  # done: nothing to extend
    assert not await q1.extend("no-such-job")


async def test_reclaim_expired_puts_jobs_back(queue: JobQueue) -> None:
    await queue.submit("b1", make_jobs("b1", 4))
    await queue.claim("w1", 3)
    assert await queue.reclaim_expired() == 0  # nothing has expired yet
    await asyncio.sleep(LEASE + 0.2)
    assert await queue.reclaim_expired() == 3
    assert await queue.batch_status("b1") == StatusCounts(queued=4)
    assert sorted(job.attempts for job in await queue.claim("w2", 4)) == [1, 2, 2, 2]


async def test_a_poison_job_is_parked_and_never_blocks_the_queue(queue: JobQueue) -> None:
    await queue.submit("b1", make_jobs("b1", 6))
    claimed = await drain(queue, "w", poison=frozenset({"b1-0"}))
    assert [job.id for job in claimed].count("b1-0") == 3  # max_attempts
    results = await queue.results("b1")
    poison = results[0]
    assert poison.status is JobStatus.PARKED
    assert poison.attempts == 3
    assert poison.last_error == OVERLOADED
    assert poison.result == OVERLOADED.to_record()
    assert [job.status for job in results[1:]] == [JobStatus.DONE] * 5
    assert await queue.claim("w", 10) == []
    assert await queue.fail("b1-0", OVERLOADED, retry=True) is JobStatus.PARKED  # stays parked


async def test_a_job_whose_workers_keep_dying_is_parked(connect: OpenQueue) -> None:
    queue = await connect(lease_s=0.15)
    await queue.submit("b1", make_jobs("b1", 1))
    for _ in range(3):
        assert len(await queue.claim("w", 1)) == 1  # ... and the worker dies with it
        await asyncio.sleep(0.25)
    assert await queue.claim("w", 1) == []
    [job] = await queue.results("b1")
    assert job.status is JobStatus.PARKED
    assert job.last_error is not None
    assert job.last_error.type == "lease_expired"


async def test_fail_only_moves_a_leased_job(queue: JobQueue) -> None:
    await queue.submit("b1", make_jobs("b1", 2))
    assert await queue.fail("b1-0", OVERLOADED, retry=True) is JobStatus.QUEUED  # not leased: unchanged
    [first, second] = await queue.claim("w", 2)
    assert await queue.fail(first.id, OVERLOADED, retry=True) is JobStatus.QUEUED
    await queue.ack(second.id, {"ok": True})
    assert await queue.fail(second.id, OVERLOADED, retry=False) is JobStatus.DONE
    assert await queue.fail("no-such-job", OVERLOADED, retry=False) is None
    [again] = await queue.claim("w", 2)
    assert (again.id, again.attempts, again.last_error) == (first.id, 2, OVERLOADED)


async def test_a_retried_job_goes_behind_the_waiting_ones(queue: JobQueue) -> None:
    await queue.submit("b1", make_jobs("b1", 3))
    [first] = await queue.claim("w", 1)
    await queue.fail(first.id, OVERLOADED, retry=True)
    assert [job.id for job in await queue.claim("w", 3)] == ["b1-1", "b1-2", "b1-0"]


async def test_cancel_stops_a_batch_and_keeps_finished_work(queue: JobQueue) -> None:
    await queue.submit("b1", make_jobs("b1", 6))
    await queue.submit("other", make_jobs("other", 2))
    done, running = await queue.claim("w", 2)
    await queue.ack(done.id, {"ok": 1})
    assert await queue.cancel("b1") == 5  # 4 queued + 1 leased
    assert await queue.cancel("b1") == 0
    assert await queue.batch_status("b1") == StatusCounts(done=1, canceled=5)
    assert [job.batch_id for job in await queue.claim("w", 10)] == ["other", "other"]
    assert await queue.fail(running.id, OVERLOADED, retry=True) is JobStatus.CANCELED
    assert await queue.ack(running.id, {"ok": 2})  # the work finished anyway: keep the answer
    assert await queue.batch_status("b1") == StatusCounts(done=2, canceled=4)


async def test_concurrent_consumers_never_hold_the_same_job(connect: OpenQueue) -> None:
    queues = [await connect(lease_s=30) for _ in range(4)]
    await queues[0].submit("b1", make_jobs("b1", 300))

    async def consume(queue: JobQueue, name: str) -> list[str]:
        held: list[str] = []
        while batch := await queue.claim(name, 7):
            held += [job.id for job in batch]
            await asyncio.sleep(0.005)  # "work" on them, letting the others in
        return held

    held = await asyncio.gather(*(consume(q, f"w{i}") for i, q in enumerate(queues)))
    flat = [job_id for ids in held for job_id in ids]
    assert len(flat) == len(set(flat)) == 300
    assert sum(1 for ids in held if ids) >= 2  # the claims did interleave
    assert await queues[0].batch_status("b1") == StatusCounts(leased=300)


async def test_stats_count_the_whole_queue(queue: JobQueue) -> None:
    await queue.submit("b1", make_jobs("b1", 4))
    await queue.submit("b2", make_jobs("b2", 2))
    a, b, _ = await queue.claim("w", 3)
    await queue.ack(a.id, {})
    await queue.fail(b.id, OVERLOADED, retry=False)
    await queue.cancel("b2")
    stats = await queue.stats()
    assert stats.counts == StatusCounts(queued=1, leased=1, done=1, failed=1, canceled=2)
    assert stats.backend in {"sqlite", "redis"}
    assert await queue.batch_status("nope") == StatusCounts()
    assert not (await queue.batch_status("nope")).finished
    assert await queue.results("nope") == []


async def test_finished_work_survives_reopening(connect: OpenQueue) -> None:
    first = await connect()
    await first.submit("b1", make_jobs("b1", 3))
    [job] = await first.claim("w", 1)
    await first.ack(job.id, {"text": "kept"})
    await first.close()
    again = await connect()
    assert await again.batch_status("b1") == StatusCounts(queued=2, done=1)
    assert (await again.results("b1"))[0].result == {"text": "kept"}
    assert await again.submit("b1", make_jobs("b1", 3)) == []


async def test_bad_submissions_and_arguments_are_refused(queue: JobQueue) -> None:
    with pytest.raises(InvalidJobError, match="belongs to batch 'b1', not 'b2'"):
        await queue.submit("b2", make_jobs("b1", 1))
    with pytest.raises(InvalidJobError, match="not JSON-serializable"):
        await queue.submit("b1", [Job(id="x", batch_id="b1", position=0, params={"when": datetime.now(UTC)})])
    with pytest.raises(ValueError, match="lease must be positive"):
        await queue.claim("w", 1, lease_s=0)
    with pytest.raises(ValueError, match="consumer"):
        await queue.claim("", 1)
    assert await queue.claim("w", 0) == []
    await queue.submit("b1", make_jobs("b1", 1))
    [job] = await queue.claim("w", 1)
    with pytest.raises(InvalidJobError, match="the result of job 'b1-0' is not JSON-serializable"):
        await queue.ack(job.id, {"at": datetime.now(UTC)})
    assert await queue.batch_status("b1") == StatusCounts(leased=1)
