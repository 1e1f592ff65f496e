"""The cost report as one self-contained HTML file: inline CSS and inline SVG charts, so it opens
offline, attaches to an email and prints as it looks on screen."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from html import escape
from importlib import resources

from ..ledger import Dimension, Group
from . import svg
from .fmt import cost_text, effort_text, group_label, key_text, pct, short_model, tokens, usd, window_text
from .quality import quality_card
from .sources import sources_card
from .summary import FAILED, Summary, cache_hit_rate, percent, text_key, tier_name

#: Tier colours, a few shades each so that several models of one tier stay apart.
PALETTE = {
    "haiku": ("#12b886", "#63e6be", "#087f5b"),
    "sonnet": ("#4c6ef5", "#91a7ff", "#364fc7"),
    "opus": ("#f76707", "#ffa94d", "#d9480f"),
    "other": ("#868e96", "#adb5bd", "#495057"),
    FAILED: ("#e03131",),  # no model answered: failed or refused
}
ACCENT = "#7048e8"


def model_colors(models: Sequence[str | None]) -> dict[str | None, str]:
    used: dict[str, int] = {}
    colors: dict[str | None, str] = {}
    for model in models:
        tier = tier_name(model)
        shades = PALETTE.get(tier, PALETTE["other"])
        colors[model] = shades[used.get(tier, 0) % len(shades)]
        used[tier] = used.get(tier, 0) + 1
    return colors


def _f(value: Decimal) -> float:
    return float(value)  # display only


def _usd_axis(v: float) -> str:
    if v == 0:
        return "$0"
    return f"${v:,.2f}" if v >= 0.1 else f"${v:.4f}"


def _kpi(label: str, value: str, note: str = "", cls: str = "") -> str:
    return (
        f'<div class="kpi {cls}"><div class="kpi-label">{escape(label)}</div>'
        f'<div class="kpi-value">{escape(value)}</div><div class="kpi-note">{escape(note)}</div></div>'
    )


def _kpis(s: Summary) -> str:
    t = s.totals
    top, middle = short_model(s.baseline.top), short_model(s.baseline.middle)
    unpriced = f" · {tokens(t.unpriced)} unpriced (model not on the price sheet)" if t.unpriced else ""
    failed = (
        f"{pct(percent(Decimal(t.errors), Decimal(t.requests)))} of requests"
        if t.errors
        else "every request answered"
    )
    return (
        '<section class="kpis">'
        + "".join(
            [
                _kpi("Actual spend", usd(s.actual_usd), f"{tokens(t.requests)} requests{unpriced}"),
                _kpi(
                    f"Saved vs all {top}",
                    usd(s.savings_vs_opus_usd),
                    pct(s.savings_vs_opus_pct) + " less",
                    "good",
                ),
                _kpi(
                    f"If everything ran on {top}",
                    usd(t.cost_if_opus_usd),
                    f"on {middle}: {usd(t.cost_if_sonnet_usd)}",
                ),
                _kpi(
                    "Classifier share",
                    pct(s.classifier_share_pct),
                    usd(t.classifier_cost_usd) + " routing overhead",
                ),
                _kpi("Cache savings", usd(s.cache_savings_usd), f"hit rate {pct(s.cache_hit_rate_pct)}"),
                _kpi("Failed requests", tokens(t.errors), failed, "bad" if t.errors else ""),
            ]
        )
        + "</section>"
    )


def _effort_card(s: Summary) -> str:
    """Requests by model and effort (only where the ledger recorded an effort)."""
    head = "".join(
        f'<th class="{"" if i < 2 else "num"}">{h}</th>'
        for i, h in enumerate(("Model", "Effort", "Requests", "Out / request", "Cost"))
    )
    rows = []
    for g in s.by_model_effort:
        t = g.totals
        model, effort = g.key[Dimension.MODEL], g.key[Dimension.EFFORT]
        cells = (
            short_model(model if isinstance(model, str) else None),
            effort_text(effort if isinstance(effort, str) else None),
        )
        nums = (
            tokens(t.requests),
            tokens(t.usage.output_tokens // t.requests if t.requests else 0),
            cost_text(t),
        )
        rows.append(
            "<tr>"
            + "".join(f"<td>{escape(c)}</td>" for c in cells)
            + "".join(f'<td class="num">{escape(n)}</td>' for n in nums)
            + "</tr>"
        )
    body = "".join(rows)
    table = f'<table class="data" id="model-effort"><thead><tr>{head}</tr></thead><tbody>{body}</tbody>'
    table += "</table>"
    return _card("By model and effort", table)


def _tier_rank(model: str | None) -> tuple[int, str]:
    order = {"haiku": 0, "sonnet": 1, "opus": 2, "other": 3, FAILED: 4}
    return order.get(tier_name(model), 4), model or ""


def _spend_chart(s: Summary, colors: dict[str | None, str]) -> str:
    days: list[date] = s.days
    models = sorted((text_key(g, Dimension.MODEL) for g in s.by_model), key=_tier_rank)
    cells = {
        (g.key[Dimension.DAY], text_key(g, Dimension.MODEL)): g.totals.total_cost_usd for g in s.by_day_model
    }
    series = [
        svg.Series(
            short_model(m) if m else "failed (no answer)",
            colors[m],
            [_f(cells.get((d, m), Decimal(0))) for d in days],
        )
        for m in models
    ]
    labels = [d.strftime("%b %d") for d in days]
    chart = svg.stacked_bars("spend-per-day", "Spend per day, stacked by model", labels, series, _usd_axis)
    keys = svg.legend([(x.name, x.color) for x in series])
    return _card("Spend per day, by model", chart + keys, wide=True)


def _tier_chart(s: Summary) -> str:
    total = Decimal(s.totals.requests)
    slices = [
        svg.Slice(
            str(g.key[Dimension.MODEL]).capitalize(),
            PALETTE.get(str(g.key[Dimension.MODEL]), PALETTE["other"])[0],
            float(g.totals.requests),
            f"{tokens(g.totals.requests)} requests ({pct(percent(Decimal(g.totals.requests), total))}), "
            f"{cost_text(g.totals)}",
        )
        for g in s.by_tier
    ]
    ring = svg.donut(
        "tier-mix", "Tier mix (share of requests)", slices, tokens(s.totals.requests), "requests"
    )
    rows = "".join(
        f'<tr><td><i class="dot" style="background:{x.color}"></i>{escape(x.name)}</td>'
        f'<td class="num">{tokens(g.totals.requests)}</td>'
        f'<td class="num">{pct(percent(Decimal(int(x.value)), total))}</td>'
        f'<td class="num">{escape(cost_text(g.totals))}</td></tr>'
        for x, g in zip(slices, s.by_tier, strict=True)
    )
    head = "<tr><th>Tier</th>" + "".join(f'<th class="num">{h}</th>' for h in ("Requests", "Share", "Cost"))
    table = f'<table class="mini">{head}</tr>{rows}</table>'
    return _card("Tier mix", f'<div class="split">{ring}{table}</div>')


def _savings_chart(s: Summary) -> str:
    t = s.totals
    top, middle = short_model(s.baseline.top), short_model(s.baseline.middle)
    routed = f"{usd(s.actual_usd)} · {pct(s.savings_vs_opus_pct)} below all {top}"
    bars = [
        svg.Slice(f"All on {top}", PALETTE["opus"][0], _f(t.cost_if_opus_usd), usd(t.cost_if_opus_usd)),
        svg.Slice(
            f"All on {middle}", PALETTE["sonnet"][0], _f(t.cost_if_sonnet_usd), usd(t.cost_if_sonnet_usd)
        ),
        svg.Slice("Routed (actual)", PALETTE["haiku"][0], _f(s.actual_usd), routed),
    ]
    chart = svg.hbars("savings", "What the same traffic would have cost", bars, label_w=120)
    saved = f'<p class="big good">{escape(usd(s.savings_vs_opus_usd))} saved vs all {escape(top)}</p>'
    return _card("Savings", chart + saved)


def _cache_chart(s: Summary) -> str:
    by_day: dict[object, Group] = {}
    for g in s.by_day_model:
        day = g.key[Dimension.DAY]
        by_day[day] = Group({Dimension.DAY: day}, by_day[day].totals + g.totals) if day in by_day else g
    values = [_f(cache_hit_rate(by_day[d].totals.usage)) if d in by_day else 0.0 for d in s.days]
    labels = [d.strftime("%b %d") for d in s.days]
    chart = svg.area_line("cache-hit-rate", "Cache hit rate per day", labels, values, ACCENT)
    note = (
        f"Overall {pct(s.cache_hit_rate_pct)} of prompt tokens read from the cache;"
        f" saved {usd(s.cache_savings_usd)}."
    )
    return _card("Cache hit rate", chart + f'<p class="note">{escape(note)}</p>')


def _customers_chart(s: Summary) -> str:
    if not s.top_customers:
        return _card("Top customers", '<p class="note">No requests in this window.</p>')
    bars = [
        svg.Slice(
            key_text(g.key[Dimension.CUSTOMER], Dimension.CUSTOMER),
            ACCENT,
            _f(g.totals.total_cost_usd),
            f"{usd(g.totals.total_cost_usd)} · {tokens(g.totals.requests)} req · saved {pct(_saved_pct(g))}",
        )
        for g in s.top_customers
    ]
    return _card("Top customers", svg.hbars("top-customers", "Top customers by spend", bars))


def _saved_pct(g: Group) -> Decimal:
    t = g.totals
    return percent(t.cost_if_opus_usd - t.total_cost_usd, t.cost_if_opus_usd)


def _breakdown(s: Summary) -> str:
    dims = s.by or ()
    head = "".join(f"<th>{escape(d.value.capitalize())}</th>" for d in dims)
    head += "".join(
        f'<th class="num">{h}</th>'
        for h in (
            "Requests",
            "In",
            "Out",
            "Cache read",
            "Cost",
            f"If all {escape(short_model(s.baseline.top))}",
            "Saved",
        )
    )
    rows = []
    for g in s.breakdown:
        t = g.totals
        cells = "".join(f"<td>{escape(key_text(g.key[d], d))}</td>" for d in dims)
        saved = _saved_pct(g)
        nums = (
            tokens(t.requests),
            tokens(t.usage.input_tokens),
            tokens(t.usage.output_tokens),
            tokens(t.usage.cache_read_tokens),
            cost_text(t),
            usd(t.cost_if_opus_usd),
            pct(saved),
        )
        rows.append("<tr>" + cells + "".join(f'<td class="num">{escape(n)}</td>' for n in nums) + "</tr>")
    title = "By " + " × ".join(d.value for d in dims) if dims else "Totals"
    body = "".join(rows)
    table = f'<table class="data" id="breakdown"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'
    return _card(title, table, wide=True)


def _card(title: str, body: str, *, wide: bool = False) -> str:
    return f'<section class="card{" wide" if wide else ""}"><h2>{escape(title)}</h2>{body}</section>'


def render_html(s: Summary) -> str:
    """The whole page."""
    colors = model_colors([text_key(g, Dimension.MODEL) for g in s.by_model])
    who = f" · customer {s.customer}" if s.customer else ""
    body = "".join(
        [
            "<header><h1>claude-router <span>cost report</span></h1>",
            f"<p>{escape(window_text(s.since, s.until) + who)} · {escape(s.ledger)}</p></header>",
            _kpis(s),
            '<main class="grid">',
            _spend_chart(s, colors),
            _tier_chart(s),
            _effort_card(s) if s.by_model_effort else "",
            _savings_chart(s),
            _cache_chart(s),
            _customers_chart(s),
            _breakdown(s),
            quality_card(s.quality) if s.quality is not None and s.quality.labels else "",
            sources_card(s.sources) if s.sources is not None else "",
            "</main>",
            f"<footer>Generated {escape(s.generated_at.strftime('%Y-%m-%d %H:%M UTC'))}. "
            "Actual cost includes the classifier; what-if costs price each request's tokens"
            f" on the ladder's top ({escape(s.baseline.top)}) and middle ({escape(s.baseline.middle)})"
            " models; unpriced requests (a model not on the price sheet) are in no cost.</footer>",
        ]
    )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>claude-router cost report · {escape(group_label(Group({}, s.totals)))}</title>"
        f"<style>{_css()}</style></head><body>{body}</body></html>\n"
    )


def _css() -> str:
    return resources.files(__package__).joinpath("report.css").read_text(encoding="utf-8")
