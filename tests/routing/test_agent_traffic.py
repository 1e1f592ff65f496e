"""Sessions and the agent-traffic policy (`[policy] agent_traffic`) against the emulator, over real
HTTP with the real SDK: side calls to the simple tier, a session kept on its warm tier."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import SecretStr

from claude_router.catalog.pricing import PriceTable
from claude_router.config import AgentTrafficSettings, Settings
from claude_router.routing.agent_traffic import SESSION_WARM, SIDE_CALL, AgentTraffic
from claude_router.routing.cache_affinity import CacheAffinity
from claude_router.routing.policy import Policy
from claude_router.routing.router import Router
from claude_router.routing.session import MAX_SESSION_CHARS, session_key
from claude_router.types import ClassifierSource, Label, RequestMeta

from .conftest import COMPLEX, SIMPLE, TEST_KEY

HAIKU, SONNET, OPUS = "claude-haiku-5-5", "claude-sonnet-5-5", "claude-opus-5-5"
LADDER = {Label.SIMPLE: HAIKU, Label.MODERATE: SONNET, Label.COMPLEX: OPUS}
PRICES = PriceTable.default().for_ladder(LADDER)
SESSION = "0b7c2c4e-5d8f-4f0e-9a51-3c1f6e2b9d10"
USER_ID = json.dumps({"device_id": "5e5e" * 16, "account_uuid": "", "session_id": SESSION})
# A long system prompt (about 12,000 tokens), cached: above every tier's cache minimum.
MANUAL = " ".join(
    f"Rule {i}: keep functions small and name them for what they do, case {i}." for i in range(700)
)
SYSTEM = [{"type": "text", "text": MANUAL, "cache_control": {"type": "ephemeral"}}]
THINKING = {"type": "thinking", "thinking": "", "signature": "x"}
MODERATE = "Write a Python function that merges two sorted lists."
TOOLS = [{"name": "Bash", "description": "Run a shell command", "input_schema": {"type": "object"}}]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def agent_router(url: str, *, agent: bool = True, clock: Clock | None = None, sticky: bool = True) -> Router:
    settings = Settings(
        upstream={"base_url": url, "api_key": SecretStr(TEST_KEY), "max_retries": 0},
        classifier={"kind": "llm"},
        policy={"agent_traffic": agent, "cache_aware": True, "label_models": LADDER},
        agent_traffic={"sticky": sticky},
    )  # type: ignore[arg-type]
    return Router(
        settings, cache_affinity=CacheAffinity(PRICES, settings.cache_affinity, clock=clock or Clock())
    )


def side_call(**extra: Any) -> dict[str, Any]:
    """A title request as a coding agent makes one: its main model named, no tools, a short answer."""
    return {
        "model": OPUS,
        "max_tokens": 512,
        "system": "Write a short title for this coding session.",
        "messages": [{"role": "user", "content": "Fix the failing login test"}],
        "metadata": {"user_id": USER_ID},
        **extra,
    }


def main_turn(text: str, **extra: Any) -> dict[str, Any]:
    return {
        "model": "auto",
        "max_tokens": 32_000,
        "system": SYSTEM,
        "tools": TOOLS,
        "messages": [{"role": "user", "content": text}],
        "metadata": {"user_id": USER_ID},
        **extra,
    }


# ---- the session key ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("meta", "user_id", "expected"),
    [
        (RequestMeta(session="explicit"), USER_ID, "explicit"),  # the caller's word wins
        (RequestMeta(), USER_ID, SESSION),  # Claude Code 2.1: JSON in the user id
        (RequestMeta(), f"user_{'ab' * 32}_account__session_{SESSION}", SESSION),  # earlier releases
        (RequestMeta(), "customer-42", "customer-42"),  # any other user id is the conversation
        (RequestMeta(), '{"device_id": "d"}', '{"device_id": "d"}'),
        (RequestMeta(), None, None),
    ],
)
def test_the_session_comes_from_the_meta_else_the_user_id(
    meta: RequestMeta, user_id: str | None, expected: str | None
) -> None:
    params = {"metadata": {"user_id": user_id}} if user_id is not None else {}
    assert session_key(meta, params) == expected


def test_a_session_too_long_for_the_ledger_is_hashed() -> None:
    key = session_key(RequestMeta(session="s" * 1000), {})
    assert key is not None
    assert key.startswith("sha256:")
    assert len(key) <= MAX_SESSION_CHARS
    assert key == session_key(RequestMeta(session="s" * 1000), {})  # the same session, the same key


async def test_library_records_carry_the_session(emulator_url: str) -> None:
    async with agent_router(emulator_url, agent=False) as router:
        from_meta = await router.create(meta=RequestMeta(session="mine"), **main_turn(SIMPLE))
        from_body = await router.create(**main_turn(SIMPLE))
        async with router.stream(**main_turn(SIMPLE)) as stream:
            [event async for event in stream]
    assert from_meta.record.session == "mine"
    assert from_body.record.session == SESSION
    assert stream.record is not None
    assert stream.record.session == SESSION


# ---- side calls ----------------------------------------------------------------------------------


def _agent() -> AgentTraffic:
    settings = Settings(policy={"label_models": LADDER})  # type: ignore[arg-type]
    policy = Policy(settings.policy, PRICES)
    return AgentTraffic(policy, PRICES, CacheAffinity(PRICES), AgentTrafficSettings())


@pytest.mark.parametrize(
    ("params", "meta", "expected"),
    [
        (side_call(), RequestMeta(session=SESSION), True),
        (side_call(max_tokens=32_000), RequestMeta(session=SESSION), True),  # its system prompt says so
        (side_call(max_tokens=32_000, system="You are a coding agent."), RequestMeta(session=SESSION), False),
        (side_call(tools=TOOLS), RequestMeta(session=SESSION), False),  # a turn that can act
        (side_call(), RequestMeta(), False),  # no session: not an agent's traffic
        (side_call(), RequestMeta(session=SESSION, floor=Label.COMPLEX), False),
        (side_call(), RequestMeta(session=SESSION, force_model=OPUS), False),
        (
            side_call(
                messages=[
                    {"role": "user", "content": "hi"},
                    {
                        "role": "assistant",
                        "content": [THINKING],
                    },
                    {"role": "user", "content": "go on"},
                ]
            ),
            RequestMeta(session=SESSION),
            False,  # thinking blocks stay with the model that wrote them
        ),
        (
            side_call(
                messages=[
                    {"role": "user", "content": "hi"},
                    {"role": "assistant", "content": "Hello."},
                    {"role": "user", "content": "go on"},
                ]
            ),
            RequestMeta(session=SESSION),
            False,  # a conversation's later turn, not a one-off question
        ),
    ],
)
def test_a_side_call_is_recognised_by_its_shape(
    params: dict[str, Any], meta: RequestMeta, expected: bool
) -> None:
    assert _agent().side_call(params, meta) is expected


async def test_side_calls_go_to_the_simple_tier_without_a_classifier_call(emulator_url: str) -> None:
    async with agent_router(emulator_url) as router:
        plain = await router.create(**side_call())
        async with router.stream(**side_call()) as stream:
            [event async for event in stream]
        with_tools = await router.create(**side_call(tools=TOOLS))
    assert (plain.model_used, plain.route.reason) == (HAIKU, SIDE_CALL)
    assert plain.record.model_requested == OPUS
    assert plain.record.classifier_source is ClassifierSource.BYPASS
    assert plain.record.classifier_usage.input_tokens == 0
    assert plain.record.session == SESSION
    assert stream.record is not None
    assert stream.record.model_used == HAIKU
    assert with_tools.model_used == OPUS  # a main turn that names its model is sent to it


async def test_without_the_policy_a_named_model_answers_side_calls(emulator_url: str) -> None:
    async with agent_router(emulator_url, agent=False) as router:
        result = await router.create(**side_call())
    assert result.model_used == OPUS


# ---- a session on its warm tier ----------------------------------------------------------------


async def test_a_session_stays_on_its_warm_tier_until_its_cache_expires(emulator_url: str) -> None:
    clock = Clock()
    async with agent_router(emulator_url, clock=clock) as router:
        first = await router.create(**main_turn(COMPLEX))
        assert first.model_used == OPUS
        assert first.record.usage.cache_write_5m_tokens > 0
        kept = await router.create(**main_turn(SIMPLE))
        other = await router.create(
            **main_turn(SIMPLE, system="Another agent's prompt.", metadata={"user_id": "x"})
        )
        clock.now += 6 * 60  # the 5-minute cache has expired: nothing left to keep
        cold = await router.create(**main_turn(SIMPLE))
    assert (kept.model_used, kept.route.reason) == (OPUS, SESSION_WARM)
    assert kept.record.usage.cache_read_tokens > 0  # the warm copy was read, not written again
    # held on the top of the ladder, where no label could move it: not classified at all
    assert kept.label is None
    assert kept.record.classifier_source is ClassifierSource.BYPASS
    assert kept.record.classifier_cost_usd == 0
    assert other.model_used == HAIKU  # another session is not held by this one's cache
    assert cold.model_used == HAIKU


async def test_a_session_held_below_the_top_is_still_classified_and_may_move_up(emulator_url: str) -> None:
    async with agent_router(emulator_url) as router:
        first = await router.create(**main_turn(MODERATE))
        kept = await router.create(**main_turn(SIMPLE))
        up = await router.create(**main_turn(COMPLEX))
    assert first.model_used == SONNET
    assert (kept.label, kept.model_used, kept.route.reason) == (Label.SIMPLE, SONNET, SESSION_WARM)
    assert (up.label, up.model_used) == (Label.COMPLEX, OPUS)  # the label asks for more


async def test_cache_aware_routing_alone_lets_a_session_drop_to_a_cheaper_tier(emulator_url: str) -> None:
    """The comparison that motivates stickiness: per request, re-writing 12,000 tokens on Haiku 5.5
    costs less than reading them on Opus 5.5, so cost-only routing moves the session down (and
    leaves its reasoning behind)."""
    async with agent_router(emulator_url, agent=False) as router:
        await router.create(**main_turn(COMPLEX))
        moved = await router.create(**main_turn(SIMPLE))
    assert moved.model_used == HAIKU


async def test_stickiness_can_be_turned_off_keeping_side_calls_routed(emulator_url: str) -> None:
    async with agent_router(emulator_url, sticky=False) as router:
        await router.create(**main_turn(COMPLEX))
        moved = await router.create(**main_turn(SIMPLE))
        side = await router.create(**side_call())
    assert moved.model_used == HAIKU
    assert moved.route.reason != SESSION_WARM
    assert side.route.reason == SIDE_CALL
