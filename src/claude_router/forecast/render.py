"""A forecast for people and programs: a side-by-side rich table, JSON, and an HTML section that
uses the cost report's styles and charts."""

from __future__ import annotations

from decimal import Decimal
from html import escape
from typing import Any

from rich import box
from rich.console import Console
from rich.markup import escape as markup_escape
from rich.table import Table

from ..catalog.pricing import TIERS
from ..report import html as report_html
from ..report import svg
from ..report.fmt import effort_text, pct, short_model, tokens, usd
from .replay import Forecast, PolicyForecast

_HUNDRED = Decimal(100)


def _vs(result: PolicyForecast, base: PolicyForecast) -> Decimal:
    return (result.cost_usd - base.cost_usd) * _HUNDRED / base.cost_usd if base.cost_usd else Decimal(0)


def _money(value: Decimal) -> str:
    """The report's money format, whole dollars from $1,000 (the table must fit 80 columns)."""
    return f"${value:,.0f}" if abs(value) >= 1000 else usd(value)


def _signed_pct(value: Decimal) -> str:
    return ("+" if value > 0 else "") + pct(value)


def _mix(result: PolicyForecast) -> str:
    return "/".join(f"{result.tier_share_pct(t):.0f}" for t in TIERS)


def _notes(forecast: Forecast) -> list[str]:
    w = forecast.workload
    notes = [f"{tokens(w.requests)} requests replayed from {w.source}, over {w.span_days:.1f} day(s)"]
    if w.excluded:
        notes.append(f"{tokens(w.excluded)} failed requests not replayed")
    if w.skipped:
        notes.append(f"{tokens(w.skipped)} lines skipped")
    for r in forecast.policies:
        if r.unpriced:
            notes.append(f"{r.name}: {tokens(r.unpriced)} requests unpriced (model not on the price sheet)")
    return notes


def _mix_rows(forecast: Forecast) -> list[tuple[str, str, str, int, Decimal]]:
    """(policy, model, effort, requests, share %) for each policy's mix, biggest first."""
    rows = []
    for r in forecast.policies:
        for (model, effort), n in sorted(r.mix.items(), key=lambda item: (-item[1], item[0][0])):
            share = Decimal(n) * _HUNDRED / r.requests if r.requests else Decimal(0)
            rows.append((r.name, short_model(model), effort_text(effort), n, share))
    return rows


