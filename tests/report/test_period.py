from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from claude_router.errors import ConfigError
from claude_router.report import parse_since

NOW = datetime(2025, 6, 10, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("7d", NOW - timedelta(days=7)),
        ("24h", NOW - timedelta(hours=24)),
        ("2w", NOW - timedelta(weeks=2)),
        ("90m", NOW - timedelta(minutes=90)),
        ("2025-06-01", datetime(2025, 6, 1, tzinfo=UTC)),
        ("2025-06-01T08:30", datetime(2025, 6, 1, 8, 30, tzinfo=UTC)),
        ("2025-06-01T10:30+02:00", datetime(2025, 6, 1, 8, 30, tzinfo=UTC)),
        ("all", None),
        ("", None),
        (None, None),
    ],
)
def test_forms(text: str | None, expected: datetime | None) -> None:
    assert parse_since(text, now=NOW) == expected


@pytest.mark.parametrize("text", ["7 days", "yesterday", "-3d", "2025-13-01"])
def test_bad_input_is_a_clear_error(text: str) -> None:
    with pytest.raises(ConfigError, match="use a span such as 7d"):
        parse_since(text, now=NOW)
