"""Charts as inline SVG, rendered on the server (no script, no CDN): horizontal bars for rankings,
a stacked bar for the status mix, lines for the trend."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from html import escape

from markupsafe import Markup

PALETTE = ["#b22222", "#1f4e79", "#2e8b57", "#d4a017", "#6a3d9a", "#e07b39", "#17becf"]


def _text(x: float, y: float, s: str, size: int = 12, anchor: str = "start", fill: str = "#1d2329",
          weight: str = "normal") -> str:
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" fill="{fill}" '
            f'font-weight="{weight}">{escape(s)}</text>')


def hbars(rows: Sequence[tuple[str, float, str]], width: int = 560, max_value: float | None = None,
          color: str = "#b22222", unit: str = "", title: str = "") -> Markup:
    """Horizontal bars: (label, value, shown text). Values 0..max (rates: max=1)."""
    if not rows:
        return Markup('<p class="muted">暂无数据</p>')
    label_w, bar_h, gap = 170, 18, 8
    top = 24 if title else 4
    height = top + len(rows) * (bar_h + gap) + 4
    top_value = max_value if max_value is not None else max((v for _l, v, _t in rows), default=1) or 1
    bar_w = width - label_w - 120
    parts = [(f'<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {width} {height}" '
              f'width="100%" style="max-width:{width}px" aria-label="{escape(title)}">')]
    if title:
        parts.append(_text(0, 15, title, 13, weight="600"))
    for i, (label, value, shown) in enumerate(rows):
        y = top + i * (bar_h + gap)
        w = max(0.0, min(1.0, value / top_value)) * bar_w if top_value else 0
        short = label if len(label) <= 12 else label[:11] + "…"
        parts.append(_text(label_w - 8, y + 13, short, 12, "end"))
        parts.append(f'<rect x="{label_w}" y="{y}" width="{bar_w}" height="{bar_h}" fill="#eef2f6" rx="3"/>')
        parts.append(f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{bar_h}" fill="{color}" rx="3">'
                     f'<title>{escape(label)}: {escape(shown)}</title></rect>')
        parts.append(_text(label_w + bar_w + 6, y + 13, shown + unit, 12))
    parts.append("</svg>")
    return Markup("".join(parts))


def stacked(parts_in: Sequence[tuple[str, int, str]], width: int = 560) -> Markup:
    """One stacked bar with a legend: (label, count, color)."""
    total = sum(n for _l, n, _c in parts_in)
    if total == 0:
        return Markup('<p class="muted">暂无数据</p>')
    h = 26
    out = [(f'<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {width} {h + 44}" width="100%" '
            f'style="max-width:{width}px">')]
    x = 0.0
    for label, n, color in parts_in:
        w = n / total * width
        if w > 0:
            out.append(f'<rect x="{x:.1f}" y="0" width="{w:.1f}" height="{h}" fill="{color}">'
                       f'<title>{escape(label)}: {n}</title></rect>')
            if w > 28:
                out.append(_text(x + w / 2, 17, str(n), 12, "middle", "#fff", "600"))
        x += w
    lx = 0.0
    for label, n, color in parts_in:
        out.append(f'<rect x="{lx:.1f}" y="{h + 14}" width="10" height="10" fill="{color}"/>')
        out.append(_text(lx + 14, h + 23, f"{label} {n}", 12))
        lx += 16 + 13 * (len(label) + len(str(n)) + 1)
    out.append("</svg>")
    return Markup("".join(out))


def lines(days: Sequence[date], series: Mapping[str, Sequence[int]], names: dict[str, str],
          width: int = 760, height: int = 240) -> Markup:
    """Cumulative lines per metric over days."""
    if not days or not series:
        return Markup('<p class="muted">暂无趋势数据</p>')
    left, right, top, bottom = 44, 110, 10, 26
    pw, ph = width - left - right, height - top - bottom
    top_value = max((max(v) if v else 0) for v in series.values()) or 1
    n = len(days)

    def px(i: int) -> float:
        return left + (pw * i / (n - 1) if n > 1 else pw / 2)

    def py(v: float) -> float:
        return top + ph - ph * v / top_value

    out = [(f'<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {width} {height}" width="100%" '
            f'style="max-width:{width}px" aria-label="趋势">')]
    for k in range(5):
        v = top_value * k / 4
        y = py(v)
        out.append(f'<line x1="{left}" x2="{left + pw}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e5e9ee"/>')
        out.append(_text(left - 6, y + 4, f"{v:.0f}", 11, "end", "#66707a"))
    step = max(1, n // 8)
    for i in range(0, n, step):
        out.append(_text(px(i), height - 8, days[i].strftime("%m-%d"), 11, "middle", "#66707a"))
    for idx, (metric, values) in enumerate(series.items()):
        color = PALETTE[idx % len(PALETTE)]
        pts = " ".join(f"{px(i):.1f},{py(v):.1f}" for i, v in enumerate(values))
        out.append(f'<polyline fill="none" stroke="{color}" stroke-width="2" points="{pts}"/>')
        ly = top + 14 + idx * 18
        out.append(f'<rect x="{left + pw + 12}" y="{ly - 9}" width="12" height="3" fill="{color}"/>')
        last = values[-1] if values else 0
        out.append(_text(left + pw + 28, ly - 4, f"{names.get(metric, metric)} {last}", 12))
    out.append("</svg>")
    return Markup("".join(out))
