"""Pricing: exact dollar figures worked out by hand from the price sheet (USD per million tokens)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from anthropic.types import CacheCreation, MessageDeltaUsage, Usage
from hypothesis import given
from hypothesis import strategies as st

from claude_router.catalog import pricing
from claude_router.catalog.pricing import PriceTable, Tier
from claude_router.errors import ConfigError, PricingError, UnknownModelError
from claude_router.types import Label, TokenUsage

D = Decimal


def usage(**fields: object) -> dict[str, object]:
    return {"input_tokens": 0, "output_tokens": 0, **fields}


# ---- the packaged sheet ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "tier", "input_", "output"),
    [
        ("claude-haiku-4-5", Tier.HAIKU, "1", "5"),
        ("claude-sonnet-4-6", Tier.SONNET, "3", "15"),
        ("claude-sonnet-4-5", Tier.SONNET, "3", "15"),
        ("claude-sonnet-4-0", Tier.SONNET, "3", "15"),
        ("claude-opus-4-8", Tier.OPUS, "5", "25"),
        ("claude-opus-4-7", Tier.OPUS, "5", "25"),
        ("claude-opus-4-6", Tier.OPUS, "5", "25"),
        ("claude-opus-4-5", Tier.OPUS, "5", "25"),
        ("claude-opus-4-1", Tier.OPUS, "15", "75"),
        ("claude-opus-4-0", Tier.OPUS, "15", "75"),
    ],
)
def test_sheet_prices_and_cache_multipliers(model: str, tier: Tier, input_: str, output: str) -> None:
    price = pricing.resolve(model)
    sheet = price.per_million
    assert price.tier is tier
    assert (sheet.input, sheet.output) == (D(input_), D(output))
    assert sheet.cache_write_5m == D(input_) * D("1.25")
    assert sheet.cache_write_1h == D(input_) * 2
    assert sheet.cache_read == D(input_) * D("0.1")


def test_every_family_is_priced_and_table_loads_once() -> None:
    table = PriceTable.default()
    assert table is PriceTable.default()
    for family in table.families:
        assert pricing.cost(family, usage(input_tokens=1)) > 0


# ---- cost: hand-computed figures ---------------------------------------------------------------


def test_plain_input_and_output() -> None:
    # Haiku 4.5: 1,000 x $1/M + 100 x $5/M = $0.001 + $0.0005
    assert pricing.cost("claude-haiku-4-5", usage(input_tokens=1000, output_tokens=100)) == D("0.0015")


def test_single_tokens_are_exact() -> None:
    assert pricing.cost("claude-haiku-4-5", usage(output_tokens=1)) == D("0.000005")
    assert pricing.cost("claude-sonnet-4-6", usage(cache_read_input_tokens=1)) == D("0.0000003")


def test_cache_write_5m() -> None:
    # Sonnet 4.6: 50 x $3 + 2,000 x $3.75 + 300 x $15 = $12,150 per million tokens
    u = usage(
        input_tokens=50,
        output_tokens=300,
        cache_creation_input_tokens=2000,
        cache_creation={"ephemeral_5m_input_tokens": 2000, "ephemeral_1h_input_tokens": 0},
    )
    assert pricing.cost("claude-sonnet-4-6", u) == D("0.01215")


def test_cache_write_1h() -> None:
    # Opus 4.8: 10 x $5 + 4,000 x $10 (1h write = 2 x input) + 20 x $25 = $40,550 / M
    u = usage(
        input_tokens=10,
        output_tokens=20,
        cache_creation_input_tokens=4000,
        cache_creation={"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 4000},
    )
    assert pricing.cost("claude-opus-4-8", u) == D("0.04055")


def test_cache_writes_split_by_ttl_and_reads() -> None:
    # Sonnet 4.5: 100 x $3 + 1,000 x $3.75 + 2,000 x $6 + 5,000 x $0.30 + 50 x $15 = $18,300 / M
    u = usage(
        input_tokens=100,
        output_tokens=50,
        cache_creation_input_tokens=3000,
        cache_creation={"ephemeral_5m_input_tokens": 1000, "ephemeral_1h_input_tokens": 2000},
        cache_read_input_tokens=5000,
    )
    assert pricing.cost("claude-sonnet-4-5", u) == D("0.0183")


def test_cache_read() -> None:
    # Haiku 4.5: 20 x $1 + 10,000 x $0.10 + 10 x $5 = $1,070 / M
    u = usage(input_tokens=20, output_tokens=10, cache_read_input_tokens=10_000)
    assert pricing.cost("claude-haiku-4-5", u) == D("0.00107")


def test_breakdown_absent_means_5m_writes() -> None:
    # Sonnet 4.6: 2,000 x $3.75 = $0.0075, not 2,000 x $6
    u = usage(cache_creation_input_tokens=2000)
    assert pricing.cost("claude-sonnet-4-6", u) == D("0.0075")


def test_null_fields_count_as_zero() -> None:
    # Haiku 4.5: 10 x $1 + 5 x $5 = $35 / M
    u = {
        "input_tokens": 10,
        "output_tokens": 5,
        "cache_creation_input_tokens": None,
        "cache_read_input_tokens": None,
        "cache_creation": None,
    }
    assert pricing.cost("claude-haiku-4-5", u) == D("0.000035")


def test_batch_discount_halves_every_kind_of_token() -> None:
    # Opus 4.1: 1,000 x $15 + 1,000 x $75 = $0.09; batch: $0.045
    u = usage(input_tokens=1000, output_tokens=1000)
    assert pricing.cost("claude-opus-4-1", u) == D("0.09")
    assert pricing.cost("claude-opus-4-1", u, batch=True) == D("0.045")
    # Haiku 4.5: 10,000 reads x $0.10 + 1,000 5m writes x $1.25 = $0.00225; batch: $0.001125
    cached = usage(cache_read_input_tokens=10_000, cache_creation_input_tokens=1000)
    assert pricing.cost("claude-haiku-4-5", cached) == D("0.00225")
    assert pricing.cost("claude-haiku-4-5", cached, batch=True) == D("0.001125")


def test_long_context_reprices_the_whole_request() -> None:
    # Sonnet 4.5, prompt 150,000 + 60,000 read = 210,000 > 200K: long-context prices for all:
    # 150,000 x $6 + 60,000 x $0.60 + 1,000 x $22.50 = $958,500 / M
    u = usage(input_tokens=150_000, cache_read_input_tokens=60_000, output_tokens=1000)
    assert pricing.cost("claude-sonnet-4-5", u) == D("0.9585")
    # Sonnet 4.6 has no long-context tier: 150,000 x $3 + 60,000 x $0.30 + 1,000 x $15
    assert pricing.cost("claude-sonnet-4-6", u) == D("0.483")


def test_long_context_threshold_is_exceeded_not_reached() -> None:
    assert pricing.cost("claude-sonnet-4-5", usage(input_tokens=200_000)) == D("0.6")  # x $3
    assert pricing.cost("claude-sonnet-4-5", usage(input_tokens=200_001)) == D("1.200006")  # x $6


def test_long_context_counts_cache_writes_and_stacks_with_batch() -> None:
    # Sonnet 4 (dated id): 1,000 x $6 + 199,500 1h writes x $12 = $2,400,000 / M
    u = usage(
        input_tokens=1000,
        cache_creation_input_tokens=199_500,
        cache_creation={"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 199_500},
    )
    assert pricing.cost("claude-sonnet-4-20250514", u) == D("2.4")
    # 250,000 x $6 + 2,000 x $22.50 = $1.545; batch: $0.7725
    big = usage(input_tokens=250_000, output_tokens=2000)
    assert pricing.cost("claude-sonnet-4-0", big) == D("1.545")
    assert pricing.cost("claude-sonnet-4-0", big, batch=True) == D("0.7725")


def test_sdk_usage_objects() -> None:
    u = Usage(
        input_tokens=100,
        output_tokens=50,
        cache_creation_input_tokens=3000,
        cache_creation=CacheCreation(ephemeral_5m_input_tokens=1000, ephemeral_1h_input_tokens=2000),
        cache_read_input_tokens=5000,
    )
    assert pricing.cost("claude-sonnet-4-5-20250929", u) == D("0.0183")
    # A streamed final delta; the SDK leaves the cache fields None.
    delta = MessageDeltaUsage(output_tokens=40, input_tokens=None)
    assert pricing.cost("claude-haiku-4-5", delta) == D("0.0002")


def test_token_usage_is_priced_as_is() -> None:
    tokens = TokenUsage(input_tokens=100, output_tokens=50, cache_write_5m_tokens=1000)
    tokens += TokenUsage(cache_write_1h_tokens=2000, cache_read_tokens=5000)
    assert pricing.cost("claude-sonnet-4-5", tokens) == D("0.0183")


@given(st.integers(0, 50_000), st.integers(0, 50_000), st.integers(0, 50_000), st.integers(0, 50_000))
def test_cost_is_additive_below_the_long_context_threshold(
    a_in: int, a_out: int, b_in: int, b_out: int
) -> None:
    a, b = (
        TokenUsage(a_in, a_out, cache_read_tokens=a_in),
        TokenUsage(b_in, b_out, cache_write_1h_tokens=b_out),
    )
    total = pricing.cost("claude-sonnet-4-5", a + b)
    assert total == pricing.cost("claude-sonnet-4-5", a) + pricing.cost("claude-sonnet-4-5", b)
    assert isinstance(total, Decimal)


# ---- ids, tiers, helpers ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dated", "family"),
    [
        ("claude-haiku-4-5-20251001", "claude-haiku-4-5"),
        ("claude-sonnet-4-5-20250929", "claude-sonnet-4-5"),
        ("claude-sonnet-4-20250514", "claude-sonnet-4-0"),
        ("claude-opus-4-20250514", "claude-opus-4-0"),
        ("claude-opus-4-1-20250805", "claude-opus-4-1"),
        ("claude-opus-4-5-20251101", "claude-opus-4-5"),
    ],
)
def test_dated_ids_resolve_to_their_family(dated: str, family: str) -> None:
    assert pricing.resolve(dated) is pricing.resolve(family)
    assert pricing.resolve(dated).family == family
    u = usage(input_tokens=1234, output_tokens=567)
    assert pricing.cost(dated, u) == pricing.cost(family, u)


@pytest.mark.parametrize(
    "model", ["claude-haiku-9", "claude-haiku-4-5-2025", "gpt-4o", "", "CLAUDE-HAIKU-4-5"]
)
def test_unknown_model_is_an_error_not_zero(model: str) -> None:
    with pytest.raises(UnknownModelError, match="unknown model") as info:
        pricing.cost(model, usage(input_tokens=10))
    assert info.value.model == model
    assert info.value.status_code == 404
    assert "claude-haiku-4-5" in info.value.message  # the error lists what is known


def test_unreadable_or_negative_usage_is_a_pricing_error() -> None:
    with pytest.raises(PricingError, match="negative"):
        pricing.cost("claude-haiku-4-5", usage(input_tokens=-5))
    with pytest.raises(PricingError, match="cannot be read"):
        pricing.cost("claude-haiku-4-5", usage(input_tokens="many"))


def test_tier_helpers() -> None:
    assert pricing.tier_model(Tier.HAIKU) == "claude-haiku-5-5"
    assert pricing.tier_model("sonnet") == "claude-sonnet-5-5"
    assert pricing.tier_model(Tier.OPUS) == "claude-opus-5-5"
    assert pricing.tier_of("claude-opus-4-20250514") is Tier.OPUS
    assert [Tier.for_label(label) for label in Label] == [Tier.HAIKU, Tier.SONNET, Tier.OPUS]
    assert Tier.HAIKU.rank < Tier.SONNET.rank < Tier.OPUS.rank


def test_what_if_prices_the_same_tokens_on_another_tier() -> None:
    u = usage(input_tokens=1000, output_tokens=100)
    assert pricing.what_if(u, Tier.OPUS) == D("0.006")  # Opus 5.5: 1,000 x $4 + 100 x $20
    assert pricing.what_if(u, "sonnet") == D("0.003")  # Sonnet 5.5: 1,000 x $2 + 100 x $10
    assert pricing.what_if(u, Tier.OPUS, batch=True) == D("0.003")
    assert pricing.what_if(u, "claude-opus-4-8") == D("0.0075")  # a model id: 1,000 x $5 + 100 x $25


def test_a_ladder_stands_for_its_tiers() -> None:
    table = PriceTable.default()
    old = table.for_ladder(
        {
            Label.SIMPLE: "claude-haiku-4-5",
            Label.MODERATE: "claude-sonnet-4-6",
            Label.COMPLEX: "claude-opus-4-8",
        }
    )
    assert [old.tier_model(t) for t in Tier if t is not Tier.FRONTIER] == [
        "claude-haiku-4-5",
        "claude-sonnet-4-6",
        "claude-opus-4-8",
    ]
    # a label sent to a model of another tier leaves that tier to the catalogue
    odd = table.for_ladder({Label.MODERATE: "claude-haiku-4-5"})
    assert odd.tier_model(Tier.SONNET) == "claude-sonnet-5-5"
    assert table.tier_model(Tier.OPUS) == "claude-opus-5-5"  # the table itself is unchanged


def test_min_cacheable_tokens() -> None:
    assert pricing.min_cacheable_tokens("claude-haiku-4-5-20251001") == 4096
    assert pricing.min_cacheable_tokens("claude-sonnet-4-6") == 1024
    assert pricing.min_cacheable_tokens("claude-opus-4-5") == 4096
    assert pricing.min_cacheable_tokens("claude-opus-4-8") == 1024
    with pytest.raises(UnknownModelError):
        pricing.min_cacheable_tokens("claude-nope")


# ---- another sheet ---------------------------------------------------------------------------

SHEET = """
checked = 2030-01-01
[defaults]
cache_write_5m = 1.5
cache_write_1h = 3
cache_read = 0.2
batch = 0.6

