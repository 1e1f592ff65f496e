"""The pure parts of the upstream: cooldown bookkeeping, prompt-cache marking, routed bodies."""

from __future__ import annotations

from typing import Any

from claude_router.types import Label, Route
from claude_router.upstream import routed_params, with_cached_system
from claude_router.upstream.cooldown import Cooldowns

EPHEMERAL = {"type": "ephemeral"}


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_cooldown_starts_after_overloads_in_a_row_and_ends_with_time() -> None:
    clock = Clock()
    cooldowns = Cooldowns(after=2, seconds=30.0, clock=clock)
    cooldowns.overloaded("opus")
    assert not cooldowns.cooling("opus")
    cooldowns.overloaded("opus")
    assert cooldowns.cooling("opus")
    assert cooldowns.remaining_s("opus") == 30.0
    assert not cooldowns.cooling("sonnet")
    clock.now += 30.0
    assert not cooldowns.cooling("opus")


def test_cooldown_counts_only_overloads_in_a_row() -> None:
    cooldowns = Cooldowns(after=2, seconds=30.0, clock=Clock())
    cooldowns.overloaded("opus")
    cooldowns.succeeded("opus")
    cooldowns.overloaded("opus")
    assert not cooldowns.cooling("opus")


def test_a_success_ends_a_cooldown_at_once() -> None:
    cooldowns = Cooldowns(after=1, seconds=30.0, clock=Clock())
    cooldowns.overloaded("opus")
    assert cooldowns.cooling("opus")
    cooldowns.succeeded("opus")
    assert not cooldowns.cooling("opus")


def test_usable_skips_cooling_models_unless_all_are_cooling() -> None:
    cooldowns = Cooldowns(after=1, seconds=30.0, clock=Clock())
    cooldowns.overloaded("opus")
    assert cooldowns.usable(("opus", "sonnet", "haiku")) == ("sonnet", "haiku")
    cooldowns.overloaded("sonnet")
    cooldowns.overloaded("haiku")
    assert cooldowns.usable(("opus", "sonnet", "haiku")) == ("opus", "sonnet", "haiku")


def test_cooldown_disabled_with_zero() -> None:
    cooldowns = Cooldowns(after=0, seconds=30.0, clock=Clock())
    for _ in range(10):
        cooldowns.overloaded("opus")
    assert not cooldowns.cooling("opus")


def test_cached_system_wraps_a_string_prompt() -> None:
    params = {"system": "You are terse.", "max_tokens": 10}
    marked = with_cached_system(params)
    assert marked["system"] == [{"type": "text", "text": "You are terse.", "cache_control": EPHEMERAL}]
    assert marked["max_tokens"] == 10
    assert params["system"] == "You are terse."  # the caller's body is not modified


def test_cached_system_marks_the_last_block_only() -> None:
    blocks = [{"type": "text", "text": "rules"}, {"type": "text", "text": "context"}]
    marked = with_cached_system({"system": blocks})
    assert marked["system"] == [blocks[0], {**blocks[1], "cache_control": EPHEMERAL}]
    assert "cache_control" not in blocks[1]


def test_cached_system_leaves_an_existing_breakpoint_alone() -> None:
    one_hour = {"type": "ephemeral", "ttl": "1h"}
    blocks = [{"type": "text", "text": "rules", "cache_control": one_hour}, {"type": "text", "text": "more"}]
    params: dict[str, Any] = {"system": blocks}
    assert with_cached_system(params)["system"] == blocks


def test_cached_system_without_a_system_prompt_changes_nothing() -> None:
    params = {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 5}
    assert with_cached_system(params) == params


def test_routed_params_applies_max_tokens_and_caching() -> None:
    params = {"system": "S", "max_tokens": 256, "temperature": 0.2}
    route = Route(model="claude-opus-4-8", label=Label.COMPLEX, max_tokens=2048, cache_system=True)
    body = routed_params(params, route)
    assert body["max_tokens"] == 2048
    assert body["temperature"] == 0.2
    assert body["system"][0]["cache_control"] == EPHEMERAL
    plain = routed_params(params, Route(model="claude-haiku-4-5"))
    assert plain == params
