"""m006: training examples beside the ledger, and requests per day by where their label came from."""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from claude_router.classify.base import ClassifierInput
from claude_router.classify.capture import CapturingClassifier, input_from_json
from claude_router.ledger import SqlLedger, migrate, migration_names, open_ledger, record_to_row
from claude_router.ledger.engine import create_engine, resolve_url
from claude_router.ledger.examples import ExampleBuffer, ExampleStore, classifier_examples
from claude_router.ledger.schema import usage
from claude_router.ledger.sources import usage_daily_sources
from claude_router.types import ClassifierSource, Decision, Label, TokenUsage, UsageRecord

from .records import T0, traffic

SOURCES = (ClassifierSource.LOCAL, ClassifierSource.LOCAL, ClassifierSource.LLM, ClassifierSource.CACHE)


def sourced(n: int, *, step: timedelta = timedelta(minutes=7)) -> list[UsageRecord]:
    """`traffic(n)` with the classifier source cycling local, local, llm, cache."""
    return [
        dataclasses.replace(rec, classifier_source=SOURCES[i % len(SOURCES)])
        for i, rec in enumerate(traffic(n, step=step))
    ]


def expected(
    records: list[UsageRecord], since: datetime, until: datetime, customer: str | None = None
) -> Counter:
    return Counter(
        (r.created_at.date(), r.classifier_source.value)
        for r in records
        if since <= r.created_at < until and (customer is None or r.customer == customer)
    )


async def _counts(store: SqlLedger, **window: object) -> Counter[tuple[object, str]]:
    return Counter({(s.day, s.source): s.requests for s in await store.sources(**window)})  # type: ignore[arg-type]


async def test_sources_per_day_follow_the_writes_on_whole_and_partial_days(ledger_url: str) -> None:
    records = sourced(900)  # 7 minutes apart: about four and a half days
    async with await open_ledger(ledger_url) as ledger:
        for rec in records:
            await ledger.record(rec)
        await ledger.flush()
        store = ledger.store
        everything = (T0, T0 + timedelta(days=30))
        assert await _counts(store) == expected(records, *everything)
        edges = (T0 + timedelta(hours=13), T0 + timedelta(days=3, hours=5))  # partial first and last days
        assert await _counts(store, since=edges[0], until=edges[1]) == expected(records, *edges)
        one = await _counts(store, since=edges[0], until=edges[1], customer="cust-2")
        assert one == expected(records, *edges, customer="cust-2")
        await ledger.record(records[0])  # a repeated request id counts once
        assert await _counts(store) == expected(records, *everything)


async def test_from_the_previous_schema_the_sources_are_back_filled(ledger_url: str) -> None:
    records = sourced(300)
    names = migration_names()
    before = names[names.index("m006_classifier_learning") - 1]
    engine = create_engine(resolve_url(ledger_url))
    try:
        await migrate(engine, upto=before)
        async with engine.begin() as conn:  # rows written before m006
            await conn.execute(sa.insert(usage), [record_to_row(r) for r in records])
        assert "m006_classifier_learning" in await migrate(engine)
        async with engine.connect() as conn:
            assert (
                await conn.execute(sa.select(sa.func.count()).select_from(classifier_examples))
            ).scalar() == 0
            rolled = (await conn.execute(sa.select(sa.func.sum(usage_daily_sources.c.requests)))).scalar()
            assert rolled == len(records)
    finally:
        await engine.dispose()
    store = await SqlLedger.open(ledger_url)
    try:
        assert await _counts(store) == expected(records, T0, T0 + timedelta(days=30))
        await ExampleStore(store.engine).write([])  # the new table takes rows
    finally:
        await store.close()


class Labels:
    """An LLM classifier stand-in: every request labelled complex by a model, or as told."""

    version = "fake-llm"

    def __init__(self, source: ClassifierSource = ClassifierSource.LLM, confidence: float = 0.8) -> None:
        self.source = source
        self.confidence = confidence

    async def classify(self, item: ClassifierInput) -> Decision:
        return Decision(
            Label.COMPLEX, self.confidence, self.source, usage=TokenUsage(300, 1), model="claude-haiku-4-5"
        )


SECRET = "Quarterly revenue for Project Nightingale fell because the Lisbon supplier defaulted"
SYSTEM = "You are the finance assistant of Hollowbrook Ltd"


def _item() -> ClassifierInput:
    return ClassifierInput(SECRET, system=SYSTEM, turns=3, context_chars=900, max_tokens=2048)


