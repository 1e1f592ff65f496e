"""The report's "By session" table (`report --by session`): what each coding session cost, the tiers
that answered it, and what its prompt cache saved.

A session is Claude Code's session id, or the conversation a caller named (`routing/session.py`).
Its cache saving is its cache reads priced at the input rate of the model that read them, minus what
they were billed at the cache-read rate; the net figure also takes off what its cache writes cost
above the input rate (a write never read back is a loss).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich import box
from rich.markup import escape
from rich.table import Table

from ..ledger import Dimension
from .columns import Column, fitted_table
from .fmt import cost_text, key_text, pct, tokens, usd
from .summary import SessionLine, cache_hit_rate


def sessions_table(lines: Sequence[SessionLine], width: int) -> Table:
    columns = [
        Column("Session", "id"),
        Column("Requests", "number"),
        Column("Tier mix", "text"),
        Column("Cache read", "number", drop=3),
        Column("Hit rate", "number", drop=4),
        Column("Cost", "number"),
        Column("Cache saved", "number"),
        Column("Net of writes", "number", drop=1),
    ]
    rows = [
        [
            escape(key_text(line.session, Dimension.SESSION)),
            tokens(line.totals.requests),
            escape(line.tier_mix),
            tokens(line.totals.usage.cache_read_tokens),
            pct(cache_hit_rate(line.totals.usage)),
            cost_text(line.totals),
            usd(line.cache_read_saved_usd),
            usd(line.cache_net_saved_usd),
        ]
        for line in lines
    ]
    options: dict[str, Any] = {
        "title": "By session",
        "title_justify": "left",
        "box": box.SIMPLE_HEAD,
        "title_style": "bold",
    }
    return fitted_table(columns, rows, width, **options)
