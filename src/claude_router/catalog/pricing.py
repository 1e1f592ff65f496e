"""The exact bill of one API call, from the prices of the model catalogue (`models.toml`).

    cost("claude-haiku-5-5", message.usage)                     # Decimal USD, the packaged sheet
    cost("claude-sonnet-5-5", usage, batch=True)                # Message Batches API
    cost("claude-sonnet-5-5", usage, on=date(2026, 10, 1))      # the prices in force that day
    table = PriceTable.from_toml("my-models.toml")              # the sheet with a user's corrections
    table.what_if(usage, "claude-opus-5-5")                     # the same tokens on another model

A call is billed for five kinds of token: fresh input, output, 5-minute cache writes, 1-hour cache
writes and cache reads, each at the model's own rate (cache prices not stated on the sheet follow
the input price by the `[defaults]` multipliers). On top of that, from the usage exactly as the
API reports it:

- a prompt (input + cache reads + cache writes) above an entry's threshold bills the whole request
  at the long-prompt factor (Haiku 5.5: 5x above 100,000) or at the long-context prices (Sonnet
  4.5); decided per call, never over a sum of calls;
- `usage.speed == "fast"` bills at the model's fast prices. Fast mode is not offered on the
  Message Batches API, so a fast batch usage is a `PricingError` (no price on the sheet fits it);
- `usage.inference_geo` bills every token class at the `[defaults] geo` multiplier ("us" 1.1x)
  on models that take the parameter (the others never run under it);
- `batch` bills every token class at the batch share; all multipliers stack;
- `usage.iterations`: each entry is a billed call, so the bill is their sum (compaction entries
  included, which the top-level fields leave out); `advisor_message` and `fallback_message`
  entries are priced at the model they name, with the request's geo but standard speed;
- `on` picks the prices in force on that date (None: the latest entry).

Every combination's per-token rates are computed once per price entry at load time, so `cost()`
is a few dictionary lookups and five `Decimal` multiplications. A model the sheet does not know,
also in an iteration, raises `UnknownModelError`: nothing is ever priced at $0.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

from ..errors import ConfigError, PricingError
from ..types import ZERO, Label, TokenUsage
from .models import TIERS, Catalogue, ModelSpec, PriceEntry, Tier

if TYPE_CHECKING:
    from anthropic.types import MessageDeltaUsage, Usage
    from anthropic.types.beta import BetaMessageDeltaUsage, BetaUsage

_PER_TOKEN = Decimal(1) / Decimal(1_000_000)  # the sheet is per million tokens; exact
_ONE = Decimal(1)
FAST = "fast"

#: Anything `cost()` accepts as usage: the SDK's own objects, the same fields as a mapping, or ours.
UsageLike: TypeAlias = (
    "TokenUsage | Usage | BetaUsage | MessageDeltaUsage | BetaMessageDeltaUsage | Mapping[str, Any]"
)


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


#: (batch, fast, long prompt, inference_geo multiplier name or None)
RateKey = tuple[bool, bool, bool, str | None]


@dataclass(frozen=True, slots=True)
class DatedPrices:
    """One price entry of a model, from `start`, with the per-token rates of every way a call on it
    can be billed (a missing combination, such as fast on Batch, is not on the sheet)."""

    start: date
    per_million: Rates  # standard prices as on the sheet, for display
    threshold: int | None  # a prompt above this many tokens bills at the long rates
    variants: Mapping[RateKey, Rates]
    geo: frozenset[str]  # the inference_geo values with a multiplier on this model
    fast: bool  # has fast-mode prices

    def rates(
        self, *, batch: bool = False, fast: bool = False, long: bool = False, geo: str | None = None
    ) -> Rates:
        """Per-token rates; `PricingError` for a combination the sheet has no price for."""
        found = self.variants.get((batch, fast, long, geo if geo in self.geo else None))
        if found is None:
            raise PricingError(
                "fast mode is not offered on the Message Batches API"
                if fast and batch
                else "no fast-mode price for this model on the sheet"
            )
        return found

    def charge(self, usage: TokenUsage, *, batch: bool) -> Decimal:
        """USD for one call's `usage` at these prices."""
        long = self.threshold is not None and usage.total_input_tokens > self.threshold
        geo = usage.inference_geo  # the hot path: `bill` inlined
        rates = self.variants.get((batch, usage.speed == FAST, long, geo if geo in self.geo else None))
        if rates is None:
            return self.bill(usage, batch=batch, fast=usage.speed == FAST, geo=geo)  # says why
        return rates.charge(usage)

    def bill(self, counts: TokenUsage, *, batch: bool, fast: bool, geo: str | None) -> Decimal:
        """USD for one call's token `counts` run at `fast` speed in `geo`."""
        long = self.threshold is not None and counts.total_input_tokens > self.threshold
        rates = self.variants.get((batch, fast, long, geo if geo in self.geo else None))
        if rates is None:  # not on the sheet: say why
            rates = self.rates(batch=batch, fast=fast, long=long, geo=geo)
        return rates.charge(counts)


