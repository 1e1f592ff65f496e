"""GET /v1/models (cursor pages like the API's) and GET /v1/models/{id}, from the catalogue file."""

from __future__ import annotations

import json
import warnings
from importlib import resources
from typing import Any

import anthropic
import pytest

CATALOGUE = json.loads(
    resources.files("claude_router.emulator").joinpath("data", "models.json").read_text("utf-8")
)["models"]
NEWEST_FIRST = [m["id"] for m in sorted(CATALOGUE, key=lambda m: m["created_at"], reverse=True)]


async def test_first_page_lists_the_newest_models(sdk: anthropic.AsyncAnthropic) -> None:
    page = await sdk.models.list(limit=3)

    assert [m.id for m in page.data] == NEWEST_FIRST[:3]
    assert page.has_more is True
    assert page.first_id == NEWEST_FIRST[0]
    assert page.last_id == NEWEST_FIRST[2]


async def test_auto_pagination_walks_every_model_once(sdk: anthropic.AsyncAnthropic) -> None:
    seen = [model.id async for model in sdk.models.list(limit=4)]

    assert seen == NEWEST_FIRST
    assert {"claude-haiku-4-5-20251001", "claude-opus-4-8", "claude-sonnet-4-6"} <= set(seen)


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
        ("claude-opus-4-1", "claude-opus-4-1-20250805"),
        ("claude-opus-4-0", "claude-opus-4-20250514"),
        ("claude-sonnet-4-0", "claude-sonnet-4-20250514"),
        ("claude-opus-4-8", "claude-opus-4-8"),
    ],
)
async def test_retrieve_resolves_aliases(sdk: anthropic.AsyncAnthropic, alias: str, model_id: str) -> None:
    model = await sdk.models.retrieve(alias)

    assert model.id == model_id
    assert model.type == "model"
    assert model.lifecycle == "active"
    assert model.deprecated_at is None
    assert model.max_tokens is not None
    assert model.capabilities is not None


@pytest.mark.parametrize("entry", CATALOGUE, ids=[m["id"] for m in CATALOGUE])
async def test_messages_accept_every_model_and_alias(
    sdk: anthropic.AsyncAnthropic, entry: dict[str, Any]
) -> None:
    for name in (entry["id"], *entry.get("aliases", [])):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            message = await sdk.messages.create(
                model=name, max_tokens=5, messages=[{"role": "user", "content": "Hi"}]
            )
        assert message.model == entry["id"]
        # The SDK warns about exactly the models the catalogue marks deprecated.
        deprecated = entry.get("lifecycle") == "deprecated"
        assert any(issubclass(w.category, DeprecationWarning) for w in caught) == deprecated


async def test_deprecated_models_carry_their_schedule(sdk: anthropic.AsyncAnthropic) -> None:
    model = await sdk.models.retrieve("claude-sonnet-4-5")

    assert model.lifecycle == "deprecated"
    assert model.deprecated_at is not None
    assert model.retires_at is not None
    assert model.deprecated_at < model.retires_at


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

    assert deprecated == ["claude-opus-4-5-20251101", "claude-sonnet-4-5-20250929"]
    assert sorted(active + deprecated) == sorted(NEWEST_FIRST)
