"""Routing policy: which model answers a request, and how. The rules are data (`[policy]`).

    policy = Policy(settings.policy, PriceTable.default(), fallback_chain=settings.upstream.fallback_chain)
    arg = policy.resolve_model_arg(params["model"])     # "auto", "router:<alias>" or a model id
    route = policy.route(decision, meta, params, alias=arg.alias, now=now)

What decides the model, strongest first:

1. `force_model` (the request's, else the alias's): exactly that model. Floors and rules do not
   apply and there are no fallbacks: the caller named the model.
2. A concrete model id as `model` (`decision` is None): called as asked, no fallbacks; it is
   still accounted like any other call.
3. The floor: the highest of the request's `floor`, the alias's `floor` and `tag_floors` for
   the request's (and alias's) tags. Nothing below it is ever chosen; a model below it is
   raised to the floor label's model. A floor is never violated by a rule or a downgrade.
4. Rules, first match in order: a rule forces its model when the request carries one of its
   tags and/or the UTC time falls in its window ("22:00-06:00" wraps midnight). A rule that
   names neither matches every request.
5. The label → model map (the alias's entries over the policy's), stepped down `downgrade`
   tiers under budget pressure, never below the floor.

Then what the request needs (`catalog/requirements.Needs`): a conversation whose history holds
thinking blocks signed by one model stays on that model (`keep_thinking_model`); otherwise a
model that cannot serve the request as written gives way to the nearest ladder model that can
(one tier up before one down, never below the floor), and, for a prefill or a prompt too large
for its window (which no adaptation fixes), to the nearest served model of the catalogue. The
reason gains `;needs:<what>`. Where nothing can, the model stays and the upstream adapts the body.

Each label's step has an effort (`label_efforts`); the caller's own `output_config.effort` wins.

`max_tokens` is filled only when the caller gave none: the label's ceiling, or for a forced or
concrete model the ceiling of the label matching the model's tier. Fallbacks are the configured
chain after the routed model (or, for a model not in the chain, its members of the same or a
cheaper tier). `speculative` and `cache_system` come from the request, else the alias, else the
policy; speculation only applies where the label decides the model (no force, floor, or rule).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

from ..catalog.models import ModelSpec, Tier
from ..catalog.pricing import TIERS, PriceTable
from ..catalog.requirements import Needs
from ..config import AliasSettings, PolicySettings, RuleSettings
from ..errors import ConfigError, UnknownModelError
from ..types import LABELS, Decision, Label, RequestMeta, Route

AUTO = "auto"
ALIAS_PREFIX = "router:"
# The reason of a route kept on the model whose signed thinking the history holds (then its id).
THINKING_HISTORY = "thinking_history:"


class ModelArgKind(StrEnum):
    AUTO = "auto"  # classify and route
    ALIAS = "alias"  # classify and route under a bundle of overrides
    CONCRETE = "concrete"  # a model id: no classification


@dataclass(frozen=True, slots=True)
class ModelArg:
    """What a request's `model` field asks for."""

    kind: ModelArgKind
    model: str  # as given
    alias: str | None = None  # the alias name (without the `router:` prefix)
    family: str | None = None  # the price-table family of a concrete model


@dataclass(frozen=True, slots=True)
class _Rule:
    name: str
    model: str
    rank: int  # tier rank of `model`
    tags: frozenset[str]
    window: tuple[int, int] | None  # minutes after midnight UTC; end exclusive

    def matches(self, tags: frozenset[str], minute: int) -> bool:
        if self.tags and self.tags.isdisjoint(tags):
            return False
        if self.window is None:
            return True
        start, end = self.window
        return start <= minute < end if start < end else minute >= start or minute < end


@dataclass(frozen=True, slots=True)
class _Profile:
    """The policy as one alias (or no alias) sees it, resolved once at start-up."""

    alias: str | None
    label_models: tuple[str, ...]  # by label rank
    label_ranks: tuple[int, ...]  # tier rank of each label's model
    label_efforts: tuple[str | None, ...]  # by label rank
    floor_models: tuple[str, ...]  # the model a floor of each rank raises a route to
    max_tokens: tuple[int, ...]  # by label rank
    floor: Label | None
    tags: frozenset[str]
    force_model: str | None
    speculative: bool
    cache_system: bool


