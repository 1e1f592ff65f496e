"""The model catalogue (`models.toml`): every Claude model's lifecycle, limits, request rules and
dated prices, read once into frozen objects.

    catalogue = Catalogue.default()                   # the packaged sheet (cached)
    spec = catalogue.get("claude-haiku-4-5-20251001")  # dated ids resolve to their family; None if unknown
    spec.lifecycle(date(2026, 12, 7))                  # "active" | "deprecated" | "retired"
    spec.thinking.accepts("disabled", "max")           # a request rule, as data
    spec.effort.clamp("xhigh")                         # the nearest effort the model takes
    spec.prices_on(date(2026, 10, 1))                  # the price entry in force that day
    Catalogue.load("my-models.toml")                   # the packaged sheet with a user's corrections

A user's file has the same shape as the packaged one and only what it changes: a model table
given there replaces the named keys of the packaged model (its `prices` list whole), or adds a
model; `[defaults]`, `[tokenizers]` and `[tiers]` keys override one by one.
"""

from __future__ import annotations

import functools
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ..errors import ConfigError, UnknownModelError
from ..types import Label

MODELS_RESOURCE = "models.toml"
EFFORT_LEVELS: tuple[str, ...] = ("low", "medium", "high", "xhigh", "max")
THINKING_MODES: tuple[str, ...] = ("enabled", "adaptive", "between_tools", "disabled")
_EFFORT_RANK = {level: rank for rank, level in enumerate(EFFORT_LEVELS)}
_DATED = re.compile(r"^(?P<family>.+)-(?P<date>\d{8})$")

Lifecycle = Literal["active", "deprecated", "retired"]


class Tier(StrEnum):
    """A price class of models. haiku < sonnet < opus are the ladder's tiers, in `Label` order;
    frontier models (Fable) sit above the ladder and are reached only when named."""

    HAIKU = "haiku"
    SONNET = "sonnet"
    OPUS = "opus"
    FRONTIER = "frontier"

    @property
    def rank(self) -> int:
        return _TIER_RANK[self]

    @classmethod
    def for_label(cls, label: Label) -> Tier:
        """The tier a label routes to by default (simple → haiku, moderate → sonnet, complex → opus)."""
        return TIERS[label.rank]


#: The ladder's tiers, cheapest first; `TIERS[label.rank]` is a label's default tier.
TIERS: tuple[Tier, ...] = (Tier.HAIKU, Tier.SONNET, Tier.OPUS)
_TIER_RANK = {Tier.HAIKU: 0, Tier.SONNET: 1, Tier.OPUS: 2, Tier.FRONTIER: 3}


@dataclass(frozen=True, slots=True)
class Thinking:
    """The `thinking.type` values a model accepts, and what it does without one."""

    modes: frozenset[str]
    default: Literal["adaptive", "off"]
    max_effort: Mapping[str, str]  # mode -> the highest effort it is accepted at

    @property
    def always_on(self) -> bool:
        """No mode turns thinking off (`disabled` is refused)."""
        return "disabled" not in self.modes

    def accepts(self, mode: str, effort: str | None = None) -> bool:
        if mode not in self.modes:
            return False
        ceiling = self.max_effort.get(mode)
        return ceiling is None or effort is None or _EFFORT_RANK[effort] <= _EFFORT_RANK[ceiling]


@dataclass(frozen=True, slots=True)
class Effort:
    """The `output_config.effort` levels a model accepts (none: no effort parameter)."""

    levels: tuple[str, ...]
    default: str | None

    @property
    def supported(self) -> bool:
        return bool(self.levels)

    def clamp(self, level: str) -> str | None:
        """`level` if accepted, else the nearest accepted level below it, else the lowest above it;
        None when the model takes no effort at all."""
        if not self.levels or level in self.levels:
            return level if self.levels else None
        rank = _EFFORT_RANK[level]
        below = [lv for lv in self.levels if _EFFORT_RANK[lv] < rank]
        return below[-1] if below else self.levels[0]


@dataclass(frozen=True, slots=True)
class LongPrompt:
    """Above `threshold` prompt tokens, every token class of the request bills at `factor` times."""

    threshold: int
    factor: Decimal


