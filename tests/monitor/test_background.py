"""Monitoring never slows the caller: it runs in bounded background tasks, drained at close."""

from __future__ import annotations

import pytest

from claude_router.emulator.config import EmulatorConfig, TierLatency
from claude_router.ledger.verdicts import VerdictStore
from claude_router.types import RequestMeta
from routing.conftest import SIMPLE, ask

from .conftest import MonitoredRouter

SLOW_S = 0.4  # each Sonnet call (the re-run and the judge) takes this long; Haiku answers at once


@pytest.fixture
def emulator_config() -> EmulatorConfig:
    return EmulatorConfig(latency={"sonnet": TierLatency(ttft_s=SLOW_S)})


async def test_the_caller_gets_its_answer_before_the_sample_is_judged(
    monitored: MonitoredRouter, verdicts: VerdictStore
) -> None:
    router, monitor = monitored()
    routed = await router.create(**ask(SIMPLE), meta=RequestMeta(request_id="req_fast"))
    # The answer came back while the re-run was still waiting on Sonnet: nothing is stored yet.
    assert routed.text
    assert monitor.pending == 1
    assert await verdicts.rows() == []
    await monitor.drain()
    assert [v.request_id for v in await verdicts.rows()] == ["req_fast"]


async def test_beyond_max_pending_samples_are_skipped_not_queued(
    monitored: MonitoredRouter, verdicts: VerdictStore
) -> None:
    router, monitor = monitored(concurrency=1, max_pending=2)
    for n in range(5):
        await router.create(**ask(SIMPLE), meta=RequestMeta(request_id=f"req_{n}"))
    assert (monitor.stats.sampled, monitor.stats.skipped, monitor.pending) == (2, 3, 2)
    await monitor.drain()
    assert sorted(v.request_id for v in await verdicts.rows()) == ["req_0", "req_1"]


async def test_closing_the_router_waits_for_samples_in_flight(
    monitored: MonitoredRouter, verdicts: VerdictStore
) -> None:
    router, monitor = monitored()
    await router.create(**ask(SIMPLE), meta=RequestMeta(request_id="req_close"))
    assert monitor.pending == 1
    await router.aclose()
    assert monitor.pending == 0
    assert [v.request_id for v in await verdicts.rows()] == ["req_close"]
