"""Sampling is a pure function of the request id: reproducible, at the asked rate, nested by rate."""

from __future__ import annotations

import math

from claude_router.monitor import answer_order_swapped, is_sampled, sample_point

IDS = [f"req_{i:06d}" for i in range(20_000)]


def test_the_same_id_is_always_in_or_out() -> None:
    first = [is_sampled(i, 0.05) for i in IDS[:500]]
    assert first == [is_sampled(i, 0.05) for i in IDS[:500]]
    assert all(0.0 <= sample_point(i) < 1.0 for i in IDS[:500])


def test_the_share_sampled_is_the_rate() -> None:
    for rate in (0.05, 0.3):
        taken = sum(is_sampled(i, rate) for i in IDS)
        sd = math.sqrt(len(IDS) * rate * (1 - rate))
        assert abs(taken - len(IDS) * rate) < 5 * sd, (rate, taken)
    assert not any(is_sampled(i, 0.0) for i in IDS[:1000])
    assert all(is_sampled(i, 1.0) for i in IDS[:1000])


def test_a_higher_rate_keeps_every_id_a_lower_one_kept() -> None:
    low = {i for i in IDS if is_sampled(i, 0.05)}
    high = {i for i in IDS if is_sampled(i, 0.2)}
    assert low < high


def test_the_answer_order_is_swapped_for_about_half() -> None:
    swapped = sum(answer_order_swapped(i) for i in IDS)
    sd = math.sqrt(len(IDS) * 0.25)
    assert abs(swapped - len(IDS) / 2) < 5 * sd
    assert answer_order_swapped("req_x") == answer_order_swapped("req_x")
