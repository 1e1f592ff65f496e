"""Every Redis key, stream group, TTL and chunk size of the Redis queue, in one place.

Layout of a queue named N under the prefix `claude-router:queue` (`[queue] redis_prefix` sets
another). Every key carries the hash tag `{N}`, so a Redis Cluster keeps one queue in one slot, as
its Lua scripts (which touch several keys at once) require::

    claude-router:queue:{N}:stream                  STREAM  one entry per queued job: {"id": job id}
    claude-router:queue:{N}:job:<job id>            HASH    spec, batch, pos, status, attempts, entry,
                                                            owner, lease_until (ms), error, result,
                                                            message_batch, message_batch_request
    claude-router:queue:{N}:batch:<batch id>        ZSET    the batch's job ids, scored by position
    claude-router:queue:{N}:batch:<batch id>:counts HASH    status -> jobs of the batch
    claude-router:queue:{N}:counts                  HASH    status -> jobs of the whole queue
    claude-router:queue:{N}:parked                  ZSET    parked job ids, scored by when (ms)
    claude-router:queue:{N}:reclaim-cursor          STRING  where the next XAUTOCLAIM scan resumes

Workers read the stream through one consumer group; a claimed entry stays in the group's
pending list until the job is done, failed, parked or canceled, when it is acknowledged and
deleted, so the stream holds only unfinished work.
"""

from __future__ import annotations

from dataclasses import dataclass

PREFIX = "claude-router:queue"
GROUP = "workers"
# The consumer that briefly holds expired entries while `reclaim_expired` puts them back.
RECLAIMER = "reclaimer"
# A finished job, and a batch with nothing pending, stay readable this long; until then a
# resubmitted job id is still a duplicate.
RESULT_TTL_S = 7 * 24 * 3600
SUBMIT_CHUNK = 500  # jobs per atomic submit script call
RESULTS_CHUNK = 500  # job hashes read per pipeline round trip
RECLAIM_SCAN = 100  # pending entries examined per XAUTOCLAIM call in `reclaim_expired`
COUNTS_SUFFIX = ":counts"
# Job hash fields: the Message Batch a job's request went to, and its custom_id and routing
# (JSON). Set while the job is leased; kept through expiry and release, for the next claimer.
MESSAGE_BATCH_FIELD = "message_batch"
MESSAGE_BATCH_REQUEST_FIELD = "message_batch_request"


@dataclass(frozen=True, slots=True)
class QueueKeys:
    """The key names of one queue."""

    name: str
    prefix: str = PREFIX

    def __post_init__(self) -> None:
        if not self.name or "{" in self.name or "}" in self.name:
            raise ValueError(f"a queue name must be non-empty and brace-free, got {self.name!r}")
        if "{" in self.prefix or "}" in self.prefix:  # the queue's hash tag must stay its only one
            raise ValueError(f"a queue's Redis prefix must be brace-free, got {self.prefix!r}")

    @property
    def base(self) -> str:
        return f"{self.prefix}:{{{self.name}}}:"

    @property
    def stream(self) -> str:
        return self.base + "stream"

    @property
    def counts(self) -> str:
        return self.base + "counts"

    @property
    def parked(self) -> str:
        return self.base + "parked"

    @property
    def reclaim_cursor(self) -> str:
        return self.base + "reclaim-cursor"

    @property
    def job_prefix(self) -> str:
        return self.base + "job:"

    @property
    def batch_prefix(self) -> str:
        return self.base + "batch:"

    def job(self, job_id: str) -> str:
        return self.job_prefix + job_id

    def batch(self, batch_id: str) -> str:
        return self.batch_prefix + batch_id

    def batch_counts(self, batch_id: str) -> str:
        return self.batch_prefix + batch_id + COUNTS_SUFFIX
