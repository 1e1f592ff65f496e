"""Every routed request on record: one row per request id, exact money, SQLite or PostgreSQL.

async with await open_ledger("~/ledger.db") as ledger:    # or "postgresql://..."; None: default
    await ledger.record(usage_record)                     # a list append; written in batches
    groups = await ledger.totals([Dimension.MODEL], since=week_ago)
"""

from __future__ import annotations

from pathlib import Path

from .base import Dimension, Group, Key, Ledger, Totals
from .buffer import BATCH_ROWS, CAPACITY, INTERVAL_S, BufferedLedger
from .engine import resolve_url
from .migrations import MIGRATIONS, migrate, migration_names
from .money import from_nano, to_nano
from .rows import record_to_row, row_to_record
from .store import SqlLedger, merge_groups, split_window


async def open_ledger(
    url_or_path: str | Path | None = None,
    *,
    home: Path | None = None,
    batch_rows: int = BATCH_ROWS,
    interval_s: float = INTERVAL_S,
    capacity: int = CAPACITY,
) -> BufferedLedger:
    """Open (creating and migrating as needed) the ledger at a SQLite path or `postgresql://` URL.

    None means `ledger.db` in `home`, which defaults to the data directory (`CLAUDE_ROUTER_HOME`,
    else the user data directory). Close it (or use it as an async context manager) to flush.
    """
    store = await SqlLedger.open(url_or_path, home=home)
    return BufferedLedger(store, batch_rows=batch_rows, interval_s=interval_s, capacity=capacity)


__all__ = [
    "MIGRATIONS",
    "BufferedLedger",
    "Dimension",
    "Group",
    "Key",
    "Ledger",
    "SqlLedger",
    "Totals",
    "from_nano",
    "merge_groups",
    "migrate",
    "migration_names",
    "open_ledger",
    "record_to_row",
    "resolve_url",
    "row_to_record",
    "split_window",
    "to_nano",
]
