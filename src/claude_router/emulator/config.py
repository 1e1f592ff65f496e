"""Emulator settings: keys, limits, latency, faults and batch speed. Zero latency by default."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class EmulatorConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Seconds of simulated processing per batch request (0: batches end almost at once).
    batch_seconds_per_request: float = Field(default=0.0, ge=0.0)
    # A batch expires this long after creation (the API's 24 hours); tests shorten it.
    batch_expiry_seconds: float = Field(default=86_400.0, gt=0.0)
    # The API's per-batch limits: 100,000 requests or 256 MB of request body.
    batch_max_requests: int = Field(default=100_000, ge=1)
    batch_max_bytes: int = Field(default=256 * 1024 * 1024, ge=1)