async def _captured(path: Path, *, keep_prompts: bool) -> list[dict[str, object]]:
    store = await SqlLedger.open(path)
    buffer = ExampleBuffer(ExampleStore(store.engine), interval_s=0.01)
    try:
        classifier = CapturingClassifier(Labels(), buffer, keep_prompts=keep_prompts)
        await classifier.classify(_item())
        await classifier.classify(_item())  # the same reading twice: one example
        await buffer.close()
        async with store.engine.connect() as conn:
            rows = [dict(r) for r in (await conn.execute(sa.select(classifier_examples))).mappings()]
    finally:
        await store.close()
    assert buffer.stats.offered == 2
    assert buffer.stats.dropped == buffer.stats.failed == 0
    return rows


async def test_without_opt_in_no_prompt_text_is_stored(tmp_path: Path) -> None:
    rows = await _captured(tmp_path / "ledger.db", keep_prompts=False)

    assert len(rows) == 1
    row = rows[0]
    assert row["input"] is None
    assert (row["label"], row["labeller"]) == ("complex", "claude-haiku-4-5")
    stored = " ".join(str(v) for v in row.values()).lower()
    for text in (SECRET, SYSTEM):
        words = text.lower().split()
        assert text.lower() not in stored
        # Features hold single words and word pairs: never three words of the prompt in a row.
        for i in range(len(words) - 2):
            assert " ".join(words[i : i + 3]) not in stored
    features = json.loads(str(row["features"]))
    assert "w:nightingale" in features["groups"][0]  # what training reads is there


async def test_with_opt_in_the_whole_classifier_input_is_kept(tmp_path: Path) -> None:
    rows = await _captured(tmp_path / "ledger.db", keep_prompts=True)

    assert len(rows) == 1
    assert input_from_json(str(rows[0]["input"])) == _item()


async def test_only_labels_the_llm_gave_are_kept(tmp_path: Path) -> None:
    store = await SqlLedger.open(tmp_path / "ledger.db")
    buffer = ExampleBuffer(ExampleStore(store.engine), interval_s=0.01)
    try:
        for inner in (
            Labels(ClassifierSource.LOCAL),
            Labels(ClassifierSource.CACHE),
            Labels(ClassifierSource.FALLBACK, 0.0),
            Labels(ClassifierSource.LLM, 0.5),  # the reply named no label
        ):
            await CapturingClassifier(inner, buffer).classify(_item())
        await buffer.close()
        assert await ExampleStore(store.engine).count() == 0
        assert buffer.stats.offered == 0
    finally:
        await store.close()


async def test_examples_read_back_oldest_first_and_a_full_buffer_drops(ledger_url: str) -> None:
    store = await SqlLedger.open(ledger_url)
    buffer = ExampleBuffer(ExampleStore(store.engine), batch_rows=2, capacity=3, interval_s=0.01)
    clock = iter(T0 + timedelta(minutes=m) for m in (5, 1, 3, 4))
    try:
        classifier = CapturingClassifier(Labels(), buffer, clock=lambda: next(clock))
        for text in ("first ask", "second ask", "third ask", "fourth ask"):
            await classifier.classify(ClassifierInput(text))  # nothing awaited in between: the 4th is dropped
        await buffer.close()
        rows = await ExampleStore(store.engine).rows()
        assert [r.created_at for r in rows] == [T0 + timedelta(minutes=m) for m in (1, 3, 5)]
        assert buffer.stats.dropped == 1
        since = await ExampleStore(store.engine).rows(since=T0 + timedelta(minutes=2), limit=1)
        assert [r.created_at for r in since] == [T0 + timedelta(minutes=3)]
        assert all(r.created_at.tzinfo is UTC for r in rows)
    finally:
        await store.close()


class BrokenStore(ExampleStore):
    """A store whose database refuses every write for good (not a transient failure)."""

    async def write(self, rows: object) -> None:
        raise sa.exc.IntegrityError("INSERT", {}, Exception("refused"))


async def test_a_write_that_cannot_succeed_loses_its_examples_loudly_not_the_request(tmp_path: Path) -> None:
    store = await SqlLedger.open(tmp_path / "ledger.db")
    buffer = ExampleBuffer(BrokenStore(store.engine), interval_s=0.01)
    try:
        classifier = CapturingClassifier(Labels(), buffer)
        decision = await classifier.classify(_item())  # the request gets its label regardless
        await buffer.close()
    finally:
        await store.close()
    assert decision.label is Label.COMPLEX
    assert (buffer.stats.offered, buffer.stats.written, buffer.stats.failed) == (1, 0, 1)