def mix_table(forecast: Forecast) -> Table:
    """Each policy's requests by model and the effort it sends them with."""
    table = Table(title="Mix by model and effort", title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    for name in ("Policy", "Model", "Effort"):
        table.add_column(name, no_wrap=True)
    for name in ("Requests", "Share"):
        table.add_column(name, justify="right", no_wrap=True)
    for policy, model, effort, n, share in _mix_rows(forecast):
        table.add_row(policy, model, effort, tokens(n), pct(share))
    return table


def render_table(console: Console, forecast: Forecast) -> None:
    base = forecast.baseline()
    table = Table(
        title=f"Forecast: each policy on the same traffic (baseline: {base.name})",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        title_style="bold",
        pad_edge=False,
    )
    table.add_column("Policy", no_wrap=True)
    for name in ("Cost", "vs base", "H/S/O %", "Cache saved", "Risk"):
        table.add_column(name, justify="right", no_wrap=True)
    table.add_column(f"{forecast.days} days", justify="right", no_wrap=True)
    for r in forecast.policies:
        risk = pct(r.quality_risk_pct) if r.labelled else "n/a"
        table.add_row(
            r.name,
            _money(r.cost_usd),
            _signed_pct(_vs(r, base)),
            _mix(r),
            _money(r.cache_savings_usd),
            risk,
            _money(r.monthly_usd),
        )
    console.print(table)
    console.print(mix_table(forecast))
    for note in _notes(forecast):
        console.print(f"[dim]{markup_escape(note)}[/]")
    for problem in forecast.workload.problems:
        console.print(f"[yellow]skipped[/] {markup_escape(problem)}")


def to_json(forecast: Forecast) -> dict[str, Any]:
    """Money as exact decimal strings, shares as percentages."""
    w = forecast.workload
    base = forecast.baseline()
    return {
        "source": w.source,
        "requests": w.requests,
        "span_days": w.span_days,
        "projection_days": forecast.days,
        "skipped_lines": w.skipped,
        "problems": list(w.problems),
        "failed_requests_excluded": w.excluded,
        "baseline": base.name,
        "policies": [
            {
                "name": r.name,
                "requests": r.requests,
                "cost_usd": str(r.cost_usd),
                "classifier_cost_usd": str(r.classifier_cost_usd),
                "vs_baseline_pct": str(round(_vs(r, base), 2)),
                "tier_requests": {t.value: r.tier_requests[t] for t in TIERS},
                "cache_savings_usd": str(r.cache_savings_usd),
                "quality_risk_pct": str(round(r.quality_risk_pct, 2)) if r.labelled else None,
                "escalations": r.escalated,
                "unpriced_requests": r.unpriced,
                "mix": [
                    {"model": model, "effort": effort, "requests": n}
                    for (model, effort), n in sorted(r.mix.items(), key=lambda item: -item[1])
                ],
                "projection_usd": str(round(r.monthly_usd, 6)),
            }
            for r in forecast.policies
        ],
    }


def html_section(forecast: Forecast) -> str:
    """The forecast as cards of the cost report's page: a cost chart and the side-by-side table."""
    base = forecast.baseline()
    top_color = report_html.ACCENT
    bars = [svg.Slice(r.name, top_color, float(r.monthly_usd), usd(r.monthly_usd)) for r in forecast.policies]
    chart = svg.hbars("forecast-chart", f"{forecast.days}-day projection by policy", bars)
    heads = (
        "Policy",
        "Cost",
        "vs base",
        "Haiku",
        "Sonnet",
        "Opus",
        "Cache saved",
        "Quality risk",
        "Projection",
    )
    head = "".join(f'<th class="{"" if i == 0 else "num"}">{escape(h)}</th>' for i, h in enumerate(heads))
    rows = []
    for r in forecast.policies:
        cells = [
            usd(r.cost_usd),
            _signed_pct(_vs(r, base)),
            *(pct(r.tier_share_pct(t)) for t in TIERS),
            usd(r.cache_savings_usd),
            pct(r.quality_risk_pct) if r.labelled else "n/a",
            usd(r.monthly_usd),
        ]
        nums = "".join(f'<td class="num">{escape(c)}</td>' for c in cells)
        rows.append(f"<tr><td>{escape(r.name)}</td>{nums}</tr>")
    table = (
        f'<table class="data" id="forecast"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
        f"<p>{escape('; '.join(_notes(forecast)))}. Baseline: {escape(base.name)}.</p>"
    )
    mix_rows = "".join(
        f"<tr><td>{escape(p)}</td><td>{escape(m)}</td><td>{escape(e)}</td>"
        f'<td class="num">{tokens(n)}</td><td class="num">{pct(share)}</td></tr>'
        for p, m, e, n, share in _mix_rows(forecast)
    )
    mix_head = "".join(
        f'<th class="{"num" if i > 2 else ""}">{h}</th>'
        for i, h in enumerate(("Policy", "Model", "Effort", "Requests", "Share"))
    )
    mix = f'<table class="data" id="forecast-mix"><thead><tr>{mix_head}</tr></thead><tbody>{mix_rows}</tbody>'
    return (
        report_html._card("Forecast", chart)
        + report_html._card("Policies side by side", table, wide=True)
        + report_html._card("Mix by model and effort", mix + "</table>", wide=True)
    )


def render_html_page(forecast: Forecast) -> str:
    body = (
        "<header><h1>claude-router <span>forecast</span></h1>"
        f"<p>{escape(forecast.workload.source)}</p></header>"
        f'<main class="grid">{html_section(forecast)}</main>'
    )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<title>claude-router forecast</title>"
        f"<style>{report_html._css()}</style></head><body>{body}</body></html>\n"
    )
