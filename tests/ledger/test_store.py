"""The ledger's contract on both backends: exact round trips, idempotency, totals."""

from __future__ import annotations

import asyncio
import dataclasses
import sqlite3
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from claude_router.catalog import pricing
from claude_router.errors import LedgerError
from claude_router.ledger import (
    Dimension,
    SqlLedger,
    Totals,
    merge_groups,
    open_ledger,
    record_to_row,
    split_window,
)
from claude_router.ledger.schema import usage
from claude_router.types import TokenUsage, UsageRecord

from .records import HAIKU, SONNET, T0, priced, traffic


def normalised(rec: UsageRecord) -> UsageRecord:
    """What the ledger gives back: tags as a sorted set."""
    return dataclasses.replace(rec, tags=tuple(sorted(set(rec.tags))))


def expected_totals(records: Iterable[UsageRecord]) -> Totals:
    total = Totals()
    for r in records:
        total = total + Totals(
            requests=1,
            usage=r.usage,
            classifier_input_tokens=r.classifier_usage.input_tokens,
            classifier_output_tokens=r.classifier_usage.output_tokens,
            cost_usd=r.cost_usd,
            classifier_cost_usd=r.classifier_cost_usd,
            cost_if_opus_usd=r.cost_if_opus_usd,
            cost_if_sonnet_usd=r.cost_if_sonnet_usd,
            retries=r.retries,
            fallbacks=int(r.fallback),
            errors=int(not r.ok),
            escalations=int(r.escalated),
            speculatives=int(r.speculative),
            latency_s=r.latency_s,
        )
    return total


def assert_same(actual: Totals, expected: Totals) -> None:
    assert dataclasses.replace(actual, latency_s=0.0) == dataclasses.replace(expected, latency_s=0.0)
    assert actual.latency_s == pytest.approx(expected.latency_s)


async def test_round_trip_is_exact(ledger_url: str) -> None:
    records = traffic(40)
    async with await open_ledger(ledger_url) as ledger:
        for rec in records:
            await ledger.record(rec)
        back = await ledger.rows()
    assert [normalised(r) for r in records[::-1]] == back


async def test_cache_and_batch_rows_store_exact_costs(ledger_url: str) -> None:
    tokens = TokenUsage(
        input_tokens=7,
        output_tokens=3,
        cache_write_5m_tokens=11,
        cache_write_1h_tokens=13,
        cache_read_tokens=17,
    )
    cached = priced("cached", model=SONNET, usage=tokens)
    batched = priced("batched", model=HAIKU, usage=tokens, batch=True)
    async with await open_ledger(ledger_url) as ledger:
        await ledger.record(cached)
        await ledger.record(batched)
        await ledger.flush()
        async with ledger.store.engine.connect() as conn:
            stored = {r.request_id: r for r in await conn.execute(sa.select(usage))}
        back = {r.request_id: r for r in await ledger.rows()}
    # Sonnet 4.6: 7×$3 + 3×$15 + 11×$3.75 + 13×$6 + 17×$0.30 per million tokens.
    assert stored["cached"].cost_nusd == 7 * 3000 + 3 * 15000 + 11 * 3750 + 13 * 6000 + 17 * 300
    # Haiku 4.5 at half price: 7×$0.50 + 3×$2.50 + 11×$0.625 + 13×$1 + 17×$0.05 per million.
    assert stored["batched"].cost_nusd == 7 * 500 + 3 * 2500 + 11 * 625 + 13 * 1000 + 17 * 50
    assert back["batched"].cost_usd == pricing.cost(HAIKU, tokens, batch=True) == Decimal("0.000031725")
    assert back["cached"].cost_if_opus_usd == pricing.cost("claude-opus-5-5", tokens)  # the top tier
    assert back["batched"].usage == tokens
    assert back["batched"].batch
    assert not back["cached"].batch


async def test_concurrent_duplicate_writes_keep_one_row_each(ledger_url: str) -> None:
    records = traffic(120)
    writers = [await SqlLedger.open(ledger_url) for _ in range(4)]  # separate connection pools
    try:
        chunks = [records[i : i + 30] for i in range(0, len(records), 30)]
        jobs = [
            w.write([record_to_row(r) for r in chunk]) for w in writers for chunk in chunks for _ in range(2)
        ]
        inserted = await asyncio.gather(*jobs)
        assert sum(inserted) == len(records)  # each row inserted by exactly one writer
        rows = await writers[0].rows()
        assert len(rows) == len({r.request_id for r in rows}) == len(records)
        assert_same(merge_groups(await writers[0].totals()), expected_totals(records))
        by_tag = {g.key[Dimension.TAG]: g.totals.requests for g in await writers[0].totals([Dimension.TAG])}
        assert by_tag == {"batch-job": 30, "customer_facing": 18}
    finally:
        for w in writers:
            await w.close()


async def test_duplicates_through_the_buffer_count_once(ledger_url: str) -> None:
    records = traffic(30)
    async with await open_ledger(ledger_url) as ledger:
        await asyncio.gather(*(ledger.record(r) for r in records + records + records[:5]))
        await ledger.flush()
        await asyncio.gather(*(ledger.record(r) for r in records))
        assert len(await ledger.rows()) == 30
        assert_same(merge_groups(await ledger.totals()), expected_totals(records))


def group_by(
    records: Iterable[UsageRecord], key: Callable[[UsageRecord], list[Hashable]]
) -> dict[Hashable, Totals]:
    buckets: dict[Hashable, list[UsageRecord]] = defaultdict(list)
    for r in records:
        for k in key(r):
            buckets[k].append(r)
    return {k: expected_totals(v) for k, v in buckets.items()}


