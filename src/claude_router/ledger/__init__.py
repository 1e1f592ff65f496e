"""Every routed request on record: one row per request id, exact money, SQLite or PostgreSQL.

async with await open_ledger("~/ledger.db") as ledger:    # or "postgresql://..."; None: default
    await ledger.record(usage_record)                     # a list append; written in batches
    groups = await ledger.totals([Dimension.MODEL], since=week_ago)

The shapes of the read side (`Dimension`, `Totals`, ...) load with the package; the stores, and
with them SQLAlchemy and the database drivers, load on first use, so that a command which never
opens a ledger never pays for them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .base import Dimension, Group, Key, Ledger, Totals, merge_groups
from .money import from_nano, to_nano

if TYPE_CHECKING:
    from .buffer import BATCH_ROWS, CAPACITY, INTERVAL_S, BufferedLedger, open_ledger
    from .engine import resolve_url
    from .migrations import MIGRATIONS, migrate, migration_names
    from .rows import record_to_row, row_to_record
    from .store import SqlLedger, split_window

_LAZY = {
    "BATCH_ROWS": "buffer",
    "CAPACITY": "buffer",
    "INTERVAL_S": "buffer",
    "BufferedLedger": "buffer",
    "open_ledger": "buffer",
    "resolve_url": "engine",
    "MIGRATIONS": "migrations",
    "migrate": "migrations",
    "migration_names": "migrations",
    "record_to_row": "rows",
    "row_to_record": "rows",
    "SqlLedger": "store",
    "split_window": "store",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)


__all__ = [
    "BATCH_ROWS",
    "CAPACITY",
    "INTERVAL_S",
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
