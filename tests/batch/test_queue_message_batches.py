"""The queue's record of Message Batches, and release, on both backends (SQLite file, local Redis)."""

from __future__ import annotations

import asyncio

from claude_router.batch import JobQueue, JobStatus, MessageBatchRef, StatusCounts

from .conftest import OpenQueue, make_jobs

LEASE = 0.4  # the fixtures' lease


def ref(batch: str, job_id: str) -> MessageBatchRef:
    return MessageBatchRef(batch, f"c-{job_id}", {"route": {"model": "claude-haiku-4-5"}, "decision": None})


async def test_the_message_batch_outlives_the_lease_and_reaches_the_next_claimer(connect: OpenQueue) -> None:
    first, heir = await connect(), await connect()
    jobs = make_jobs("b1", 3)
    await first.submit("b1", jobs)
    claimed = await first.claim("doomed", 3)
    refs = {job.id: ref("msgbatch_1", job.id) for job in claimed[:2]}
    assert await first.record_message_batch("doomed", refs) == 2

    await asyncio.sleep(LEASE + 0.1)  # the worker died: its leases run out
    taken = {job.id: job for job in await heir.claim("heir", 3)}

    assert set(taken) == {job.id for job in jobs}
    assert taken[jobs[0].id].message_batch == refs[jobs[0].id]
    assert taken[jobs[1].id].message_batch == refs[jobs[1].id]
    assert taken[jobs[2].id].message_batch is None
    assert (await heir.results("b1"))[1].message_batch == refs[jobs[1].id]


async def test_only_the_holder_of_a_lease_records_a_message_batch(queue: JobQueue) -> None:
    jobs = make_jobs("b1", 2)
    await queue.submit("b1", jobs)
    (held,) = await queue.claim("w1", 1)
    other = {held.id: ref("msgbatch_x", held.id)}
    assert await queue.record_message_batch("w2", other) == 0  # not its lease
    queued = {jobs[1].id: ref("msgbatch_x", jobs[1].id)}
    assert await queue.record_message_batch("w1", queued) == 0  # not leased at all
    assert [job.message_batch for job in await queue.results("b1")] == [None, None]


async def test_release_requeues_at_once_without_spending_an_attempt(queue: JobQueue) -> None:
    jobs = make_jobs("b1", 4)
    await queue.submit("b1", jobs)
    claimed = await queue.claim("w1", 3)
    await queue.ack(claimed[0].id, {"ok": True})
    await queue.record_message_batch("w1", {claimed[1].id: ref("msgbatch_2", claimed[1].id)})

    released_ids = [job.id for job in claimed]
    assert await queue.release("w2", released_ids) == 0  # someone else's leases stay put
    assert await queue.release("w1", released_ids) == 2  # the done job is not touched
    assert await queue.batch_status("b1") == StatusCounts(queued=3, done=1)

    again = {job.id: job for job in await queue.claim("w2", 10)}  # no wait for a lease to expire
    assert set(again) == {job.id for job in jobs[1:]}
    assert {job.attempts for job in again.values()} == {1}
    assert again[claimed[1].id].message_batch == ref("msgbatch_2", claimed[1].id)
    statuses = [job.status for job in await queue.results("b1")]
    assert statuses == [JobStatus.DONE, JobStatus.LEASED, JobStatus.LEASED, JobStatus.LEASED]
