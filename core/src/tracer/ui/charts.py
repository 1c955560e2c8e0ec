"""Charts as inline SVG, made on the server: readable without JavaScript, no chart library.

Each chart is an ``<svg role="img">`` with a ``<title>`` and a ``<desc>`` listing every
value, so a screen reader (and a test) reads the numbers the bars show. Colours are SVG
attributes, not ``style``: the console's Content-Security-Policy allows no inline styles.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from html import escape

from markupsafe import Markup

PALETTE = ("#2f6fb0", "#c4612f", "#5a9a3c", "#8a5ab0", "#b0892f", "#3c9a9a")


def _fmt(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 or float(value).is_integer() else f"{value:.3f}"


def hbars(title: str, items: Sequence[tuple[str, float]], *,
          marks: Sequence[tuple[str, float]] = (), limit: float | None = None,
          width: int = 560, fmt: Callable[[float], str] = _fmt) -> Markup:
    """Horizontal bars, one per ``(label, value)``; ``marks`` are dashed reference lines
    (e.g. PSI 0.1 and 0.25, or an allowance)."""
    label_w, row_h, top = 180, 22, 8
    plot_w = width - label_w - 70
    top_value = max([limit or 0.0, *(v for _, v in items), *(v for _, v in marks), 1e-9])
    height = top + row_h * max(len(items), 1) + 24
    desc = "; ".join(f"{label}: {fmt(value)}" for label, value in items) or "no values"
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" class="chart" '
           f'viewBox="0 0 {width} {height}" width="{width}" height="{height}">',
           f"<title>{escape(title)}</title><desc>{escape(desc)}</desc>"]
    for i, (label, value) in enumerate(items):
        y = top + i * row_h
        w = max(0.0, value) / top_value * plot_w
        out.append(f'<text x="{label_w - 6}" y="{y + 15}" text-anchor="end" '
                   f'font-size="12">{escape(label[:28])}</text>')
        out.append(f'<rect x="{label_w}" y="{y + 3}" width="{w:.1f}" height="{row_h - 6}" '
                   f'fill="{PALETTE[0]}"/>')
        out.append(f'<text x="{label_w + w + 4:.1f}" y="{y + 15}" font-size="12">'
                   f"{escape(fmt(value))}</text>")
    bottom = top + row_h * max(len(items), 1)
    for label, value in marks:
        x = label_w + value / top_value * plot_w
        out.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{bottom}" '
                   f'stroke="#a33" stroke-dasharray="4 3"/>')
        out.append(f'<text x="{x:.1f}" y="{bottom + 14}" font-size="11" text-anchor="middle" '
                   f'fill="#a33">{escape(label)}</text>')
    out.append("</svg>")
    return Markup("".join(out))


def grouped_columns(title: str, groups: Sequence[tuple[str, dict[str, float]]], *,
                    width: int = 640, height: int = 240,
                    fmt: Callable[[float], str] = _fmt) -> Markup:
    """Columns per group (e.g. per period: earnings, refunds, fees, payouts), with a legend.
    Negative values are drawn below the zero line."""
    series = list(dict.fromkeys(name for _, values in groups for name in values))
    left, bottom_pad, top = 60, 40, 24
    plot_h = height - bottom_pad - top
    hi = max([0.0, *(v for _, vals in groups for v in vals.values())])
    lo = min([0.0, *(v for _, vals in groups for v in vals.values())])
    span = (hi - lo) or 1.0
    zero = top + hi / span * plot_h
    slot = (width - left - 10) / max(len(groups), 1)
    bar = max(4.0, slot * 0.8 / max(len(series), 1))
    desc = "; ".join(f"{g}: " + ", ".join(f"{k} {fmt(v)}" for k, v in vals.items())
                     for g, vals in groups) or "no values"
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" class="chart" '
           f'viewBox="0 0 {width} {height}" width="{width}" height="{height}">',
           f"<title>{escape(title)}</title><desc>{escape(desc)}</desc>",
           f'<line x1="{left}" y1="{zero:.1f}" x2="{width - 10}" y2="{zero:.1f}" '
           f'stroke="#555"/>',
           f'<text x="{left - 4}" y="{top + 4}" font-size="11" text-anchor="end">'
           f"{escape(fmt(hi))}</text>",
           f'<text x="{left - 4}" y="{zero + 4:.1f}" font-size="11" text-anchor="end">0</text>']
    for gi, (group, values) in enumerate(groups):
        x0 = left + gi * slot + slot * 0.1
        for si, name in enumerate(series):
            value = values.get(name, 0.0)
            h = abs(value) / span * plot_h
            y = zero - h if value >= 0 else zero
            out.append(f'<rect x="{x0 + si * bar:.1f}" y="{y:.1f}" width="{bar - 1:.1f}" '
                       f'height="{h:.1f}" fill="{PALETTE[si % len(PALETTE)]}">'
                       f"<title>{escape(group)} {escape(name)}: {escape(fmt(value))}</title>"
                       "</rect>")
        out.append(f'<text x="{left + gi * slot + slot / 2:.1f}" y="{height - 24}" '
                   f'font-size="11" text-anchor="middle">{escape(group)}</text>')
    for si, name in enumerate(series):
        x = left + si * 120
        out.append(f'<rect x="{x}" y="{height - 14}" width="10" height="10" '
                   f'fill="{PALETTE[si % len(PALETTE)]}"/>')
        out.append(f'<text x="{x + 14}" y="{height - 5}" font-size="11">{escape(name)}</text>')
    out.append("</svg>")
    return Markup("".join(out))