class Policy:
    def __init__(
        self,
        settings: PolicySettings,
        prices: PriceTable | None = None,
        *,
        fallback_chain: Sequence[str] = (),
    ) -> None:
        self.settings = settings
        self.prices = prices = PriceTable.default() if prices is None else prices
        self._tag_floors = tuple((tag, label.rank) for tag, label in settings.tag_floors.items())
        self._rules = tuple(self._rule(i, rule) for i, rule in enumerate(settings.rules))
        self._timed = any(rule.window is not None for rule in self._rules)
        self._base = self._profile(None, AliasSettings(), "policy")
        self._aliases = {
            name: self._profile(name, alias, f"policy.aliases.{name}")
            for name, alias in settings.aliases.items()
        }
        for i, model in enumerate(fallback_chain):
            self._known_model(model, f"upstream.fallback_chain[{i}]")
        self._fallbacks = {m: _fallbacks(m, fallback_chain, prices) for m in prices.ids}
        self._known = [AUTO, *(ALIAS_PREFIX + name for name in self._aliases), *prices.families]

    # ---- the model argument ------------------------------------------------------------------

    def resolve_model_arg(self, model: object) -> ModelArg:
        """Say whether `model` is "auto", a route alias or a priced model id.

        Anything else raises `UnknownModelError` before any call is made.
        """
        if model == AUTO:
            return _AUTO_ARG
        if isinstance(model, str):
            if model.startswith(ALIAS_PREFIX):
                name = model[len(ALIAS_PREFIX) :]
                if name in self._aliases:
                    return ModelArg(ModelArgKind.ALIAS, model, alias=name)
            elif model in self.prices:
                return ModelArg(ModelArgKind.CONCRETE, model, family=self.prices.resolve(model).family)
        raise UnknownModelError(str(model), known=self._known)

    # ---- routing -----------------------------------------------------------------------------

    def route(
        self,
        decision: Decision | None,
        meta: RequestMeta,
        params: Mapping[str, Any],
        *,
        alias: str | None = None,
        now: datetime | None = None,
        downgrade: int = 0,
        writers: Mapping[str, str] | None = None,
    ) -> Route:
        """The route for one request. `decision` is None only for a concrete model id. `writers`:
        the remembered writers of the history's opaque thinking signatures (`ThinkingWriters.known`)."""
        profile = self._profile_for(alias)
        caller_max = params.get("max_tokens")
        cache_system = profile.cache_system if meta.cache_system is None else meta.cache_system
        forced = meta.force_model or profile.force_model
        if forced is not None:
            return self._exact(forced, "force_model", profile, caller_max, cache_system)
        if decision is None:
            model = params.get("model")
            arg = self.resolve_model_arg(model)
            if arg.kind is not ModelArgKind.CONCRETE:
                raise ValueError(f"routing model={model!r} needs a classifier Decision")
            route = self._exact(arg.model, "concrete_model", profile, caller_max, cache_system)
            return replace(route, as_written=True)

        tags = meta.tags | profile.tags if profile.tags else meta.tags
        floor, why = self._floor(meta, profile, tags)
        label_rank = decision.label.rank
        # A downgrade steps down from the label, never below the floor (which only lifts, below).
        rank = max(label_rank - downgrade, min(floor, label_rank), 0) if downgrade > 0 else label_rank
        model, model_rank = profile.label_models[rank], profile.label_ranks[rank]
        effort = profile.label_efforts[rank]
        reason = "label" if rank == label_rank else f"downgrade:{label_rank - rank}"
        rule = self._matching_rule(tags, now)
        if rule is not None:
            model, model_rank, reason, effort = rule.model, rule.rank, f"rule:{rule.name}", None
        if model_rank < floor:
            model, reason = profile.floor_models[floor], f"floor:{why}"
            effort = _effort_of(profile, model)
        needs = Needs.of(
            params, short_answer_tokens=self.prices.catalogue.short_answer_tokens, writers=writers
        )
        model, moved = self._serving(model, model_rank, needs, profile, floor, now)
        if moved is not None:
            reason = moved if moved.startswith(THINKING_HISTORY) else f"{reason};{moved}"
        speculative = meta.speculative if meta.speculative is not None else profile.speculative
        return Route(
            model=model,
            fallbacks=self._fallbacks_of(model),
            label=decision.label,
            max_tokens=None if caller_max is not None else profile.max_tokens[label_rank],
            speculative=speculative and floor <= 0 and rule is None and moved is None,
            cache_system=cache_system,
            alias=profile.alias,
            reason=reason,
            effort=needs.effort or effort,
        )

    def speculative_model(
        self,
        meta: RequestMeta,
        *,
        alias: str | None = None,
        now: datetime | None = None,
        params: Mapping[str, Any] | None = None,
        writers: Mapping[str, str] | None = None,
    ) -> str | None:
        """The model to race against the classifier, or None when speculation is off or moot.

        Moot when the label cannot decide the model: a forced model, a floor above the simple
        tier, or a matching rule; or when the request (`params`) needs what the cheap model cannot
        give it whatever the label (a prefill, a larger window, the thinking of another model).
        """
        profile = self._profile_for(alias)
        enabled = meta.speculative if meta.speculative is not None else profile.speculative
        if not enabled or meta.force_model or profile.force_model:
            return None
        tags = meta.tags | profile.tags if profile.tags else meta.tags
        if self._floor(meta, profile, tags)[0] > 0 or self._matching_rule(tags, now) is not None:
            return None
        cheap = profile.label_models[0]
        if (
            params is not None
            and self._serving(cheap, 0, Needs.of(params, writers=writers), profile, 0, now)[0] != cheap
        ):
            return None
        return cheap

    # ---- per-request helpers -----------------------------------------------------------------

    def _serving(
        self, model: str, rank: int, needs: Needs, profile: _Profile, floor: int, now: datetime | None
    ) -> tuple[str, str | None]:
        """The model that serves `needs` in place of `model`, and why it moved (None: it did not)."""
        catalogue = self.prices.catalogue
        spec = catalogue.get(model)
        if spec is None:
            return model, None
        day = (now or datetime.now(UTC)).date()
        if self.settings.keep_thinking_model and needs.thinking_from is not None:
            writer = catalogue.get(needs.thinking_from)
            served = writer is not None and writer.lifecycle(day) != "retired"
            if writer is not None and served and writer.id != spec.id and writer.tier.rank >= floor:
                return writer.id, f"{THINKING_HISTORY}{writer.id}"
            if writer is not None and writer.id == spec.id:
                return model, None
        why = needs.unmet(spec)
        if why is None:
            return model, None
        by_distance = sorted(range(len(LABELS)), key=lambda r: (abs(r - rank), r < rank))
        for r in by_distance:
            step = catalogue.get(profile.label_models[r])
            if profile.label_ranks[r] >= floor and step is not None and needs.unmet(step) is None:
                return profile.label_models[r], f"needs:{why}"
        if needs.unmet(spec, adaptable=False) is None:
            return model, None  # adaptation meets the rest on this model
        nearest = sorted(self._served(day, floor), key=lambda m: _nearness(m, rank))
        for adaptable in (True, False):  # a model that takes it all as written, else adapted
            for other in nearest:
                if needs.unmet(other, adaptable=adaptable) is None:
                    return other.id, f"needs:{why}"
        return model, None

    def _served(self, day: date, floor: int) -> list[ModelSpec]:
        """The catalogue's ladder-tier models still served on `day`, at or above the floor."""
        return [
            spec
            for spec in self.prices.catalogue
            if spec.tier is not Tier.FRONTIER and spec.tier.rank >= floor and spec.lifecycle(day) != "retired"
        ]

    def _profile_for(self, alias: str | None) -> _Profile:
        if alias is None:
            return self._base
        name = alias.removeprefix(ALIAS_PREFIX)
        try:
            return self._aliases[name]
        except KeyError:
            raise UnknownModelError(ALIAS_PREFIX + name, known=self._known) from None

    def _floor(self, meta: RequestMeta, profile: _Profile, tags: frozenset[str]) -> tuple[int, str]:
        """The strongest floor's rank (-1: none) and where it comes from."""
        rank, why = -1, ""
        if meta.floor is not None:
            rank, why = meta.floor.rank, "request"
        if profile.floor is not None and profile.floor.rank > rank:
            rank, why = profile.floor.rank, f"alias:{profile.alias}"
        if tags:
            for tag, tag_rank in self._tag_floors:  # config order: the same reason every time
                if tag_rank > rank and tag in tags:
                    rank, why = tag_rank, f"tag:{tag}"
        return rank, why

    def _matching_rule(self, tags: frozenset[str], now: datetime | None) -> _Rule | None:
        if not self._rules:
            return None
        minute = _minute_utc(now) if self._timed else 0
        for rule in self._rules:
            if rule.matches(tags, minute):
                return rule
        return None

    def _exact(
        self, model: str, reason: str, profile: _Profile, caller_max: object, cache_system: bool
    ) -> Route:
        rank = self.prices.resolve(model).tier.rank  # UnknownModelError for a model without prices
        return Route(
            model=model,
            max_tokens=None if caller_max is not None else profile.max_tokens[rank],
            cache_system=cache_system,
            alias=profile.alias,
            reason=reason,
        )

    def _fallbacks_of(self, model: str) -> tuple[str, ...]:
        return self._fallbacks.get(model, ())

    # ---- start-up ----------------------------------------------------------------------------

    def _known_model(self, model: str, where: str) -> int:
        """The tier rank of a configured model; `ConfigError` naming the field if it has no price."""
        if model not in self.prices:
            raise ConfigError(f"{where}: unknown model {model!r}; known: {', '.join(self.prices.families)}")
        return self.prices.tier_of(model).rank

    def _rule(self, index: int, rule: RuleSettings) -> _Rule:
        rank = self._known_model(rule.model, f"policy.rules[{index}].model")
        return _Rule(rule.name, rule.model, rank, frozenset(rule.tags), rule.window_minutes)

    def _profile(self, name: str | None, alias: AliasSettings, where: str) -> _Profile:
        policy = self.settings
        label_models = {**policy.label_models, **alias.label_models}
        models = tuple(label_models[label] for label in LABELS)
        ranks = tuple(self._known_model(label_models[lb], f"{where}.label_models.{lb}") for lb in LABELS)
        if alias.force_model is not None:
            self._known_model(alias.force_model, f"{where}.force_model")
        max_tokens = {**policy.max_tokens, **alias.max_tokens}
        efforts = {**policy.label_efforts, **{lb: alias.label_efforts.get(lb) for lb in alias.label_models}}
        return _Profile(
            alias=name,
            label_models=models,
            label_ranks=ranks,
            label_efforts=tuple(efforts[label] for label in LABELS),
            floor_models=tuple(self._floor_model(models, ranks, floor) for floor in range(len(LABELS))),
            max_tokens=tuple(max_tokens[label] for label in LABELS),
            floor=alias.floor,
            tags=frozenset(alias.tags),
            force_model=alias.force_model,
            speculative=policy.speculative if alias.speculative is None else alias.speculative,
            cache_system=policy.cache_system if alias.cache_system is None else alias.cache_system,
        )

    def _floor_model(self, models: tuple[str, ...], ranks: tuple[int, ...], floor: int) -> str:
        """The cheapest label model at or above the floor's label whose tier meets the floor."""
        for model, rank in zip(models[floor:], ranks[floor:], strict=True):
            if rank >= floor:
                return model
        return self.prices.tier_model(TIERS[floor])


