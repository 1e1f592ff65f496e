"""Upstream.speculate on the emulator: keep the cheap answer, or cancel it and account its tokens."""

from __future__ import annotations

import asyncio
from typing import Any

import anthropic
import pytest
from anthropic import APIRequest, AsyncAPIResponse, AsyncCallNext, Middleware
from anthropic.types import Message

from claude_router.emulator.config import EmulatorConfig, TierLatency
from claude_router.types import ClassifierSource, Decision, Label, Route, TokenUsage
from claude_router.upstream import failure_of

from .conftest import HAIKU, OPUS, SONNET, UpstreamFactory, ask, fault_on

# Haiku writes slowly, so a speculative answer is still streaming when the label arrives.
SLOW = TierLatency(ttft_s=0.02, output_tokens_per_s=40.0)
QUESTION = "Explain, step by step, how a B-tree keeps itself balanced on insertion and deletion."
ROUTES = {
    Label.SIMPLE: Route(model=HAIKU, label=Label.SIMPLE),
    Label.MODERATE: Route(model=SONNET, fallbacks=(HAIKU,), label=Label.MODERATE, max_tokens=512),
    Label.COMPLEX: Route(model=OPUS, fallbacks=(SONNET,), label=Label.COMPLEX, max_tokens=1024),
}


@pytest.fixture
def emulator_config() -> EmulatorConfig:
    return EmulatorConfig(latency={"haiku": SLOW})


def route_for(decision: Decision) -> Route:
    return ROUTES[decision.label]


class HaikuStarted(Middleware):
    """Sets `started` once a Haiku response has begun (its headers have arrived)."""

    def __init__(self) -> None:
        self.started = asyncio.Event()

    async def handle_async(self, request: APIRequest, call_next: AsyncCallNext) -> AsyncAPIResponse[Any]:
        response = await call_next(request)
        body = request.json
        if isinstance(body, dict) and body.get("model") == HAIKU:
            self.started.set()
        return response


async def label_after(label: Label, wait: asyncio.Event | None = None, delay_s: float = 0.0) -> Decision:
    """A classifier's decision, reached once `wait` is set and `delay_s` has passed."""
    if wait is not None:
        await wait.wait()
    await asyncio.sleep(delay_s)
    return Decision(label, 0.9, ClassifierSource.LLM, usage=TokenUsage(300, 1), model=HAIKU)


async def test_a_simple_label_keeps_the_cheap_answer(make_upstream: UpstreamFactory) -> None:
    upstream = make_upstream()
    params = ask(max_tokens=12)
    spec = await upstream.speculate(label_after(Label.SIMPLE), params, cheap_model=HAIKU, route_for=route_for)
    assert spec.kept
    assert spec.discarded is None
    assert spec.decision.label is Label.SIMPLE
    answer = spec.answer
    assert type(answer.message) is Message  # as a plain call returns it
    assert answer.model_used == HAIKU
    assert answer.usage == TokenUsage.from_api(answer.message.usage)
    assert answer.ttft_s is not None

    plain = await upstream.create(params, model=HAIKU)  # the same deterministic answer, unstreamed
    assert answer.message.content == plain.message.content
    assert answer.usage == plain.usage


async def test_a_complex_label_cancels_the_cheap_call_and_accounts_its_tokens(
    make_upstream: UpstreamFactory,
) -> None:
    watch = HaikuStarted()
    upstream = make_upstream(middleware=[watch])
    params = ask(QUESTION, max_tokens=400)

    spec = await upstream.speculate(
        label_after(Label.COMPLEX, watch.started, delay_s=0.2), params, cheap_model=HAIKU, route_for=route_for
    )
    assert not spec.kept
    assert spec.answer.model_used == OPUS
    assert spec.route.model == OPUS
    assert spec.answer.message.usage.input_tokens > 0

    spent = spec.discarded
    assert spent is not None
    assert spent.model_used == HAIKU
    assert spent.cancelled
    assert not spent.completed
    full_input = (await upstream.create({**params, "max_tokens": 1}, model=HAIKU)).usage.input_tokens
    assert spent.usage.input_tokens == full_input  # exact, from message_start
    assert spent.usage.output_tokens >= 1


async def test_the_routed_call_gets_the_routes_max_tokens(make_upstream: UpstreamFactory) -> None:
    upstream = make_upstream()
    spec = await upstream.speculate(
        label_after(Label.MODERATE), ask(QUESTION, max_tokens=8), cheap_model=HAIKU, route_for=route_for
    )
    assert spec.answer.model_used == SONNET
    assert spec.answer.usage.output_tokens > 8  # the route's 512, not the cheap leg's 8


async def test_a_failed_cheap_call_falls_back_along_the_route(make_upstream: UpstreamFactory) -> None:
    upstream = make_upstream(max_retries=0)
    params = ask(extra_headers=fault_on(HAIKU, "529"))
    route = Route(model=HAIKU, fallbacks=(SONNET,), label=Label.SIMPLE)
    spec = await upstream.speculate(
        label_after(Label.SIMPLE), params, cheap_model=HAIKU, route_for=lambda _: route
    )
    assert not spec.kept
    assert spec.answer.model_used == SONNET
    assert spec.answer.fallback
    assert spec.answer.fallback_from == HAIKU
    assert spec.discarded is not None
    assert isinstance(spec.discarded.error, anthropic.InternalServerError)


async def test_a_failing_classifier_cancels_the_cheap_call(make_upstream: UpstreamFactory) -> None:
    upstream = make_upstream()

    async def broken() -> Decision:
        await asyncio.sleep(0.05)
        raise RuntimeError("classifier crashed")

    with pytest.raises(RuntimeError, match="classifier crashed"):
        await upstream.speculate(broken(), ask(QUESTION), cheap_model=HAIKU, route_for=route_for)


async def test_a_failed_routed_call_carries_the_cheap_calls_tokens(make_upstream: UpstreamFactory) -> None:
    upstream = make_upstream(max_retries=0, cooldown_after=0)
    params = ask(QUESTION, max_tokens=400, extra_headers={"x-test-fault": "500", "x-test-fault-model": OPUS})
    complex_only = Route(model=OPUS, label=Label.COMPLEX)
    with pytest.raises(anthropic.InternalServerError) as caught:
        await upstream.speculate(
            label_after(Label.COMPLEX, delay_s=0.3),
            params,
            cheap_model=HAIKU,
            route_for=lambda _: complex_only,
        )
    failure = failure_of(caught.value)
    assert failure is not None
    assert failure.usage_model == HAIKU
    assert failure.usage.input_tokens > 0
