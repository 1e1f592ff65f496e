"""Per-model prices as data (`prices.toml`) and the exact cost of one API call.

    cost("claude-haiku-4-5-20251001", message.usage)          # Decimal USD, the packaged sheet
    cost("claude-sonnet-4-5", usage, batch=True)               # Message Batches API: half price
    table = PriceTable.from_toml("my-prices.toml")             # another sheet, same interface
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
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ..errors import ConfigError, PricingError, UnknownModelError
from ..types import Label, TokenUsage

if TYPE_CHECKING:  # names only: pricing must not load the SDK (the command line's reports use it)
    from anthropic.types import MessageDeltaUsage, Usage

PRICES_RESOURCE = "prices.toml"
_PER_TOKEN = Decimal(1) / Decimal(1_000_000)  # the sheet is per million tokens; exact

#: Anything `cost()` accepts as usage: the SDK's own objects, the same fields as a mapping, or ours.
UsageLike: TypeAlias = "TokenUsage | Usage | MessageDeltaUsage | Mapping[str, Any]"


class Tier(StrEnum):
    """A price class of models. The order (haiku < sonnet < opus) matches `Label`'s."""

    HAIKU = "haiku"
    SONNET = "sonnet"
    OPUS = "opus"

    @property
    def rank(self) -> int:
        return _TIER_RANK[self]

    @classmethod
    def for_label(cls, label: Label) -> Tier:
        """The tier a label routes to by default (simple → haiku, moderate → sonnet, complex → opus)."""
        return TIERS[label.rank]


TIERS: tuple[Tier, ...] = (Tier.HAIKU, Tier.SONNET, Tier.OPUS)
_TIER_RANK = {tier: rank for rank, tier in enumerate(TIERS)}


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

    def __init__(
        self, models: Iterable[ModelPrice], tier_models: Mapping[Tier, str], *, as_of: str | None = None
    ) -> None:
        self.as_of = as_of
        by_id: dict[str, ModelPrice] = {}
        for price in models:
            for model_id in (price.family, *price.ids):
                if model_id in by_id:
                    raise ConfigError(f"price table: model id {model_id!r} is listed twice")
                by_id[model_id] = price
        self._by_id = by_id
        self.families: tuple[str, ...] = tuple(dict.fromkeys(p.family for p in by_id.values()))
        missing = [tier.value for tier in TIERS if tier not in tier_models]
        if missing:
            raise ConfigError(f"price table: no default model for tier(s) {', '.join(missing)}")
        self._tier_models = {tier: self.resolve(model).family for tier, model in tier_models.items()}

    # ---- loading -------------------------------------------------------------------------

    @classmethod
    def default(cls) -> PriceTable:
        """The packaged price sheet, parsed once per process."""
        return _default_table()

    @classmethod
    def from_toml(cls, path: Path | str) -> PriceTable:
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"price table {path}: {exc.strerror or exc}") from None
        return cls.from_toml_text(text, source=str(path))

    @classmethod
    def from_toml_text(cls, text: str, *, source: str = "<prices>") -> PriceTable:
        try:
            data = tomllib.loads(text, parse_float=Decimal)  # exact decimals, never binary floats
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"price table {source}: {exc}") from None
        return cls.from_mapping(data, source=source)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], *, source: str = "<prices>") -> PriceTable:
        try:
            sheet = _Sheet.model_validate(data)
        except ValidationError as exc:
            raise ConfigError(f"price table {source}: {_describe(exc)}") from None
        return cls(
            (_model_price(family, spec, sheet.multipliers) for family, spec in sheet.models.items()),
            sheet.tiers,
            as_of=sheet.as_of,
        )

    # ---- lookups -------------------------------------------------------------------------

    def __contains__(self, model: object) -> bool:
        return model in self._by_id

    @property
    def ids(self) -> frozenset[str]:
        """Every id the table prices: families, dated snapshots and aliases."""
        return frozenset(self._by_id)

    def resolve(self, model: str) -> ModelPrice:
        try:
            return self._by_id[model]
        except KeyError:
            raise UnknownModelError(model, known=list(self.families)) from None

    def tier_of(self, model: str) -> Tier:
        return self.resolve(model).tier

    def tier_model(self, tier: Tier | str) -> str:
        """The model that stands for `tier` (e.g. opus → claude-opus-4-8)."""
        return self._tier_models[Tier(tier)]

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
    text = resources.files(__package__).joinpath(PRICES_RESOURCE).read_text(encoding="utf-8")
    return PriceTable.from_toml_text(text, source=PRICES_RESOURCE)


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


# ---- the sheet's schema ------------------------------------------------------------------------

_Price = Decimal  # USD per million tokens


class _Schema(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Multipliers(_Schema):
    cache_write_5m: _Price = Field(ge=0)
    cache_write_1h: _Price = Field(ge=0)
    cache_read: _Price = Field(ge=0)
    batch_discount: _Price = Field(ge=0, le=1)


class _LongContext(_Schema):
    threshold: int = Field(gt=0)
    input: _Price = Field(ge=0)
    output: _Price = Field(ge=0)


class _Model(_Schema):
    name: str
    tier: Tier
    input: _Price = Field(ge=0)
    output: _Price = Field(ge=0)
    cache_write_5m: _Price | None = Field(default=None, ge=0)
    cache_write_1h: _Price | None = Field(default=None, ge=0)
    cache_read: _Price | None = Field(default=None, ge=0)
    min_cacheable_tokens: int = Field(ge=0)
    ids: list[str] = []
    long_context: _LongContext | None = None


class _Sheet(_Schema):
    as_of: str | None = None
    multipliers: _Multipliers
    tiers: dict[Tier, str]
    models: dict[str, _Model]

    @model_validator(mode="after")
    def _tiers_are_priced(self) -> _Sheet:
        known = set(self.models) | {i for m in self.models.values() for i in m.ids}
        for tier, model in self.tiers.items():
            if model not in known:
                raise ValueError(f"tier {tier.value} names {model!r}, which has no prices")
        return self


def _sheet_rates(input_: Decimal, output: Decimal, m: _Multipliers, spec: _Model | None) -> Rates:
    """Per-million prices; a model's own cache prices win over the multipliers."""
    w5 = spec.cache_write_5m if spec and spec.cache_write_5m is not None else input_ * m.cache_write_5m
    w1h = spec.cache_write_1h if spec and spec.cache_write_1h is not None else input_ * m.cache_write_1h
    read = spec.cache_read if spec and spec.cache_read is not None else input_ * m.cache_read
    return Rates(input_, output, w5, w1h, read)


def _model_price(family: str, spec: _Model, m: _Multipliers) -> ModelPrice:
    per_million = _sheet_rates(spec.input, spec.output, m, spec)
    rates = per_million.scaled(_PER_TOKEN)
    batch_factor = 1 - m.batch_discount
    long_context = None
    if spec.long_context is not None:
        lc = spec.long_context
        lc_million = _sheet_rates(lc.input, lc.output, m, None)  # cache prices follow the tier
        lc_rates = lc_million.scaled(_PER_TOKEN)
        long_context = LongContext(lc.threshold, lc_million, lc_rates, lc_rates.scaled(batch_factor))
    return ModelPrice(
        family=family,
        name=spec.name,
        tier=spec.tier,
        per_million=per_million,
        rates=rates,
        batch_rates=rates.scaled(batch_factor),
        min_cacheable_tokens=spec.min_cacheable_tokens,
        ids=tuple(spec.ids),
        long_context=long_context,
    )


def _describe(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "(root)"
        parts.append(f"{loc}: {err['msg']}")
    return "; ".join(parts)


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
