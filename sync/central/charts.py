"""Small server-side SVG charts (no JavaScript, no CDN): bars and lines."""

from __future__ import annotations

from html import escape

PALETTE = ("#2563eb", "#dc2626", "#16a34a", "#d97706", "#7c3aed", "#0891b2", "#db2777", "#4b5563")


def _fmt(v: float) -> str:
    if abs(v) >= 1_000_000:
        return f"{v / 1_000_000:.1f}M"
    if abs(v) >= 10_000:
        return f"{v / 1000:.0f}k"
    return f"{v:.0f}" if float(v).is_integer() else f"{v:.1f}"


def bar_chart(
    labels: list[str], values: list[float], *, title: str, unit: str = "", width: int = 640, bar_h: int = 22
) -> str:
    if not labels:
        return f'<p class="empty">{escape(title)}: no data</p>'
    left, right = 140, 70
    h = 30 + bar_h * len(labels) + 10
    top = max(max(values), 0) or 1
    low = min(min(values), 0)
    span = (top - low) or 1
    scale = (width - left - right) / span
    zero = left + (-low) * scale
    parts = [
        f'<svg class="chart" role="img" aria-label="{escape(title)}" viewBox="0 0 {width} {h}" '
        f'width="{width}" height="{h}" xmlns="http://www.w3.org/2000/svg">',
        f'<title>{escape(title)}</title><text x="4" y="16" font-size="13" font-weight="bold">{escape(title)}</text>',
    ]
    for i, (lab, v) in enumerate(zip(labels, values)):
        y = 28 + i * bar_h
        x0 = zero if v >= 0 else zero + v * scale
        parts.append(
            f'<text x="{left - 6}" y="{y + bar_h * 0.65:.1f}" font-size="11" text-anchor="end">'
            f"{escape(str(lab))[:22]}</text>"
        )
        parts.append(
            f'<rect x="{x0:.1f}" y="{y + 2}" width="{max(abs(v) * scale, 1):.1f}" height="{bar_h - 6}" '
            f'fill="{PALETTE[0] if v >= 0 else PALETTE[1]}"><title>{escape(str(lab))}: {_fmt(v)}{escape(unit)}'
            f"</title></rect>"
        )
        parts.append(
            f'<text x="{x0 + max(abs(v) * scale, 1) + 4:.1f}" y="{y + bar_h * 0.65:.1f}" font-size="11">'
            f"{_fmt(v)}{escape(unit)}</text>"
        )
    parts.append(f'<line x1="{zero:.1f}" y1="24" x2="{zero:.1f}" y2="{h - 6}" stroke="#999"/></svg>')
    return "".join(parts)


def line_chart(
    xs: list[str], series: dict[str, list[float]], *, title: str, unit: str = "", width: int = 720, height: int = 260
) -> str:
    if not xs or not series:
        return f'<p class="empty">{escape(title)}: no data</p>'
    left, right, top, bottom = 60, 130, 28, 40
    allv = [v for vals in series.values() for v in vals] or [0]
    lo, hi = min(0, min(allv)), max(allv) or 1
    span = (hi - lo) or 1
    pw, ph = width - left - right, height - top - bottom
    step = pw / max(len(xs) - 1, 1)

    def px(i):
        return left + i * step

    def py(v):
        return top + ph - (v - lo) / span * ph

    parts = [
        f'<svg class="chart" role="img" aria-label="{escape(title)}" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" xmlns="http://www.w3.org/2000/svg">',
        f'<title>{escape(title)}</title><text x="4" y="16" font-size="13" font-weight="bold">{escape(title)}</text>',
    ]
    for frac in (0, 0.5, 1):
        v = lo + span * frac
        parts.append(
            f'<line x1="{left}" y1="{py(v):.1f}" x2="{left + pw}" y2="{py(v):.1f}" stroke="#e5e7eb"/>'
            f'<text x="{left - 4}" y="{py(v) + 4:.1f}" font-size="10" text-anchor="end">{_fmt(v)}</text>'
        )
    every = max(1, len(xs) // 8)
    for i, x in enumerate(xs):
        if i % every == 0 or i == len(xs) - 1:
            parts.append(
                f'<text x="{px(i):.1f}" y="{height - bottom + 16}" font-size="10" text-anchor="middle">'
                f"{escape(x[5:] if len(x) == 10 else x)}</text>"
            )
    for n, (name, vals) in enumerate(series.items()):
        color = PALETTE[n % len(PALETTE)]
        pts = " ".join(f"{px(i):.1f},{py(v):.1f}" for i, v in enumerate(vals))
        parts.append(f'<polyline fill="none" stroke="{color}" stroke-width="2" points="{pts}"/>')
        for i, v in enumerate(vals):
            parts.append(
                f'<circle cx="{px(i):.1f}" cy="{py(v):.1f}" r="2.5" fill="{color}">'
                f"<title>{escape(name)} {escape(xs[i])}: {_fmt(v)}{escape(unit)}</title></circle>"
            )
        parts.append(
            f'<rect x="{left + pw + 10}" y="{top + n * 16}" width="10" height="10" fill="{color}"/>'
            f'<text x="{left + pw + 24}" y="{top + n * 16 + 9}" font-size="11">{escape(name)[:16]}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
