"""Emulator settings: keys, limits, latency, faults and batch speed. Zero latency by default."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class EmulatorConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Seconds of simulated processing per batch request (0: batches end almost at once).
    batch_seconds_per_request: float = 0.0