_AUTO_ARG = ModelArg(ModelArgKind.AUTO, AUTO)


def _effort_of(profile: _Profile, model: str) -> str | None:
    """The effort of the ladder step that routes to `model` (None: no step does)."""
    for step_model, effort in zip(profile.label_models, profile.label_efforts, strict=True):
        if step_model == model:
            return effort
    return None


def _nearness(spec: ModelSpec, rank: int) -> tuple[int, bool, float]:
    """Sort key: the nearest tier first, one up before one down, the newest model first."""
    return (abs(spec.tier.rank - rank), spec.tier.rank < rank, -spec.released.toordinal())


def _minute_utc(now: datetime | None) -> int:
    moment = datetime.now(UTC) if now is None else now
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)  # a naive time is taken as UTC already
    return moment.hour * 60 + moment.minute


def _fallbacks(model: str, chain: Sequence[str], prices: PriceTable) -> tuple[str, ...]:
    """The chain after `model`; for a model outside it, its members of the same or a cheaper tier."""
    family = prices.resolve(model).family
    families = [prices.resolve(m).family for m in chain]
    if family in families:
        rest = chain[families.index(family) + 1 :]
        return tuple(m for m in rest if prices.resolve(m).family != family)
    rank = prices.resolve(model).tier.rank
    return tuple(m for m in chain if prices.resolve(m).tier.rank <= rank)


__all__ = ["ALIAS_PREFIX", "AUTO", "THINKING_HISTORY", "ModelArg", "ModelArgKind", "Policy"]
