"""The only room that talks to Anthropic: the official `AsyncAnthropic` client, wrapped (`client.py`),
with the attempt log and retry observation (`attempts.py`), per-model cooldowns (`cooldown.py`),
streams (`streaming.py`, `sse_tap.py`) and the speculative race (`speculation.py`)."""

from .client import (
    Attempt,
    RateLimits,
    RawUpstreamResult,
    Speculation,
    StreamResult,
    Upstream,
    UpstreamFailure,
    UpstreamResult,
    UpstreamStream,
    failure_of,
    routed_params,
    with_cached_system,
)

__all__ = [
    "Attempt",
    "RateLimits",
    "RawUpstreamResult",
    "Speculation",
    "StreamResult",
    "Upstream",
    "UpstreamFailure",
    "UpstreamResult",
    "UpstreamStream",
    "failure_of",
    "routed_params",
    "with_cached_system",
]
