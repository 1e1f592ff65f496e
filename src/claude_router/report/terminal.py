"""Cost reports as rich tables: the full ledger report, the per-run report, and the log view."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from rich import box
from rich.console import Console
from rich.console import Group as RenderGroup
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table

from ..ledger import Dimension, Group, Ledger, Totals
from ..types import UsageRecord
from .columns import Column, fitted_table
from .fmt import UNPRICED, cost_text, effort_text, key_text, pct, short_model, tokens, usd, usd6, window_text
from .quality import quality_table
from .sessions import sessions_table
from .sources import sources_table
from .summary import FAILED, Summary, percent

_PANEL_FRAME = 4  # a panel's border and padding, left and right
_FULL_DATES = 100  # columns from which the log shows a request's year


def _money_table(title: str) -> Table:
    return Table(**_money_table_options(title))


def _money_table_options(title: str) -> dict[str, Any]:
    return {"title": title, "title_justify": "left", "box": box.SIMPLE_HEAD, "title_style": "bold"}


def tier_table(summary: Summary) -> Table:
    table = _money_table("Tier mix")
    table.add_column("Tier")
    for name in ("Requests", "Share", "Cost"):
        table.add_column(name, justify="right")
    total = summary.totals.requests
    for g in summary.by_tier:
        t = g.totals
        share = percent(Decimal(t.requests), Decimal(total))
        tier = str(g.key[Dimension.MODEL])
        name = f"[red]{tier.capitalize()}[/]" if tier == FAILED else tier.capitalize()
        table.add_row(name, tokens(t.requests), pct(share), cost_text(t))
    return table


def effort_table(summary: Summary) -> Table:
    """Requests by model and the effort they were sent with: thinking is billed as output, so
    effort moves the output per request and the bill."""
    table = _money_table("By model and effort")
    table.add_column("Model")
    table.add_column("Effort")
    for name in ("Requests", "Share", "Out / request", "Cost"):
        table.add_column(name, justify="right")
    total = summary.totals.requests
    for g in summary.by_model_effort:
        t = g.totals
        model = g.key[Dimension.MODEL]
        effort = g.key[Dimension.EFFORT]
        table.add_row(
            short_model(model if isinstance(model, str) else None),
            effort_text(effort if isinstance(effort, str) else None),
            tokens(t.requests),
            pct(percent(Decimal(t.requests), Decimal(total))),
            tokens(t.usage.output_tokens // t.requests if t.requests else 0),
            cost_text(t),
        )
    return table


def cost_table(summary: Summary) -> Table:
    t = summary.totals
    top, middle = short_model(summary.baseline.top), short_model(summary.baseline.middle)
    table = _money_table("Cost")
    table.add_column("", style="dim")
    table.add_column("USD", justify="right")
    table.add_column("", justify="right")
    table.add_row("Actual cost", f"[bold]{usd(summary.actual_usd)}[/]", "routed calls + classifier")
    table.add_row("  routed calls", usd(t.cost_usd), "")
    table.add_row("  classifier", usd(t.classifier_cost_usd), f"{pct(summary.classifier_share_pct)} of cost")
    table.add_row(f"Cost if all {top}", usd(t.cost_if_opus_usd), "the top of the ladder")
    table.add_row(
        f"Savings vs all {top}",
        f"[green]{usd(summary.savings_vs_opus_usd)}[/]",
        pct(summary.savings_vs_opus_pct),
    )
    table.add_row(f"Cost if all {middle}", usd(t.cost_if_sonnet_usd), "")
    table.add_row(
        f"Savings vs all {middle}", usd(summary.savings_vs_sonnet_usd), pct(summary.savings_vs_sonnet_pct)
    )
    if t.unpriced:
        table.add_row(
            "Unpriced requests",
            f"[yellow]{tokens(t.unpriced)}[/]",
            "model not on the price sheet: not in any cost",
        )
    table.add_row(
        "Cache savings", usd(summary.cache_savings_usd), f"hit rate {pct(summary.cache_hit_rate_pct)}"
    )
    table.add_row(
        "Requests", tokens(t.requests), f"{t.errors} errors · {t.fallbacks} fallbacks · {t.retries} retries"
    )
    return table


def groups_table(
    title: str, groups: Sequence[Group], dims: Sequence[Dimension], width: int, top: str = "Opus"
) -> Table:
    """One row per group, fitted to `width`: the costs stay, token columns go first."""
    columns = [Column(dim.value.capitalize(), "id") for dim in dims] + [
        Column("Requests", "number"),
        Column("In", "number", drop=4),
        Column("Out", "number", drop=3),
        Column("Cache read", "number", drop=5),
        Column("Cost", "number"),
        Column(f"If all {top}", "number", drop=2),
        Column("Saved", "number", drop=1),
    ]
    rows = []
    for g in groups:
        t = g.totals
        saved = t.cost_if_opus_usd - t.total_cost_usd
        rows.append(
            [
                *(escape(key_text(g.key[d], d)) for d in dims),
                tokens(t.requests),
                tokens(t.usage.input_tokens),
                tokens(t.usage.output_tokens),
                tokens(t.usage.cache_read_tokens),
                cost_text(t),
                usd(t.cost_if_opus_usd),
                pct(percent(saved, t.cost_if_opus_usd)),
            ]
        )
    return fitted_table(columns, rows, width, **_money_table_options(title))


def render_summary(console: Console, summary: Summary) -> None:
    """The full report: tier mix, costs and savings, top customers and the chosen breakdown."""
    who = f" · customer {escape(summary.customer)}" if summary.customer else ""
    title = f"[bold]Cost report[/] · {window_text(summary.since, summary.until)}{who}"
    top = short_model(summary.baseline.top)
    inner = console.width - _PANEL_FRAME
    parts: list[Table] = [tier_table(summary)]
    if summary.by_model_effort:
        parts.append(effort_table(summary))
    parts.append(cost_table(summary))
    if summary.top_customers:
        parts.append(groups_table("Top customers", summary.top_customers, [Dimension.CUSTOMER], inner, top))
    if summary.sessions is not None:
        parts.append(sessions_table(summary.sessions, inner))
    if summary.by and summary.by not in ((Dimension.CUSTOMER,), (Dimension.SESSION,)):
        by = " × ".join(d.value for d in summary.by)
        parts.append(groups_table(f"By {by}", summary.breakdown, summary.by, inner, top))
    if summary.quality is not None and summary.quality.labels:
        parts.append(quality_table(summary.quality))
    if summary.sources is not None:
        parts.append(sources_table(summary.sources, inner))
    console.print(Panel(RenderGroup(*parts), title=title, subtitle=summary.ledger, border_style="cyan"))


# ---- the run report: what one demo or batch run cost, read back from the ledger -----------------


async def print_run_report(
    console: Console, ledger: Ledger, request_ids: Sequence[str], *, top: str = "claude-opus-5-5"
) -> Totals:
    """The seed's cost report for these requests, read back from the ledger, plus what the seed
    left out (classifier tokens and cost, cache tokens, retries, fallbacks). The saving is against
    `top`, the model the what-ifs were priced on (the top of the ladder). Returns the sums."""
    found = {r.request_id: r for r in await ledger.rows(request_ids=list(request_ids))}
    records = [found[i] for i in request_ids if i in found]
    total = Totals.of(records)
    console.print(
        Panel(
            RenderGroup(_run_mix(records, total), _run_costs(total, short_model(top))),
            title="[bold]COST REPORT[/]",
        )
    )
    console.print(_run_requests(records))
    missing = len(request_ids) - len(records)
    if missing:
        console.print(f"[yellow]{missing} request(s) not found in the ledger[/]")
    return total


def _run_mix(records: Sequence[UsageRecord], total: Totals) -> Table:
    """Requests by model, and by effort where the requests were sent with one."""
    counts: dict[str, int] = {}
    for r in records:
        name = (short_model(r.model_used) if r.model_used else "Failed") + (
            f" · {r.effort}" if r.effort else ""
        )
        counts[name] = counts.get(name, 0) + 1
    table = Table(
        box=None, show_header=False, title=f"Total requests: {total.requests}", title_justify="left"
    )
    table.add_column()
    table.add_column(justify="right")
    table.add_column(justify="right")
    for name, n in counts.items():
        table.add_row(name, f"{n} requests", f"({percent(Decimal(n), Decimal(total.requests)):.0f}%)")
    return table


def _run_costs(t: Totals, top: str) -> Table:
    saved = t.cost_if_opus_usd - t.total_cost_usd
    table = Table(box=None, show_header=False)
    table.add_column(style="dim")
    table.add_column(justify="right")
    table.add_column()
    table.add_row("Actual cost (USD)", f"[bold]{usd6(t.total_cost_usd)}[/]", "")
    table.add_row(f"Cost if all {top} (USD)", usd6(t.cost_if_opus_usd), "")
    table.add_row("Savings (USD)", f"[green]{usd6(saved)}[/]", f"({pct(percent(saved, t.cost_if_opus_usd))})")
    if t.unpriced:
        table.add_row("Unpriced", f"[yellow]{t.unpriced} requests[/]", "model not on the price sheet")
    classifier = f"{tokens(t.classifier_input_tokens)} in / {tokens(t.classifier_output_tokens)} out"
    table.add_row("Classifier", usd6(t.classifier_cost_usd), classifier)
    cache = f"{tokens(t.usage.cache_write_tokens)} written / {tokens(t.usage.cache_read_tokens)} read"
    table.add_row("Cache tokens", "", cache)
    table.add_row("Retries / fallbacks", "", f"{t.retries} / {t.fallbacks}")
    return table


def _run_requests(records: Sequence[UsageRecord]) -> RenderGroup:
    """The seed's per-request table, then what it left out, each narrow enough for 80 columns."""
    seed = Table(title="PER-REQUEST BREAKDOWN", title_justify="left", box=box.SIMPLE_HEAD)
    extra = Table(
        title="CLASSIFIER, CACHE, RETRIES", title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False
    )
    for table, names in (
        (seed, ("ID", "Model", "Label", "In", "Out", "Cost $", "Latency")),
        (extra, ("ID", "Source", "Clf tok", "Clf $", "Cache w/r", "Retry", "Fallback")),
    ):
        for i, name in enumerate(names):
            table.add_column(
                name, no_wrap=True, justify="left" if i < (3 if table is seed else 2) else "right"
            )
    for r in records:
        u, c = r.usage, r.classifier_usage
        rid = r.task_id or r.request_id
        label = r.label.value if r.label else "-"
        seed.add_row(
            rid,
            short_model(r.model_used),
            label,
            tokens(u.input_tokens),
            tokens(u.output_tokens),
            usd6(r.total_cost_usd) if r.priced else UNPRICED,
            f"{r.latency_s:.2f}s",
        )
        extra.add_row(
            rid,
            r.classifier_source.value,
            f"{c.input_tokens}/{c.output_tokens}",
            usd6(r.classifier_cost_usd),
            f"{u.cache_write_tokens}/{u.cache_read_tokens}",
            str(r.retries),
            "yes" if r.fallback else "",
        )
    return RenderGroup(seed, extra)


