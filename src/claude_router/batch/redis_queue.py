"""The queue on Redis Streams: many workers on many machines drain one stream.

Every state change is one Lua script (`redis_lua/*.lua`), so a job's hash, its stream entry
and the counters move together, and a concurrent duplicate submit is still a no-op. Workers
read through one consumer group (XREADGROUP); a claimed entry stays pending until the job
ends, when it is acknowledged and deleted (XACK, XDEL).

A submission larger than `SUBMIT_CHUNK` jobs is applied chunk by chunk, each chunk atomically;
a submit cut short is completed by submitting the same jobs again.

A lease is measured twice: an entry idle in the pending list beyond the claimer's `lease_s`
is taken by XAUTOCLAIM, and then kept only if the job's own lease deadline (which `extend`
moves) has passed; otherwise it is handed straight back to its owner. Workers that share a
stream should therefore share `lease_s` (`QueueSettings.lease_s`): a shorter lease than a
reclaimer's is only noticed once the entry has been idle for the reclaimer's lease.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from importlib import resources
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import redis.asyncio as redis
from redis.commands.core import AsyncScript
from redis.exceptions import RedisError, ResponseError

from ..config import QueueSettings
from ..errors import QueueError
from . import redis_keys as rk
from .job import Job, JobError, JobStatus, MessageBatchRef, QueueStats, StatusCounts, check_submission, dumps

SCRIPTS = ("submit", "claim", "reclaim", "ack", "fail", "extend", "cancel", "record", "release", "retry")
_JOB_FIELDS = (
    "spec",
    "status",
    "attempts",
    "error",
    "result",
    rk.MESSAGE_BATCH_FIELD,
    rk.MESSAGE_BATCH_REQUEST_FIELD,
)
_REF_FIELDS = (rk.MESSAGE_BATCH_FIELD, rk.MESSAGE_BATCH_REQUEST_FIELD)


def _load_scripts(client: redis.Redis) -> dict[str, AsyncScript]:
    folder = resources.files(__package__).joinpath("redis_lua")
    lib = folder.joinpath("lib.lua").read_text(encoding="utf-8")
    return {
        name: client.register_script(lib + folder.joinpath(f"{name}.lua").read_text(encoding="utf-8"))
        for name in SCRIPTS
    }


def redact(url: str) -> str:
    """The URL without its password, fit for a log line or an error message."""
    parts = urlsplit(url)
    userinfo, at, hostport = parts.netloc.rpartition("@")
    user, colon, _ = userinfo.partition(":")
    if not at or not colon:
        return url
    return urlunsplit(parts._replace(netloc=f"{user}:***@{hostport}"))


class RedisJobQueue:
    """`JobQueue` on Redis Streams. Open with `await RedisJobQueue.open(url, settings)`."""

    backend = "redis"

    def __init__(self, client: redis.Redis, url: str, settings: QueueSettings) -> None:
        self.settings = settings
        self.keys = rk.QueueKeys(settings.name, settings.redis_prefix or rk.PREFIX)
        self.location = redact(url)
        self._client = client
        self._scripts = _load_scripts(client)

    @classmethod
    async def open(
        cls, url: str, settings: QueueSettings | None = None, *, readonly: bool = False
    ) -> RedisJobQueue:
        """The queue on Redis at `url`; its stream and consumer group are made unless `readonly`."""
        settings = settings or QueueSettings()
        try:
            client = redis.Redis.from_url(url, decode_responses=True)
            queue = cls(client, url, settings)
        except ValueError as exc:  # a malformed URL or queue name
            raise QueueError(f"Redis queue at {redact(url)}: {exc}") from None
        if readonly:
            return queue
        try:
            await queue._ensure_group()
        except QueueError:
            await client.aclose()
            raise
        return queue

    async def _ensure_group(self) -> None:
        try:
            await self._client.xgroup_create(self.keys.stream, rk.GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):  # the group exists already: fine
                raise QueueError(f"Redis queue at {self.location}: {exc}") from None
        except RedisError as exc:
            raise QueueError(f"Redis queue at {self.location}: {exc}") from None

    async def _run(self, script: str, keys: Sequence[str] = (), args: Sequence[str | int] = ()) -> Any:
        """Run one script with the arguments every script shares (see lib.lua)."""
        k = self.keys
        common_keys = [k.stream, k.counts, k.parked]
        common_args: list[str | int] = [
            rk.GROUP,
            k.job_prefix,
            k.batch_prefix,
            rk.COUNTS_SUFFIX,
            rk.RESULT_TTL_S,
            _now_ms(),
            self.settings.max_attempts,
        ]
        try:
            return await self._scripts[script](keys=[*common_keys, *keys], args=[*common_args, *args])
        except RedisError as exc:
            raise QueueError(f"Redis queue at {self.location}: {exc}") from exc

    # -- the protocol -------------------------------------------------------------------------

    async def submit(self, batch_id: str, jobs: Sequence[Job]) -> list[str]:
        check_submission(batch_id, jobs)
        accepted: list[str] = []
        for start in range(0, len(jobs), rk.SUBMIT_CHUNK):
            chunk = jobs[start : start + rk.SUBMIT_CHUNK]
            keys = [self.keys.batch(batch_id), *(self.keys.job(job.id) for job in chunk)]
            args: list[str | int] = [batch_id]
            for job in chunk:
                args += [job.id, job.position, job.spec_json()]
            accepted += await self._run("submit", keys, args)
        return accepted

    async def claim(self, consumer: str, n: int, lease_s: float | None = None) -> list[Job]:
        lease_ms = _lease_ms(lease_s, self.settings)
        if not consumer:
            raise ValueError("a consumer name is required")
        if n <= 0:
            return []
        flat = await self._run("claim", [self.keys.reclaim_cursor], [consumer, n, lease_ms, *_REF_FIELDS])
        return [
            Job.from_stored(
                spec,
                status=JobStatus.LEASED,
                attempts=int(attempts),
                last_error=error or None,
                message_batch_id=batch or None,
                message_batch_request=request or None,
            )
            for spec, attempts, error, batch, request in zip(
                flat[1::6], flat[2::6], flat[3::6], flat[4::6], flat[5::6], strict=True
            )
        ]

    async def ack(self, job_id: str, result: Mapping[str, Any]) -> bool:
        return bool(
            await self._run(
                "ack", [self.keys.job(job_id)], [job_id, dumps(result, f"the result of job {job_id!r}")]
            )
        )

    async def fail(self, job_id: str, error: JobError, *, retry: bool) -> JobStatus | None:
        args = [job_id, dumps(error.to_record()), "1" if retry else "0"]
        status = await self._run("fail", [self.keys.job(job_id)], args)
        return JobStatus(status) if status else None

    async def extend(self, job_id: str, lease_s: float | None = None) -> bool:
        lease_ms = _lease_ms(lease_s, self.settings)
        return bool(await self._run("extend", [self.keys.job(job_id)], [lease_ms]))

    async def record_message_batch(self, consumer: str, refs: Mapping[str, MessageBatchRef]) -> int:
        if not refs:
            return 0
        keys = [self.keys.job(job_id) for job_id in refs]
        args: list[str | int] = [consumer, *_REF_FIELDS]
        for ref in refs.values():
            args += [ref.id, ref.request_json()]
        return int(await self._run("record", keys, args))

    async def release(self, consumer: str, job_ids: Sequence[str]) -> int:
        if not job_ids:
            return 0
        return int(await self._run("release", [self.keys.job(job_id) for job_id in job_ids], [consumer]))

    async def reclaim_expired(self) -> int:
        min_idle = _lease_ms(None, self.settings)
        return int(await self._run("reclaim", (), [rk.RECLAIMER, min_idle, rk.RECLAIM_SCAN]))

    async def batch_status(self, batch_id: str) -> StatusCounts:
        counts = await self._call(self._client.hgetall(self.keys.batch_counts(batch_id)))
        return StatusCounts.from_mapping(counts)

    async def results(self, batch_id: str) -> list[Job]:
        ids: list[str] = await self._call(self._client.zrange(self.keys.batch(batch_id), 0, -1))
        jobs: list[Job] = []
        for start in range(0, len(ids), rk.RESULTS_CHUNK):
            async with self._client.pipeline(transaction=False) as pipe:
                for job_id in ids[start : start + rk.RESULTS_CHUNK]:
                    pipe.hmget(self.keys.job(job_id), _JOB_FIELDS)
                rows = await self._call(pipe.execute())
            jobs += [_job(*row) for row in rows if row[0] is not None]  # expired hashes are gone
        return jobs

    async def cancel(self, batch_id: str) -> int:
        return int(await self._run("cancel", [self.keys.batch(batch_id)], [batch_id]))

    async def retry(self, batch_id: str) -> int:
        return int(await self._run("retry", [self.keys.batch(batch_id)], [batch_id, *_REF_FIELDS]))

    async def stats(self) -> QueueStats:
        counts = await self._call(self._client.hgetall(self.keys.counts))
        return QueueStats(self.backend, self.location, StatusCounts.from_mapping(counts))

    async def close(self) -> None:
        await self._client.aclose()

    async def _call(self, pending: Any) -> Any:
        try:
            return await pending
        except RedisError as exc:
            raise QueueError(f"Redis queue at {self.location}: {exc}") from exc


def _job(
    spec: str,
    status: str,
    attempts: str | None,
    error: str | None,
    result: str | None,
    batch: str | None,
    request: str | None,
) -> Job:
    return Job.from_stored(
        spec,
        status=status,
        attempts=int(attempts or 0),
        last_error=error,
        result=result,
        message_batch_id=batch,
        message_batch_request=request,
    )


def _now_ms() -> int:
    return int(time.time() * 1000)


def _lease_ms(lease_s: float | None, settings: QueueSettings) -> int:
    lease = settings.lease_s if lease_s is None else lease_s
    if lease <= 0:
        raise ValueError(f"a lease must be positive, got {lease}s")
    return max(1, round(lease * 1000))


__all__ = ["RedisJobQueue", "redact"]
