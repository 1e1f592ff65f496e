"""Quality monitoring: a reproducible sample of routed answers re-run on the tier above and judged.

from ..ledger.verdicts import VerdictStore
from . import attach_monitor

monitor = attach_monitor(router, VerdictStore(engine))   # None unless [monitor] enabled = true
"""

from __future__ import annotations

from .judge import Grades, Judge, Judgement, parse_reply, parse_text
from .monitor import MonitorStats, QualityMonitor, answer_text, attach_monitor, request_text
from .rubric import Criterion, Rubric
from .sampling import answer_order_swapped, is_sampled, sample_point

__all__ = [
    "Criterion",
    "Grades",
    "Judge",
    "Judgement",
    "MonitorStats",
    "QualityMonitor",
    "Rubric",
    "answer_order_swapped",
    "answer_text",
    "attach_monitor",
    "is_sampled",
    "parse_reply",
    "parse_text",
    "request_text",
    "sample_point",
]
