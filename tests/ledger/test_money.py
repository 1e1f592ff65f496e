from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from claude_router.catalog.pricing import PriceTable
from claude_router.ledger import from_nano, to_nano


def test_every_per_token_price_on_the_sheet_is_whole_nano_dollars() -> None:
    table = PriceTable.default()
    for family in table.families:
        price = table.resolve(family)
        for rates in (price.rates, price.batch_rates):
            for name in ("input", "output", "cache_write_5m", "cache_write_1h", "cache_read"):
                per_token: Decimal = getattr(rates, name)
                assert from_nano(to_nano(per_token)) == per_token, (family, name, per_token)


def test_cheapest_rate_converts_exactly() -> None:
    # Haiku 4.5 cache read at the batch discount: $0.05 per million tokens.
    assert to_nano(Decimal("0.05") / 1_000_000) == 50


@given(st.integers(min_value=0, max_value=2**63 - 1))
def test_nano_round_trip(nano: int) -> None:
    assert to_nano(from_nano(nano)) == nano