[tokenizers]
t = 1

[tiers]
haiku = "tiny"
sonnet = "mid"
opus = "big-2030"

[profiles.p]
tokenizer = "t"
thinking = { modes = ["disabled"], default = "off" }
effort = { levels = [] }
sampling = true
prefill = true
forced_tool_choice = true
system_messages = false
context_management = true
inference_geo = false

[models.tiny]
name = "Tiny"
tier = "haiku"
status = "current"
released = 2030-01-01
profile = "p"
context = 1000
max_output = 100
min_cacheable_tokens = 2048
prices = [{ from = 2030-01-01, input = 0.25, output = 1.25, cache_read = 0.03 }]  # its own read price

[models.mid]
name = "Mid"
tier = "sonnet"
status = "current"
released = 2030-01-01
profile = "p"
context = 1000
max_output = 100
min_cacheable_tokens = 1024
[[models.mid.prices]]
from = 2030-01-01
input = 2
output = 8
long_context = { threshold = 1000, input = 4, output = 12 }

[models.big]
name = "Big"
tier = "opus"
status = "current"
released = 2030-01-01
profile = "p"
context = 1000
max_output = 100
min_cacheable_tokens = 512
ids = ["big-2030"]
prices = [{ from = 2030-01-01, input = 10, output = 40 }]
"""


def test_table_from_another_sheet() -> None:
    table = PriceTable.from_toml_text(SHEET)
    assert table.as_of == "2030-01-01"
    assert table.tier_model(Tier.OPUS) == "big"  # the tier names an alias; the family stands for it
    assert "big-2030" in table
    assert "claude-haiku-4-5" not in table
    # tiny: 1,000 x $0.25 + 1,000 reads x $0.03 (own) + 1,000 5m writes x $0.375 (x1.5) = $655 / M
    u = usage(input_tokens=1000, cache_read_input_tokens=1000, cache_creation_input_tokens=1000)
    assert table.cost("tiny", u) == D("0.000655")
    # batch bills 60%: $393 / M
    assert table.cost("tiny", u, batch=True) == D("0.000393")
    # mid above 1,000 prompt tokens: 1,001 x $4 + 10 x $12 = $4,124 / M
    assert table.cost("mid", usage(input_tokens=1001, output_tokens=10)) == D("0.004124")
    assert table.what_if(usage(output_tokens=1000), Tier.OPUS) == D("0.04")
    assert table.min_cacheable_tokens("big-2030") == 512


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (('opus = "big-2030"', 'opus = "huge"'), "huge"),
        (('opus = "big-2030"\n', ""), "tier"),
        (("input = 10,", "input = -10,"), "models.big.prices.0.input"),
        (('ids = ["big-2030"]', 'ids = ["big-2030", "mid"]'), "listed twice"),
        (('tier = "opus"', 'tier = "titan"'), "models.big.tier"),
        (("batch = 0.6", "batch = 1.5"), "defaults.batch"),
        (("[profiles.p]", "[profiles.q]"), "no profile 'p'"),
        (("[models.big]", "[models.big"), "catalogue"),
    ],
)
def test_bad_sheet_is_a_config_error(change: tuple[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        PriceTable.from_toml_text(SHEET.replace(*change))


def test_a_users_file_corrects_the_packaged_sheet(tmp_path: Path) -> None:
    path = tmp_path / "models.toml"
    path.write_text(
        "[models.claude-fable-5-2]\n"
        "prices = [{ from = 2026-11-09, input = 8, output = 40, cache_write_5m = 10, cache_read = 0.8 }]\n"
    )
    table = PriceTable.from_toml(path)
    assert table.cost("claude-fable-5-2", usage(cache_read_input_tokens=1_000_000)) == D("0.8")
    assert table.cost("claude-mythos-5-2", usage(cache_read_input_tokens=1_000_000)) == D("0.8")
    # everything the file does not name is the packaged sheet's
    assert table.cost("claude-opus-5-5", usage(input_tokens=1_000_000)) == D("4")


def test_missing_sheet_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"absent\.toml"):
        PriceTable.from_toml(tmp_path / "absent.toml")
