"""Every Redis key and TTL of the gateway's shared state, in one place.

Layout under a prefix P (default `claude-router:gw`)::

    P:rate:<key id>:<rpm|tpm>                    HASH    level, updated (ms): one token bucket
    P:budget:<kind>:<id>:<period tag>:spent      STRING  nano-dollars spent (or held by batches)
    P:budget:<kind>:<id>:<period tag>:held       HASH    reservation id -> nano-dollars held
    P:budget:<kind>:<id>:<period tag>:expires    ZSET    reservation id, scored by when it lapses (ms)

`<kind>` is `key` or `customer`; the period tag is `day:2026-11-25`, `month:2026-11` or `total`.
A `spent` counter is seeded from the ledger the first time a replica needs it (SET NX), then
only changed by `budget_spend.lua`: up by kept records' costs and by batches' worst cases, down
when a batch stops holding. A reservation whose replica died lapses after `HOLD_TTL_MS`.
"""

from __future__ import annotations

from datetime import datetime

from .keys import Period

PREFIX = "claude-router:gw"
BUCKET_TTL_MS = 120_000  # a bucket untouched this long is full again anyway
HOLD_TTL_MS = 3_600_000  # the longest a reservation outlives a replica that died holding it
# How long a period's counters outlive the period (a day's, a month's); `total` never expires.
SPENT_TTL_S = {Period.DAY: 2 * 86_400, Period.MONTH: 32 * 86_400}
PERIODS = tuple(Period)


def period_tag(period: Period, now: datetime) -> str:
    if period is Period.DAY:
        return f"day:{now:%Y-%m-%d}"
    if period is Period.MONTH:
        return f"month:{now:%Y-%m}"
    return "total"


def bucket_key(prefix: str, key_id: str, kind: str) -> str:
    return f"{prefix}:rate:{key_id}:{kind}"


def budget_keys(prefix: str, scope: str, tag: str) -> tuple[str, str, str]:
    """The spent counter, holds and hold deadlines of one budget scope (`key:vk_...`) and period."""
    base = f"{prefix}:budget:{scope}:{tag}"
    return f"{base}:spent", f"{base}:held", f"{base}:expires"
