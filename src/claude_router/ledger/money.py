"""Money in the ledger: integer nano-dollars (1e-9 USD) in BIGINT columns, `Decimal` in Python.

A bill is exact `Decimal` USD (`catalog.pricing`), but per-token rates are no longer all whole
nano-dollars: Haiku 5.5's 5-minute cache write at the batch discount is $0.0625 per million tokens,
62.5 nano-dollars a token (68.75 with the "us" geo). So each cost of a request is rounded half-even
to the nano-dollar exactly once, when its record becomes a row (`rows.record_to_row`): a stored
cost is within half a nano-dollar of the exact bill, and every sum the ledger reports (rollups,
reports, budgets) is the sum of those stored rows, never a re-rounded total. A BIGINT holds up to
about $9.2 billion.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

NANO = Decimal("1e-9")
_PER_USD = 10**9


def to_nano(usd: Decimal) -> int:
    """USD → nano-dollars, a sub-nano remainder rounded half-even (the one rounding a cost gets)."""
    return int((usd * _PER_USD).to_integral_value(rounding=ROUND_HALF_EVEN))


def from_nano(nano: int) -> Decimal:
    """Nano-dollars → USD, exact, normalised to 9 decimal places."""
    return (Decimal(nano) / _PER_USD).quantize(NANO)
