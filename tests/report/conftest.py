"""A SQLite ledger holding two weeks of varied traffic, shared by the report tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from claude_router.ledger import open_ledger
from claude_router.types import UsageRecord
from ledger.records import traffic

START = datetime(2025, 6, 1, tzinfo=UTC)


@pytest.fixture
def records() -> list[UsageRecord]:
    return traffic(1200, start=START, step=timedelta(minutes=16))  # about 13 days


@pytest.fixture
async def ledger_path(tmp_path: Path, records: list[UsageRecord]) -> Path:
    path = tmp_path / "ledger.db"
    async with await open_ledger(path) as ledger:
        for rec in records:
            await ledger.record(rec)
    return path
