"""`pricing.cost()` per call, on the hot path of every request, against the least it could do.

The floor, measured in the same run, is the bare arithmetic of a bill: five `Decimal`
multiplications with per-token rates already looked up. `cost()` adds reading the usage as the
API reports it (our `TokenUsage`, the SDK's `Usage`, the JSON mapping a gateway relays, a beta usage
with iterations), resolving the model id and choosing the rates (date, band, geo, speed, batch).
Rounds alternate and the best of each is kept: the machines these run on are shared.
"""

from __future__ import annotations

import timeit
from collections.abc import Callable
from decimal import Decimal

from anthropic.types import CacheCreation, Usage
from anthropic.types.beta import BetaUsage

from claude_router.catalog.pricing import PriceTable
from claude_router.types import TokenUsage

ROUNDS = 15
CALLS = 20_000
MODEL = "claude-haiku-5-5"


def best_us(fn: Callable[[], Decimal]) -> float:
    return min(timeit.repeat(fn, number=CALLS, repeat=ROUNDS)) / CALLS * 1e6


def main() -> None:
    table = PriceTable.default()
    sdk = Usage(
        input_tokens=1_200,
        output_tokens=300,
        cache_creation_input_tokens=2_000,
        cache_creation=CacheCreation(ephemeral_5m_input_tokens=2_000, ephemeral_1h_input_tokens=0),
        cache_read_input_tokens=40_000,
        inference_geo="us",
        service_tier="standard",
    )
    mapping = sdk.model_dump()
    step = {
        "type": "message",
        "input_tokens": 600,
        "output_tokens": 150,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 20_000,
    }
    advisor = {**step, "type": "advisor_message", "model": "claude-opus-5-5"}
    beta = BetaUsage.model_validate({**mapping, "iterations": [step, advisor, step]})
    tokens = TokenUsage.from_api(sdk)
    rates = table.resolve(MODEL).latest.rates(geo="us")
    floor = best_us(lambda: rates.charge(tokens))
    print(f"floor: five Decimal multiplications on looked-up rates  {floor:.2f} µs")
    for name, usage in (
        ("TokenUsage", tokens),
        ("SDK Usage", sdk),
        ("JSON mapping", mapping),
        ("beta usage, 3 iterations", beta),
    ):
        us = best_us(lambda u=usage: table.cost(MODEL, u))  # type: ignore[misc]
        print(f"cost() on {name:26} {us:6.2f} µs  ({us / floor:.1f}x the floor)")


if __name__ == "__main__":
    main()