KEYS: dict[Dimension, Callable[[UsageRecord], list[Hashable]]] = {
    Dimension.DAY: lambda r: [r.created_at.date()],
    Dimension.MODEL: lambda r: [r.model_used],
    Dimension.LABEL: lambda r: [r.label.value if r.label else None],
    Dimension.CUSTOMER: lambda r: [r.customer],
    Dimension.TAG: lambda r: list(r.tags),
    Dimension.BATCH: lambda r: [r.batch],
}


@pytest.mark.parametrize(
    ("since", "until"),
    [
        (None, None),  # whole days only: the rollups
        (T0 + timedelta(hours=5, minutes=3), None),  # a partial first day
        (T0 + timedelta(hours=5), T0 + timedelta(days=1, hours=20, minutes=1)),  # partial both ends
        (T0 + timedelta(hours=3), T0 + timedelta(hours=9)),  # inside one day
        (T0 + timedelta(days=1), T0 + timedelta(days=2)),  # exactly one whole day
    ],
)
async def test_totals_equal_the_sum_of_records(
    ledger_url: str, since: datetime | None, until: datetime | None
) -> None:
    records = traffic(700)  # ~3.4 days at one request per 7 minutes
    window = [
        r
        for r in records
        if (since is None or r.created_at >= since) and (until is None or r.created_at < until)
    ]
    async with await open_ledger(ledger_url) as ledger:
        for rec in records:
            await ledger.record(rec)
        assert_same(merge_groups(await ledger.totals(since=since, until=until)), expected_totals(window))
        for dim, key in KEYS.items():
            groups = await ledger.totals([dim], since=since, until=until)
            got = {g.key[dim]: g.totals for g in groups}
            want = group_by(window, key)
            assert got.keys() == want.keys(), dim
            for k in want:
                assert_same(got[k], want[k])
        pair = await ledger.totals([Dimension.DAY, Dimension.MODEL], since=since, until=until)
        assert len(pair) == len({(r.created_at.date(), r.model_used) for r in window})
        only = await ledger.totals(since=since, until=until, customer="cust-1")
        assert_same(merge_groups(only), expected_totals(r for r in window if r.customer == "cust-1"))


async def test_rows_filters_and_limit(ledger_url: str) -> None:
    records = traffic(50)
    async with await open_ledger(ledger_url) as ledger:
        for rec in records:
            await ledger.record(rec)
        latest = await ledger.rows(limit=5)
        assert [r.request_id for r in latest] == [r.request_id for r in records[-5:][::-1]]
        mine = await ledger.rows(customer="cust-2")
        assert {r.request_id for r in mine} == {r.request_id for r in records if r.customer == "cust-2"}
        some = await ledger.rows(request_ids=["req-000003", "req-000007", "missing"])
        assert sorted(r.request_id for r in some) == ["req-000003", "req-000007"]
        window = await ledger.rows(since=records[10].created_at, until=records[20].created_at)
        assert len(window) == 10
        streamed = [r.request_id async for r in ledger.store.iter_rows(since=records[40].created_at)]
        assert streamed == [r.request_id for r in records[40:]]


async def test_records_that_cannot_be_stored_are_refused_at_once(tmp_path: Path) -> None:
    async with await open_ledger(f"{tmp_path}/l.db") as ledger:
        bad = [
            priced(""),
            priced("x", customer="c" * 300),
            dataclasses.replace(priced("y"), usage=TokenUsage(input_tokens=-1)),
            dataclasses.replace(priced("z"), cost_usd=Decimal("NaN")),
            priced("t", tags=("ok", "x" * 200)),
        ]
        for rec in bad:
            with pytest.raises(LedgerError):
                await ledger.record(rec)
        assert await ledger.rows() == []


def test_split_window() -> None:
    day = datetime(2025, 6, 1, tzinfo=UTC)
    assert split_window(None, None) == ((None, None), [])
    assert split_window(day, day + timedelta(days=2)) == ((day.date(), (day + timedelta(days=2)).date()), [])
    mid = day + timedelta(hours=6)
    days, edges = split_window(mid, None)
    assert days == ((day + timedelta(days=1)).date(), None)
    assert edges == [(mid, day + timedelta(days=1))]
    assert split_window(mid, mid + timedelta(hours=1)) == (None, [(mid, mid + timedelta(hours=1))])


async def test_rebuilt_rollups_match_the_incremental_ones(ledger_url: str) -> None:
    records = traffic(300)
    async with await open_ledger(ledger_url) as ledger:
        for rec in records:
            await ledger.record(rec)
        dims = [Dimension.DAY, Dimension.CUSTOMER, Dimension.TAG]
        before = {tuple(g.key.values()): g.totals for g in await ledger.totals(dims)}
        await ledger.store.rebuild_rollups()
        after = {tuple(g.key.values()): g.totals for g in await ledger.totals(dims)}
    assert before.keys() == after.keys()
    for key, totals in before.items():
        assert_same(after[key], totals)


async def test_a_closed_sqlite_ledger_is_plain_sqlite(tmp_path: Path) -> None:
    records = traffic(20)
    path = tmp_path / "ledger.db"
    async with await open_ledger(path) as ledger:
        for rec in records:
            await ledger.record(rec)
    assert not (tmp_path / "ledger.db-wal").exists() or (tmp_path / "ledger.db-wal").stat().st_size == 0
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        count, nano = db.execute(
            "SELECT count(*), sum(cost_nusd + classifier_cost_nusd) FROM usage"
        ).fetchone()
    finally:
        db.close()
    assert count == 20
    assert Decimal(nano) / 10**9 == sum((r.total_cost_usd for r in records), Decimal(0))