@dataclass(frozen=True, slots=True)
class LongContext:
    """Above `threshold` prompt tokens, the request bills at these input / output prices."""

    threshold: int
    input: Decimal
    output: Decimal


@dataclass(frozen=True, slots=True)
class FastPrices:
    """A model's `speed: "fast"` prices (USD per million tokens). Cache prices not stated on the sheet
    follow the fast input price by the `[defaults]` multipliers (an assumption: Anthropic states
    the multipliers apply on top of fast prices, not a figure per model)."""

    input: Decimal
    output: Decimal
    cache_write_5m: Decimal
    cache_write_1h: Decimal
    cache_read: Decimal


@dataclass(frozen=True, slots=True)
class PriceEntry:
    """A model's prices (USD per million tokens) from `start` until the next entry's start."""

    start: date
    input: Decimal
    output: Decimal
    cache_write_5m: Decimal
    cache_write_1h: Decimal
    cache_read: Decimal
    long_prompt: LongPrompt | None = None
    long_context: LongContext | None = None
    fast: FastPrices | None = None  # `speed: "fast"`; None: no fast mode


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """One model family, as the catalogue describes it."""

    id: str  # the family id, e.g. claude-haiku-4-5
    name: str
    tier: Tier
    line: str  # the model line the Models API names (haiku, sonnet, opus, fable, ...)
    status: Literal["current", "legacy"]  # Anthropic's grouping on its models page
    released: date
    snapshot: str  # the id the API lists and answers with (a dated id for older models)
    ids: tuple[str, ...]  # other ids that resolve here (snapshot first when it differs from `id`)
    context: int
    max_output: int
    max_output_batch: int
    min_cacheable_tokens: int
    tokenizer: str
    token_ratio: Decimal  # tokens for the same text relative to Haiku 4.5's tokenizer
    thinking: Thinking
    effort: Effort
    sampling: bool
    prefill: bool
    forced_tool_choice: bool
    system_messages: bool
    context_management: bool
    inference_geo: bool
    fast: bool
    fast_beta: str | None
    prices: tuple[PriceEntry, ...]  # by start date, oldest first
    # Families whose thinking blocks this model reads besides its own (others are dropped unread).
    reads_thinking_from: frozenset[str] = frozenset()
    deprecated: date | None = None
    retires: date | None = None
    retired: bool = False  # retired on a date not published

    def lifecycle(self, on: date) -> Lifecycle:
        """The API's lifecycle stage of the model on `on`."""
        if self.retired or (self.retires is not None and on >= self.retires):
            return "retired"
        if self.deprecated is not None and on >= self.deprecated:
            return "deprecated"
        return "active"

    def prices_on(self, day: date | None = None) -> PriceEntry:
        """The prices in force on `day` (None: the latest); before the first entry, the first."""
        if day is None:
            return self.prices[-1]
        current = self.prices[0]
        for entry in self.prices[1:]:
            if entry.start > day:
                break
            current = entry
        return current


