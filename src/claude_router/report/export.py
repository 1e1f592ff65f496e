"""Machine-readable reports: JSON (the whole summary) and CSV (the breakdown, one row per group).

Money is written as exact decimal strings with nine places ("0.000847000"), never as binary
floats or with an exponent. Requests on a model the price sheet does not know are counted in
`unpriced_requests` and are in no money field.
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from ..ledger import Dimension, Group, Key, Totals
from ..ledger.money import usd_text
from .quality import quality_json
from .sources import sources_json
from .summary import SessionLine, Summary, cache_hit_rate, percent

MONEY_FIELDS = ("cost_usd", "classifier_cost_usd", "total_cost_usd", "cost_if_opus_usd", "cost_if_sonnet_usd")
COUNT_FIELDS = (
    "requests",
    "input_tokens",
    "output_tokens",
    "cache_write_5m_tokens",
    "cache_write_1h_tokens",
    "cache_read_tokens",
    "classifier_input_tokens",
    "classifier_output_tokens",
    "retries",
    "fallbacks",
    "errors",
    "unpriced_requests",
)


def _key(value: Key) -> Any:
    return value.isoformat() if isinstance(value, date) else value


def _when(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def totals_dict(t: Totals) -> dict[str, Any]:
    """One group's sums as JSON-ready values (money as strings)."""
    u = t.usage
    counts = (
        t.requests,
        u.input_tokens,
        u.output_tokens,
        u.cache_write_5m_tokens,
        u.cache_write_1h_tokens,
        u.cache_read_tokens,
        t.classifier_input_tokens,
        t.classifier_output_tokens,
        t.retries,
        t.fallbacks,
        t.errors,
        t.unpriced,
    )
    money = (t.cost_usd, t.classifier_cost_usd, t.total_cost_usd, t.cost_if_opus_usd, t.cost_if_sonnet_usd)
    out: dict[str, Any] = dict(zip(COUNT_FIELDS, counts, strict=True))
    out.update({name: usd_text(value) for name, value in zip(MONEY_FIELDS, money, strict=True)})
    out["savings_vs_opus_usd"] = usd_text(t.cost_if_opus_usd - t.total_cost_usd)
    out["cache_hit_rate_pct"] = _pct(cache_hit_rate(u))
    out["mean_latency_s"] = round(t.mean_latency_s, 4)
    return out


def _pct(value: Decimal) -> str:
    return f"{value:.2f}"


def _groups(groups: list[Group]) -> list[dict[str, Any]]:
    return [{**{d.value: _key(v) for d, v in g.key.items()}, **totals_dict(g.totals)} for g in groups]


def to_json(summary: Summary) -> dict[str, Any]:
    """The whole report as one JSON object."""
    return {
        "ledger": summary.ledger,
        "since": _when(summary.since),
        "until": _when(summary.until),
        "customer": summary.customer,
        "generated_at": _when(summary.generated_at),
        "baseline": {"top": summary.baseline.top, "middle": summary.baseline.middle},
        "totals": totals_dict(summary.totals),
        "actual_cost_usd": usd_text(summary.actual_usd),
        "savings_vs_opus_usd": usd_text(summary.savings_vs_opus_usd),
        "savings_vs_opus_pct": _pct(summary.savings_vs_opus_pct),
        "savings_vs_sonnet_usd": usd_text(summary.savings_vs_sonnet_usd),
        "savings_vs_sonnet_pct": _pct(summary.savings_vs_sonnet_pct),
        "classifier_share_pct": _pct(summary.classifier_share_pct),
        "cache_savings_usd": usd_text(summary.cache_savings_usd),
        "cache_hit_rate_pct": _pct(summary.cache_hit_rate_pct),
        "tier_mix": [
            {"tier": g.key[Dimension.MODEL], "share_pct": _pct(_share(g, summary)), **totals_dict(g.totals)}
            for g in summary.by_tier
        ],
        "by_model": _groups(summary.by_model),
        "by_model_effort": _groups(summary.by_model_effort),
        "by_label": _groups(summary.by_label),
        "daily": _groups(summary.by_day_model),
        "top_customers": _groups(summary.top_customers),
        "by": [d.value for d in summary.by],
        "breakdown": _groups(summary.breakdown),
        **({"quality": quality_json(summary.quality)} if summary.quality is not None else {}),
        **({"classifier_sources": sources_json(summary.sources)} if summary.sources is not None else {}),
        **({"sessions": _sessions(summary.sessions)} if summary.sessions is not None else {}),
    }


def _sessions(lines: list[SessionLine]) -> list[dict[str, Any]]:
    return [
        {
            "session": line.session,
            "tiers": line.tiers,
            "cache_read_saved_usd": usd_text(line.cache_read_saved_usd),
            "cache_net_saved_usd": usd_text(line.cache_net_saved_usd),
            "cache_hit_rate_pct": _pct(cache_hit_rate(line.totals.usage)),
            **totals_dict(line.totals),
        }
        for line in lines
    ]


def _share(g: Group, summary: Summary) -> Decimal:
    return percent(Decimal(g.totals.requests), Decimal(summary.totals.requests))


def to_csv(summary: Summary) -> str:
    """The breakdown (`--by`) as CSV: one row per group, then a total row."""
    dims = [d.value for d in summary.by]
    header = [
        *dims,
        *COUNT_FIELDS,
        *MONEY_FIELDS,
        "savings_vs_opus_usd",
        "cache_hit_rate_pct",
        "mean_latency_s",
    ]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=header, lineterminator="\n")
    writer.writeheader()
    for row in _groups(summary.breakdown):
        writer.writerow({k: "" if v is None else v for k, v in row.items()})
    total = {d: "TOTAL" if i == 0 else "" for i, d in enumerate(dims)} | totals_dict(summary.totals)
    writer.writerow(total)
    return buf.getvalue()
