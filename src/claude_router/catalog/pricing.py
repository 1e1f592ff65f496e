"""The exact cost of one API call, from the prices of the model catalogue (`models.toml`).

    cost("claude-haiku-4-5-20251001", message.usage)          # Decimal USD, the packaged sheet
    cost("claude-sonnet-4-5", usage, batch=True)               # Message Batches API: half price
    table = PriceTable.from_toml("my-models.toml")             # the sheet with a user's corrections
    table.what_if(usage, Tier.OPUS)                            # the same tokens on the Opus tier

A call is billed for five kinds of token: fresh input, output, 5-minute cache writes, 1-hour
cache writes and cache reads. Where a model's sheet has a long-context tier, a prompt (input +
cache writes + cache reads) above its threshold moves the whole request to the long-context
prices; cache multipliers and the batch discount apply on top. All arithmetic is `Decimal` on
per-token rates computed once at load time, so `cost()` is a dictionary lookup and five
multiplications. An unknown model raises `UnknownModelError`; nothing is ever priced at $0.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

from ..errors import ConfigError, PricingError
from ..types import TokenUsage
from .models import TIERS, Catalogue, ModelSpec, PriceEntry, Tier

if TYPE_CHECKING:
    from anthropic.types import MessageDeltaUsage, Usage

_PER_TOKEN = Decimal(1) / Decimal(1_000_000)  # the sheet is per million tokens; exact

#: Anything `cost()` accepts as usage: the SDK's own objects, the same fields as a mapping, or ours.
UsageLike: TypeAlias = "TokenUsage | Usage | MessageDeltaUsage | Mapping[str, Any]"


@dataclass(frozen=True, slots=True)
class Rates:
    """USD per token (or per million tokens, for display) of each kind of billed token."""

    input: Decimal
    output: Decimal
    cache_write_5m: Decimal
    cache_write_1h: Decimal
    cache_read: Decimal

    def scaled(self, factor: Decimal) -> Rates:
        return Rates(
            self.input * factor,
            self.output * factor,
            self.cache_write_5m * factor,
            self.cache_write_1h * factor,
            self.cache_read * factor,
        )

    def charge(self, usage: TokenUsage) -> Decimal:
        return (
            usage.input_tokens * self.input
            + usage.output_tokens * self.output
            + usage.cache_write_5m_tokens * self.cache_write_5m
            + usage.cache_write_1h_tokens * self.cache_write_1h
            + usage.cache_read_tokens * self.cache_read
        )


@dataclass(frozen=True, slots=True)
class LongContext:
    """Prices for a request whose prompt exceeds `threshold` tokens (per token, precomputed)."""

    threshold: int
    per_million: Rates
    rates: Rates
    batch_rates: Rates


@dataclass(frozen=True, slots=True)
class ModelPrice:
    """One model family's prices, as resolved from any of its ids."""

    family: str  # the canonical id, e.g. claude-haiku-4-5
    name: str  # e.g. Claude Haiku 4.5
    tier: Tier
    per_million: Rates  # as on the sheet, for display
    rates: Rates  # per token
    batch_rates: Rates  # per token, batch discount applied
    min_cacheable_tokens: int
    ids: tuple[str, ...] = ()  # dated snapshots and aliases that resolve here
    long_context: LongContext | None = None

    def rates_for(self, usage: TokenUsage, *, batch: bool = False) -> Rates:
        long = self.long_context
        if long is not None and usage.total_input_tokens > long.threshold:
            return long.batch_rates if batch else long.rates
        return self.batch_rates if batch else self.rates

    def cost(self, usage: TokenUsage, *, batch: bool = False) -> Decimal:
        """What `usage` costs on this model, in USD."""
        return self.rates_for(usage, batch=batch).charge(usage)


def token_usage(usage: UsageLike) -> TokenUsage:
    """Read any accepted usage shape into a `TokenUsage`; `PricingError` if it cannot be priced."""
    if isinstance(usage, TokenUsage):
        tokens = usage
    else:
        try:
            tokens = TokenUsage.from_api(usage)
        except (TypeError, ValueError) as exc:
            raise PricingError(f"usage cannot be read as token counts: {exc}") from None
    counts = (
        tokens.input_tokens,
        tokens.output_tokens,
        tokens.cache_write_5m_tokens,
        tokens.cache_write_1h_tokens,
        tokens.cache_read_tokens,
    )
    if min(counts) < 0:
        raise PricingError(f"negative token count in usage: {tokens}")
    return tokens


