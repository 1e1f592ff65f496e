"""The policies one forecast compares: recorded, the configuration in force, each draft, one per
tier, and the oracle."""

from __future__ import annotations

from collections.abc import Sequence

from ..catalog.pricing import TIERS, PriceTable
from ..config import PolicySettings, Settings
from .policies import CascadePolicy, ForecastPolicy, LabelPolicy, OraclePolicy, RecordedPolicy, TierPolicy

CURRENT = "current"


def candidate_policies(
    settings: Settings, drafts: Sequence[tuple[str, PolicySettings]], prices: PriceTable
) -> list[ForecastPolicy]:
    """In display order. `replay` drops "recorded" for traffic never sent and "oracle" for traffic
    without quality labels. all-<tier> and the cascade use the models of the ladder in force."""
    ladder = prices.for_ladder(settings.policy.label_models)
    policies: list[ForecastPolicy] = [RecordedPolicy(), LabelPolicy(CURRENT, settings.policy, prices)]
    seen = {CURRENT}
    for name, draft in drafts:
        unique = name
        while unique in seen:
            unique += "'"
        seen.add(unique)
        policies.append(LabelPolicy(unique, draft, prices))
    policies.extend(TierPolicy.all_on(tier, ladder) for tier in TIERS)
    policies.append(OraclePolicy(dict(settings.policy.label_models)))
    policies.append(CascadePolicy(ladder))
    return policies


def needs_minutes(policies: Sequence[ForecastPolicy]) -> bool:
    """Whether any policy has a time-windowed rule (then the ledger is read minute by minute)."""
    return any(isinstance(p, LabelPolicy) and p.timed for p in policies)