# ---- the log view ---------------------------------------------------------------------------------


def logs_table(records: Sequence[UsageRecord], width: int) -> Table:
    """Latest requests, newest first, like a log viewer, fitted to `width`: the request id, model,
    status and cost always; tokens, latency, label, customer and cache reads as room allows."""
    columns = [
        Column("Time (UTC)", "number"),
        Column("Request", "id"),
        Column("Customer", "id", drop=4),
        Column("Model"),
        Column("Label", drop=5),
        Column("Status", "id"),
        Column("In", "number", drop=2),
        Column("Out", "number", drop=2),
        Column("Cache r", "number", drop=6),
        Column("Cost", "number"),
        Column("Latency", "number", drop=3),
    ]
    stamp = "%Y-%m-%d %H:%M:%S" if width >= _FULL_DATES else "%m-%d %H:%M:%S"  # the year, when there is room
    rows = [
        [
            r.created_at.strftime(stamp),
            escape(r.task_id or r.request_id),
            escape(r.customer or "-"),
            escape(short_model(r.model_used))
            + (f" · {r.effort}" if r.effort else "")
            + (" ↻" if r.fallback else "")
            + (" ⧗" if r.batch else ""),
            r.label.value if r.label else "-",
            "[green]ok[/]" if r.ok else f"[red]{escape(r.status)}[/]",
            tokens(r.usage.input_tokens),
            tokens(r.usage.output_tokens),
            tokens(r.usage.cache_read_tokens),
            usd(r.total_cost_usd) if r.priced else f"[yellow]{UNPRICED}[/]",
            f"{r.latency_s:.2f}s",
        ]
        for r in records
    ]
    return fitted_table(columns, rows, width, box=box.SIMPLE_HEAD)
