"""Forecasts: replay recorded or planned traffic through other routing policies, calling no model.

workload = await read_ledger(store, prices)                  # or read_jsonl(path, predictor, prices)
result = replay(workload, candidate_policies(settings, drafts, prices), prices, days=30)
result.policies[i].cost_usd, .tier_requests, .cache_savings_usd, .quality_risk_pct, .monthly_usd
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# Eager, unlike the rest: `replay` names both a module and its function, and the package attribute
# must be the function whichever of the two is imported first.
from .replay import Forecast, PolicyForecast, replay

if TYPE_CHECKING:
    from .builder import candidate_policies, needs_minutes
    from .jsonl_source import read_jsonl, read_lines
    from .ledger_source import read_ledger
    from .planned import CacheAwarePolicy, Planned, PlannedRequest, replay_planned
    from .policies import CascadePolicy, ForecastPolicy, LabelPolicy, OraclePolicy, RecordedPolicy, TierPolicy
    from .workload import Cohort, CohortKey, Workload

# Loaded on first use: importing a module of this package (its commands) stays light.
_LAZY = {
    "candidate_policies": "builder",
    "needs_minutes": "builder",
    "read_jsonl": "jsonl_source",
    "read_lines": "jsonl_source",
    "read_ledger": "ledger_source",
    "CacheAwarePolicy": "planned",
    "Planned": "planned",
    "PlannedRequest": "planned",
    "replay_planned": "planned",
    "CascadePolicy": "policies",
    "ForecastPolicy": "policies",
    "LabelPolicy": "policies",
    "OraclePolicy": "policies",
    "RecordedPolicy": "policies",
    "TierPolicy": "policies",
    "Cohort": "workload",
    "CohortKey": "workload",
    "Workload": "workload",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)


__all__ = [
    "CacheAwarePolicy",
    "CascadePolicy",
    "Cohort",
    "CohortKey",
    "Forecast",
    "ForecastPolicy",
    "LabelPolicy",
    "OraclePolicy",
    "Planned",
    "PlannedRequest",
    "PolicyForecast",
    "RecordedPolicy",
    "TierPolicy",
    "Workload",
    "candidate_policies",
    "needs_minutes",
    "read_jsonl",
    "read_ledger",
    "read_lines",
    "replay",
    "replay_planned",
]
