"""Router.create and Router.map end to end: classify, route, call the emulator, account."""

from __future__ import annotations

import logging
from decimal import Decimal

import anthropic
import pytest

from claude_router.catalog.pricing import PriceTable
from claude_router.demo import demo_requests
from claude_router.errors import UnknownModelError
from claude_router.routing.router import RoutedError, RoutedResponse, RouterRequest
from claude_router.types import ClassifierSource, Label, RequestMeta, TokenUsage

from .conftest import COMPLEX, SIMPLE, TEST_KEY, RouterFactory, ask

HAIKU, SONNET, OPUS = "claude-haiku-5-5", "claude-sonnet-5-5", "claude-opus-5-5"
PRICES = PriceTable.default()


async def test_demo_requests_route_by_label_and_are_accounted(make_router: RouterFactory) -> None:
    router = make_router(classifier={"kind": "llm"})
    requests = demo_requests()
    results = await router.map([RouterRequest(r.params, RequestMeta(task_id=r.task_id)) for r in requests])

    assert [r.task_id for r in results] == [r.task_id for r in requests]  # input order kept
    expected_model = {Label.SIMPLE: HAIKU, Label.MODERATE: SONNET, Label.COMPLEX: OPUS}
    for request, result in zip(requests, results, strict=True):
        assert isinstance(result, RoutedResponse)
        assert result.label is request.expected_label
        assert result.model_used == expected_model[request.expected_label]
        assert PRICES.resolve(result.message.model).family == result.model_used
        rec = result.record
        assert rec.classifier_source is ClassifierSource.LLM
        assert rec.classifier_usage.input_tokens > 0
        # Costs come from the usage the API returned, priced exactly.
        assert rec.usage == TokenUsage.from_api(result.message.usage)
        assert rec.cost_usd == PRICES.cost(rec.model_used or "", rec.usage)
        assert rec.classifier_cost_usd == PRICES.cost(HAIKU, rec.classifier_usage)
        assert rec.cost_if_opus_usd == PRICES.cost(OPUS, rec.usage)
        assert result.cost_usd == rec.cost_usd + rec.classifier_cost_usd
        # each tier thinks at its step's effort and still answers: no answer is thinking alone
        assert (
            rec.effort == {Label.SIMPLE: "low", Label.MODERATE: "medium", Label.COMPLEX: "high"}[result.label]
        )
        assert result.text.strip(), request.task_id
        assert result.message.stop_reason == "end_turn", request.task_id
    labels = [r.label for r in results if isinstance(r, RoutedResponse)]
    assert (labels.count(Label.SIMPLE), labels.count(Label.MODERATE), labels.count(Label.COMPLEX)) == (
        4,
        3,
        1,
    )
    assert len(router.recent) == len(requests)


async def test_a_repeated_request_is_classified_from_the_cache_for_free(make_router: RouterFactory) -> None:
    router = make_router(classifier={"kind": "llm"})
    first = await router.create(**ask(SIMPLE))
    second = await router.create(**ask(SIMPLE))
    assert first.classifier_source is ClassifierSource.LLM
    assert first.classifier_cost_usd > 0
    assert second.classifier_source is ClassifierSource.CACHE
    assert second.classifier_cost_usd == Decimal(0)
    assert second.record.classifier_usage == TokenUsage()
    assert second.label is first.label


async def test_by_default_the_demo_requests_are_labelled_locally_without_a_classifier_call(
    make_router: RouterFactory,
) -> None:
    router = make_router()
    requests = demo_requests()
    results = await router.map([RouterRequest(r.params, RequestMeta(task_id=r.task_id)) for r in requests])
    for request, result in zip(requests, results, strict=True):
        assert isinstance(result, RoutedResponse)
        assert result.label is request.expected_label
        assert result.classifier_source is ClassifierSource.LOCAL
        assert result.record.classifier_usage == TokenUsage()
        assert result.classifier_cost_usd == 0
        assert (
            result.cost_usd
            == result.record.cost_usd
            == PRICES.cost(result.model_used or "", result.record.usage)
        )


async def test_a_concrete_model_skips_the_classifier_but_is_accounted(make_router: RouterFactory) -> None:
    router = make_router()
    result = await router.create(**{**ask(SIMPLE), "model": "claude-haiku-4-5-20251001"})
    assert result.model_used == "claude-haiku-4-5-20251001"
    assert result.classifier_source is ClassifierSource.BYPASS
    assert result.label is None
    assert result.classifier_cost_usd == 0
    assert result.cost_usd == PRICES.cost("claude-haiku-4-5", result.record.usage) > 0


