"""Inline SVG charts, written as text: no JavaScript, no fonts or scripts from the network.

Numbers arrive as floats (display only: the money behind them stays `Decimal` elsewhere).
Every chart is an `<svg class="chart" id=...>` with a `<title>`, so it reads well to people,
screen readers and tests alike.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

Fmt = Callable[[float], str]
_FONT = 'font-family="inherit" font-size="11" fill="#5b6475"'


def _label(x: float, y: float, text: str, anchor: str = "middle") -> str:
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" {_FONT}>{escape(text)}</text>'


@dataclass(frozen=True, slots=True)
class Series:
    name: str
    color: str
    values: Sequence[float]


@dataclass(frozen=True, slots=True)
class Slice:
    name: str
    color: str
    value: float
    note: str = ""


def clip(text: str, limit: int = 18) -> str:
    """Shorten a label that would run into its bar; the full text stays in the tooltip."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def nice_ticks(top: float, count: int = 4) -> list[float]:
    """Round axis ticks from 0 to at least `top`."""
    if top <= 0:
        return [0.0, 1.0]
    raw = top / count
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    return [i * step for i in range(math.ceil(top / step - 1e-9) + 1)]


def _open(chart_id: str, title: str, width: float, height: float) -> str:
    return (
        f'<svg class="chart" id="{escape(chart_id)}" role="img" viewBox="0 0 {width:.0f} {height:.0f}" '
        f'width="100%" xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>'
    )


def _y_axis(ticks: Sequence[float], x0: float, x1: float, y: Callable[[float], float], fmt: Fmt) -> str:
    parts = []
    for t in ticks:
        parts.append(f'<line x1="{x0}" x2="{x1}" y1="{y(t):.1f}" y2="{y(t):.1f}" stroke="#e6e9f0"/>')
        parts.append(
            f'<text x="{x0 - 6}" y="{y(t) + 4:.1f}" text-anchor="end" {_FONT}>{escape(fmt(t))}</text>'
        )
    return "".join(parts)


def stacked_bars(
    chart_id: str,
    title: str,
    categories: Sequence[str],
    series: Sequence[Series],
    fmt: Fmt,
    *,
    height: float = 260,
) -> str:
    """Vertical bars per category, each stacked by series (e.g. spend per day by model)."""
    width, left, bottom, top_pad = 1200.0, 64.0, 28.0, 12.0
    totals = [sum(s.values[i] for s in series) for i in range(len(categories))]
    ticks = nice_ticks(max(totals, default=0.0))
    plot_h = height - bottom - top_pad

    def y(v: float) -> float:
        return top_pad + plot_h * (1 - v / ticks[-1])

    slot = (width - left - 8) / max(len(categories), 1)
    bar_w = max(min(slot * 0.7, 48), 2)
    parts = [_open(chart_id, title, width, height), _y_axis(ticks, left, width - 8, y, fmt)]
    label_every = max(1, math.ceil(len(categories) / 12))
    for i, cat in enumerate(categories):
        x = left + slot * i + (slot - bar_w) / 2
        base = 0.0
        for s in series:
            v = s.values[i]
            if v > 0:
                h = y(base) - y(base + v)
                tip = f"{cat} · {s.name}: {fmt(v)}"
                parts.append(
                    f'<rect x="{x:.1f}" y="{y(base + v):.1f}" width="{bar_w:.1f}" height="{max(h, 0.5):.1f}" '
                    f'fill="{s.color}" rx="2"><title>{escape(tip)}</title></rect>'
                )
                base += v
        if i % label_every == 0:
            parts.append(_label(x + bar_w / 2, height - 10, cat))
    parts.append("</svg>")
    return "".join(parts)


