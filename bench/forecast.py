"""Forecast benchmark: replay a 1,000,000-row ledger under three policies (target: < 30 s).

    .venv/bin/python bench/forecast.py [--rows 1000000] [--sample 50000]

The forecast folds the ledger into cohorts with one GROUP BY and prices each cohort once per
policy. Printed against two baselines measured in the same run on the same file:

- the per-row replay a straightforward implementation would do: stream every `UsageRecord`
  (`SqlLedger.iter_rows`) and price it under each policy, timed on `--sample` rows and scaled
  to the whole table;
- one plain GROUP BY scan of `usage` (the floor any replay that reads every row must pay).
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

from claude_router.config import PolicySettings, Settings
from claude_router.forecast import CohortKey, LabelPolicy, TierPolicy, read_ledger, replay
from claude_router.ledger import SqlLedger
from claude_router.pricing import PriceTable, Tier
from claude_router.types import Label, UsageRecord
from ledger import million_rows  # bench/ledger.py: the same generated month of traffic

TARGET_S = 30.0
_SCAN = """
SELECT label, model_used, batch, count(*), sum(input_tokens), sum(output_tokens),
  sum(cache_read_tokens), sum(cost_nusd) FROM usage WHERE status = 'ok' GROUP BY label, model_used, batch
"""


def policies(prices: PriceTable) -> list[LabelPolicy | TierPolicy]:
    draft = PolicySettings(label_models={Label.MODERATE: "claude-haiku-4-5"})
    return [
        LabelPolicy("current", Settings().policy, prices),
        LabelPolicy("draft", draft, prices),
        TierPolicy.all_on(Tier.OPUS, prices),
    ]


async def forecast_once(path: Path, prices: PriceTable) -> tuple[float, list[Decimal]]:
    t0 = time.perf_counter()
    store = await SqlLedger.open(path)
    try:
        workload = await read_ledger(store, prices)
    finally:
        await store.close()
    result = replay(workload, policies(prices), prices)
    return time.perf_counter() - t0, [p.cost_usd for p in result.policies]


async def per_row_once(path: Path, prices: PriceTable, sample: int) -> float:
    """Seconds per row of the object-per-request replay."""
    chosen = policies(prices)
    store = await SqlLedger.open(path)
    totals = [Decimal(0)] * len(chosen)
    seen = 0
    t0 = time.perf_counter()
    try:
        async for rec in store.iter_rows():
            if rec.ok:
                for i, policy in enumerate(chosen):
                    model = policy.model_for(_key(rec)) or ""
                    totals[i] += prices.cost(model, rec.usage, batch=rec.batch)
            seen += 1
            if seen >= sample:
                break
    finally:
        await store.close()
    return (time.perf_counter() - t0) / max(seen, 1)


def _key(rec: UsageRecord) -> CohortKey:
    return CohortKey(label=rec.label, tags=frozenset(rec.tags), batch=rec.batch, model=rec.model_used)


def scan_once(path: Path) -> float:
    db = sqlite3.connect(path)
    t0 = time.perf_counter()
    db.execute(_SCAN).fetchall()
    elapsed = time.perf_counter() - t0
    db.close()
    return elapsed


async def main(args: argparse.Namespace) -> int:
    prices = PriceTable.default()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "forecast-bench.db"
        gen = await million_rows(path, args.rows)
        print(f"generated {args.rows:,} ledger rows in {gen:.1f} s")
        best, costs = min([await forecast_once(path, prices) for _ in range(2)])
        per_row = await per_row_once(path, prices, args.sample)
        scan = min(scan_once(path) for _ in range(2))
    naive = per_row * args.rows
    print(f"forecast, 3 policies over {args.rows:,} rows: {best:.2f} s (target < {TARGET_S:.0f} s)")
    print("  policy costs: " + ", ".join(f"${c:,.2f}" for c in costs))
    print(
        f"  vs per-row replay ({naive:.1f} s, scaled from {args.sample:,} rows): {naive / best:.1f}x faster"
    )
    print(f"  vs one plain GROUP BY scan ({scan:.2f} s): {best / scan:.2f}x the scan")
    return 0 if best < TARGET_S else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--sample", type=int, default=50_000)
    sys.exit(asyncio.run(main(parser.parse_args())))
