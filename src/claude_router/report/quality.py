"""The report's Quality section: per label, how often the cheaper tier did worse than the tier above.

Shares are of the judged verdicts (unknown verdicts are counted, never guessed). A label is
flagged when the cheaper tier lost in more than `flag_share` of them. Monitoring spend (the
re-runs and the judge) is shown on its own, apart from the actual cost of routed traffic.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from html import escape
from typing import Any

from rich import box
from rich.table import Table

from ..ledger.money import usd_text
from ..ledger.verdicts import LabelQuality, VerdictStore
from ..types import ZERO
from .fmt import pct, tokens, usd

DEFAULT_FLAG_SHARE = 0.2
_FLAG_STYLE = "color:#e03131;font-weight:700"


@dataclass(frozen=True, slots=True)
class QualitySummary:
    labels: list[LabelQuality]
    flag_share: Decimal

    def flagged(self, group: LabelQuality) -> bool:
        return group.judged > 0 and group.worse_share > self.flag_share

    @property
    def samples(self) -> int:
        return sum(g.samples for g in self.labels)

    @property
    def rerun_cost_usd(self) -> Decimal:
        return sum((g.rerun_cost_usd for g in self.labels), ZERO)

    @property
    def judge_cost_usd(self) -> Decimal:
        return sum((g.judge_cost_usd for g in self.labels), ZERO)

    @property
    def cost_usd(self) -> Decimal:
        return self.rerun_cost_usd + self.judge_cost_usd


async def build_quality(
    store: VerdictStore,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    flag_share: float = DEFAULT_FLAG_SHARE,
) -> QualitySummary:
    labels = await store.by_label(since=since, until=until)
    return QualitySummary(labels, Decimal(str(flag_share)))


def _label(group: LabelQuality) -> str:
    return group.label or "(unclassified)"


def spend_note(q: QualitySummary) -> str:
    return (
        f"Monitoring spend {usd(q.cost_usd)} (re-runs {usd(q.rerun_cost_usd)} + judge"
        f" {usd(q.judge_cost_usd)}), not part of the actual cost above."
    )


def quality_table(q: QualitySummary) -> Table:
    table = Table(
        title="Quality (sampled answers vs the tier above)",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        title_style="bold",
        caption=spend_note(q) + f" Flag: cheaper worse in > {pct(q.flag_share * 100)} of judged.",
        caption_justify="left",
    )
    table.add_column("Label", no_wrap=True)
    for name in ("Samples", "Judged", "Unknown", "Cheaper worse", "Share", "Spend"):
        table.add_column(name, justify="right", no_wrap=True)
    table.add_column("", no_wrap=True)
    for g in q.labels:
        table.add_row(
            _label(g),
            tokens(g.samples),
            tokens(g.judged),
            tokens(g.unknown),
            tokens(g.cheaper_worse),
            pct(g.worse_share * 100) if g.judged else "-",
            usd(g.cost_usd),
            "[bold red]FLAG[/]" if q.flagged(g) else "",
        )
    return table


def quality_card(q: QualitySummary) -> str:
    """The HTML card (a table and the spend note)."""
    head = "<tr><th>Label</th>" + "".join(
        f'<th class="num">{h}</th>'
        for h in ("Samples", "Judged", "Unknown", "Cheaper worse", "Share", "Spend")
    )
    rows = []
    for g in q.labels:
        flag = f'<td class="flag" style="{_FLAG_STYLE}">FLAG</td>' if q.flagged(g) else "<td></td>"
        share = pct(g.worse_share * 100) if g.judged else "-"
        nums = (tokens(g.samples), tokens(g.judged), tokens(g.unknown), tokens(g.cheaper_worse), share)
        cells = "".join(f'<td class="num">{escape(n)}</td>' for n in (*nums, usd(g.cost_usd)))
        css = ' class="flagged"' if q.flagged(g) else ""
        rows.append(f"<tr{css}><td>{escape(_label(g))}</td>{cells}{flag}</tr>")
    table = (
        f'<table class="data" id="quality"><thead>{head}<th></th></tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )
    note = spend_note(q) + f" Flagged: the cheaper tier did worse in more than {pct(q.flag_share * 100)}."
    return f'<section class="card wide"><h2>Quality</h2>{table}<p class="note">{escape(note)}</p></section>'


def quality_json(q: QualitySummary) -> dict[str, Any]:
    return {
        "flag_share": str(q.flag_share),
        "monitoring_cost_usd": usd_text(q.cost_usd),
        "rerun_cost_usd": usd_text(q.rerun_cost_usd),
        "judge_cost_usd": usd_text(q.judge_cost_usd),
        "labels": [
            {
                "label": g.label,
                "samples": g.samples,
                "judged": g.judged,
                "unknown": g.unknown,
                "cheaper_worse": g.cheaper_worse,
                "ties": g.ties,
                "cheaper_better": g.cheaper_better,
                "worse_share": str(g.worse_share),
                "flagged": q.flagged(g),
                "cost_usd": usd_text(g.cost_usd),
            }
            for g in q.labels
        ],
    }
