"""Display formats shared by every renderer. Money stays `Decimal` up to here."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal

from ..ledger import Dimension, Group, Key, Totals

UNPRICED = "unpriced"


def usd(value: Decimal) -> str:
    """$1,234.56 from $100, $3.4860 from a cent, $0.000847 below (six places, as the seed prints);
    a negative amount as -$0.001315."""
    size = abs(value)
    if size >= 100:
        places = 2
    elif size >= Decimal("0.01"):
        places = 4
    elif size:
        places = 6
    else:
        return "$0.00"
    return _signed(value, places)


def usd6(value: Decimal) -> str:
    """Always six places, as the seed's run report prints every amount."""
    return _signed(value, 6)


def _signed(value: Decimal, places: int) -> str:
    text = f"${abs(value):,.{places}f}"
    return f"-{text}" if value < 0 and text.strip("$0.,") else text


def cost_text(t: Totals, money: Decimal | None = None, *, fmt: Callable[[Decimal], str] = usd) -> str:
    """A group's cost (`money`, else its total), never $0 for requests the sheet cannot price:
    "unpriced" when none is priced, "$1.23 +4 unpriced" when some are not."""
    value = t.total_cost_usd if money is None else money
    if not t.unpriced:
        return fmt(value)
    if t.unpriced >= t.requests:
        return UNPRICED
    return f"{fmt(value)} +{t.unpriced} {UNPRICED}"


def pct(value: Decimal) -> str:
    return f"{value:.1f}%"


def tokens(n: int) -> str:
    return f"{n:,}"


_MISSING = {
    Dimension.CUSTOMER: "(none)",
    Dimension.LABEL: "(unclassified)",
    Dimension.MODEL: "(no answer)",
    Dimension.EFFORT: "(default)",
    Dimension.TAG: "(untagged)",
    Dimension.SESSION: "(no session)",
}


def key_text(value: Key, dim: Dimension) -> str:
    if value is None:
        return _MISSING.get(dim, "(none)")
    if isinstance(value, bool):
        return "batch" if value else "real-time"
    if isinstance(value, date):
        return value.isoformat()
    return value


def effort_text(effort: str | None) -> str:
    return effort or "default"


def group_label(group: Group) -> str:
    return " · ".join(key_text(v, d) for d, v in group.key.items()) or "all"


def window_text(since: datetime | None, until: datetime | None) -> str:
    start = since.strftime("%Y-%m-%d %H:%M UTC") if since else "the beginning"
    end = until.strftime("%Y-%m-%d %H:%M UTC") if until else "now"
    return f"{start} → {end}"


def short_model(model: str | None) -> str:
    """claude-haiku-4-5 → Haiku 4.5 (the seed's short names, with the version)."""
    if not model:
        return "-"
    parts = model.removeprefix("claude-").split("-")
    family = parts[0].capitalize()
    version = ".".join(p for p in parts[1:] if len(p) <= 2 and p.isdigit())
    return f"{family} {version}".strip()
