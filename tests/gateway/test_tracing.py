"""OpenTelemetry spans: one per request, classifier and upstream calls as children, GenAI attributes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx2
import pytest

from claude_router.config import Settings
from claude_router.gateway import create_app
from claude_router.gateway.server import running_gateway

from .conftest import COMPLEX, SIMPLE, Gateway, ask

sdk_trace = pytest.importorskip("opentelemetry.sdk.trace", reason="the `otel` extra (opentelemetry-sdk)")
in_memory = pytest.importorskip("opentelemetry.sdk.trace.export.in_memory_span_exporter")
export = pytest.importorskip("opentelemetry.sdk.trace.export")


@pytest.fixture
def exporter() -> Any:
    return in_memory.InMemorySpanExporter()


@pytest.fixture
async def traced(settings: Settings, exporter: Any) -> AsyncIterator[Gateway]:
    provider = sdk_trace.TracerProvider()
    provider.add_span_processor(export.SimpleSpanProcessor(exporter))
    app = create_app(settings, tracer_provider=provider)
    async with running_gateway(app) as url:
        yield Gateway(url, app)
    provider.shutdown()


def by_name(spans: Any) -> dict[str, Any]:
    return {span.name: span for span in spans}


async def test_a_routed_request_is_one_span_with_its_calls_as_children(
    traced: Gateway, exporter: Any
) -> None:
    async with httpx2.AsyncClient(base_url=traced.url, timeout=30) as http:
        answered = await http.post("/v1/messages", json=ask(COMPLEX))
    assert answered.status_code == 200
    spans = by_name(exporter.get_finished_spans())
    request = spans["chat auto"]
    model = answered.headers["x-router-model"]
    classify, upstream = spans["classify"], spans[f"upstream {model}"]
    assert classify.parent.span_id == request.context.span_id
    assert upstream.parent.span_id == request.context.span_id
    assert classify.context.trace_id == upstream.context.trace_id == request.context.trace_id

    record = traced.state.router.recent[-1]
    attributes = request.attributes
    assert attributes["gen_ai.system"] == "anthropic"
    assert attributes["gen_ai.request.model"] == "auto"
    assert attributes["gen_ai.response.model"] == model == record.model_used
    assert attributes["gen_ai.usage.input_tokens"] == record.usage.total_input_tokens
    assert attributes["gen_ai.usage.output_tokens"] == record.usage.output_tokens
    assert attributes["claude_router.label"] == answered.headers["x-router-label"]
    assert attributes["claude_router.reason"] == "label"
    assert attributes["claude_router.cost_usd"] == pytest.approx(float(answered.headers["x-router-cost-usd"]))
    assert attributes["http.response.status_code"] == 200


async def test_a_stream_span_ends_with_the_stream_and_a_refusal_is_an_error(
    traced: Gateway, exporter: Any
) -> None:
    async with httpx2.AsyncClient(base_url=traced.url, timeout=30) as http:
        streamed = await http.post("/v1/messages", json=ask(SIMPLE, stream=True))
        assert streamed.status_code == 200
        unknown = await http.post("/v1/messages", json={**ask(SIMPLE), "model": "router:nope"})
        assert unknown.status_code == 404
    spans = exporter.get_finished_spans()
    streamed_span = next(s for s in spans if s.name == "chat auto")
    assert streamed_span.attributes["gen_ai.usage.output_tokens"] > 0
    failed = next(s for s in spans if s.name == "chat router:nope")
    assert failed.status.status_code.name == "ERROR"
    assert failed.attributes["http.response.status_code"] == 404


class Seen:
    """A response observer: with one attached, the gateway answers through `Router.create`."""

    def __init__(self) -> None:
        self.models: list[str] = []

    def observe(self, params: Any, routed: Any) -> None:
        self.models.append(routed.model_used)

    async def aclose(self) -> None:
        return None


async def test_a_request_answered_through_the_router_has_the_same_children(
    traced: Gateway, exporter: Any
) -> None:
    seen = Seen()
    traced.state.router.add_observer(seen)
    async with httpx2.AsyncClient(base_url=traced.url, timeout=30) as http:
        answered = await http.post("/v1/messages", json=ask(SIMPLE))
    assert answered.status_code == 200
    model = answered.headers["x-router-model"]
    assert seen.models == [model]  # it did go through `Router.create`
    spans = by_name(exporter.get_finished_spans())
    request = spans["chat auto"]
    classify, upstream = spans["classify"], spans[f"upstream {model}"]
    assert classify.parent.span_id == upstream.parent.span_id == request.context.span_id
    assert classify.attributes["claude_router.label"] == answered.headers["x-router-label"]
    assert upstream.attributes["gen_ai.request.model"] == model
