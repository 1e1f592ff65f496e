"""The retry contract of the official SDK, in one place: when an attempt is retried, and after how long.

The SDK (`anthropic._base_client`: `_should_retry`, `_parse_retry_after_header`,
`_calculate_retry_timeout`) decides, for every failed attempt while retries remain:

1. `x-should-retry: true` or `false` on the response: obeyed before anything else;
2. otherwise retry 408 (request timeout), 409 (lock timeout), 429 (rate limit) and every 5xx,
   529 (overloaded) included; never another status. A failure in transport is retried unless its
   response headers (when they had arrived) said `x-should-retry: false`;
3. the wait: `retry-after-ms` (milliseconds), else `retry-after` (seconds, or an HTTP date), when
   positive, capped at `MAX_RETRY_AFTER_S`; otherwise exponential backoff from `INITIAL_RETRY_DELAY_S`
   doubling per retry taken, capped at `MAX_RETRY_DELAY_S`, less up to a quarter of jitter.

The gateway's relay (`upstream/wire.py`) runs exactly this loop over aiohttp; the library face
gets it from the SDK itself. `tests/upstream/test_retry_contract.py` drives both through the same
fault script. Nothing here imports the SDK.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable, Mapping
from random import random  # as the SDK draws its jitter (a test seeds both the same way)

DEFAULT_MAX_RETRIES = 2
INITIAL_RETRY_DELAY_S = 0.5
MAX_RETRY_DELAY_S = 8.0
MAX_RETRY_AFTER_S = 4_294_967.0  # the SDK's cap: a platform's sleep limit, in seconds
SHOULD_RETRY = "x-should-retry"
RETRYABLE_STATUSES = frozenset({408, 409, 429})
OVERLOADED_STATUS = 529

Headers = Mapping[str, str]


def should_retry(status: int, headers: Headers) -> bool:
    """Whether an answered attempt with `status` is worth another try (retries left aside)."""
    hint = headers.get(SHOULD_RETRY)
    if hint == "true":
        return True
    if hint == "false":
        return False
    return status in RETRYABLE_STATUSES or status >= 500


def should_retry_failure(headers: Headers | None) -> bool:
    """Whether an attempt that failed in transport is worth another try (its headers, if any came)."""
    return headers is None or headers.get(SHOULD_RETRY) != "false"


def retry_after_s(headers: Headers | None, now: Callable[[], float] = time.time) -> float | None:
    """What the response asks to wait, in seconds: `retry-after-ms`, else `retry-after` (seconds
    or an HTTP date); None when it asks nothing readable."""
    if headers is None:
        return None
    try:
        return float(headers.get("retry-after-ms", "")) / 1000
    except ValueError:
        pass
    raw = headers.get("retry-after")
    if raw is None:
        return None
    try:
        return float(raw)
    except ValueError:
        pass
    parsed = email.utils.parsedate_tz(raw)
    return None if parsed is None else float(email.utils.mktime_tz(parsed) - now())


def retry_delay(retries_taken: int, headers: Headers | None = None) -> float:
    """The wait before the retry that follows attempt number `retries_taken` (0 for the first)."""
    asked = retry_after_s(headers)
    if asked is not None and asked > 0:
        return min(asked, MAX_RETRY_AFTER_S)
    backoff = min(INITIAL_RETRY_DELAY_S * pow(2.0, min(retries_taken, 1000)), MAX_RETRY_DELAY_S)
    return max(0.0, backoff * (1 - 0.25 * random()))
