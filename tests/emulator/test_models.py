"""GET /v1/models (cursor pages like the API's) and GET /v1/models/{id}: the shared catalogue, with each
model's lifecycle on the emulator's date."""

from __future__ import annotations

import warnings
from datetime import date

import anthropic
import pytest
from anthropic._data import DEPRECATED_MODELS

from claude_router.catalog.models import Catalogue, ModelSpec
from claude_router.emulator.config import EmulatorConfig
from claude_router.emulator.server import running_emulator

from .support import API_KEY, TODAY

CATALOGUE = Catalogue.default()
SERVED = [m for m in CATALOGUE if m.lifecycle(TODAY) != "retired"]
RETIRED = [m for m in CATALOGUE if m.lifecycle(TODAY) == "retired"]
NEWEST_FIRST = [m.snapshot for m in SERVED]


async def test_first_page_lists_the_newest_models(sdk: anthropic.AsyncAnthropic) -> None:
    page = await sdk.models.list(limit=3)

    assert [m.id for m in page.data] == NEWEST_FIRST[:3]
    assert page.has_more is True
    assert page.first_id == NEWEST_FIRST[0]
    assert page.last_id == NEWEST_FIRST[2]


async def test_auto_pagination_walks_every_served_model_once(sdk: anthropic.AsyncAnthropic) -> None:
    seen = [model.id async for model in sdk.models.list(limit=4)]

    assert seen == NEWEST_FIRST
    assert {"claude-haiku-5-5", "claude-sonnet-5-5", "claude-opus-5-5", "claude-fable-5-2"} <= set(seen)
    assert not {m.snapshot for m in RETIRED} & set(seen)


async def test_before_id_pages_backwards(sdk: anthropic.AsyncAnthropic) -> None:
    page = await sdk.models.list(before_id=NEWEST_FIRST[5], limit=2)

    assert [m.id for m in page.data] == NEWEST_FIRST[3:5]
    assert page.has_more is True


async def test_the_last_page_says_so(sdk: anthropic.AsyncAnthropic) -> None:
    page = await sdk.models.list(after_id=NEWEST_FIRST[-3], limit=20)

    assert [m.id for m in page.data] == NEWEST_FIRST[-2:]
    assert page.has_more is False


@pytest.mark.parametrize(
    ("alias", "model_id"),
    [
        ("claude-haiku-4-5", "claude-haiku-4-5-20251001"),
        ("claude-opus-4-5", "claude-opus-4-5-20251101"),
        ("claude-mythos-5-2", "claude-fable-5-2"),
        ("claude-opus-5-5", "claude-opus-5-5"),
    ],
)
async def test_retrieve_resolves_aliases(sdk: anthropic.AsyncAnthropic, alias: str, model_id: str) -> None:
    model = await sdk.models.retrieve(alias)

    assert model.id == model_id
    assert model.type == "model"
    assert model.max_tokens is not None
    assert model.capabilities is not None


@pytest.mark.parametrize("spec", SERVED, ids=[m.id for m in SERVED])
async def test_each_model_is_described_from_the_catalogue(
    sdk: anthropic.AsyncAnthropic, spec: ModelSpec
) -> None:
    model = await sdk.models.retrieve(spec.id)

    assert model.id == spec.snapshot
    assert model.display_name == spec.name
    assert model.created_at.date() == spec.released
    assert model.line == spec.line
    assert model.max_input_tokens == spec.context
    assert model.max_tokens == spec.max_output
    assert model.lifecycle == spec.lifecycle(TODAY)
    assert model.capabilities is not None
    types = model.capabilities.thinking.types
    assert {
        mode
        for mode in ("enabled", "adaptive", "between_tools", "disabled")
        if getattr(types, mode).supported
    } == (spec.thinking.modes)
    effort = model.capabilities.effort
    assert effort.supported == spec.effort.supported
    assert [lv for lv in ("low", "medium", "high", "xhigh", "max") if getattr(effort, lv).supported] == list(
        spec.effort.levels
    )
    assert model.capabilities.context_management.supported == spec.context_management


@pytest.mark.parametrize("spec", SERVED, ids=[m.id for m in SERVED])
async def test_messages_accept_every_served_model_and_alias(
    sdk: anthropic.AsyncAnthropic, spec: ModelSpec
) -> None:
    for name in (spec.id, *spec.ids):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            message = await sdk.messages.create(
                model=name, max_tokens=5, messages=[{"role": "user", "content": "Hi"}]
            )
        assert message.model == spec.snapshot
        # The SDK warns from its own list; on this date the catalogue agrees with it.
        warned = any(issubclass(w.category, DeprecationWarning) for w in caught)
        assert warned == (name in DEPRECATED_MODELS)
        assert warned <= (spec.lifecycle(TODAY) == "deprecated")


@pytest.mark.parametrize("spec", RETIRED, ids=[m.id for m in RETIRED])
async def test_retired_models_are_not_found_but_still_described(
    sdk: anthropic.AsyncAnthropic, spec: ModelSpec
) -> None:
    with pytest.raises(anthropic.NotFoundError) as caught:
        await sdk.messages.create(model=spec.id, max_tokens=5, messages=[{"role": "user", "content": "Hi"}])
    described = await sdk.models.retrieve(spec.id)

    assert caught.value.type == "not_found_error"
    assert described.lifecycle == "retired"


async def test_deprecated_models_carry_their_schedule(sdk: anthropic.AsyncAnthropic) -> None:
    model = await sdk.models.retrieve("claude-opus-4-5")

    assert model.lifecycle == "deprecated"
    assert model.deprecated_at is not None
    assert model.retires_at is not None
    assert model.deprecated_at < model.retires_at


@pytest.mark.parametrize(
    ("day", "lifecycle"),
    [(date(2026, 11, 1), "active"), (date(2026, 12, 1), "deprecated"), (date(2027, 1, 22), "retired")],
)
async def test_lifecycle_follows_the_emulator_date(day: date, lifecycle: str) -> None:
    async with (
        running_emulator(EmulatorConfig(today=day)) as url,
        anthropic.AsyncAnthropic(base_url=url, api_key=API_KEY, max_retries=0) as sdk,
    ):
        model = await sdk.models.retrieve("claude-opus-4-5")
        listed = [m.id async for m in sdk.models.list(limit=100)]

    assert model.lifecycle == lifecycle
    assert (model.deprecated_at is None) == (lifecycle == "active")
    assert ("claude-opus-4-5-20251101" in listed) == (lifecycle != "retired")


async def test_unknown_model_is_not_found(sdk: anthropic.AsyncAnthropic) -> None:
    with pytest.raises(anthropic.NotFoundError):
        await sdk.models.retrieve("claude-imaginary-1")


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 1001}, {"after_id": "nope"}])
async def test_bad_page_parameters(sdk: anthropic.AsyncAnthropic, params: dict[str, object]) -> None:
    with pytest.raises((anthropic.BadRequestError, anthropic.NotFoundError)):
        await sdk.models.list(**params)  # type: ignore[arg-type]


async def test_lifecycle_filter(sdk: anthropic.AsyncAnthropic) -> None:
    active = [m.id async for m in sdk.models.list(lifecycle=["active"])]
    deprecated = [m.id async for m in sdk.models.list(lifecycle=["deprecated"])]
    retired = [m.id async for m in sdk.models.list(lifecycle=["retired"])]

    assert deprecated == ["claude-opus-4-5-20251101"]
    assert sorted(active + deprecated) == sorted(NEWEST_FIRST)
    assert retired == [m.snapshot for m in RETIRED]
