"""The router as SDK middleware: unmodified SDK code on the emulator, over real HTTP.

The client under test is the real `anthropic` client with `router_middleware(...)` first and a
`Wire` middleware after it. `Wire` records what each attempt actually sent and, for fallback
tests, turns `x-test-fault*` request headers into the emulator's `x-emulator-fault` for one
model's attempts only (the emulator faults whatever carries the header).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

import anthropic
import httpx2
import pytest
from anthropic import APIRequest, APIResponse, AsyncAPIResponse, AsyncCallNext, CallNext, Middleware
from pydantic import SecretStr

from claude_router.catalog.pricing import resolve
from claude_router.config import (
    HAIKU,
    OPUS,
    SONNET,
    AliasSettings,
    ClassifierSettings,
    PolicySettings,
    Settings,
    UpstreamSettings,
)
from claude_router.emulator.server import emulator_thread, running_emulator
from claude_router.errors import UnknownModelError
from claude_router.middleware import router_middleware
from claude_router.routing.router import Router
from claude_router.sync import SyncRouter
from claude_router.types import ClassifierSource, Label, TokenUsage, UsageRecord
from claude_router.upstream import Upstream
from claude_router.upstream.sse_tap import SSETap

KEY = "sk-ant-test-middleware"
SIMPLE = "What is the sentiment of this review: 'Great blender, works fine.'"
MODERATE = "Write a Python function that merges two sorted lists."
COMPLEX = (
    "Analyze the indemnification and limitation of liability clauses of this contract "
    "and identify the legal risks for the buyer."
)
FAULT, FAULT_MODEL, FAULT_TIMES = "x-test-fault", "x-test-fault-model", "x-test-fault-times"


def ask(text: str, **extra: Any) -> dict[str, Any]:
    return {"max_tokens": 300, "messages": [{"role": "user", "content": text}], **extra}


def fault_on(model: str, fault: str, times: int | None = None) -> dict[str, str]:
    headers = {FAULT: fault, FAULT_MODEL: model}
    if times is not None:
        headers[FAULT_TIMES] = str(times)
    return headers


@dataclass(frozen=True)
class Sent:
    path: str
    model: str | None
    retries_taken: int
    headers: Mapping[str, Any]
    body: Mapping[str, Any]


class Wire(Middleware):
    """Records each attempt as sent; injects per-model emulator faults asked for by test headers."""

    def __init__(self) -> None:
        self.sent: list[Sent] = []

    def _prepare(self, request: APIRequest) -> APIRequest:
        headers = {str(k).lower(): v for k, v in request.headers.items()}
        fault, model, times = (
            headers.pop(FAULT, None),
            headers.pop(FAULT_MODEL, None),
            headers.pop(FAULT_TIMES, None),
        )
        body = request.json if isinstance(request.json, Mapping) else {}
        sent_model = body.get("model")
        self.sent.append(Sent(httpx2.URL(request.url).path, sent_model, request.retries_taken, headers, body))
        if fault and sent_model == model and (times is None or request.retries_taken < int(str(times))):
            headers["x-emulator-fault"] = fault
        return request.copy(headers=headers)

    async def handle_async(self, request: APIRequest, call_next: AsyncCallNext) -> AsyncAPIResponse[Any]:
        return await call_next(self._prepare(request))

    def handle(self, request: APIRequest, call_next: CallNext) -> APIResponse[Any]:
        return call_next(self._prepare(request))

    def models(self, path: str = "/v1/messages") -> list[str | None]:
        return [s.model for s in self.sent if s.path == path]


def settings_for(url: str, *, cache: Literal["memory", "redis", "none"] = "memory") -> Settings:
    return Settings(
        upstream=UpstreamSettings(api_key=SecretStr(KEY), base_url=url, max_retries=0, timeout_s=20.0),
        classifier=ClassifierSettings(kind="llm", cache=cache),  # the path that calls a model
        policy=PolicySettings(aliases={"support": AliasSettings(floor=Label.MODERATE)}),
    )


def family(model: str) -> str:
    """The price-table family of a model id (the API answers with dated ids)."""
    return resolve(model).family


def record_of(router: Router, request_id: str) -> UsageRecord:
    found = [r for r in router.recent if r.request_id == request_id]
    assert len(found) == 1, f"{len(found)} records for {request_id}"
    return found[0]


@pytest.fixture
async def emulator_url() -> AsyncIterator[str]:
    async with running_emulator() as url:
        yield url


@pytest.fixture
async def router(emulator_url: str) -> AsyncIterator[Router]:
    async with Router(settings_for(emulator_url)) as router:
        yield router


@pytest.fixture
def wire() -> Wire:
    return Wire()


@pytest.fixture
async def client(emulator_url: str, router: Router, wire: Wire) -> AsyncIterator[anthropic.AsyncAnthropic]:
    client = anthropic.AsyncAnthropic(
        api_key=KEY,
        base_url=emulator_url,
        max_retries=1,
        middleware=[router_middleware(router), wire],  # learns the client's max_retries
    )
    yield client
    await client.close()


# ---- routing unmodified code -------------------------------------------------------------------


async def test_auto_calls_are_routed_by_label(client: anthropic.AsyncAnthropic, router: Router) -> None:
    answers = [
        await client.messages.create(model="auto", **ask(text)) for text in (SIMPLE, MODERATE, COMPLEX)
    ]
    assert [family(a.model) for a in answers] == [HAIKU, SONNET, OPUS]
    records = list(router.recent)
    assert [r.label for r in records] == [Label.SIMPLE, Label.MODERATE, Label.COMPLEX]
    for answer, record in zip(answers, records, strict=True):
        assert record.model_requested == "auto"
        assert record.model_used == family(answer.model)
        assert record.usage == TokenUsage.from_api(answer.usage)
        assert record.cost_usd == router.prices.cost(answer.model, answer.usage)
        assert record.classifier_source is ClassifierSource.LLM
        assert record.classifier_cost_usd > 0
        assert record.ok
        assert record.retries == 0
        assert not record.fallback


async def test_headers_show_label_model_and_cost(client: anthropic.AsyncAnthropic, router: Router) -> None:
    raw = await client.messages.with_raw_response.create(model="auto", **ask(COMPLEX))
    message = await raw.parse()
    record = record_of(router, raw.headers["x-router-request-id"])
    assert raw.headers["x-router-label"] == "complex" == record.label
    assert raw.headers["x-router-model"] == family(message.model) == record.model_used == OPUS
    assert Decimal(raw.headers["x-router-cost-usd"]) == record.total_cost_usd
    assert record.total_cost_usd == record.cost_usd + record.classifier_cost_usd > record.cost_usd
    assert raw.headers["x-router-classifier-source"] == "llm"
    assert float(raw.headers["x-router-confidence"]) == pytest.approx(record.confidence, abs=1e-3)


async def test_the_rest_of_the_body_is_sent_as_given(client: anthropic.AsyncAnthropic, wire: Wire) -> None:
    given: dict[str, Any] = {
        "max_tokens": 77,
        "tool_choice": {"type": "none"},
        "stop_sequences": ["###"],
        "metadata": {"user_id": "u-1"},
        "system": "You are terse.",
        "tools": [{"name": "lookup", "description": "Look up.", "input_schema": {"type": "object"}}],
    }
    await client.messages.create(model="auto", messages=[{"role": "user", "content": SIMPLE}], **given)
    sent = wire.sent[0].body
    assert sent["model"] == HAIKU
    assert {k: sent[k] for k in given} == given


async def test_a_routed_call_is_adapted_to_its_model(
    client: anthropic.AsyncAnthropic, router: Router, wire: Wire
) -> None:
    raw = await client.messages.with_raw_response.create(
        model="auto", extra_body={"temperature": 0.3}, **ask(SIMPLE)
    )
    assert "temperature" not in wire.sent[0].body  # refused under the SDK's API version
    assert record_of(router, raw.headers["x-router-request-id"]).adapted[0] == "sampling:dropped"
    with pytest.raises(anthropic.BadRequestError, match="temperature"):  # a named model: as written
        await client.messages.create(model=SONNET, extra_body={"temperature": 0.3}, **ask(SIMPLE))
    assert wire.sent[-1].body["temperature"] == 0.3


async def test_a_concrete_model_passes_through_and_is_accounted(
    client: anthropic.AsyncAnthropic, router: Router, wire: Wire
) -> None:
    raw = await client.messages.with_raw_response.create(model=SONNET, **ask(SIMPLE))
    message = await raw.parse()
    assert family(message.model) == SONNET
    assert wire.models() == [SONNET]
    record = record_of(router, raw.headers["x-router-request-id"])
    assert record.model_requested == record.model_used == SONNET
    assert record.classifier_source is ClassifierSource.BYPASS
    assert record.classifier_cost_usd == 0
    assert record.cost_usd == router.prices.cost(SONNET, message.usage) > 0
    assert "x-router-label" not in raw.headers
    assert raw.headers["x-router-classifier-source"] == "bypass"


async def test_an_alias_routes_under_its_policy(client: anthropic.AsyncAnthropic, router: Router) -> None:
    message = await client.messages.create(model="router:support", **ask(SIMPLE))
    assert family(message.model) == SONNET  # the alias's floor lifts a simple request to Sonnet
    assert router.recent[-1].model_requested == "router:support"
    assert router.recent[-1].label is Label.SIMPLE


async def test_an_unknown_alias_fails_before_any_call(
    client: anthropic.AsyncAnthropic, router: Router, wire: Wire
) -> None:
    with pytest.raises(UnknownModelError, match="router:nope"):
        await client.messages.create(model="router:nope", **ask(SIMPLE))
    assert wire.sent == []
    assert list(router.recent) == []


async def test_request_meta_headers_reach_the_record_not_the_api(
    client: anthropic.AsyncAnthropic, router: Router, wire: Wire
) -> None:
    headers = {"x-router-task-id": "ticket-7", "x-router-tags": "batch, nightly", "x-router-customer": "acme"}
    await client.messages.create(model="auto", extra_headers=headers, **ask(SIMPLE))
    record = router.recent[-1]
    assert (record.task_id, record.customer, record.tags) == ("ticket-7", "acme", ("batch", "nightly"))
    assert not set(headers) & set(wire.sent[0].headers)


async def test_the_session_in_metadata_user_id_reaches_the_record(
    client: anthropic.AsyncAnthropic, router: Router
) -> None:
    user_id = '{"device_id": "d", "account_uuid": "", "session_id": "cc-session-7"}'  # Claude Code's
    await client.messages.create(model="auto", metadata={"user_id": user_id}, **ask(SIMPLE))
    assert router.recent[-1].session == "cc-session-7"


# ---- retries and fallbacks ---------------------------------------------------------------------


async def test_529_on_the_routed_model_falls_back_after_the_sdk_retries(
    client: anthropic.AsyncAnthropic, router: Router, wire: Wire
) -> None:
    raw = await client.messages.with_raw_response.create(
        model="auto", extra_headers=fault_on(OPUS, "529"), **ask(COMPLEX)
    )
    message = await raw.parse()
    assert wire.models() == [OPUS, OPUS, SONNET]  # the SDK's retry, then the next model of the chain
    assert family(message.model) == SONNET == raw.headers["x-router-model"]
    record = record_of(router, raw.headers["x-router-request-id"])
    assert record.label is Label.COMPLEX
    assert record.fallback
    assert record.retries == 2
    assert record.model_used == SONNET
    assert record.cost_usd == router.prices.cost(SONNET, message.usage)


async def test_a_dropped_connection_falls_back_too(emulator_url: str, router: Router, wire: Wire) -> None:
    # No response tells the middleware the client's retry budget here: it is given.
    async with anthropic.AsyncAnthropic(
        api_key=KEY,
        base_url=emulator_url,
        max_retries=1,
        middleware=[router_middleware(router, max_retries=1), wire],
    ) as client:
        message = await client.messages.create(
            model="auto", extra_headers=fault_on(OPUS, "drop"), **ask(COMPLEX)
        )
    assert wire.models() == [OPUS, OPUS, SONNET]
    assert family(message.model) == SONNET
    record = router.recent[-1]
    assert record.fallback
    assert record.retries == 2
    assert record.ok


async def test_a_client_without_retries_falls_back_at_once(
    emulator_url: str, router: Router, wire: Wire
) -> None:
    async with anthropic.AsyncAnthropic(
        api_key=KEY, base_url=emulator_url, max_retries=0, middleware=[router_middleware(router), wire]
    ) as client:
        message = await client.messages.create(
            model="auto", extra_headers=fault_on(OPUS, "529"), **ask(COMPLEX)
        )
    assert wire.models() == [OPUS, SONNET]
    assert family(message.model) == SONNET
    assert router.recent[-1].retries == 1


async def test_the_end_of_the_chain_fails_with_one_record(
    client: anthropic.AsyncAnthropic, router: Router, wire: Wire
) -> None:
    with pytest.raises(anthropic.APIStatusError) as caught:
        await client.messages.create(model="auto", extra_headers=fault_on(HAIKU, "529"), **ask(SIMPLE))
    assert caught.value.status_code == 529
    assert wire.models() == [HAIKU, HAIKU]
    record = record_of(router, caught.value.response.headers["x-router-request-id"])
    assert record.status == record.error_type == "overloaded_error"
    assert record.model_used is None
    assert record.cost_usd == 0
    assert record.retries == 1
    assert record.classifier_cost_usd > 0  # the classifier's call was real, and is accounted


async def test_a_400_is_not_retried_nor_falls_back(
    client: anthropic.AsyncAnthropic, router: Router, wire: Wire
) -> None:
    with pytest.raises(anthropic.BadRequestError):
        await client.messages.create(model="auto", extra_body={"no_such_field": 1}, **ask(COMPLEX))
    assert wire.models() == [OPUS]
    record = router.recent[-1]
    assert record.status == "invalid_request_error"
    assert record.retries == 0
    assert not record.fallback


async def test_one_record_and_one_classification_per_call_across_sdk_retries(emulator_url: str) -> None:
    settings = settings_for(emulator_url, cache="none")  # every classification is a real call
    classifier_wire = Wire()
    own = anthropic.AsyncAnthropic(
        api_key=KEY, base_url=emulator_url, max_retries=0, middleware=[classifier_wire]
    )
    wire = Wire()
    async with Router(settings, upstream=Upstream(settings.upstream, client=own)) as router:
        client = anthropic.AsyncAnthropic(
            api_key=KEY, base_url=emulator_url, max_retries=2, middleware=[router_middleware(router), wire]
        )
        async with client:
            message = await client.messages.create(
                model="auto", extra_headers=fault_on(SONNET, "500", times=2), **ask(MODERATE)
            )
    await own.close()
    assert [s.retries_taken for s in wire.sent] == [0, 1, 2]
    assert wire.models() == [SONNET, SONNET, SONNET]
    assert len(classifier_wire.sent) == 1
    assert len(router.recent) == 1
    record = router.recent[0]
    assert record.retries == 2
    assert not record.fallback
    assert record.usage == TokenUsage.from_api(message.usage)


# ---- streams -----------------------------------------------------------------------------------


async def test_a_raw_stream_is_accounted_from_its_events(
    client: anthropic.AsyncAnthropic, router: Router
) -> None:
    stream = await client.messages.create(model="auto", stream=True, **ask(MODERATE))
    request_id = stream.response.headers["x-router-request-id"]
    assert stream.response.headers["x-router-model"] == SONNET
    assert "x-router-cost-usd" not in stream.response.headers  # not known before the end
    input_tokens = output_tokens = 0
    async for event in stream:
        if event.type == "message_start":
            input_tokens = event.message.usage.input_tokens
        elif event.type == "message_delta":
            output_tokens = event.usage.output_tokens
    record = record_of(router, request_id)
    assert record.ok
    assert record.model_used == SONNET
    assert (record.usage.input_tokens, record.usage.output_tokens) == (input_tokens, output_tokens)
    assert output_tokens > 0
    assert record.cost_usd == router.prices.cost(SONNET, record.usage)
    assert record.ttft_s is not None
    assert record.ttft_s <= record.latency_s


async def test_the_stream_helper_is_accounted(client: anthropic.AsyncAnthropic, router: Router) -> None:
    async with client.messages.stream(model="auto", **ask(SIMPLE)) as stream:
        assert stream.response.headers["x-router-label"] == "simple"
        final = await stream.get_final_message()
    record = record_of(router, stream.response.headers["x-router-request-id"])
    assert family(final.model) == record.model_used == HAIKU
    assert record.usage == TokenUsage.from_api(final.usage)
    assert record.ok


async def test_a_stream_closed_early_is_accounted_as_cancelled(
    client: anthropic.AsyncAnthropic, router: Router
) -> None:
    async with client.messages.stream(model="auto", **ask(COMPLEX, max_tokens=800)) as stream:
        async for event in stream:
            if event.type == "content_block_delta":
                break
    record = record_of(router, stream.response.headers["x-router-request-id"])
    assert record.status == "cancelled"
    assert record.model_used == OPUS
    assert record.usage.input_tokens > 0  # message_start arrived before the consumer left
    assert record.cost_usd == router.prices.cost(OPUS, record.usage)


async def test_a_stream_that_breaks_is_accounted_with_what_it_used(
    client: anthropic.AsyncAnthropic, router: Router
) -> None:
    stream = await client.messages.create(
        model="auto", stream=True, extra_headers={"x-emulator-fault": "drop"}, **ask(MODERATE)
    )
    with pytest.raises(anthropic.APIConnectionError):  # the SDK's own error for a broken body
        async for _ in stream:
            pass
    await stream.close()
    record = record_of(router, stream.response.headers["x-router-request-id"])
    assert record.status == "connection_error"
    assert record.usage.input_tokens > 0


async def test_a_stream_that_fails_before_it_starts_falls_back(
    client: anthropic.AsyncAnthropic, router: Router, wire: Wire
) -> None:
    async with client.messages.stream(
        model="auto", extra_headers=fault_on(SONNET, "529"), **ask(MODERATE)
    ) as stream:
        final = await stream.get_final_message()
    assert wire.models() == [SONNET, SONNET, HAIKU]
    record = record_of(router, stream.response.headers["x-router-request-id"])
    assert family(final.model) == record.model_used == HAIKU
    assert record.fallback
    assert record.retries == 2
    assert record.ok


async def test_the_tap_reads_usage_however_the_bytes_are_cut(emulator_url: str) -> None:
    async with anthropic.AsyncAnthropic(api_key=KEY, base_url=emulator_url) as plain:
        raw = await plain.messages.with_raw_response.create(model=SONNET, stream=True, **ask(MODERATE))
        wire_bytes = await raw.http_response.aread()
    cuts = {
        "whole": [wire_bytes],
        "bytewise": [wire_bytes[i : i + 1] for i in range(len(wire_bytes))],
        "crlf": [wire_bytes.replace(b"\n", b"\r\n")[i : i + 7] for i in range(0, 2 * len(wire_bytes), 7)],
    }
    usages = {}
    for name, chunks in cuts.items():
        tap = SSETap(0.0)
        for chunk in chunks:
            tap.feed(chunk)
        tap.flush()
        assert tap.outcome is None, name
        usages[name] = tap.usage
    assert usages["whole"].output_tokens > 0
    assert usages["whole"] == usages["bytewise"] == usages["crlf"]


# ---- other endpoints ---------------------------------------------------------------------------


async def test_count_tokens_with_auto_counts_for_the_routed_model(
    client: anthropic.AsyncAnthropic, router: Router, wire: Wire
) -> None:
    counted = await client.messages.count_tokens(
        model="auto", messages=[{"role": "user", "content": COMPLEX}]
    )
    assert counted.input_tokens > 0
    assert wire.models("/v1/messages/count_tokens") == [OPUS]
    # The classification was bought here, once: the call that follows hits the classifier cache.
    await client.messages.create(model="auto", **ask(COMPLEX))
    counting, answering = router.recent
    assert counting.classifier_source is ClassifierSource.LLM
    assert counting.classifier_cost_usd > 0
    assert counting.model_used is None
    assert counting.cost_usd == 0
    assert answering.classifier_source is ClassifierSource.CACHE
    assert answering.classifier_cost_usd == 0
    assert answering.model_used == OPUS


async def test_count_tokens_with_a_concrete_model_is_untouched(
    client: anthropic.AsyncAnthropic, router: Router, wire: Wire
) -> None:
    await client.messages.count_tokens(model=HAIKU, messages=[{"role": "user", "content": COMPLEX}])
    assert wire.models("/v1/messages/count_tokens") == [HAIKU]
    assert list(router.recent) == []


async def test_other_endpoints_pass_through(
    client: anthropic.AsyncAnthropic, router: Router, wire: Wire
) -> None:
    models = [m.id async for m in client.models.list()]
    assert OPUS in models
    assert [s.path for s in wire.sent] == ["/v1/models"]
    assert list(router.recent) == []


# ---- the synchronous client --------------------------------------------------------------------


@pytest.fixture
def sync_emulator_url() -> Iterator[str]:
    with emulator_thread() as url:
        yield url


def test_the_sync_client_is_routed_and_accounted(sync_emulator_url: str) -> None:
    wire = Wire()
    with SyncRouter(settings_for(sync_emulator_url)) as router:
        client = anthropic.Anthropic(
            api_key=KEY,
            base_url=sync_emulator_url,
            max_retries=1,
            middleware=[router_middleware(router), wire],
        )
        with client:
            raw = client.messages.with_raw_response.create(model="auto", **ask(SIMPLE))
            plain = raw.parse()
            fell_back = client.messages.create(
                model="auto", extra_headers=fault_on(OPUS, "529"), **ask(COMPLEX)
            )
            with client.messages.stream(model="auto", **ask(MODERATE)) as stream:
                streamed = stream.get_final_message()
        records = list(router.router.recent)
    assert raw.headers["x-router-label"] == "simple"
    assert family(plain.model) == HAIKU
    assert Decimal(raw.headers["x-router-cost-usd"]) == records[0].total_cost_usd
    assert family(fell_back.model) == SONNET
    assert records[1].fallback
    assert records[1].retries == 2
    assert family(streamed.model) == SONNET
    assert records[2].usage == TokenUsage.from_api(streamed.usage)
    assert [r.label for r in records] == [Label.SIMPLE, Label.COMPLEX, Label.MODERATE]
    assert wire.models() == [HAIKU, OPUS, OPUS, SONNET, SONNET]


async def test_the_sync_client_needs_a_sync_router(emulator_url: str, router: Router) -> None:
    with (
        anthropic.Anthropic(
            api_key=KEY, base_url=emulator_url, middleware=[router_middleware(router)]
        ) as client,
        pytest.raises(TypeError, match="SyncRouter"),
    ):
        client.messages.create(model="auto", **ask(SIMPLE))