class Catalogue:
    """Every model the sheet knows, reachable from its family id, snapshot id or alias."""

    def __init__(
        self,
        models: Iterable[ModelSpec],
        *,
        tiers: Mapping[Tier, str],
        batch_share: Decimal,
        geo: Mapping[str, Decimal],
        checked: date | None = None,
        thinking_room: Mapping[str, int] | None = None,
        short_answer_tokens: int = 0,
    ) -> None:
        self.models: tuple[ModelSpec, ...] = tuple(sorted(models, key=lambda m: m.released, reverse=True))
        by_id: dict[str, ModelSpec] = {}
        for spec in self.models:
            for model_id in dict.fromkeys((spec.id, spec.snapshot, *spec.ids)):
                if model_id in by_id:
                    raise ConfigError(f"model catalogue: id {model_id!r} is listed twice")
                by_id[model_id] = spec
        self._by_id = by_id
        self.batch_share = batch_share
        self.geo = dict(geo)
        self.checked = checked
        # effort -> output tokens thinking may take at it (empty: no room is reserved)
        self.thinking_room: dict[str, int] = dict(thinking_room or {})
        self.short_answer_tokens = short_answer_tokens  # see models.toml
        self.tier_models: dict[Tier, str] = {}
        for tier, model in tiers.items():
            named = by_id.get(model)
            if named is None:
                raise ConfigError(f"model catalogue: tier {tier.value} names {model!r}, which is not listed")
            self.tier_models[tier] = named.id

    # ---- loading -------------------------------------------------------------------------------

    @classmethod
    def default(cls) -> Catalogue:
        """The packaged sheet, parsed once per process."""
        return _packaged()

    @classmethod
    def load(cls, path: Path | str | None = None) -> Catalogue:
        """The packaged sheet with the corrections in `path` (None: the packaged sheet alone)."""
        if path is None:
            return _packaged()
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"model catalogue {path}: {exc.strerror or exc}") from None
        return cls.from_mapping(_merge(_packaged_data(), _parse(text, str(path))), source=str(path))

    @classmethod
    def from_toml_text(cls, text: str, *, source: str = "<catalogue>") -> Catalogue:
        """A whole sheet from TOML text (not merged with the packaged one)."""
        return cls.from_mapping(_parse(text, source), source=source)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], *, source: str = "<catalogue>") -> Catalogue:
        try:
            sheet = _Sheet.model_validate(data)
        except ValidationError as exc:
            raise ConfigError(f"model catalogue {source}: {_describe(exc)}") from None
        return cls(
            (_spec(model_id, raw, sheet) for model_id, raw in sheet.models.items()),
            tiers=sheet.tiers,
            batch_share=sheet.defaults.batch,
            geo=sheet.defaults.geo,
            checked=sheet.checked,
            thinking_room=dict(sheet.thinking_room.items()),
            short_answer_tokens=sheet.short_answer_tokens,
        )

    # ---- lookups -------------------------------------------------------------------------------

    def __contains__(self, model: object) -> bool:
        return isinstance(model, str) and self.get(model) is not None

    def __iter__(self) -> Any:
        return iter(self.models)

    @property
    def ids(self) -> frozenset[str]:
        """Every id listed: families, snapshots and aliases (dated ids of a family resolve too)."""
        return frozenset(self._by_id)

    def get(self, model: str) -> ModelSpec | None:
        """The model `model` names, or None. A date suffix the sheet does not list
        (`claude-opus-5-5-20261201`) resolves to its family."""
        spec = self._by_id.get(model)
        if spec is None and (dated := _DATED.match(model)) is not None:
            spec = self._by_id.get(dated["family"])
        return spec

    def resolve(self, model: str) -> ModelSpec:
        """As `get`, raising `UnknownModelError` for a model the sheet does not know."""
        spec = self.get(model)
        if spec is None:
            raise UnknownModelError(model, known=[m.id for m in self.models])
        return spec

    def tier_model(self, tier: Tier | str) -> str:
        return self.tier_models[Tier(tier)]


# ---- the packaged sheet ----------------------------------------------------------------------


@functools.cache
def _packaged_data() -> dict[str, Any]:
    text = resources.files(__package__).joinpath(MODELS_RESOURCE).read_text(encoding="utf-8")
    return _parse(text, MODELS_RESOURCE)


@functools.cache
def _packaged() -> Catalogue:
    return Catalogue.from_mapping(_packaged_data(), source=MODELS_RESOURCE)


def _parse(text: str, source: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text, parse_float=Decimal)  # exact decimals, never binary floats
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"model catalogue {source}: {exc}") from None


def _merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if key == "models" and isinstance(value, Mapping):
            models = {k: dict(v) for k, v in base.get("models", {}).items()}
            for model_id, fields in value.items():
                models[model_id] = {**models.get(model_id, {}), **fields}
            merged["models"] = models
        elif isinstance(value, Mapping) and isinstance(base.get(key), Mapping):
            merged[key] = {**base[key], **value}
        else:
            merged[key] = value
    return merged


# ---- the sheet's schema ----------------------------------------------------------------------


