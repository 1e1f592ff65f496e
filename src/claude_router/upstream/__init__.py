"""The only room that talks to Anthropic: the official `AsyncAnthropic` client, wrapped (`client.py`),
with the attempt log and retry observation (`attempts.py`), per-model cooldowns (`cooldown.py`),
streams (`streaming.py`, `sse_tap.py`, `sse_tee.py`) and the speculative race (`speculation.py`);
the gateway's byte relay over aiohttp (`wire.py`, `wire_stream.py`, `wire_error.py`) and the SDK's
retry contract both follow (`retry.py`). The SDK is imported where it is used, and its client built
on its first call: a process that only relays never loads it."""

from .attempts import upstream_errors
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
    routes_as_written,
    with_cached_system,
)
from .wire_error import WireError
from .wire_stream import WireStream

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
    "WireError",
    "WireStream",
    "failure_of",
    "routed_params",
    "routes_as_written",
    "upstream_errors",
    "with_cached_system",
]
