"""Quality monitoring end to end: routed on the emulator, re-run on the tier above, judged, stored."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from claude_router.catalog.pricing import PriceTable
from claude_router.emulator.config import EmulatorConfig, FaultConfig
from claude_router.emulator.server import running_emulator
from claude_router.ledger.engine import create_engine, resolve_url
from claude_router.ledger.verdicts import Better, Verdict, VerdictStore
from claude_router.monitor import Judge, Rubric, is_sampled
from claude_router.types import RequestMeta
from claude_router.upstream import Upstream
from routing.conftest import COMPLEX, SIMPLE, ask, settings_for

from .conftest import MonitoredRouter

HAIKU, SONNET, OPUS = "claude-haiku-5-5", "claude-sonnet-5-5", "claude-opus-5-5"
MODERATE = "Write a Python function that merges two sorted lists, with unit tests."
PRICES = PriceTable.default()


async def test_a_haiku_answer_is_rerun_on_sonnet_and_judged(
    monitored: MonitoredRouter, verdicts: VerdictStore
) -> None:
    router, monitor = monitored()
    routed = await router.create(**ask(SIMPLE), meta=RequestMeta(request_id="req_simple"))
    assert routed.model_used == HAIKU
    await monitor.drain()
    [verdict] = await verdicts.rows()
    assert (verdict.request_id, verdict.label, verdict.model) == ("req_simple", "simple", HAIKU)
    assert verdict.higher_model == SONNET
    assert verdict.better in (Better.CHEAPER, Better.HIGHER, Better.TIE)
    assert set(verdict.cheaper_scores) == set(verdict.higher_scores) == set(Rubric.load().names)
    assert all(1 <= s <= 5 for s in (*verdict.cheaper_scores.values(), *verdict.higher_scores.values()))
    assert (verdict.judge_model, verdict.rubric, verdict.reason) == (HAIKU, Rubric.load().version, None)
    # Costs are the price sheet's for the tokens each call reported, and are kept out of the request's record.
    assert verdict.rerun_usage.output_tokens > 0
    assert verdict.judge_usage.total_input_tokens > 0
    assert verdict.rerun_cost_usd == PRICES.cost(SONNET, verdict.rerun_usage) > 0
    assert verdict.judge_cost_usd == PRICES.cost(HAIKU, verdict.judge_usage) > 0
    assert routed.cost_usd == routed.record.cost_usd + routed.record.classifier_cost_usd
    assert routed.record.cost_usd == PRICES.cost(HAIKU, routed.record.usage)
    assert monitor.stats.written == 1


async def test_sonnet_goes_to_opus_and_opus_or_a_concrete_model_is_never_sampled(
    monitored: MonitoredRouter, verdicts: VerdictStore
) -> None:
    router, monitor = monitored()
    moderate = await router.create(**ask(MODERATE, max_tokens=300), meta=RequestMeta(request_id="req_mod"))
    top = await router.create(**ask(COMPLEX, max_tokens=300), meta=RequestMeta(request_id="req_top"))
    concrete = await router.create(**{**ask(SIMPLE), "model": HAIKU}, meta=RequestMeta(request_id="req_conc"))
    assert (moderate.model_used, top.model_used, concrete.model_used) == (SONNET, OPUS, HAIKU)
    await monitor.drain()
    rows = {v.request_id: v for v in await verdicts.rows()}
    assert set(rows) == {"req_mod"}
    assert (rows["req_mod"].model, rows["req_mod"].higher_model) == (SONNET, OPUS)
    assert rows["req_mod"].rerun_cost_usd == PRICES.cost(OPUS, rows["req_mod"].rerun_usage)
    assert monitor.stats.sampled == 1


async def test_the_sample_is_the_hash_of_the_request_id(
    monitored: MonitoredRouter, verdicts: VerdictStore
) -> None:
    router, monitor = monitored(sample_rate=0.3)
    ids = [f"req_{n:03d}" for n in range(30)]
    for rid in ids:
        await router.create(**ask(SIMPLE), meta=RequestMeta(request_id=rid))
    await monitor.drain()
    expected = {rid for rid in ids if is_sampled(rid, 0.3)}
    assert 0 < len(expected) < len(ids)
    assert {v.request_id for v in await verdicts.rows()} == expected
    # Judged again, the same request gets the same verdict (the emulator and the order are seeded).
    first = {v.request_id: (v.better, dict(v.cheaper_scores)) for v in await verdicts.rows()}
    again, monitor2 = monitored(sample_rate=0.3, sink=_Collect())
    for rid in sorted(expected):
        await again.create(**ask(SIMPLE), meta=RequestMeta(request_id=rid))
    await monitor2.drain()
    collected = monitor2.verdicts
    assert isinstance(collected, _Collect)
    assert {v.request_id: (v.better, dict(v.cheaper_scores)) for v in collected.items} == first


async def test_a_garbage_judge_reply_is_an_unknown_verdict_with_its_cost(
    monitored: MonitoredRouter, verdicts: VerdictStore
) -> None:
    # In text mode the emulator answers the judge with prose, which is no verdict.
    raw = Rubric.load()
    text_rubric = Rubric.from_mapping({**_fields(raw), "reply": "text"})
    router, monitor = monitored()
    judge = Judge(router.upstream, router.prices, rubric=text_rubric)
    monitor.judge = judge
    await router.create(**ask(SIMPLE), meta=RequestMeta(request_id="req_garbage"))
    await monitor.drain()
    [verdict] = await verdicts.rows()
    assert verdict.better is Better.UNKNOWN
    assert verdict.reason == "unparsed judge reply"
    assert verdict.cheaper_scores == {}
    assert verdict.higher_scores == {}
    assert verdict.judge_cost_usd == PRICES.cost(HAIKU, verdict.judge_usage) > 0
    assert verdict.rerun_cost_usd > 0


async def test_a_failing_judge_never_reaches_the_caller(
    monitored: MonitoredRouter, verdicts: VerdictStore, caplog: pytest.LogCaptureFixture
) -> None:
    failing = EmulatorConfig(faults=FaultConfig(api_error=1.0))
    async with running_emulator(failing) as broken_url:
        broken = Upstream(settings_for(broken_url, upstream={"max_retries": 0}).upstream)
        router, monitor = monitored(judge=Judge(broken, PriceTable.default()))
        with caplog.at_level(logging.WARNING, logger="claude_router.monitor"):
            routed = await router.create(**ask(SIMPLE), meta=RequestMeta(request_id="req_judge_down"))
            await monitor.drain()
        await broken.aclose()
    assert routed.model_used == HAIKU
    assert routed.text
    [verdict] = await verdicts.rows()
    assert verdict.better is Better.UNKNOWN
    assert verdict.reason == "judge failed: InternalServerError 500"
    assert verdict.judge_cost_usd == 0
    assert verdict.rerun_cost_usd > 0
    assert any("judge call" in r.getMessage() for r in caplog.records)


async def test_a_failing_store_is_logged_and_counted(
    monitored: MonitoredRouter, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    unmigrated = create_engine(resolve_url(tmp_path / "empty.db"))  # no quality_verdicts table
    try:
        router, monitor = monitored(sink=VerdictStore(unmigrated))
        with caplog.at_level(logging.WARNING, logger="claude_router.monitor"):
            routed = await router.create(**ask(SIMPLE))
            await monitor.drain()
    finally:
        await unmigrated.dispose()
    assert routed.text
    assert (monitor.stats.sampled, monitor.stats.written, monitor.stats.failed) == (1, 0, 1)
    assert any("not stored (OperationalError)" in r.getMessage() for r in caplog.records)


class _Collect:
    """A verdict sink in memory, to compare two runs."""

    def __init__(self) -> None:
        self.items: list[Verdict] = []

    async def write(self, verdict: Verdict) -> None:
        self.items.append(verdict)


def _fields(rubric: Rubric) -> dict[str, object]:
    return {
        "intro": rubric.intro,
        "criteria": [{"name": c.name, "description": c.description} for c in rubric.criteria],
        "scale_min": rubric.scale_min,
        "scale_max": rubric.scale_max,
        "scale_note": rubric.scale_note,
        "reply": rubric.reply,
        "tool_name": rubric.tool_name,
        "tool_description": rubric.tool_description,
        "tool_instruction": rubric.tool_instruction,
        "text_instruction": rubric.text_instruction,
        "max_tokens": rubric.max_tokens,
        "max_chars": rubric.max_chars,
    }
