"""Bills of today's models, worked out by hand from the December 2026 price sheet.

Every expected figure is written as the sheet's per-million prices times token counts, so it can
be checked against the sheet line by line. `bill(...)` only adds the products and divides by a
million; the multipliers (batch 0.5, geo "us" 1.1, the long-prompt 5x) are written out.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from anthropic.types import CacheCreation, Usage
from anthropic.types.beta import BetaUsage

from claude_router.catalog import pricing
from claude_router.errors import PricingError, UnknownModelError
from claude_router.types import TokenUsage

D = Decimal
BATCH = D("0.5")
US = D("1.1")


def bill(*terms: tuple[int, str]) -> Decimal:
    """Σ tokens x USD per million tokens, in USD."""
    return sum((n * D(price) for n, price in terms), D(0)) / 1_000_000


def usage(
    inp: int = 0, out: int = 0, w5: int = 0, w1h: int = 0, read: int = 0, **extra: Any
) -> dict[str, Any]:
    """A usage object as the API sends it (cache writes with their TTL breakdown)."""
    return {
        "input_tokens": inp,
        "output_tokens": out,
        "cache_creation_input_tokens": w5 + w1h,
        "cache_creation": {"ephemeral_5m_input_tokens": w5, "ephemeral_1h_input_tokens": w1h},
        "cache_read_input_tokens": read,
        **extra,
    }


# Each current model's row of the sheet: input, output, 5m write, 1h write, cache read ($/MTok).
CURRENT = [
    ("claude-haiku-5-5", "0.10", "0.50", "0.125", "0.20", "0.01"),
    ("claude-sonnet-5-5", "2", "10", "2.50", "4", "0.10"),
    ("claude-opus-5-5", "4", "20", "5", "8", "0.20"),
    ("claude-fable-5-2", "8", "40", "10", "16", "0.20"),
    ("claude-mythos-5-2", "8", "40", "10", "16", "0.20"),
    ("claude-fable-5-1", "10", "50", "12.50", "20", "0.25"),
]
ROW = ("model", "inp", "out", "w5", "w1h", "read")


@pytest.mark.parametrize(ROW, CURRENT)
def test_plain(model: str, inp: str, out: str, w5: str, w1h: str, read: str) -> None:
    assert pricing.cost(model, usage(1_234, 567)) == bill((1_234, inp), (567, out))


@pytest.mark.parametrize(ROW, CURRENT)
def test_5m_cache_write(model: str, inp: str, out: str, w5: str, w1h: str, read: str) -> None:
    expected = bill((50, inp), (2_000, w5), (300, out))
    assert pricing.cost(model, usage(50, 300, w5=2_000)) == expected


@pytest.mark.parametrize(ROW, CURRENT)
def test_1h_cache_write(model: str, inp: str, out: str, w5: str, w1h: str, read: str) -> None:
    expected = bill((10, inp), (4_000, w1h), (20, out))
    assert pricing.cost(model, usage(10, 20, w1h=4_000)) == expected


@pytest.mark.parametrize(ROW, CURRENT)
def test_cache_read_at_the_models_own_rate(
    model: str, inp: str, out: str, w5: str, w1h: str, read: str
) -> None:
    expected = bill((20, inp), (90_000, read), (10, out))
    assert pricing.cost(model, usage(20, 10, read=90_000)) == expected


@pytest.mark.parametrize(ROW, CURRENT)
def test_batch_halves_every_class(model: str, inp: str, out: str, w5: str, w1h: str, read: str) -> None:
    u = usage(1_000, 700, w5=3_000, w1h=2_000, read=40_000)
    full = bill((1_000, inp), (700, out), (3_000, w5), (2_000, w1h), (40_000, read))
    assert pricing.cost(model, u, batch=True) == full * BATCH


@pytest.mark.parametrize(ROW, CURRENT)
def test_inference_geo_us(model: str, inp: str, out: str, w5: str, w1h: str, read: str) -> None:
    u = usage(1_000, 700, inference_geo="us")
    assert pricing.cost(model, u) == bill((1_000, inp), (700, out)) * US
    # any other geo the API reports costs the standard price
    assert pricing.cost(model, usage(1_000, 700, inference_geo="global")) == bill((1_000, inp), (700, out))


@pytest.mark.parametrize(ROW, CURRENT)
def test_batch_geo_and_cache_stack(model: str, inp: str, out: str, w5: str, w1h: str, read: str) -> None:
    u = usage(1_234, 567, w5=2_000, w1h=3_000, read=40_000, inference_geo="us")
    full = bill((1_234, inp), (567, out), (2_000, w5), (3_000, w1h), (40_000, read))
    assert pricing.cost(model, u, batch=True) == full * BATCH * US


def test_sdk_usage_objects_carry_geo_and_speed() -> None:
    u = Usage(
        input_tokens=100,
        output_tokens=50,
        cache_creation_input_tokens=3_000,
        cache_creation=CacheCreation(ephemeral_5m_input_tokens=1_000, ephemeral_1h_input_tokens=2_000),
        cache_read_input_tokens=5_000,
        inference_geo="us",
        speed="fast",
    )
    # Opus 5.5 fast: $8 / $40; cache at the fast input price x 1.25 / 2 / 0.1 = $10 / $16 / $0.80
    expected = bill((100, "8"), (50, "40"), (1_000, "10"), (2_000, "16"), (5_000, "0.80")) * US
    assert pricing.cost("claude-opus-5-5", u) == expected


# ---- Haiku 5.5's long-prompt band --------------------------------------------------------------


def test_haiku_5_5_band_counts_writes_and_reads_in_the_prompt() -> None:
    # prompt = 60,000 input + 6,000 5m writes + 4,000 1h writes + 30,000 reads = 100,000: not above
    at = usage(60_000, 1_000, w5=6_000, w1h=4_000, read=30_000)
    assert pricing.cost("claude-haiku-5-5", at) == bill(
        (60_000, "0.10"), (1_000, "0.50"), (6_000, "0.125"), (4_000, "0.20"), (30_000, "0.01")
    )
    # one more input token: the whole request, output included, at the sheet's "above 100K" prices
    above = usage(60_001, 1_000, w5=6_000, w1h=4_000, read=30_000)
    expected = bill((60_001, "0.50"), (1_000, "2.50"), (6_000, "0.625"), (4_000, "1.00"), (30_000, "0.05"))
    assert pricing.cost("claude-haiku-5-5", above) == expected
    # which is 5x the standard prices
    assert expected == 5 * bill(
        (60_001, "0.10"), (1_000, "0.50"), (6_000, "0.125"), (4_000, "0.20"), (30_000, "0.01")
    )


def test_haiku_5_5_band_by_reads_alone_stacks_with_batch_and_geo() -> None:
    u = usage(1, 10, read=100_000, inference_geo="us")
    expected = bill((1, "0.50"), (10, "2.50"), (100_000, "0.05")) * BATCH * US
    assert pricing.cost("claude-haiku-5-5", u, batch=True) == expected
    # Haiku 5.5 batch 5m write: $0.125 x 0.5 = 62.5 nano-dollars a token, exact
    assert pricing.cost("claude-haiku-5-5", usage(w5=1), batch=True) == D("0.0000000625")


def test_band_is_per_request_never_over_a_sum() -> None:
    half = TokenUsage(input_tokens=60_000, output_tokens=100)
    one = pricing.cost("claude-haiku-5-5", half)
    assert one == bill((60_000, "0.10"), (100, "0.50"))
    assert pricing.cost("claude-haiku-5-5", half + half) == 5 * 2 * one  # one call of 120,000: banded


# ---- fast mode --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "fast_in", "fast_out"),
    [("claude-opus-5-5", "8", "40"), ("claude-opus-5", "10", "50"), ("claude-opus-4-8", "10", "50")],
)
def test_fast_mode_from_usage_speed(model: str, fast_in: str, fast_out: str) -> None:
    fast = usage(2_000, 500, speed="fast")
    assert pricing.cost(model, fast) == bill((2_000, fast_in), (500, fast_out))
    # cache prices follow the fast input price by the default multipliers (1.25, 2, 0.1)
    cached = usage(w5=1_000, w1h=1_000, read=10_000, speed="fast")
    fin = D(fast_in)
    expected = bill((1_000, str(fin * D("1.25"))), (1_000, str(fin * 2)), (10_000, str(fin * D("0.1"))))
    assert pricing.cost(model, cached) == expected
    assert (
        pricing.cost(model, usage(2_000, 500, speed="fast", inference_geo="us"))
        == bill((2_000, fast_in), (500, fast_out)) * US
    )
    assert pricing.cost(model, usage(2_000, 500, speed="standard")) < pricing.cost(model, fast)


def test_fast_mode_is_never_on_batch_nor_on_a_model_without_it() -> None:
    with pytest.raises(PricingError, match="Batches"):
        pricing.cost("claude-opus-5-5", usage(10, 10, speed="fast"), batch=True)
    with pytest.raises(PricingError, match="fast"):
        pricing.cost("claude-sonnet-5-5", usage(10, 10, speed="fast"))


# ---- iterations ------------------------------------------------------------------------------


def _iteration(kind: str, inp: int, out: int, *, model: str | None = None, read: int = 0) -> dict[str, Any]:
    item = {**usage(inp, out, read=read), "type": kind}
    return item if model is None else {**item, "model": model}


def test_iterations_bill_each_call_at_its_own_model_compaction_included() -> None:
    # Haiku 5.5 executes with an Opus 5.5 advisor; the compaction call is not in the top-level fields.
    raw = {
        **usage(500, 200),  # the two message entries only
        "iterations": [
            _iteration("message", 300, 120, read=1_000),
            _iteration("advisor_message", 1_000, 50, model="claude-opus-5-5"),
            _iteration("compaction", 2_000, 300),
            _iteration("message", 200, 80),
        ],
    }
    haiku = bill((300 + 2_000 + 200, "0.10"), (120 + 300 + 80, "0.50"), (1_000, "0.01"))
    opus = bill((1_000, "4"), (50, "20"))
    assert pricing.cost("claude-haiku-5-5", raw) == haiku + opus
    # the SDK's beta usage reads the same
    assert pricing.cost("claude-haiku-5-5", BetaUsage.model_validate(raw)) == haiku + opus
    # geo applies to every entry; batch halves them all
    geo = {**raw, "inference_geo": "us"}
    assert pricing.cost("claude-haiku-5-5", geo, batch=True) == (haiku + opus) * US * BATCH
    # the recorded token counts are what was billed
    tokens = TokenUsage.from_api(raw)
    assert (tokens.input_tokens, tokens.output_tokens, tokens.cache_read_tokens) == (3_500, 550, 1_000)


def test_iterations_the_sdks_plain_usage_does_not_declare_are_still_billed() -> None:
    # `anthropic.types.Usage` has no `iterations` field: the SDK keeps it as an extra, and so do we
    raw = {
        **usage(100, 10),
        "iterations": [_iteration("message", 100, 10), _iteration("compaction", 5_000, 400)],
    }
    expected = bill((5_100, "4"), (410, "20"))
    assert pricing.cost("claude-opus-5-5", Usage.model_validate(raw)) == expected


def test_a_fallback_entry_and_the_band_are_per_call() -> None:
    raw = {
        **usage(120_000, 10),
        "iterations": [
            _iteration("message", 120_000, 10),  # above the band: 5x
            _iteration("fallback_message", 120_000, 400, model="claude-sonnet-5-5"),
        ],
        "speed": "fast",  # the answering model's mode: Haiku 5.5 has none, Sonnet's entry is standard
    }
    with pytest.raises(PricingError):
        pricing.cost("claude-haiku-5-5", raw)
    del raw["speed"]
    expected = bill((120_000, "0.50"), (10, "2.50")) + bill((120_000, "2"), (400, "10"))
    assert pricing.cost("claude-haiku-5-5", raw) == expected


def test_an_iteration_on_an_unknown_model_is_not_priced() -> None:
    raw = {**usage(10, 10), "iterations": [_iteration("advisor_message", 10, 10, model="claude-nova-1")]}
    with pytest.raises(UnknownModelError, match="claude-nova-1"):
        pricing.cost("claude-haiku-5-5", raw)


# ---- prices on a date ------------------------------------------------------------------------


def test_the_price_in_force_on_the_requests_date() -> None:
    reads = usage(0, 1_000, read=1_000_000)
    before = pricing.cost("claude-sonnet-5-5", reads, on=date(2026, 10, 6))
    after = pricing.cost("claude-sonnet-5-5", reads, on=date(2026, 10, 7))
    assert before == bill((1_000_000, "0.20"), (1_000, "10"))
    assert after == bill((1_000_000, "0.10"), (1_000, "10"))
    assert pricing.cost("claude-sonnet-5-5", reads) == after  # no date: the latest prices
    assert pricing.cost("claude-sonnet-5-5", reads, on=date(2026, 10, 6), batch=True) == before * BATCH


def test_geo_is_ignored_on_models_that_do_not_take_it() -> None:
    # Haiku 4.5 answers inference_geo with a 400, so no usage of it runs under a geo
    assert pricing.cost("claude-haiku-4-5", usage(1_000, 100, inference_geo="us")) == bill(
        (1_000, "1"), (100, "5")
    )


def test_what_if_prices_the_same_calls_on_another_model() -> None:
    u = usage(1_000, 100, inference_geo="us", speed="fast")
    # on Opus 5.5 (fast mode): $8 / $40 x 1.1; on Sonnet 5.5 (no fast mode): $2 / $10 x 1.1
    assert pricing.what_if(u, "claude-opus-5-5") == bill((1_000, "8"), (100, "40")) * US
    assert pricing.what_if(u, "claude-sonnet-5-5") == bill((1_000, "2"), (100, "10")) * US
    raw = {**usage(0, 0), "iterations": [_iteration("message", 60_000, 0), _iteration("message", 60_000, 0)]}
    assert pricing.what_if(raw, "claude-haiku-5-5") == 2 * bill((60_000, "0.10"))  # per call: no band
