"""`/metrics` parsed with prometheus_client's own text parser, after real traffic."""

from __future__ import annotations

import asyncio

import anthropic
import httpx2
import pytest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from claude_router.config import HAIKU, OPUS
from claude_router.emulator.config import EmulatorConfig, TierLatency

from .conftest import COMPLEX, SIMPLE, Gateway, ask


async def scrape(gateway: Gateway) -> dict[str, list[Sample]]:
    async with httpx2.AsyncClient(base_url=gateway.url) as http:
        response = await http.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {family.name: family.samples for family in text_string_to_metric_families(response.text)}


def value(samples: list[Sample], name: str, **labels: str) -> float:
    return sum(s.value for s in samples if s.name == name and labels.items() <= s.labels.items())


async def test_metrics_count_requests_tokens_cost_and_latency(gateway: Gateway) -> None:
    async with gateway.client() as client:
        simple = await client.messages.create(**ask(SIMPLE))
        async with client.messages.stream(**ask(COMPLEX)) as stream:
            streamed = await stream.get_final_message()
        with pytest.raises(anthropic.NotFoundError):
            await client.messages.create(**ask(SIMPLE, model="router:nope"))
    await asyncio.sleep(0.05)  # the stream's metrics land when its response closes
    families = await scrape(gateway)

    requests = families["claude_router_requests"]
    total = "claude_router_requests_total"
    assert value(requests, total, model=HAIKU, label="simple", status="200") == 1
    assert value(requests, total, model=OPUS, label="complex", status="200") == 1
    assert value(requests, total, model="none", status="404") == 1

    tokens = families["claude_router_tokens"]
    output = simple.usage.output_tokens + streamed.usage.output_tokens
    assert value(tokens, "claude_router_tokens_total", kind="output") == output
    records = list(gateway.state.router.recent)
    classifier_input = sum(r.classifier_usage.input_tokens for r in records)
    assert value(tokens, "claude_router_tokens_total", kind="classifier_input") == classifier_input
    assert value(tokens, "claude_router_tokens_total", kind="input") == sum(
        r.usage.input_tokens for r in records
    )

    spent = sum(float(r.total_cost_usd) for r in records)
    assert value(families["claude_router_cost_usd"], "claude_router_cost_usd_total") == pytest.approx(spent)

    latency = families["claude_router_request_duration_seconds"]
    assert value(latency, "claude_router_request_duration_seconds_count", endpoint="messages") == 3
    assert (
        value(
            families["claude_router_upstream_duration_seconds"],
            "claude_router_upstream_duration_seconds_count",
        )
        == 2
    )
    assert (
        value(
            families["claude_router_classifier_duration_seconds"],
            "claude_router_classifier_duration_seconds_count",
        )
        == 2
    )
    assert (
        value(
            families["claude_router_time_to_first_token_seconds"],
            "claude_router_time_to_first_token_seconds_count",
        )
        == 1
    )
    assert value(families["claude_router_in_flight_requests"], "claude_router_in_flight_requests") == 0


class TestSlowStream:
    @pytest.fixture
    def emulator_config(self) -> EmulatorConfig:
        # A short answer still streams for seconds, so the stream is open when the gauge is read
        # however loaded the machine; the client leaves early, so the test does not wait for it.
        slow = TierLatency(output_tokens_per_s=2.0)
        return EmulatorConfig(latency={"haiku": slow, "sonnet": slow, "opus": slow})

    async def test_in_flight_gauge_counts_an_open_stream(self, gateway: Gateway) -> None:
        gauge = "claude_router_in_flight_requests"
        async with gateway.client() as client:
            stream = await client.messages.create(**ask(SIMPLE, max_tokens=200), stream=True)
            first = await stream.__anext__()
            assert first.type == "message_start"
            assert value((await scrape(gateway))[gauge], gauge) == 1
            await stream.close()  # the client leaves: the gateway cancels the upstream call
        for _ in range(100):
            if value((await scrape(gateway))[gauge], gauge) == 0:
                break
            await asyncio.sleep(0.02)
        assert value((await scrape(gateway))[gauge], gauge) == 0
        record = gateway.state.router.recent[-1]
        assert record.status == "cancelled"
        assert record.usage.input_tokens > 0


async def test_each_app_has_its_own_registry(gateway: Gateway) -> None:
    from claude_router.gateway.metrics import GatewayMetrics

    assert GatewayMetrics().registry is not gateway.state.metrics.registry
    # Two metric sets in one process do not clash (the global registry would refuse duplicates).
    GatewayMetrics()
