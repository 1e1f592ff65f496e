"""Forecast benchmark, and the two routing optimisations against plain routing on the emulator.

    .venv/bin/python bench/forecast.py [--section all|replay|optimisations] [--rows 1000000]

Replay: a 1,000,000-row ledger under three policies (target: < 30 s).

The forecast folds the ledger into cohorts with one GROUP BY and prices each cohort once per
policy. Printed against two baselines measured in the same run on the same file:

- the per-row replay a straightforward implementation would do: stream every `UsageRecord`
  (`SqlLedger.iter_rows`) and price it under each policy, timed on `--sample` rows and scaled
  to the whole table;
- one plain GROUP BY scan of `usage` (the floor any replay that reads every row must pay).

Optimisations (the emulator in its own process, a fresh one per run so every run starts with a
cold prompt cache; costs are the ledger's exact figures, shown as ratios to plain routing):

- cache-aware routing: conversations sharing a long cached system prompt, whose turns the
  classifier labels complex then simple (the turns that plain routing scatters across tiers);
- the answer-quality cascade: the demo's requests plus requests asking for JSON and requests
  cut by a small max_tokens, with the share of answers that fail the local checks.
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
from typing import Any

from pydantic import SecretStr

from _common import BENCH_KEY, emulator_process
from claude_router.catalog.pricing import PriceTable, Tier
from claude_router.config import PolicySettings, Settings
from claude_router.demo import demo_requests
from claude_router.forecast import CohortKey, LabelPolicy, TierPolicy, read_ledger, replay
from claude_router.ledger import SqlLedger
from claude_router.quality import LocalChecks
from claude_router.routing.router import RoutedResponse, Router
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


async def replay_section(args: argparse.Namespace) -> int:
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


# ---- the optimisations on the emulator -----------------------------------------------------------

SIMPLE = "Is the sentiment of this review positive or negative? 'Great blender.'"
COMPLEX = (
    "Analyse this contract clause and state which party carries more of the risk, whether the "
    "indemnification scope is unusual, and whether the limitation of liability is market-standard: "
    "'The Supplier shall indemnify the Customer against all losses arising from any breach.'"
)
MANUAL = " ".join(f"Clause {i}: the parties agree to act in good faith in matter {i}." for i in range(800))


def bench_settings(url: str, **sections: Any) -> Settings:
    upstream = {"base_url": url, "api_key": SecretStr(BENCH_KEY), "max_retries": 0}
    return Settings(upstream=upstream, classifier={"kind": "llm"}, **sections)


async def conversations_cost(aware: bool, count: int, horizon: int = 1) -> tuple[Decimal, Decimal, int]:
    """Each conversation: complex, simple, simple, complex turns on one cached system prompt.
    Returns the total cost, the cost of the turns after the first (where the two differ), and
    how many turns stayed on a warm tier."""
    total, later, stayed = Decimal(0), Decimal(0), 0
    with emulator_process() as url:
        sections = {"policy": {"cache_aware": aware}, "cache_affinity": {"horizon_turns": horizon}}
        async with Router(bench_settings(url, **sections)) as router:
            for c in range(count):
                system = [
                    {"type": "text", "text": f"Case {c}. " + MANUAL, "cache_control": {"type": "ephemeral"}}
                ]
                messages: list[dict[str, Any]] = []
                for text in (COMPLEX, SIMPLE, SIMPLE, COMPLEX):
                    messages.append({"role": "user", "content": text})
                    routed = await router.create(
                        model="auto",
                        max_tokens=64,
                        system=system,
                        messages=list(messages),
                        metadata={"user_id": f"conversation-{c}"},
                    )
                    messages.append({"role": "assistant", "content": routed.text or "ok"})
                    total += routed.cost_usd
                    later += routed.cost_usd if len(messages) > 2 else Decimal(0)
                    stayed += routed.route.reason == "cache_affinity"
    return total, later, stayed


def cascade_requests() -> list[dict[str, Any]]:
    requests = [dict(r.params) for r in demo_requests()]
    for r in list(requests):
        requests.append({**r, "system": "Reply with a JSON object only."})
        requests.append({**r, "max_tokens": 4})
    return requests


async def cascade_cost(enabled: bool) -> tuple[Decimal, int, int, int]:
    """(cost, requests, escalated, answers failing the local checks)."""
    checks = LocalChecks.load()
    requests = cascade_requests()
    with emulator_process() as url:
        async with Router(bench_settings(url, quality={"auto": enabled})) as router:
            results = await router.map(requests, concurrency=4)
    answered = [r for r in results if isinstance(r, RoutedResponse)]
    cost = sum((r.cost_usd for r in answered), Decimal(0))
    escalated = sum(r.record.escalated for r in answered)
    failing = sum(
        (checks.check(params, r.message).value or 0.0) < 0.5
        for params, r in zip(requests, results, strict=True)
        if isinstance(r, RoutedResponse)
    )
    return cost, len(answered), escalated, failing


async def optimisations_section(count: int) -> int:
    plain, plain_later, _ = await conversations_cost(False, count)
    turns = count * 4
    print(f"cache-aware routing, {count} conversations x 4 turns (complex, simple, simple, complex)")
    print(
        f"on a ~12k-token cached system prompt; plain routing ${plain:.4f} (turns 2-4: ${plain_later:.4f}):"
    )
    for horizon in (1, 3):
        aware, aware_later, stayed = await conversations_cost(True, count, horizon)
        print(
            f"  horizon {horizon}: ${aware:.4f}, {aware / plain:.2f}x plain; turns 2-4 (turn 1 writes the "
            f"cache either way) {aware_later / plain_later:.2f}x; {stayed} of {turns} turns kept warm"
        )
    base, n, _, base_failing = await cascade_cost(False)
    cost, _, escalated, failing = await cascade_cost(True)
    print(f"answer-quality cascade, {n} requests (demo set, + JSON asked, + cut by max_tokens):")
    print(f"  classify-then-route ${base:.4f}, with the cascade ${cost:.4f}: {cost / base:.2f}x the cost")
    print(f"  {escalated} of {n} escalated; answers failing the local checks: {base_failing} -> {failing}")
    return 0


async def main(args: argparse.Namespace) -> int:
    status = 0
    if args.section in ("all", "replay"):
        status |= await replay_section(args)
    if args.section in ("all", "optimisations"):
        status |= await optimisations_section(args.conversations)
    return status


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--sample", type=int, default=50_000)
    parser.add_argument("--section", choices=("all", "replay", "optimisations"), default="all")
    parser.add_argument("--conversations", type=int, default=12)
    sys.exit(asyncio.run(main(parser.parse_args())))
