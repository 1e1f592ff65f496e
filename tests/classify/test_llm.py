"""LLMClassifier over real HTTP with the official SDK: request shape, reply normalisation, failures.

Odd replies (punctuation, garbage) and errors the emulator would not give come from a tiny
Anthropic-compatible app served by uvicorn in the test; the labels of the demo's requests come
from the project's emulator.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import anthropic
import pytest
import uvicorn
from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from claude_router.classify import CachedClassifier, ClassifierInput, LRUCache, classifier_input
from claude_router.classify.factory import build_classifier
from claude_router.classify.llm import (
    FALLBACK_CONFIDENCE,
    LABEL_CONFIDENCE,
    UNPARSED_CONFIDENCE,
    LLMClassifier,
)
from claude_router.classify.prompt import ClassifierPrompt
from claude_router.config import ClassifierSettings, UpstreamSettings
from claude_router.emulator.config import EmulatorConfig
from claude_router.emulator.server import running_emulator
from claude_router.errors import ConfigError
from claude_router.types import ClassifierSource, Label, TokenUsage
from claude_router.upstream import Upstream

SECRET = "sk-ant-api03-do-not-leak"


@dataclass
class Script:
    """What the test server answers: a reply text, or an error status, after an optional delay."""

    reply: str = "simple"
    status: int = 200
    delay_s: float = 0.0
    bodies: list[dict[str, Any]] = field(default_factory=list)

    async def messages(self, request: Request) -> JSONResponse:
        body = await request.json()
        self.bodies.append(body)
        await asyncio.sleep(self.delay_s)
        if self.status != 200:
            error = {"type": "api_error", "message": f"failure for key {SECRET}: {body['messages']}"}
            return JSONResponse({"type": "error", "error": error}, status_code=self.status)
        return JSONResponse(
            {
                "id": "msg_test",
                "type": "message",
                "role": "assistant",
                "model": body["model"],
                "content": [{"type": "text", "text": self.reply}],
                "stop_reason": "end_turn",
                "stop_sequence": None,
                "usage": {"input_tokens": 7 + len(str(body)) // 4, "output_tokens": 2},
            }
        )


@asynccontextmanager
async def serve(script: Script) -> AsyncIterator[str]:
    app = Starlette(routes=[Route("/v1/messages", script.messages, methods=["POST"])])
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off", ws="none")
    )
    # A socket listening before the server starts: connections wait in its backlog, no polling.
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    port = sock.getsockname()[1]
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
        sock.close()


def upstream_at(base_url: str, *, max_retries: int = 0, timeout_s: float = 10.0) -> Upstream:
    return Upstream(
        UpstreamSettings(
            base_url=base_url, api_key=SecretStr(SECRET), max_retries=max_retries, timeout_s=timeout_s
        )
    )


@pytest.fixture
def script() -> Script:
    return Script()


@pytest.fixture
async def upstream(script: Script) -> AsyncIterator[Upstream]:
    async with serve(script) as base_url:
        up = upstream_at(base_url)
        yield up
        await up.aclose()


ITEM = ClassifierInput("Which language is this? 'Guten Morgen'")


# --- what is sent ----------------------------------------------------------------------------


async def test_sends_one_small_haiku_call_with_the_user_text_unchanged(
    upstream: Upstream, script: Script
) -> None:
    decision = await LLMClassifier(upstream).classify(ITEM)
    (body,) = script.bodies
    assert body["model"] == "claude-haiku-4-5"
    assert body["max_tokens"] == 32
    assert body["messages"] == [{"role": "user", "content": ITEM.text}]
    system = body["system"]
    assert "exactly one word: simple, moderate, or complex" in system
    assert "When uncertain between moderate and complex, choose moderate." in system
    assert "<system_prompt>" not in system
    assert decision.label is Label.SIMPLE


async def test_caller_system_prompt_and_tools_go_in_as_brief_context(
    upstream: Upstream, script: Script
) -> None:
    long_system = "You are a contracts attorney. " + "Cite every clause. " * 100
    params = {
        "system": [{"type": "text", "text": long_system}],
        "tools": [{"name": "lookup", "input_schema": {"type": "object"}}],
        "messages": [{"role": "user", "content": [{"type": "text", "text": "Is clause 4 standard?"}]}],
    }
    await LLMClassifier(upstream, max_system_chars=200).classify(classifier_input(params))
    (body,) = script.bodies
    system = body["system"]
    quoted = system.split("<system_prompt>\n", 1)[1].split("\n</system_prompt>", 1)[0]
    assert quoted.startswith("You are a contracts attorney.")
    assert f"[... {len(long_system) - 200} characters omitted ...]" in quoted
    assert len(quoted) < 200 + 50
    assert "tools" in system
    assert body["messages"][0]["content"] == "Is clause 4 standard?"
    # The reply instruction stays last, after the quoted context.
    assert system.rstrip().endswith("No punctuation, no explanation.")


async def test_long_text_is_clipped_keeping_head_tail_and_its_length(
    upstream: Upstream, script: Script
) -> None:
    text = "HEAD " + "x" * 20_000 + " TAIL"
    await LLMClassifier(upstream, max_text_chars=3000).classify(ClassifierInput(text))
    sent = script.bodies[0]["messages"][0]["content"]
    assert sent.startswith("HEAD ")
    assert sent.endswith(" TAIL")
    assert f"[... {len(text) - 3000} characters omitted ...]" in sent
    assert len(sent) < 3100


async def test_empty_text_is_moderate_without_a_call(upstream: Upstream, script: Script) -> None:
    decision = await LLMClassifier(upstream).classify(ClassifierInput("  \n "))
    assert (decision.label, decision.source, decision.usage) == (
        Label.MODERATE,
        ClassifierSource.FALLBACK,
        TokenUsage(),
    )
    assert script.bodies == []


# --- what comes back -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reply", "label", "confidence"),
    [
        ("simple", Label.SIMPLE, LABEL_CONFIDENCE),
        ("Complex.", Label.COMPLEX, LABEL_CONFIDENCE),
        ("  SIMPLE\n", Label.SIMPLE, LABEL_CONFIDENCE),
        ("**complex** - it needs legal analysis", Label.COMPLEX, LABEL_CONFIDENCE),
        ("Moderate", Label.MODERATE, LABEL_CONFIDENCE),
        ("I would say complex", Label.MODERATE, UNPARSED_CONFIDENCE),
        ("banana", Label.MODERATE, UNPARSED_CONFIDENCE),
        ("", Label.MODERATE, UNPARSED_CONFIDENCE),
    ],
)
async def test_replies_are_normalised(
    upstream: Upstream, script: Script, reply: str, label: Label, confidence: float
) -> None:
    script.reply = reply
    decision = await LLMClassifier(upstream).classify(ITEM)
    assert (decision.label, decision.confidence) == (label, confidence)
    assert decision.source is ClassifierSource.LLM  # tokens were spent even on garbage
    assert decision.model == "claude-haiku-4-5"
    assert decision.usage.output_tokens == 2
    assert decision.usage.input_tokens > 100  # the whole prompt was billed
    assert decision.error is None


async def test_configured_model_and_max_tokens_are_used(upstream: Upstream, script: Script) -> None:
    decision = await LLMClassifier(upstream, model="claude-sonnet-4-6", max_tokens=8).classify(ITEM)
    assert (script.bodies[0]["model"], script.bodies[0]["max_tokens"]) == ("claude-sonnet-4-6", 8)
    assert decision.model == "claude-sonnet-4-6"


# --- failures --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (500, "InternalServerError 500"),
        (529, "OverloadedError 529"),
        (429, "RateLimitError 429"),
        (400, "BadRequestError 400"),
        (401, "AuthenticationError 401"),
    ],
)
async def test_upstream_errors_give_moderate_with_type_and_status_only(
    upstream: Upstream, script: Script, status: int, error: str, caplog: pytest.LogCaptureFixture
) -> None:
    script.status = status
    with caplog.at_level(logging.DEBUG, logger="claude_router"):
        decision = await LLMClassifier(upstream).classify(ITEM)
    assert (decision.label, decision.confidence, decision.source) == (
        Label.MODERATE,
        FALLBACK_CONFIDENCE,
        ClassifierSource.FALLBACK,
    )
    assert decision.error == error
    assert decision.usage == TokenUsage()
    assert len(caplog.records) == 1
    assert SECRET not in caplog.text
    assert "Guten Morgen" not in caplog.text  # nor the request text


async def test_a_slow_upstream_times_out_to_moderate(upstream: Upstream, script: Script) -> None:
    script.delay_s = 0.6
    decision = await LLMClassifier(upstream, timeout_s=0.1).classify(ITEM)
    assert decision.source is ClassifierSource.FALLBACK
    assert decision.error == "TimeoutError"
    assert decision.latency_s < 0.5


async def test_the_sdk_timeout_is_a_fallback_too(script: Script) -> None:
    script.delay_s = 0.6
    async with serve(script) as base_url:
        up = upstream_at(base_url, timeout_s=0.1)
        decision = await LLMClassifier(up, timeout_s=None).classify(ITEM)
        await up.aclose()
    assert decision.source is ClassifierSource.FALLBACK
    assert decision.error == "APITimeoutError"


async def test_an_unreachable_upstream_is_a_fallback() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    up = upstream_at(f"http://127.0.0.1:{port}")
    decision = await LLMClassifier(up).classify(ITEM)
    await up.aclose()
    assert decision.source is ClassifierSource.FALLBACK
    assert decision.error == "APIConnectionError"


async def test_failures_are_not_cached_but_labels_are(upstream: Upstream, script: Script) -> None:
    cached = CachedClassifier(LLMClassifier(upstream), LRUCache())
    script.status = 529
    assert (await cached.classify(ITEM)).source is ClassifierSource.FALLBACK
    script.status, script.reply = 200, "complex"
    paid = await cached.classify(ITEM)
    hit = await cached.classify(ClassifierInput(ITEM.text))
    assert (paid.label, paid.source) == (Label.COMPLEX, ClassifierSource.LLM)
    assert (hit.label, hit.source, hit.usage) == (Label.COMPLEX, ClassifierSource.CACHE, TokenUsage())
    assert len(script.bodies) == 2


# --- through the project's emulator ----------------------------------------------------------


@pytest.fixture
async def emulator() -> AsyncIterator[str]:
    async with running_emulator(EmulatorConfig()) as base_url:
        yield base_url


@asynccontextmanager
async def emulator_upstream(
    base_url: str, *, headers: dict[str, str] | None = None, retries: int = 0
) -> AsyncIterator[Upstream]:
    """An Upstream over our own SDK client, whose default headers ask the emulator for faults."""
    async with anthropic.AsyncAnthropic(
        base_url=base_url, api_key=SECRET, max_retries=retries, default_headers=headers or {}
    ) as client:
        yield Upstream(UpstreamSettings(base_url=base_url, max_retries=retries), client=client)


async def test_demo_requests_are_labelled_four_three_one(emulator: str) -> None:
    demo = json.loads(resources.files("claude_router").joinpath("data/demo_requests.json").read_text())
    async with emulator_upstream(emulator) as up:
        classifier = LLMClassifier(up)
        decisions = await asyncio.gather(*(classifier.classify(classifier_input(r)) for r in demo))
    assert [d.label for d in decisions] == [Label(r["expected_label"]) for r in demo]
    assert Counter(d.label for d in decisions) == {Label.SIMPLE: 4, Label.MODERATE: 3, Label.COMPLEX: 1}
    for decision in decisions:
        assert (decision.source, decision.confidence) == (ClassifierSource.LLM, LABEL_CONFIDENCE)
        assert decision.model == "claude-haiku-4-5"
        assert decision.usage.input_tokens > 300  # the classifier's own prompt is billed
        assert decision.usage.output_tokens >= 1


@pytest.mark.parametrize(
    ("fault", "error"),
    [("529", "OverloadedError 529"), ("500", "InternalServerError 500"), ("429", "RateLimitError 429")],
)
async def test_emulator_faults_give_moderate_fallback(emulator: str, fault: str, error: str) -> None:
    async with emulator_upstream(emulator, headers={"x-emulator-fault": fault}) as up:
        decision = await LLMClassifier(up).classify(ITEM)
    assert (decision.label, decision.source, decision.error) == (
        Label.MODERATE,
        ClassifierSource.FALLBACK,
        error,
    )
    assert decision.usage == TokenUsage()


async def test_a_fault_the_sdk_retries_away_still_labels(emulator: str) -> None:
    headers = {"x-emulator-fault": "529", "x-emulator-fault-attempts": "1"}
    async with emulator_upstream(emulator, headers=headers, retries=1) as up:
        decision = await LLMClassifier(up).classify(ITEM)
    assert (decision.label, decision.source) == (Label.SIMPLE, ClassifierSource.LLM)
    assert decision.usage.input_tokens > 0


async def test_an_unknown_classifier_model_is_a_fallback(emulator: str) -> None:
    async with emulator_upstream(emulator) as up:
        decision = await LLMClassifier(up, model="claude-nonexistent-9").classify(ITEM)
    assert decision.source is ClassifierSource.FALLBACK
    assert decision.error == "NotFoundError 404"


# --- version and factory ---------------------------------------------------------------------


def test_version_tracks_prompt_model_and_max_tokens() -> None:
    up = upstream_at("http://127.0.0.1:9")
    base = LLMClassifier(up)
    prompt = ClassifierPrompt.load()
    edited = ClassifierPrompt(
        intro=prompt.intro + " Be strict.",
        rule=prompt.rule,
        reply=prompt.reply,
        context_header=prompt.context_header,
        tools_note=prompt.tools_note,
        labels=prompt.labels,
    )
    variants: list[Callable[[], LLMClassifier]] = [
        lambda: LLMClassifier(up, model="claude-sonnet-4-6"),
        lambda: LLMClassifier(up, max_tokens=16),
        lambda: LLMClassifier(up, prompt=edited),
    ]
    assert LLMClassifier(up).version == base.version
    assert LLMClassifier(up, timeout_s=1.0).version == base.version
    assert len({base.version, *(make().version for make in variants)}) == 4


def test_prompt_data_gives_every_label_two_or_three_examples() -> None:
    prompt = ClassifierPrompt.load()
    assert set(prompt.labels) == set(Label)
    assert all(2 <= len(spec.examples) <= 3 for spec in prompt.labels.values())


def test_malformed_prompt_data_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="classifier prompt"):
        ClassifierPrompt.from_mapping({"intro": "x", "labels": {"simple": {}}})


async def test_factory_builds_a_cached_llm_classifier(upstream: Upstream, script: Script) -> None:
    classifier = build_classifier(ClassifierSettings(kind="llm", cache="memory", cache_size=5), upstream)
    assert isinstance(classifier, CachedClassifier)
    first = await classifier.classify(ITEM)
    second = await classifier.classify(ITEM)
    assert (first.source, second.source) == (ClassifierSource.LLM, ClassifierSource.CACHE)
    assert len(script.bodies) == 1
    assert isinstance(build_classifier(ClassifierSettings(kind="llm", cache="none"), upstream), LLMClassifier)


@pytest.mark.redis
async def test_factory_puts_an_lru_in_front_of_redis(
    upstream: Upstream, script: Script, redis_url: str, redis_prefix: str
) -> None:
    from redis import asyncio as aioredis

    client = aioredis.Redis.from_url(redis_url)
    prefix = f"{redis_prefix}:clf:"
    settings = ClassifierSettings(
        kind="llm", cache="redis", redis_url=redis_url, redis_prefix=prefix, cache_ttl_s=60
    )
    first, second = build_classifier(settings, upstream), build_classifier(settings, upstream)
    assert (await first.classify(ITEM)).source is ClassifierSource.LLM
    assert (await second.classify(ITEM)).source is ClassifierSource.CACHE  # shared through Redis
    assert len(script.bodies) == 1
    stored = [key async for key in client.scan_iter(match=f"{redis_prefix}:*")]
    assert len(stored) == 1
    assert stored[0].startswith(prefix.encode())  # the configured prefix, not the default
    for built in (first, second):
        assert isinstance(built, CachedClassifier)
        await built.aclose()
    await client.aclose()


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (ClassifierSettings(kind="local", local_model_path="/nonexistent/model.json"), "nonexistent"),
        (ClassifierSettings(cache="redis"), "redis_url"),
    ],
)
def test_factory_refuses_what_it_cannot_build(settings: ClassifierSettings, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        build_classifier(settings, upstream_at("http://127.0.0.1:9"))