class PriceTable:
    """Every priced model, reachable from its family id or any dated id / alias."""

    def __init__(self, catalogue: Catalogue) -> None:
        self.catalogue = catalogue
        self.as_of = catalogue.checked.isoformat() if catalogue.checked is not None else None
        self._prices = {spec.id: _model_price(spec, catalogue.batch_share) for spec in catalogue}
        self.families: tuple[str, ...] = tuple(self._prices)
        missing = [tier.value for tier in TIERS if tier not in catalogue.tier_models]
        if missing:
            raise ConfigError(f"price table: no default model for tier(s) {', '.join(missing)}")

    # ---- loading -------------------------------------------------------------------------

    @classmethod
    def default(cls) -> PriceTable:
        """The packaged price sheet, parsed once per process."""
        return _default_table()

    @classmethod
    def from_toml(cls, path: Path | str) -> PriceTable:
        """The packaged sheet with the corrections in a catalogue file of the same shape."""
        return cls(Catalogue.load(path))

    @classmethod
    def from_toml_text(cls, text: str, *, source: str = "<prices>") -> PriceTable:
        """A whole sheet from catalogue TOML (not merged with the packaged one)."""
        return cls(Catalogue.from_toml_text(text, source=source))

    # ---- lookups -------------------------------------------------------------------------

    def __contains__(self, model: object) -> bool:
        return model in self.catalogue

    @property
    def ids(self) -> frozenset[str]:
        """Every id the table lists: families, dated snapshots and aliases."""
        return self.catalogue.ids

    def resolve(self, model: str) -> ModelPrice:
        return self._prices[self.catalogue.resolve(model).id]

    def tier_of(self, model: str) -> Tier:
        return self.resolve(model).tier

    def tier_model(self, tier: Tier | str) -> str:
        """The model that stands for `tier` (e.g. opus → claude-opus-4-8)."""
        return self.catalogue.tier_model(tier)

    def min_cacheable_tokens(self, model: str) -> int:
        return self.resolve(model).min_cacheable_tokens

    # ---- money ---------------------------------------------------------------------------

    def cost(self, model: str, usage: UsageLike, *, batch: bool = False) -> Decimal:
        """USD for `usage` on `model` (exact; batch discount when `batch`)."""
        return self.resolve(model).cost(token_usage(usage), batch=batch)

    def what_if(self, usage: UsageLike, tier: Tier | str, *, batch: bool = False) -> Decimal:
        """USD the same tokens would have cost on `tier`'s model."""
        return self.cost(self.tier_model(tier), usage, batch=batch)


# ---- module-level shortcuts on the packaged table ----------------------------------------------


@functools.cache
def _default_table() -> PriceTable:
    return PriceTable(Catalogue.default())


def cost(model: str, usage: UsageLike, *, batch: bool = False) -> Decimal:
    """USD for `usage` on `model`, from the packaged price sheet."""
    return _default_table().cost(model, usage, batch=batch)


def resolve(model: str) -> ModelPrice:
    return _default_table().resolve(model)


def tier_of(model: str) -> Tier:
    return _default_table().tier_of(model)


def tier_model(tier: Tier | str) -> str:
    return _default_table().tier_model(tier)


def min_cacheable_tokens(model: str) -> int:
    return _default_table().min_cacheable_tokens(model)


def what_if(usage: UsageLike, tier: Tier | str, *, batch: bool = False) -> Decimal:
    return _default_table().what_if(usage, tier, batch=batch)


# ---- from the catalogue's prices ---------------------------------------------------------------


def _rates(entry: PriceEntry) -> Rates:
    return Rates(entry.input, entry.output, entry.cache_write_5m, entry.cache_write_1h, entry.cache_read)


def _model_price(spec: ModelSpec, batch_share: Decimal) -> ModelPrice:
    entry = spec.prices_on()  # the prices in force now
    per_million = _rates(entry)
    rates = per_million.scaled(_PER_TOKEN)
    long_context = None
    if (lc := entry.long_context) is not None:
        # cache prices follow the long-context input price by the default multipliers
        ratio = lc.input / entry.input
        lc_million = Rates(
            lc.input,
            lc.output,
            entry.cache_write_5m * ratio,
            entry.cache_write_1h * ratio,
            entry.cache_read * ratio,
        )
        lc_rates = lc_million.scaled(_PER_TOKEN)
        long_context = LongContext(lc.threshold, lc_million, lc_rates, lc_rates.scaled(batch_share))
    return ModelPrice(
        family=spec.id,
        name=spec.name,
        tier=spec.tier,
        per_million=per_million,
        rates=rates,
        batch_rates=rates.scaled(batch_share),
        min_cacheable_tokens=spec.min_cacheable_tokens,
        ids=spec.ids,
        long_context=long_context,
    )


__all__ = [
    "TIERS",
    "LongContext",
    "ModelPrice",
    "PriceTable",
    "Rates",
    "Tier",
    "UsageLike",
    "cost",
    "min_cacheable_tokens",
    "resolve",
    "tier_model",
    "tier_of",
    "token_usage",
    "what_if",
]