@dataclass(frozen=True, slots=True)
class ModelPrice:
    """One model family's prices, as resolved from any of its ids."""

    family: str  # the canonical id, e.g. claude-haiku-4-5
    name: str  # e.g. Claude Haiku 4.5
    tier: Tier
    min_cacheable_tokens: int
    entries: tuple[DatedPrices, ...]  # by start date, oldest first
    ids: tuple[str, ...] = ()  # dated snapshots and aliases that resolve here
    fast: bool = False  # some entry has fast-mode prices
    latest: DatedPrices = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "latest", self.entries[-1])

    @property
    def per_million(self) -> Rates:
        """The latest standard prices, as on the sheet."""
        return self.latest.per_million

    @property
    def rates(self) -> Rates:
        """The latest standard per-token rates."""
        return self.latest.rates()

    @property
    def batch_rates(self) -> Rates:
        return self.latest.rates(batch=True)

    def on(self, day: date | None) -> DatedPrices:
        """The prices in force on `day` (None: the latest); before the first entry, the first."""
        if day is None or day >= self.latest.start:
            return self.latest
        current = self.entries[0]
        for entry in self.entries[1:]:
            if entry.start > day:
                break
            current = entry
        return current

    def cost(self, usage: TokenUsage, *, batch: bool = False, on: date | None = None) -> Decimal:
        """What one call's `usage` costs on this model, in USD (iterations are the table's job)."""
        return self.on(on).charge(usage, batch=batch)


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
        self._prices = {spec.id: _model_price(spec, catalogue) for spec in catalogue}
        self._by_id = {model_id: self._prices[catalogue.resolve(model_id).id] for model_id in catalogue.ids}
        self.families: tuple[str, ...] = tuple(self._prices)
        self.tier_models: Mapping[Tier, str] = dict(catalogue.tier_models)
        missing = [tier.value for tier in TIERS if tier not in self.tier_models]
        if missing:
            raise ConfigError(f"price table: no default model for tier(s) {', '.join(missing)}")
        entries = [entry for price in self._prices.values() for entry in price.entries]
        #: Every date a price changed on, ascending: prices are constant between two of them.
        self.price_dates: tuple[date, ...] = tuple(sorted({entry.start for entry in entries}))
        #: Every distinct long-prompt / long-context threshold, ascending.
        self.long_thresholds: tuple[int, ...] = tuple(
            sorted({entry.threshold for entry in entries if entry.threshold is not None})
        )

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
    def load(cls, path: Path | str | None) -> PriceTable:
        """`from_toml(path)`, or the packaged table when `path` is None (`[catalog] path`)."""
        return _default_table() if path is None else cls.from_toml(path)

    @classmethod
    def from_toml_text(cls, text: str, *, source: str = "<prices>") -> PriceTable:
        """A whole sheet from catalogue TOML (not merged with the packaged one)."""
        return cls(Catalogue.from_toml_text(text, source=source))

    # ---- lookups -------------------------------------------------------------------------

    def __contains__(self, model: object) -> bool:
        return model in self.catalogue

    def __iter__(self) -> Iterator[ModelPrice]:
        return iter(self._prices.values())

    @property
    def ids(self) -> frozenset[str]:
        """Every id the table lists: families, dated snapshots and aliases."""
        return self.catalogue.ids

    def resolve(self, model: str) -> ModelPrice:
        """The model's prices; `UnknownModelError` for a model the sheet does not know."""
        found = self._by_id.get(model)
        return found if found is not None else self._prices[self.catalogue.resolve(model).id]

    def tier_of(self, model: str) -> Tier:
        return self.resolve(model).tier

    def tier_model(self, tier: Tier | str) -> str:
        """The model that stands for `tier` (e.g. opus → claude-opus-5-5): the ladder's, for a table
        made `for_ladder`, else the catalogue's `[tiers]`."""
        return self.tier_models[Tier(tier)]

    def for_ladder(self, label_models: Mapping[Label, str]) -> PriceTable:
        """This table with a routing ladder's models standing for their tiers (what "one tier up"
        and "the tier's model" mean to a router running that ladder): each label's model stands for
        its label's tier when it is of that tier; `[tiers]` keeps the others."""
        table = copy.copy(self)
        table.tier_models = {**self.tier_models}
        for label, model in label_models.items():
            tier = Tier.for_label(label)
            if model in self and self.resolve(model).tier is tier:
                table.tier_models[tier] = self.resolve(model).family
        return table

    def min_cacheable_tokens(self, model: str) -> int:
        return self.resolve(model).min_cacheable_tokens

    # ---- money ---------------------------------------------------------------------------

    def cost(self, model: str, usage: UsageLike, *, batch: bool = False, on: date | None = None) -> Decimal:
        """USD for `usage` as the API reported it for a call to `model` (exact; see the module)."""
        tokens = token_usage(usage)
        price = self.resolve(model)
        if not tokens.iterations:
            return (price.latest if on is None else price.on(on)).charge(tokens, batch=batch)
        total = ZERO
        fast, geo = tokens.speed == FAST, tokens.inference_geo
        for item in tokens.iterations:
            on_model = price if item.model is None else self.resolve(item.model)
            entry = on_model.latest if on is None else on_model.on(on)
            # fast is the answering model's mode; an advisor or fallback entry runs at standard speed
            total += entry.bill(item.usage, batch=batch, fast=fast and on_model is price, geo=geo)
        return total

    def what_if(
        self, usage: UsageLike, model: Tier | str, *, batch: bool = False, on: date | None = None
    ) -> Decimal:
        """USD the same tokens would have cost on `model` (a model id, or a tier's model), every
        iteration included; fast mode only where that model has it."""
        target = self.tier_model(model) if isinstance(model, Tier) or model in _TIER_NAMES else model
        tokens = token_usage(usage)
        price = self.resolve(target)
        entry = price.latest if on is None else price.on(on)
        fast = tokens.speed == FAST and price.fast
        calls = [item.usage for item in tokens.iterations] if tokens.iterations else [tokens]
        return sum((entry.bill(c, batch=batch, fast=fast, geo=tokens.inference_geo) for c in calls), ZERO)

    def rates(
        self,
        model: str,
        *,
        on: date | None = None,
        batch: bool = False,
        fast: bool = False,
        geo: str | None = None,
        long_level: int = 0,
    ) -> Rates:
        """Per-token rates of `model` for a request whose prompt crossed `long_level` of
        `long_thresholds` (for replays of token sums folded per band); fast falls back to standard
        on a model without fast mode."""
        entry = self.resolve(model).on(on)
        long = entry.threshold is not None and long_level > self.long_thresholds.index(entry.threshold)
        return entry.rates(batch=batch, fast=fast and entry.fast and not batch, long=long, geo=geo)


