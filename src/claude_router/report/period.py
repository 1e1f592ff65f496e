"""Report windows from the command line: `7d`, `24h`, `2w`, `90m`, or an ISO date / time (UTC)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from ..errors import ConfigError

_SPAN = re.compile(r"(\d+)\s*([mhdw])")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_since(text: str | None, *, now: datetime | None = None) -> datetime | None:
    """The start of a report window: a span back from `now` (`7d`) or an ISO date/time.

    "all" or "" means no lower bound. A date without a time is midnight UTC; a time without a
    zone is UTC.
    """
    if text is None or text.strip().lower() in {"", "all"}:
        return None
    raw = text.strip().lower()
    match = _SPAN.fullmatch(raw)
    if match:
        amount, unit = int(match.group(1)), match.group(2)
        return (now or datetime.now(UTC)) - timedelta(**{_UNITS[unit]: amount})
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ConfigError(
            f"cannot read {text!r} as a time: use a span such as 7d, 24h, 2w, 90m, or a date like 2025-06-01"
        ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def check_period(
    since: datetime | None, until: datetime | None, *, since_text: str = "", until_text: str | None = None
) -> None:
    """`ConfigError` for a window that holds no time at all (`--since 1d --until 7d`), which would
    otherwise give an empty report that looks like a quiet week."""
    if since is not None and until is not None and since >= until:
        raise ConfigError(
            f"the period is empty: --since {since_text} ({since:%Y-%m-%d %H:%M} UTC) is not before "
            f"--until {until_text} ({until:%Y-%m-%d %H:%M} UTC); a span such as 7d counts back from now"
        )
