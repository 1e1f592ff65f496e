"""Which requests are sampled: a pure function of the request id, so a sample is reproducible.

A request id hashes (SHA-256) to a point in [0, 1); the request is sampled when the point falls
below the rate. The same id is always in or out at a given rate, a higher rate keeps every id a
lower one kept, and ids spread evenly whatever their format.
"""

from __future__ import annotations

import hashlib

_SPAN = float(2**64)


def sample_point(key: str) -> float:
    """Where `key` falls in [0, 1), uniformly over keys."""
    digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).digest()
    return int.from_bytes(digest[:8], "big") / _SPAN


def is_sampled(request_id: str, rate: float) -> bool:
    return sample_point(request_id) < rate


def answer_order_swapped(request_id: str) -> bool:
    """Whether the judge sees the higher tier's answer first (half the sample, reproducibly)."""
    return sample_point(f"{request_id}\x00order") < 0.5
