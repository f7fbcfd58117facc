"""Server-rendered SVG charts: no JavaScript, no charting library, readable without colour.

Each chart is a small accessible SVG (``role="img"`` with a title, and a ``<title>``
tooltip on every mark); colours come from CSS classes in portal.css, so the
Content-Security-Policy can forbid inline styles.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from markupsafe import Markup, escape

__all__ = ["bar_chart", "donut_chart", "nice_ceiling"]


def nice_ceiling(value: float) -> float:
    """The smallest 1/2/2.5/5 x 10^n that is at least ``value`` (axis maximum)."""
    if value <= 0:
        return 1.0
    exponent = math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        candidate = step * 10**exponent
        if candidate >= value:
            return float(candidate)
    return float(10 ** (exponent + 1))  # pragma: no cover - the loop always returns


def _fmt(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def bar_chart(
    points: Sequence[tuple[str, int]],
    *,
    title: str,
    value_label: Callable[[int], str],
    axis_label: Callable[[float], str] | None = None,
    label_every: int = 1,
    width: int = 640,
    height: int = 200,
    highlight_last: bool = True,
) -> Markup:
    """A vertical bar chart of ``(label, value)`` points."""
    left, right, top, bottom = 64, 8, 10, 26
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = nice_ceiling(max((v for _, v in points), default=0))
    axis = axis_label or (lambda v: _fmt(v))
    parts = [
        f'<svg class="chart bars" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}" preserveAspectRatio="xMidYMid meet">',
        f"<title>{escape(title)}</title>",
    ]
    for i in range(5):
        y = top + plot_h - plot_h * i / 4
        parts.append(f'<line class="grid" x1="{left}" x2="{width - right}" y1="{_fmt(y)}" y2="{_fmt(y)}"/>')
        parts.append(
            f'<text class="axis" x="{left - 6}" y="{_fmt(y + 4)}" text-anchor="end">'
            f"{escape(axis(peak * i / 4))}</text>"
        )
    n = max(1, len(points))
    slot = plot_w / n
    bar_w = max(1.0, slot * 0.7)
    for i, (label, value) in enumerate(points):
        h = 0.0 if peak == 0 else plot_h * value / peak
        x = left + i * slot + (slot - bar_w) / 2
        y = top + plot_h - h
        css = "bar last" if highlight_last and i == len(points) - 1 else "bar"
        parts.append(
            f'<rect class="{css}" x="{_fmt(x)}" y="{_fmt(y)}" '
            f'width="{_fmt(bar_w)}" height="{_fmt(max(h, 0))}">'
            f"<title>{escape(label)}: {escape(value_label(value))}</title></rect>"
        )
        if i % label_every == 0 or i == len(points) - 1:
            parts.append(
                f'<text class="axis" x="{_fmt(x + bar_w / 2)}" y="{height - 8}" text-anchor="middle">'
                f"{escape(label)}</text>"
            )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every label is escape()d, every number formatted here


def donut_chart(parts: Sequence[tuple[str, int]], *, title: str, size: int = 160) -> Markup:
    """A donut of shares, with a legend the template renders from the same ``parts``."""
    total = sum(v for _, v in parts)
    r, stroke = size / 2 - 14, 22
    circumference = 2 * math.pi * r
    c = size / 2
    out = [
        f'<svg class="chart donut" viewBox="0 0 {size} {size}" role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        f'<circle class="track" cx="{c}" cy="{c}" r="{_fmt(r)}" fill="none" stroke-width="{stroke}"/>',
    ]
    offset = 0.0
    for i, (label, value) in enumerate(parts):
        if total == 0 or value == 0:
            continue
        length = circumference * value / total
        out.append(
            f'<circle class="slice s{i % 6}" cx="{c}" cy="{c}" r="{_fmt(r)}" fill="none" '
            f'stroke-width="{stroke}" stroke-dasharray="{_fmt(length)} {_fmt(circumference - length)}" '
            f'stroke-dashoffset="{_fmt(-offset)}" transform="rotate(-90 {c} {c})">'
            f"<title>{escape(label)}: {value} ({_fmt(100 * value / total)}%)</title></circle>"
        )
        offset += length
    out.append(f'<text class="donut-total" x="{c}" y="{c + 6}" text-anchor="middle">{total}</text>')
    out.append("</svg>")
    return Markup("".join(out))  # noqa: S704 - every label is escape()d, every number formatted here
