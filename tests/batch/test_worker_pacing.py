"""AIMD pacing: grow while the headers show room, halve once per 429 burst, pause for retry-after."""

from __future__ import annotations

import asyncio

import pytest

from claude_router.batch.pacing import AdaptiveConcurrency, PacingSettings, room
from claude_router.upstream import RateLimits

PREFIX = "anthropic-ratelimit-"


def limits(requests_left: int, tokens_left: int | None = None) -> RateLimits:
    headers = {f"{PREFIX}requests-limit": "100", f"{PREFIX}requests-remaining": str(requests_left)}
    if tokens_left is not None:
        headers |= {f"{PREFIX}tokens-limit": "1000", f"{PREFIX}tokens-remaining": str(tokens_left)}
    return RateLimits(headers=headers)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_room_is_the_tightest_limit_family() -> None:
    assert room(limits(80)) == 0.8
    assert room(limits(80, tokens_left=100)) == 0.1
    assert room(None) is None
    assert room(RateLimits(headers={})) is None


def test_grows_by_about_one_per_round_while_there_is_room_and_holds_when_there_is_not() -> None:
    pacer = AdaptiveConcurrency(PacingSettings(initial=4, maximum=6))
    for _ in range(4):  # one round of completions at concurrency 4: not quite +1
        pacer.succeeded(limits(90))
    assert pacer.current == 4
    pacer.succeeded(limits(90))
    assert pacer.current == 5
    for _ in range(100):
        pacer.succeeded(limits(90))
    assert pacer.current == 6  # capped at the maximum
    pacer = AdaptiveConcurrency(PacingSettings(initial=4))
    for _ in range(50):
        pacer.succeeded(limits(5))  # 5% left: no growth
    assert pacer.current == 4


def test_a_burst_of_429s_halves_once_and_pauses_for_retry_after() -> None:
    clock = Clock()
    pacer = AdaptiveConcurrency(PacingSettings(initial=16), clock=clock)
    assert pacer.throttle(2.0) == 2.0
    for _ in range(5):  # the rest of the same burst
        pacer.throttle(2.0)
    assert pacer.current == 8
    assert pacer.throttled == 6
    clock.now += 3.0  # the pause is over: the next 429 is a new signal
    pacer.throttle(None)
    assert pacer.current == 4
    for _ in range(10):
        clock.now += 5.0
        pacer.throttle(0)
    assert pacer.current == 1  # never below the minimum


async def test_in_flight_never_exceeds_the_limit_and_a_pause_holds_new_requests() -> None:
    pacer = AdaptiveConcurrency(PacingSettings(initial=3))
    peak = 0

    async def request() -> None:
        nonlocal peak
        async with pacer:
            peak = max(peak, pacer.in_flight)
            await asyncio.sleep(0.01)

    await asyncio.gather(*(request() for _ in range(20)))
    assert peak == 3

    loop = asyncio.get_running_loop()
    pacer.throttle(0.2)
    started = loop.time()
    async with pacer:
        waited = loop.time() - started
    assert waited >= 0.15


def test_settings_must_be_ordered() -> None:
    with pytest.raises(ValueError, match="minimum <= initial <= maximum"):
        AdaptiveConcurrency(PacingSettings(initial=10, maximum=5))
