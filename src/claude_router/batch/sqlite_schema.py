"""The SQLite queue's schema (ordered, named migrations) and the statements of its hot path."""

from __future__ import annotations

import sqlite3
import time

# Applied in order, each once, recorded in `queue_migrations`. Append; never edit a shipped one.
MIGRATIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "m001_jobs",
        (
            """CREATE TABLE jobs (
                seq INTEGER PRIMARY KEY,      -- submission order
                id TEXT NOT NULL UNIQUE,      -- the idempotency key
                batch_id TEXT NOT NULL,
                position INTEGER NOT NULL,    -- input order within the batch
                status TEXT NOT NULL,
                attempts INTEGER NOT NULL DEFAULT 0,
                ready_at REAL NOT NULL,       -- when it (re)joined the queue: claims take the oldest
                lease_owner TEXT,
                lease_until REAL,             -- unix time
                last_error TEXT,              -- JSON error record
                result TEXT,                  -- JSON
                spec TEXT NOT NULL,           -- JSON: the job as submitted
                updated_at REAL NOT NULL
            )""",
            "CREATE INDEX jobs_ready ON jobs (ready_at, seq) WHERE status = 'queued'",
            "CREATE INDEX jobs_lease ON jobs (lease_until) WHERE status = 'leased'",
            "CREATE INDEX jobs_batch ON jobs (batch_id, position)",
        ),
    ),
    (
        # Where a job went on the Message Batches API, so the next claimer polls it, not resends.
        "m002_message_batches",
        (
            "ALTER TABLE jobs ADD COLUMN message_batch_id TEXT",
            "ALTER TABLE jobs ADD COLUMN message_batch_request TEXT",  # JSON: custom_id, routing
        ),
    ),
)


def migrate(conn: sqlite3.Connection) -> list[str]:
    """Apply the migrations this file lacks, under the write lock; return their names."""
    conn.execute("CREATE TABLE IF NOT EXISTS queue_migrations (name TEXT PRIMARY KEY, applied_at REAL)")
    applied: list[str] = []
    conn.execute("BEGIN IMMEDIATE")
    with conn:  # commits, or rolls back on error
        done = {row[0] for row in conn.execute("SELECT name FROM queue_migrations")}
        for name, statements in MIGRATIONS:
            if name in done:
                continue
            for statement in statements:
                conn.execute(statement)
            conn.execute("INSERT INTO queue_migrations (name, applied_at) VALUES (?, ?)", (name, time.time()))
            applied.append(name)
    return applied


def missing(conn: sqlite3.Connection) -> list[str]:
    """The migrations this file lacks (all of them when it holds no queue), found by reading only."""
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    done = set()
    if "queue_migrations" in tables:
        done = {row[0] for row in conn.execute("SELECT name FROM queue_migrations")}
    return [name for name, _ in MIGRATIONS if name not in done]


INSERT = """
INSERT INTO jobs (id, batch_id, position, status, ready_at, spec, updated_at)
VALUES (?, ?, ?, 'queued', ?, ?, ?) ON CONFLICT (id) DO NOTHING
"""

# The error record of a job whose worker stopped renewing its lease.
_LEASE_EXPIRED = """json_object('type', 'error', 'error', json_object('type', 'lease_expired',
    'message', 'the lease expired on attempt ' || attempts || ' (the worker stopped or stalled)'))"""

# Jobs out of attempts are parked first; the remaining expired leases go back to their old place.
PARK_EXPIRED = f"""
UPDATE jobs SET status = 'parked', last_error = {_LEASE_EXPIRED}, result = {_LEASE_EXPIRED},
    lease_owner = NULL, lease_until = NULL, updated_at = :now
WHERE status = 'leased' AND lease_until < :now AND attempts >= :max_attempts
"""
REQUEUE_EXPIRED = f"""
UPDATE jobs SET status = 'queued', last_error = {_LEASE_EXPIRED},
    lease_owner = NULL, lease_until = NULL, updated_at = :now
WHERE status = 'leased' AND lease_until < :now
"""

CLAIM = """
UPDATE jobs SET status = 'leased', lease_owner = :owner, lease_until = :until,
    attempts = attempts + 1, updated_at = :now
WHERE seq IN (SELECT seq FROM jobs WHERE status = 'queued' ORDER BY ready_at, seq LIMIT :n)
RETURNING ready_at, seq, spec, status, attempts, last_error, message_batch_id, message_batch_request
"""

# Any result beats an error or a cancel (the work was done); the first result wins.
ACK = """
UPDATE jobs SET status = 'done', result = :result, lease_owner = NULL, lease_until = NULL, updated_at = :now
WHERE id = :id AND status != 'done'
"""

FAIL = """
UPDATE jobs SET
    status = CASE WHEN NOT :retry THEN 'failed' WHEN attempts < :max_attempts THEN 'queued' ELSE 'parked' END,
    ready_at = CASE WHEN :retry AND attempts < :max_attempts THEN :now ELSE ready_at END,
    result = CASE WHEN :retry AND attempts < :max_attempts THEN NULL ELSE :error END,
    last_error = :error, lease_owner = NULL, lease_until = NULL, updated_at = :now
WHERE id = :id AND status = 'leased'
RETURNING status
"""

RECORD_MESSAGE_BATCH = """
UPDATE jobs SET message_batch_id = :batch, message_batch_request = :request, updated_at = :now
WHERE id = :id AND status = 'leased' AND lease_owner = :owner
"""

# Back to its old place in the queue, as if never claimed.
RELEASE = """
UPDATE jobs SET status = 'queued', attempts = max(attempts - 1, 0),
    lease_owner = NULL, lease_until = NULL, updated_at = :now
WHERE id = :id AND status = 'leased' AND lease_owner = :owner
"""

EXTEND = "UPDATE jobs SET lease_until = :until, updated_at = :now WHERE id = :id AND status = 'leased'"

CANCEL = """
UPDATE jobs SET status = 'canceled', lease_owner = NULL, lease_until = NULL, updated_at = :now
WHERE batch_id = :batch_id AND status IN ('queued', 'leased')
"""

# A failed or parked job queued again as new: no attempts, no result, no Message Batch to resume.
RETRY = """
UPDATE jobs SET status = 'queued', attempts = 0, ready_at = :now, result = NULL,
    message_batch_id = NULL, message_batch_request = NULL, updated_at = :now
WHERE batch_id = :batch_id AND status IN ('failed', 'parked')
"""

IDS_PER_QUERY = 500  # well under SQLite's limit on bound parameters
KNOWN_IDS = "SELECT id FROM jobs WHERE id IN ({marks})"
STATUS_OF = "SELECT status FROM jobs WHERE id = ?"
BATCH_COUNTS = "SELECT status, count(*) FROM jobs WHERE batch_id = ? GROUP BY status"
ALL_COUNTS = "SELECT status, count(*) FROM jobs GROUP BY status"
RESULTS = """
SELECT spec, status, attempts, last_error, result, message_batch_id, message_batch_request
FROM jobs WHERE batch_id = ? ORDER BY position, seq
"""