class _Schema(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


_Price = Decimal  # USD per million tokens
_EffortLevel = Literal["low", "medium", "high", "xhigh", "max"]
_Mode = Literal["enabled", "adaptive", "between_tools", "disabled"]


class _Defaults(_Schema):
    cache_write_5m: _Price = Field(ge=0)
    cache_write_1h: _Price = Field(ge=0)
    cache_read: _Price = Field(ge=0)
    batch: _Price = Field(gt=0, le=1)
    geo: dict[str, _Price] = {}


class _Thinking(_Schema):
    modes: list[_Mode]
    default: Literal["adaptive", "off"]
    max_effort: dict[_Mode, _EffortLevel] = {}


class _Effort(_Schema):
    levels: list[_EffortLevel]
    default: _EffortLevel | None = None

    @model_validator(mode="after")
    def _default_is_a_level(self) -> _Effort:
        if self.default is not None and self.default not in self.levels:
            raise ValueError(f"default effort {self.default!r} is not among the levels")
        return self


class _Rules(_Schema):
    """The request rules a profile sets and a model may override (None: not said here)."""

    tokenizer: str | None = None
    thinking: _Thinking | None = None
    effort: _Effort | None = None
    sampling: bool | None = None
    prefill: bool | None = None
    forced_tool_choice: bool | None = None
    system_messages: bool | None = None
    context_management: bool | None = None
    inference_geo: bool | None = None


class _LongPrompt(_Schema):
    threshold: int = Field(gt=0)
    factor: Decimal = Field(gt=0)


class _LongContext(_Schema):
    threshold: int = Field(gt=0)
    input: _Price = Field(ge=0)
    output: _Price = Field(ge=0)


class _Fast(_Schema):
    input: _Price = Field(ge=0)
    output: _Price = Field(ge=0)
    cache_write_5m: _Price | None = Field(default=None, ge=0)
    cache_write_1h: _Price | None = Field(default=None, ge=0)
    cache_read: _Price | None = Field(default=None, ge=0)


class _Prices(_Schema):
    start: date = Field(alias="from")
    input: _Price = Field(ge=0)
    output: _Price = Field(ge=0)
    cache_write_5m: _Price | None = Field(default=None, ge=0)
    cache_write_1h: _Price | None = Field(default=None, ge=0)
    cache_read: _Price | None = Field(default=None, ge=0)
    long_prompt: _LongPrompt | None = None
    long_context: _LongContext | None = None
    fast: _Fast | None = None


class _Model(_Rules):
    name: str
    tier: Tier
    line: str | None = None  # default: the tier's name
    status: Literal["current", "legacy"]
    released: date
    profile: str
    snapshot: str | None = None
    ids: list[str] = []
    context: int = Field(gt=0)
    max_output: int = Field(gt=0)
    max_output_batch: int | None = Field(default=None, gt=0)
    min_cacheable_tokens: int = Field(ge=0)
    fast: bool = False
    fast_beta: str | None = None
    reads_thinking_from: list[str] = []
    deprecated: date | None = None
    retires: date | None = None
    retired: bool = False
    prices: list[_Prices] = Field(min_length=1)


class _Sheet(_Schema):
    checked: date | None = None
    defaults: _Defaults
    tokenizers: dict[str, Decimal]
    thinking_room: dict[_EffortLevel, Annotated[int, Field(gt=0)]] = {}
    short_answer_tokens: int = Field(default=0, ge=0)
    tiers: dict[Tier, str]
    profiles: dict[str, _Rules]
    models: dict[str, _Model]

    @model_validator(mode="after")
    def _references_resolve(self) -> _Sheet:
        for model_id, model in self.models.items():
            if model.profile not in self.profiles:
                raise ValueError(f"models.{model_id}.profile: no profile {model.profile!r}")
            rules = _rules(model, self.profiles[model.profile])
            missing = [name for name, value in rules.items() if value is None]
            if missing:
                raise ValueError(f"models.{model_id}: no {', '.join(missing)} (in the model or its profile)")
            if rules["tokenizer"] not in self.tokenizers:
                raise ValueError(f"models.{model_id}: unknown tokenizer {rules['tokenizer']!r}")
            starts = [p.start for p in model.prices]
            if starts != sorted(starts) or len(set(starts)) != len(starts):
                raise ValueError(f"models.{model_id}.prices: dates must increase")
            if any(p.fast is not None for p in model.prices) and not model.fast:
                raise ValueError(f"models.{model_id}: fast prices without `fast = true`")
            unknown = [m for m in model.reads_thinking_from if m not in self.models]
            if unknown:
                raise ValueError(f"models.{model_id}.reads_thinking_from: unknown {', '.join(unknown)}")
        return self


def _rules(model: _Model, profile: _Rules) -> dict[str, Any]:
    """Each rule as the model states it, else as its profile does (None: neither)."""
    rules = {}
    for name in _Rules.model_fields:
        value = getattr(model, name)
        rules[name] = value if value is not None else getattr(profile, name)
    return rules


def _spec(model_id: str, model: _Model, sheet: _Sheet) -> ModelSpec:
    rules = _rules(model, sheet.profiles[model.profile])
    thinking: _Thinking = rules["thinking"]
    effort: _Effort = rules["effort"]
    snapshot = model.snapshot or model_id
    return ModelSpec(
        id=model_id,
        name=model.name,
        tier=model.tier,
        line=model.line or model.tier.value,
        status=model.status,
        released=model.released,
        snapshot=snapshot,
        ids=tuple(dict.fromkeys(i for i in (snapshot, *model.ids) if i != model_id)),
        context=model.context,
        max_output=model.max_output,
        max_output_batch=model.max_output_batch or model.max_output,
        min_cacheable_tokens=model.min_cacheable_tokens,
        tokenizer=rules["tokenizer"],
        token_ratio=sheet.tokenizers[rules["tokenizer"]],
        thinking=Thinking(
            frozenset(thinking.modes), thinking.default, {m: e for m, e in thinking.max_effort.items()}
        ),
        effort=Effort(tuple(lv for lv in EFFORT_LEVELS if lv in effort.levels), effort.default),
        sampling=rules["sampling"],
        prefill=rules["prefill"],
        forced_tool_choice=rules["forced_tool_choice"],
        system_messages=rules["system_messages"],
        context_management=rules["context_management"],
        inference_geo=rules["inference_geo"],
        fast=model.fast,
        fast_beta=model.fast_beta,
        prices=tuple(_entry(p, sheet.defaults) for p in model.prices),
        reads_thinking_from=frozenset(model.reads_thinking_from),
        deprecated=model.deprecated,
        retires=model.retires,
        retired=model.retired,
    )


def _entry(p: _Prices, d: _Defaults) -> PriceEntry:
    """A price entry with the cache prices the defaults give where the entry states none."""
    lp, lc, fast = p.long_prompt, p.long_context, p.fast
    return PriceEntry(
        start=p.start,
        input=p.input,
        output=p.output,
        cache_write_5m=p.cache_write_5m if p.cache_write_5m is not None else p.input * d.cache_write_5m,
        cache_write_1h=p.cache_write_1h if p.cache_write_1h is not None else p.input * d.cache_write_1h,
        cache_read=p.cache_read if p.cache_read is not None else p.input * d.cache_read,
        long_prompt=LongPrompt(lp.threshold, lp.factor) if lp is not None else None,
        long_context=LongContext(lc.threshold, lc.input, lc.output) if lc is not None else None,
        fast=_fast(fast, d) if fast is not None else None,
    )


def _fast(f: _Fast, d: _Defaults) -> FastPrices:
    return FastPrices(
        input=f.input,
        output=f.output,
        cache_write_5m=f.cache_write_5m if f.cache_write_5m is not None else f.input * d.cache_write_5m,
        cache_write_1h=f.cache_write_1h if f.cache_write_1h is not None else f.input * d.cache_write_1h,
        cache_read=f.cache_read if f.cache_read is not None else f.input * d.cache_read,
    )


def _describe(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "(root)"
        parts.append(f"{loc}: {err['msg']}")
    return "; ".join(parts)


__all__ = [
    "EFFORT_LEVELS",
    "THINKING_MODES",
    "TIERS",
    "Catalogue",
    "Effort",
    "FastPrices",
    "Lifecycle",
    "LongContext",
    "LongPrompt",
    "ModelSpec",
    "PriceEntry",
    "Thinking",
    "Tier",
]
