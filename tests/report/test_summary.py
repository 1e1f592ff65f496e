"""The report's numbers against sums computed here from the records themselves."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from claude_router.catalog import pricing
from claude_router.ledger import Dimension, SqlLedger, Totals, open_ledger
from claude_router.report import build_summary
from claude_router.report.summary import cache_savings
from claude_router.types import TokenUsage, UsageRecord
from ledger.records import HAIKU, SONNET, priced
from ledger.test_store import assert_same

from .conftest import START


async def test_totals_savings_and_tier_mix(ledger_path: Path, records: list[UsageRecord]) -> None:
    store = await SqlLedger.open(ledger_path)
    try:
        s = await build_summary(store, by=[Dimension.LABEL])
    finally:
        await store.close()
    want = Totals.of(records)
    assert_same(s.totals, want)
    actual = sum((r.cost_usd + r.classifier_cost_usd for r in records), Decimal(0))
    assert s.actual_usd == actual
    assert s.savings_vs_opus_usd == sum((r.cost_if_opus_usd for r in records), Decimal(0)) - actual
    assert s.savings_vs_opus_pct == s.savings_vs_opus_usd / want.cost_if_opus_usd * 100
    assert s.classifier_share_pct == want.classifier_cost_usd / actual * 100
    tiers = {g.key[Dimension.MODEL]: g.totals.requests for g in s.by_tier}
    assert tiers == {"haiku": 720, "sonnet": 240, "opus": 240}
    assert [g.key[Dimension.LABEL] for g in s.breakdown] == ["simple", "complex", "moderate"]  # by cost
    assert len(s.days) == len({r.created_at.date() for r in records})
    customers = [g.key[Dimension.CUSTOMER] for g in s.top_customers]
    costs = [g.totals.total_cost_usd for g in s.top_customers]
    assert costs == sorted(costs, reverse=True)
    assert set(customers) == {r.customer for r in records}


async def test_top_customers_window_and_one_customer(ledger_path: Path, records: list[UsageRecord]) -> None:
    since, until = START + timedelta(days=2, hours=7), START + timedelta(days=5, hours=3)
    window = [r for r in records if since <= r.created_at < until]
    store = await SqlLedger.open(ledger_path)
    try:
        s = await build_summary(store, since=since, until=until, top=2, by=[Dimension.TAG, Dimension.DAY])
        one = await build_summary(store, customer="cust-3")
    finally:
        await store.close()
    assert_same(s.totals, Totals.of(window))
    assert len(s.top_customers) == 2
    tagged = {(g.key[Dimension.TAG], g.key[Dimension.DAY]) for g in s.breakdown}
    # Untagged requests are a group of their own (tag None), not dropped.
    assert tagged == {(t, r.created_at.date()) for r in window for t in (r.tags or (None,))}
    assert_same(one.totals, Totals.of(r for r in records if r.customer == "cust-3"))


def test_cache_savings_against_fresh_input() -> None:
    usage = TokenUsage(
        input_tokens=100, cache_write_5m_tokens=1000, cache_write_1h_tokens=0, cache_read_tokens=9000
    )
    # Sonnet 4.6: fresh $3/M; writes $3.75/M; reads $0.30/M.
    fresh = Decimal(10_000 * 3) / 1_000_000
    paid = (Decimal(1000) * Decimal("3.75") + 9000 * Decimal("0.30")) / 1_000_000
    assert cache_savings(SONNET, usage, batch=False) == fresh - paid
    assert cache_savings(SONNET, usage, batch=True) == (fresh - paid) / 2
    assert cache_savings("not-a-model", usage, batch=False) == 0
    assert cache_savings(None, usage, batch=False) == 0
    write_only = TokenUsage(cache_write_1h_tokens=1000)
    assert cache_savings(HAIKU, write_only, batch=False) < 0  # a write never read back costs extra


async def test_summary_cache_savings_is_the_sum_over_models(tmp_path: Path) -> None:
    usage = TokenUsage(50, 10, 2000, 500, 8000)
    recs = [
        priced("a", model=HAIKU, usage=usage, created_at=START),
        priced("b", model=SONNET, usage=usage, created_at=START, batch=True),
    ]
    async with await open_ledger(tmp_path / "l.db") as ledger:
        for rec in recs:
            await ledger.record(rec)
        s = await build_summary(ledger)
    expected = cache_savings(HAIKU, usage, batch=False) + cache_savings(SONNET, usage, batch=True)
    assert s.cache_savings_usd == expected > 0
    assert s.cache_hit_rate_pct == Decimal(16000) / Decimal(2 * usage.total_input_tokens) * 100
    assert s.totals.cost_usd == pricing.cost(HAIKU, usage) + pricing.cost(SONNET, usage, batch=True)


async def test_an_empty_ledger_reports_zeros(tmp_path: Path) -> None:
    async with await open_ledger(tmp_path / "l.db") as ledger:
        s = await build_summary(ledger)
    assert s.totals == Totals()
    assert s.savings_vs_opus_pct == 0
    assert s.top_customers == []
