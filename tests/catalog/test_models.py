"""The packaged model catalogue: every model of today's sheet, its lifecycle, limits and rules."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest

from claude_router.catalog.models import Catalogue, Tier
from claude_router.errors import UnknownModelError

CATALOGUE = Catalogue.default()

# (id, tier, status, input, output, context, max output) as on the December 2026 sheet
SHEET = [
    ("claude-haiku-5-5", Tier.HAIKU, "current", "0.10", "0.50", 1_000_000, 128_000),
    ("claude-sonnet-5-5", Tier.SONNET, "current", "2", "10", 1_000_000, 128_000),
    ("claude-opus-5-5", Tier.OPUS, "current", "4", "20", 1_000_000, 128_000),
    ("claude-fable-5-2", Tier.FRONTIER, "current", "8", "40", 1_000_000, 128_000),
    ("claude-fable-5-1", Tier.FRONTIER, "current", "10", "50", 1_000_000, 128_000),
    ("claude-fable-5", Tier.FRONTIER, "legacy", "10", "50", 1_000_000, 128_000),
    ("claude-opus-5", Tier.OPUS, "legacy", "5", "25", 1_000_000, 128_000),
    ("claude-sonnet-5", Tier.SONNET, "legacy", "2", "10", 1_000_000, 128_000),
    ("claude-opus-4-8", Tier.OPUS, "legacy", "5", "25", 1_000_000, 128_000),
    ("claude-opus-4-7", Tier.OPUS, "legacy", "5", "25", 1_000_000, 128_000),
    ("claude-opus-4-6", Tier.OPUS, "legacy", "5", "25", 1_000_000, 128_000),
    ("claude-sonnet-4-6", Tier.SONNET, "legacy", "3", "15", 1_000_000, 128_000),
    ("claude-haiku-4-5", Tier.HAIKU, "legacy", "1", "5", 200_000, 64_000),
    ("claude-opus-4-5", Tier.OPUS, "legacy", "5", "25", 200_000, 64_000),
]


@pytest.mark.parametrize(("model", "tier", "status", "inp", "out", "context", "max_output"), SHEET)
def test_every_model_of_the_sheet_is_listed_with_its_prices_and_limits(
    model: str, tier: Tier, status: str, inp: str, out: str, context: int, max_output: int
) -> None:
    spec = CATALOGUE.resolve(model)
    prices = spec.prices_on(CATALOGUE.checked)
    assert (spec.tier, spec.status, prices.input, prices.output) == (tier, status, D(inp), D(out))
    assert (spec.context, spec.max_output) == (context, max_output)


@pytest.mark.parametrize(
    ("model", "on", "stage"),
    [
        ("claude-opus-4-5", date(2026, 11, 22), "active"),
        ("claude-opus-4-5", date(2026, 11, 23), "deprecated"),
        ("claude-opus-4-5", date(2027, 1, 22), "retired"),
        ("claude-sonnet-4-5-20250929", date(2026, 11, 29), "deprecated"),
        ("claude-sonnet-4-5-20250929", date(2026, 11, 30), "retired"),
        ("claude-sonnet-4-20250514", date(2026, 6, 15), "retired"),
        ("claude-opus-4-1", date(2025, 9, 1), "retired"),  # retired on a date not published
        ("claude-haiku-5-5", date(2030, 1, 1), "active"),
    ],
)
def test_lifecycle_follows_the_dates(model: str, on: date, stage: str) -> None:
    assert CATALOGUE.resolve(model).lifecycle(on) == stage


def test_ids_resolve_to_their_family() -> None:
    assert CATALOGUE.resolve("claude-haiku-4-5-20251001").id == "claude-haiku-4-5"
    assert CATALOGUE.resolve("claude-haiku-4-5").snapshot == "claude-haiku-4-5-20251001"
    assert CATALOGUE.resolve("claude-mythos-5-2").id == "claude-fable-5-2"
    # a date suffix the sheet has never seen is still its family
    assert CATALOGUE.resolve("claude-opus-5-5-20270301").id == "claude-opus-5-5"
    assert CATALOGUE.get("claude-opus-9") is None
    with pytest.raises(UnknownModelError, match="claude-opus-9"):
        CATALOGUE.resolve("claude-opus-9")


def test_prices_in_force_on_a_date() -> None:
    sonnet = CATALOGUE.resolve("claude-sonnet-5-5")
    assert sonnet.prices_on(date(2026, 10, 6)).cache_read == D("0.20")
    assert sonnet.prices_on(date(2026, 10, 7)).cache_read == D("0.10")
    assert sonnet.prices_on().cache_read == D("0.10")
    # cache prices not stated follow the default multipliers of the input price
    opus48 = CATALOGUE.resolve("claude-opus-4-8").prices_on()
    assert (opus48.cache_write_5m, opus48.cache_write_1h, opus48.cache_read) == (D("6.25"), D("10"), D("0.5"))


def test_request_rules_as_data() -> None:
    haiku55 = CATALOGUE.resolve("claude-haiku-5-5")
    assert haiku55.thinking.default == "adaptive"
    assert haiku55.thinking.accepts("disabled", "high")
    assert not haiku55.thinking.accepts("disabled", "max")
    assert not haiku55.thinking.accepts("enabled")
    assert (haiku55.effort.default, haiku55.min_cacheable_tokens) == ("medium", 512)

    opus55 = CATALOGUE.resolve("claude-opus-5-5")
    assert opus55.thinking.always_on
    assert not opus55.forced_tool_choice
    assert opus55.fast

    sonnet55 = CATALOGUE.resolve("claude-sonnet-5-5")
    assert sonnet55.thinking.accepts("between_tools", "high")
    assert not sonnet55.thinking.accepts("between_tools", "xhigh")
    assert not sonnet55.thinking.accepts("disabled")
    assert sonnet55.max_output_batch == 300_000

    haiku45 = CATALOGUE.resolve("claude-haiku-4-5")
    assert haiku45.thinking.modes == {"enabled", "disabled"}
    assert not haiku45.effort.supported
    assert (haiku45.prefill, haiku45.sampling) == (True, True)
    assert not any((haiku45.context_management, haiku45.inference_geo, haiku45.system_messages))

    assert CATALOGUE.resolve("claude-opus-4-8").system_messages  # 4.8 and later
    assert not CATALOGUE.resolve("claude-opus-4-7").system_messages
    assert not CATALOGUE.resolve("claude-sonnet-4-6").prefill  # 4.6 and later


@pytest.mark.parametrize(
    ("model", "asked", "clamped"),
    [
        ("claude-sonnet-4-6", "xhigh", "high"),
        ("claude-sonnet-4-6", "max", "max"),
        ("claude-opus-5-5", "xhigh", "xhigh"),
        ("claude-haiku-4-5", "low", None),
    ],
)
def test_effort_clamps_to_what_the_model_takes(model: str, asked: str, clamped: str | None) -> None:
    assert CATALOGUE.resolve(model).effort.clamp(asked) == clamped


def test_tokenizer_generations() -> None:
    assert CATALOGUE.resolve("claude-haiku-4-5").token_ratio == 1
    assert CATALOGUE.resolve("claude-opus-4-7").token_ratio == D("1.3")
    assert CATALOGUE.resolve("claude-haiku-5-5").token_ratio == D("1.3")


def test_models_are_listed_newest_first() -> None:
    released = [spec.released for spec in CATALOGUE]
    assert released == sorted(released, reverse=True)
    assert CATALOGUE.models[0].id == "claude-fable-5-2"
