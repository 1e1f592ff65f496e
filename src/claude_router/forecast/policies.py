"""The policies a forecast compares, each a way to pick a model for a cohort of requests.

- `LabelPolicy`: a `[policy]` table (the one in force, or a draft) through the real `Policy`, so
  label maps, tag floors, rules and aliases mean exactly what they mean when routing.
- `TierPolicy`: every request on one tier's model (all-Haiku, all-Sonnet, all-Opus: the ladder's
  models for those tiers).
- `OraclePolicy`: each request on the tier its quality label asks for (only where labels exist).
- `RecordedPolicy`: what really happened, from the ledger: the yardstick for the others.
- `CascadePolicy`: the answer-quality cascade from the cheapest tier with an ideal scorer: every
  request answers on Haiku first and is re-run a tier up until it reaches the tier its label asks
  for, paying for every leg (the best a cascade can do, against classify-then-route).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from ..catalog.pricing import TIERS, PriceTable, Tier
from ..config import PolicySettings
from ..errors import UnknownModelError
from ..routing.policy import Policy
from ..types import ClassifierSource, Decision, Label, RequestMeta, Route
from .workload import CohortKey

_ONE_TOKEN = {"max_tokens": 1}  # routing must not fill max_tokens: the forecast has its own tokens
_DAY = datetime(2000, 1, 1, tzinfo=UTC)


class ForecastPolicy(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def classifies(self) -> bool:
        """Whether the recorded classifier cost is part of this policy's cost (it classifies to route)."""
        ...

    def extra_models(self, key: CohortKey) -> tuple[str, ...]:
        """Models that also answered each request of the cohort before the final one (a cascade)."""
        ...

    def model_for(self, key: CohortKey) -> str | None:
        """The model a cohort runs on; None when it cannot be replayed (recorded without a model)."""
        ...

    def effort_for(self, key: CohortKey) -> str | None:
        """The effort the cohort is sent with (None: the request's own or the model's default)."""
        ...


@dataclass(slots=True)
class LabelPolicy:
    name: str
    settings: PolicySettings
    prices: PriceTable
    classifies: bool = True
    _policy: Policy = field(init=False)

    def __post_init__(self) -> None:
        # tiers as this policy's ladder has them, as the router running it would
        self._policy = Policy(self.settings, self.prices.for_ladder(self.settings.label_models))

    @property
    def timed(self) -> bool:
        return any(rule.window is not None for rule in self.settings.rules)

    def model_for(self, key: CohortKey) -> str | None:
        if key.label is None:  # a request that named its model keeps it under any label policy
            return key.model
        return self._route(key).model

    def effort_for(self, key: CohortKey) -> str | None:
        return key.effort if key.label is None else self._route(key).effort

    def _route(self, key: CohortKey) -> Route:
        assert key.label is not None
        decision = Decision(key.label, 1.0, ClassifierSource.LOCAL)
        meta = RequestMeta(tags=key.tags)
        now = None if key.minute is None else _DAY.replace(hour=key.minute // 60, minute=key.minute % 60)
        try:
            return self._policy.route(decision, meta, _ONE_TOKEN, alias=key.alias, now=now)
        except UnknownModelError:  # an alias this draft does not define: its plain policy
            return self._policy.route(decision, meta, _ONE_TOKEN, now=now)

    def extra_models(self, key: CohortKey) -> tuple[str, ...]:
        return ()


@dataclass(frozen=True, slots=True)
class TierPolicy:
    name: str
    model: str
    classifies: bool = False

    @classmethod
    def all_on(cls, tier: Tier, prices: PriceTable) -> TierPolicy:
        return cls(f"all-{tier.value}", prices.tier_model(tier))

    def model_for(self, key: CohortKey) -> str | None:
        return self.model

    def effort_for(self, key: CohortKey) -> str | None:
        return None

    def extra_models(self, key: CohortKey) -> tuple[str, ...]:
        return ()


@dataclass(frozen=True, slots=True)
class OraclePolicy:
    """The cheapest tier each request's quality label allows, under the label map in force."""

    label_models: dict[Label, str]
    name: str = "oracle"
    classifies: bool = False

    def model_for(self, key: CohortKey) -> str | None:
        label = key.quality_label or key.label
        return key.model if label is None else self.label_models[label]

    def effort_for(self, key: CohortKey) -> str | None:
        return None

    def extra_models(self, key: CohortKey) -> tuple[str, ...]:
        return ()


@dataclass(frozen=True, slots=True)
class RecordedPolicy:
    name: str = "recorded"
    classifies: bool = True

    def model_for(self, key: CohortKey) -> str | None:
        return key.model

    def effort_for(self, key: CohortKey) -> str | None:
        return key.effort

    def extra_models(self, key: CohortKey) -> tuple[str, ...]:
        return ()


@dataclass(frozen=True, slots=True)
class CascadePolicy:
    """Haiku first, then one tier up at a time until the label's tier (an ideal scorer)."""

    prices: PriceTable
    name: str = "cascade"
    classifies: bool = False

    def _chain(self, key: CohortKey) -> tuple[str, ...]:
        label = key.quality_label or key.label
        if label is None:
            return () if key.model is None else (key.model,)
        return tuple(self.prices.tier_model(tier) for tier in TIERS[: Tier.for_label(label).rank + 1])

    def model_for(self, key: CohortKey) -> str | None:
        chain = self._chain(key)
        return chain[-1] if chain else None

    def effort_for(self, key: CohortKey) -> str | None:
        return None

    def extra_models(self, key: CohortKey) -> tuple[str, ...]:
        return self._chain(key)[:-1]