async def test_force_model_and_floors_override_the_label(make_router: RouterFactory) -> None:
    router = make_router()
    forced = await router.create(**ask(SIMPLE), meta=RequestMeta(force_model=OPUS))
    assert forced.model_used == OPUS
    assert forced.route.reason == "force_model"
    floored = await router.create(**ask(SIMPLE), meta=RequestMeta(tags=frozenset({"customer_facing"})))
    assert floored.label is Label.SIMPLE
    assert floored.model_used == SONNET
    assert floored.route.reason.startswith("floor:")
    assert floored.record.tags == ("customer_facing",)


async def test_default_max_tokens_applies_only_when_the_caller_gives_none(make_router: RouterFactory) -> None:
    router = make_router()
    body = ask(SIMPLE)
    del body["max_tokens"]
    result = await router.create(**body)
    assert result.route.max_tokens == router.settings.policy.max_tokens[Label.SIMPLE]
    given = await router.create(**ask(SIMPLE, max_tokens=5))
    assert given.route.max_tokens is None
    assert given.message.usage.output_tokens <= 5


async def test_an_unknown_model_or_alias_fails_before_any_call(make_router: RouterFactory) -> None:
    router = make_router()
    for model in ("claude-imaginary-9", "router:nope"):
        with pytest.raises(UnknownModelError, match=model):
            await router.create(**{**ask(SIMPLE), "model": model})
    assert len(router.recent) == 0  # nothing was sent, so nothing to account


async def test_the_apis_400_passes_through_unchanged_and_is_recorded(make_router: RouterFactory) -> None:
    router = make_router()
    body = {"model": "auto", "max_tokens": 16, "messages": [{"role": "robot", "content": "hi"}]}
    with pytest.raises(anthropic.BadRequestError) as caught:
        await router.create(**body, meta=RequestMeta(task_id="bad-1"))
    assert caught.value.status_code == 400
    record = router.recent[-1]
    assert record.task_id == "bad-1"
    assert record.status == "invalid_request_error"
    assert not record.fallback
    assert record.model_used is None
    assert record.cost_usd == 0


async def test_map_keeps_order_and_one_failure_does_not_sink_the_others(make_router: RouterFactory) -> None:
    router = make_router()
    items = [
        RouterRequest(ask(SIMPLE), RequestMeta(task_id="ok-1")),
        RouterRequest({**ask(SIMPLE), "model": "claude-imaginary-9"}, RequestMeta(task_id="bad-model")),
        RouterRequest({**ask(""), "messages": []}, RequestMeta(task_id="bad-body")),
        RouterRequest(ask(COMPLEX, max_tokens=1024), RequestMeta(task_id="ok-2")),
    ]
    results = await router.map(items, concurrency=2)
    assert [r.task_id for r in results] == ["ok-1", "bad-model", "bad-body", "ok-2"]
    assert isinstance(results[0], RoutedResponse)
    assert isinstance(results[3], RoutedResponse)
    assert isinstance(results[1], RoutedError)
    assert isinstance(results[1].error, UnknownModelError)
    assert isinstance(results[2], RoutedError)
    assert isinstance(results[2].error, anthropic.BadRequestError)
    assert results[2].record is not None
    assert results[2].record.status == "invalid_request_error"
    assert results[3].model_used == OPUS


async def test_prompt_caching_of_the_system_prompt_is_accounted(make_router: RouterFactory) -> None:
    router = make_router(policy={"cache_system": True})
    system = "You are a support agent for a large online shop. " * 600  # well above any cache minimum
    first = await router.create(**ask(SIMPLE, system=system))
    second = await router.create(**ask(SIMPLE, system=system))
    assert first.record.usage.cache_write_5m_tokens > 0
    assert first.record.usage.cache_read_tokens == 0
    assert second.record.usage.cache_read_tokens == first.record.usage.cache_write_5m_tokens
    assert second.cost_usd - second.classifier_cost_usd == PRICES.cost(HAIKU, second.record.usage)
    # A cache read costs a tenth of fresh input, so the warm call is the cheaper one.
    assert second.record.cost_usd < first.record.cost_usd


async def test_no_secret_reaches_a_log_line_or_an_error(
    make_router: RouterFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    router = make_router()
    await router.create(**ask(SIMPLE))
    with pytest.raises(anthropic.BadRequestError) as caught:
        await router.create(**{**ask(SIMPLE), "messages": []})
    assert TEST_KEY not in str(caught.value)
    assert all(TEST_KEY not in record.getMessage() for record in caplog.records)
