"""The only room that talks to Anthropic: the official `AsyncAnthropic` client, wrapped (`client.py`),
with the attempt log and retry observation (`attempts.py`), per-model cooldowns (`cooldown.py`),
streams (`streaming.py`, `sse_tap.py`) and the speculative race (`speculation.py`); the gateway's
byte relay over aiohttp (`wire.py`, `wire_stream.py`, `wire_error.py`) and the SDK's retry contract
both follow (`retry.py`)."""

from .attempts import UPSTREAM_ERRORS
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
from .wire_error import WireError
from .wire_stream import WireStream

__all__ = [
    "UPSTREAM_ERRORS",
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
    "with_cached_system",
]
