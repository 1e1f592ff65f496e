"""Forecasts: replay recorded or planned traffic through other routing policies, calling no model.

workload = await read_ledger(store, prices)                  # or read_jsonl(path, predictor, prices)
result = replay(workload, candidate_policies(settings, drafts, prices), prices, days=30)
result.policies[i].cost_usd, .tier_requests, .cache_savings_usd, .quality_risk_pct, .monthly_usd
"""

from __future__ import annotations

from .builder import candidate_policies, needs_minutes
from .jsonl_source import read_jsonl, read_lines
from .ledger_source import read_ledger
from .planned import CacheAwarePolicy, Planned, PlannedRequest, replay_planned
from .policies import CascadePolicy, ForecastPolicy, LabelPolicy, OraclePolicy, RecordedPolicy, TierPolicy
from .replay import Forecast, PolicyForecast, replay
from .workload import Cohort, CohortKey, Workload

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