def donut(chart_id: str, title: str, slices: Sequence[Slice], center: str, caption: str) -> str:
    """A ring of shares (e.g. the tier mix), with the total in the middle."""
    size, r, stroke = 200.0, 70.0, 30.0
    total = sum(s.value for s in slices)
    circumference = 2 * math.pi * r
    parts = [_open(chart_id, title, size, size)]
    parts.append(f'<circle cx="100" cy="100" r="{r}" fill="none" stroke="#eef0f5" stroke-width="{stroke}"/>')
    offset = 0.0
    for s in slices:
        if s.value <= 0 or total <= 0:
            continue
        length = circumference * s.value / total
        parts.append(
            f'<circle class="slice" cx="100" cy="100" r="{r}" fill="none" stroke="{s.color}" '
            f'stroke-width="{stroke}" stroke-dasharray="{length:.2f} {circumference - length:.2f}" '
            f'stroke-dashoffset="{-offset:.2f}" transform="rotate(-90 100 100)">'
            f"<title>{escape(s.name)}: {escape(s.note)}</title></circle>"
        )
        offset += length
    parts.append(
        f'<text x="100" y="98" text-anchor="middle" font-size="26" font-weight="700" fill="#1d2433">'
        f"{escape(center)}</text>{_label(100, 120, caption)}</svg>"
    )
    return "".join(parts)


def hbars(chart_id: str, title: str, bars: Sequence[Slice], *, label_w: float = 110) -> str:
    """Horizontal bars: a label on the left, the bar, and the bar's note (its value) on the right."""
    width, row_h = 560.0, 34.0
    height = row_h * max(len(bars), 1) + 8
    top = max((b.value for b in bars), default=0.0) or 1.0
    room = width - label_w - 210
    parts = [_open(chart_id, title, width, height)]
    for i, b in enumerate(bars):
        y = 4 + i * row_h
        w = max(room * b.value / top, 1.5 if b.value > 0 else 0)
        value = b.note
        bar = f'x="{label_w}" y="{y + 6}" width="{w:.1f}" height="18" rx="3" fill="{b.color}"'
        parts.append(
            f'<text x="{label_w - 8}" y="{y + 19}" text-anchor="end" font-size="12" fill="#1d2433">'
            f"{escape(clip(b.name))}</text>"
            f'<rect class="bar" {bar}><title>{escape(b.name)}: {escape(value)}</title></rect>'
            f'<text x="{label_w + w + 6:.1f}" y="{y + 19}" {_FONT}>{escape(value)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def area_line(
    chart_id: str, title: str, categories: Sequence[str], values: Sequence[float], color: str
) -> str:
    """A 0-100 % line with a soft area under it (e.g. the cache hit rate per day)."""
    width, height, left, bottom, top_pad = 560.0, 220.0, 44.0, 28.0, 12.0
    plot_w, plot_h = width - left - 12, height - bottom - top_pad

    def y(v: float) -> float:
        return top_pad + plot_h * (1 - v / 100)

    def x(i: int) -> float:
        return left + (plot_w * i / (len(values) - 1) if len(values) > 1 else plot_w / 2)

    parts = [
        _open(chart_id, title, width, height),
        _y_axis([0, 25, 50, 75, 100], left, width - 12, y, _percent),
    ]
    if values:
        points = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(values))
        area = f"{x(0):.1f},{y(0):.1f} {points} {x(len(values) - 1):.1f},{y(0):.1f}"
        parts.append(f'<polygon points="{area}" fill="{color}" fill-opacity="0.14"/>')
        parts.append(
            f'<polyline class="line" points="{points}" fill="none" stroke="{color}" stroke-width="2.5"/>'
        )
        for i, v in enumerate(values):
            tip = f"{categories[i]}: {v:.1f}%"
            dot = f'cx="{x(i):.1f}" cy="{y(v):.1f}" r="3.5" fill="#fff" stroke="{color}" stroke-width="2"'
            parts.append(f"<circle {dot}><title>{escape(tip)}</title></circle>")
        every = max(1, math.ceil(len(categories) / 8))
        for i, cat in enumerate(categories):
            if i % every == 0:
                parts.append(_label(x(i), height - 10, cat))
    parts.append("</svg>")
    return "".join(parts)


def _percent(v: float) -> str:
    return f"{v:.0f}%"


def legend(items: Sequence[tuple[str, str]]) -> str:
    """Colour keys as HTML (wraps naturally, unlike SVG text)."""
    keys = "".join(
        f'<span class="key"><i style="background:{color}"></i>{escape(name)}</span>' for name, color in items
    )
    return f'<div class="legend">{keys}</div>'
