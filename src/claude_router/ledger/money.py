"""Money in the ledger: integer nano-dollars (1e-9 USD) in BIGINT columns, `Decimal` in Python.

Every price on the sheet, down to a $0.10-per-million cache read at the 50% batch discount
($0.05 / 1M tokens = 50 nano-dollars per token), is a whole number of nano-dollars per token,
so every cost the router computes converts exactly. A BIGINT holds up to about $9.2 billion.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

NANO = Decimal("1e-9")
_PER_USD = 10**9


def to_nano(usd: Decimal) -> int:
    """USD → nano-dollars. A sub-nano remainder (impossible with the packaged sheet) rounds half-even."""
    return int((usd * _PER_USD).to_integral_value(rounding=ROUND_HALF_EVEN))


def from_nano(nano: int) -> Decimal:
    """Nano-dollars → USD, exact, normalised to 9 decimal places."""
    return (Decimal(nano) / _PER_USD).quantize(NANO)


def usd_text(usd: Decimal) -> str:
    """An amount as text for JSON, CSV and headers: a plain decimal with nine places (exact in
    nano-dollars), never an exponent (`0E-9`) or a negative zero."""
    return f"{usd if usd else abs(usd):.9f}"
