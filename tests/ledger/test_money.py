"""Money in the ledger: a request's exact bill rounded half-even to the nano-dollar once, when its
record is written; every sum the ledger reports is the sum of those stored rows."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from claude_router.catalog import pricing
from claude_router.ledger import Dimension, from_nano, open_ledger, record_to_row, to_nano
from claude_router.types import TokenUsage

from .records import priced

HALF_NANO = Decimal("0.0000000005")


def test_per_token_rates_below_a_nano_dollar_are_kept_exact_until_the_row() -> None:
    # Haiku 5.5 5m cache write at the batch discount: $0.125 x 0.5 per million = 62.5 nano-dollars
    one = TokenUsage(cache_write_5m_tokens=1)
    exact = pricing.cost("claude-haiku-5-5", one, batch=True)
    assert exact == Decimal("0.125") * Decimal("0.5") / 1_000_000
    assert to_nano(exact) == 62  # half-even: 62.5 → 62
    # three such tokens in one request are one bill, rounded once: 187.5 → 188 (not 3 x 62)
    assert to_nano(pricing.cost("claude-haiku-5-5", TokenUsage(cache_write_5m_tokens=3), batch=True)) == 188


@given(
    st.integers(0, 300_000),
    st.integers(0, 100_000),
    st.integers(0, 200_000),
    st.integers(0, 200_000),
    st.integers(0, 2_000_000),
    st.booleans(),
    st.sampled_from([None, "us", "global"]),
)
def test_a_rows_stored_cost_is_within_half_a_nano_dollar_of_the_bill(
    fresh: int, out: int, w5: int, w1h: int, read: int, batch: bool, geo: str | None
) -> None:
    tokens = TokenUsage(fresh, out, w5, w1h, read, inference_geo=geo)
    record = priced("r", model="claude-haiku-5-5", usage=tokens, batch=batch)
    row = record_to_row(record)
    assert abs(from_nano(row["cost_nusd"]) - record.cost_usd) <= HALF_NANO
    assert abs(from_nano(row["cost_if_opus_nusd"]) - record.cost_if_opus_usd) <= HALF_NANO


async def test_sums_are_sums_of_rows(ledger_url: str) -> None:
    # 62.5 nano-dollars each: the exact total of 101 is 6,312.5; the ledger's is 101 x 62 (each row rounded)
    one = TokenUsage(cache_write_5m_tokens=1)
    records = [
        priced(f"r{i}", model="claude-haiku-5-5", usage=one, classifier_usage=TokenUsage(), batch=True)
        for i in range(101)
    ]
    async with await open_ledger(ledger_url) as ledger:
        for rec in records:
            await ledger.record(rec)
        await ledger.flush()
        rows = await ledger.rows()
        (group,) = await ledger.totals([Dimension.MODEL])
    assert {r.cost_usd for r in rows} == {from_nano(62)}
    assert group.totals.cost_usd == sum(r.cost_usd for r in rows) == from_nano(101 * 62)


def test_cheapest_rate_converts_exactly() -> None:
    # Haiku 5.5 cache read at the batch discount: $0.005 per million tokens = 5 nano-dollars
    assert to_nano(Decimal("0.005") / 1_000_000) == 5


@given(st.integers(min_value=0, max_value=2**63 - 1))
def test_nano_round_trip(nano: int) -> None:
    assert to_nano(from_nano(nano)) == nano