_TIER_NAMES = frozenset(tier.value for tier in Tier)


# ---- module-level shortcuts on the packaged table ----------------------------------------------


@functools.cache
def _default_table() -> PriceTable:
    return PriceTable(Catalogue.default())


def cost(model: str, usage: UsageLike, *, batch: bool = False, on: date | None = None) -> Decimal:
    """USD for `usage` on `model`, from the packaged price sheet."""
    return _default_table().cost(model, usage, batch=batch, on=on)


def resolve(model: str) -> ModelPrice:
    return _default_table().resolve(model)


def tier_of(model: str) -> Tier:
    return _default_table().tier_of(model)


def tier_model(tier: Tier | str) -> str:
    return _default_table().tier_model(tier)


def min_cacheable_tokens(model: str) -> int:
    return _default_table().min_cacheable_tokens(model)


def what_if(usage: UsageLike, model: Tier | str, *, batch: bool = False, on: date | None = None) -> Decimal:
    return _default_table().what_if(usage, model, batch=batch, on=on)


# ---- from the catalogue's prices ---------------------------------------------------------------


def _model_price(spec: ModelSpec, catalogue: Catalogue) -> ModelPrice:
    geo = catalogue.geo if spec.inference_geo else {}
    entries = tuple(_dated(spec.id, entry, catalogue.batch_share, geo) for entry in spec.prices)
    return ModelPrice(
        family=spec.id,
        name=spec.name,
        tier=spec.tier,
        min_cacheable_tokens=spec.min_cacheable_tokens,
        entries=entries,
        ids=spec.ids,
        fast=any(entry.fast is not None for entry in spec.prices),
    )


def _dated(family: str, entry: PriceEntry, batch_share: Decimal, geo: Mapping[str, Decimal]) -> DatedPrices:
    """Every billable combination of one price entry, as per-token rates."""
    standard = Rates(entry.input, entry.output, entry.cache_write_5m, entry.cache_write_1h, entry.cache_read)
    speeds = {False: standard}
    if (f := entry.fast) is not None:
        speeds[True] = Rates(f.input, f.output, f.cache_write_5m, f.cache_write_1h, f.cache_read)
    lp, lc = entry.long_prompt, entry.long_context
    if lp is not None and lc is not None:
        raise ConfigError(f"model catalogue: {family} has both long_prompt and long_context prices")
    threshold = lp.threshold if lp is not None else lc.threshold if lc is not None else None

    def long_prices(base: Rates) -> Rates:
        if lp is not None:  # every token class at `factor` times
            return base.scaled(lp.factor)
        assert lc is not None  # new input / output prices; cache prices follow the input price
        ratio = lc.input / entry.input
        return Rates(
            lc.input,
            lc.output,
            base.cache_write_5m * ratio,
            base.cache_write_1h * ratio,
            base.cache_read * ratio,
        )

    variants: dict[RateKey, Rates] = {}
    for fast, base in speeds.items():
        for long in (False, True) if threshold is not None else (False,):
            per_million = long_prices(base) if long else base
            for batch in (False, True):
                if fast and batch:
                    continue  # fast mode is not offered on the Message Batches API
                share = batch_share if batch else _ONE
                for name, factor in (None, _ONE), *geo.items():
                    variants[(batch, fast, long, name)] = per_million.scaled(_PER_TOKEN * share * factor)
    return DatedPrices(entry.start, standard, threshold, variants, frozenset(geo), entry.fast is not None)


__all__ = [
    "TIERS",
    "DatedPrices",
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
