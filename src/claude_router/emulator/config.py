"""Emulator settings: keys, limits, latency, faults, the labeler and batch speed.

Every default is the quiet one a test wants: no keys required, no limits, zero latency, no faults.
`EmulatorConfig.realistic()` is the demo's preset: per-tier latency as a user of the real API sees it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ImportString, model_validator

#: Answers a classifier-shaped request: user text in, "simple" / "moderate" / "complex" out.
Labeler = Callable[[str], str | Awaitable[str]]

MESSAGES_MAX_BYTES = 32 * 1024 * 1024  # the API's limit for /v1/messages and count_tokens


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TierLatency(_Section):
    """How long a model line takes: time to first token, then output tokens per second.

    `output_tokens_per_s = 0` means output arrives at once (no per-token time).
    """

    ttft_s: float = Field(default=0.0, ge=0.0)
    output_tokens_per_s: float = Field(default=0.0, ge=0.0)

    def total_s(self, output_tokens: int) -> float:
        """Seconds from request to the last token."""
        per_token = output_tokens / self.output_tokens_per_s if self.output_tokens_per_s else 0.0
        return self.ttft_s + per_token


ZERO_LATENCY = TierLatency()
#: Fast mode (`speed: "fast"`) writes output this many times faster than the model's standard speed.
FAST_OUTPUT_SPEEDUP = 2.5

#: Typical figures for the three lines: a one-word Haiku answer in under half a second, a few
#: hundred Sonnet tokens in 1.5-3.5 s, a few hundred Opus tokens in 3.5-8 s (the p50 ranges users
#: report for unrouted traffic). Used by `EmulatorConfig.realistic()`.
REALISTIC_LATENCY: dict[str, TierLatency] = {
    "haiku": TierLatency(ttft_s=0.4, output_tokens_per_s=200.0),
    "sonnet": TierLatency(ttft_s=0.7, output_tokens_per_s=90.0),
    "opus": TierLatency(ttft_s=1.2, output_tokens_per_s=60.0),
    "fable": TierLatency(ttft_s=1.5, output_tokens_per_s=50.0),
}


class RateLimits(_Section):
    """Per-API-key token buckets, as the API enforces them (refilled continuously, not per window).

    `None` disables a limit. Input tokens count uncached input plus cache writes (cache reads are
    free of the input limit, as on the API); output tokens are charged when the answer is known.
    """

    requests_per_minute: int | None = Field(default=None, ge=1)
    input_tokens_per_minute: int | None = Field(default=None, ge=1)
    output_tokens_per_minute: int | None = Field(default=None, ge=1)

    @property
    def enabled(self) -> bool:
        return any(
            v is not None
            for v in (self.requests_per_minute, self.input_tokens_per_minute, self.output_tokens_per_minute)
        )


class FaultConfig(_Section):
    """Faults injected at random into /v1/messages, reproducibly from `seed`.

    Each request draws once: with probability `overloaded` it gets a 529, then `api_error` a 500,
    `rate_limited` a 429, `drop` a dropped connection (mid-stream when streaming). Independently,
    with probability `delay` it is held `delay_ms` first. Per-request headers override all of this.
    """

    seed: int = 0
    overloaded: float = Field(default=0.0, ge=0.0, le=1.0)
    api_error: float = Field(default=0.0, ge=0.0, le=1.0)
    rate_limited: float = Field(default=0.0, ge=0.0, le=1.0)
    drop: float = Field(default=0.0, ge=0.0, le=1.0)
    delay: float = Field(default=0.0, ge=0.0, le=1.0)
    delay_ms: int = Field(default=0, ge=0)
    # The retry-after an injected 429 carries.
    retry_after_s: int = Field(default=1, ge=0)

    @model_validator(mode="after")
    def _total_at_most_one(self) -> FaultConfig:
        if self.overloaded + self.api_error + self.rate_limited + self.drop > 1.0:
            raise ValueError("fault probabilities (overloaded + api_error + rate_limited + drop) exceed 1")
        return self

    @property
    def enabled(self) -> bool:
        return self.overloaded + self.api_error + self.rate_limited + self.drop + self.delay > 0.0


class EmulatorConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # The emulator's date: each model's lifecycle (active, deprecated, retired) is the one it has
    # on this day. None: the real date when the emulator starts, so it serves today's API.
    today: date | None = None

    # Authentication: when required, x-api-key (or a Bearer token) must be present, and must be one
    # of `api_keys` when that list is not empty.
    require_api_key: bool = False
    api_keys: list[str] = []

    rate_limits: RateLimits = RateLimits()
    # Latency per model line ("haiku", "sonnet", "opus", "fable"); a line not listed answers at once.
    latency: dict[str, TierLatency] = {}
    faults: FaultConfig = FaultConfig()
    max_body_bytes: int = Field(default=MESSAGES_MAX_BYTES, ge=1)
    # Thinking signatures sealed as the real API's are (no model named in them); False: each names
    # its model (`catalog/signatures.py`), which lets a router read it without remembering it.
    opaque_signatures: bool = False
    # Entries the simulated prompt cache holds before it evicts the least recently used.
    prompt_cache_entries: int = Field(default=100_000, ge=1)

    # Labels classifier-shaped requests; a callable, or "package.module:function" (the CLI's form).
    # None: the built-in rule (`claude_router.emulator.labeler`).
    labeler: ImportString[Labeler] | None = None

    # Seconds of simulated processing per batch request (0: batches end almost at once).
    batch_seconds_per_request: float = Field(default=0.0, ge=0.0)
    # A batch expires this long after creation (the API's 24 hours); tests shorten it.
    batch_expiry_seconds: float = Field(default=86_400.0, gt=0.0)
    # The API's per-batch limits: 100,000 requests or 256 MB of request body.
    batch_max_requests: int = Field(default=100_000, ge=1)
    batch_max_bytes: int = Field(default=256 * 1024 * 1024, ge=1)

    @classmethod
    def realistic(cls, **overrides: Any) -> EmulatorConfig:
        """The demo's preset: each model line answers with typical real-world latency."""
        return cls(**{"latency": dict(REALISTIC_LATENCY), **overrides})

    def latency_for(self, line: str, *, fast: bool = False) -> TierLatency:
        latency = self.latency.get(line, ZERO_LATENCY)
        if fast and latency.output_tokens_per_s:
            rate = latency.output_tokens_per_s * FAST_OUTPUT_SPEEDUP
            return latency.model_copy(update={"output_tokens_per_s": rate})
        return latency
