"""Small SVG charts, rendered server-side (no script, no library): bars and a scatter."""

from __future__ import annotations

from html import escape

W, H = 560, 260
PAD_L, PAD_R, PAD_T, PAD_B = 60, 16, 30, 60


def _frame(title: str) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" role="img" aria-label="{escape(title)}">',
        f'<rect width="{W}" height="{H}" fill="#fff"/>',
        f'<text x="{PAD_L}" y="18" font-size="13" font-family="sans-serif">{escape(title)}</text>',
    ]


def bar_chart(
    title: str,
    labels: list[str],
    values: list[float],
    *,
    unit: str = "",
    errors: list[float] | None = None,
    vmax: float | None = None,
) -> str:
    """Vertical bars with their value on top; optional ± error whiskers."""
    parts = _frame(title)
    pw, ph = W - PAD_L - PAD_R, H - PAD_T - PAD_B
    top = (
        vmax if vmax is not None else max([v + (e or 0) for v, e in zip(values, errors or [0] * len(values))] + [1e-9])
    )
    parts.append(f'<line x1="{PAD_L}" y1="{PAD_T + ph}" x2="{PAD_L + pw}" y2="{PAD_T + ph}" stroke="#444"/>')
    parts.append(
        f'<text x="{PAD_L - 6}" y="{PAD_T + 4}" font-size="11" text-anchor="end" font-family="sans-serif">{top:.3g}{escape(unit)}</text>'
    )
    parts.append(
        f'<text x="{PAD_L - 6}" y="{PAD_T + ph}" font-size="11" text-anchor="end" font-family="sans-serif">0</text>'
    )
    n = max(1, len(values))
    slot = pw / n
    for i, (label, v) in enumerate(zip(labels, values)):
        h = max(0.0, v) / top * ph if top else 0
        x = PAD_L + i * slot + slot * 0.15
        parts.append(
            f'<rect x="{x:.1f}" y="{PAD_T + ph - h:.1f}" width="{slot * 0.7:.1f}" height="{h:.1f}" fill="#2563eb"/>'
        )
        parts.append(
            f'<text x="{x + slot * 0.35:.1f}" y="{PAD_T + ph - h - 4:.1f}" font-size="10" text-anchor="middle" font-family="sans-serif">{v:.3g}{escape(unit)}</text>'
        )
        if errors:
            e = errors[i] / top * ph if top else 0
            cx = x + slot * 0.35
            parts.append(
                f'<line x1="{cx:.1f}" y1="{PAD_T + ph - h - e:.1f}" x2="{cx:.1f}" y2="{PAD_T + ph - h + e:.1f}" stroke="#111"/>'
            )
        parts.append(
            f'<text x="{x + slot * 0.35:.1f}" y="{PAD_T + ph + 14}" font-size="10" text-anchor="end" font-family="sans-serif" transform="rotate(-30 {x + slot * 0.35:.1f} {PAD_T + ph + 14})">{escape(label[:28])}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def range_chart(title: str, labels: list[str], lows: list[float], highs: list[float], means: list[float]) -> str:
    """Per label, the min–max range as a bar and the mean as a tick (distributions at a glance)."""
    parts = _frame(title)
    pw, ph = W - PAD_L - PAD_R, H - PAD_T - PAD_B
    lo, hi = min(lows + [0.0]), max(highs + [0.0])
    span = (hi - lo) or 1.0

    def sy(v: float) -> float:
        return PAD_T + (1 - (v - lo) / span) * ph

    parts.append(f'<line x1="{PAD_L}" y1="{sy(0):.1f}" x2="{PAD_L + pw}" y2="{sy(0):.1f}" stroke="#bbb"/>')
    for v in (lo, hi):
        parts.append(
            f'<text x="{PAD_L - 6}" y="{sy(v) + 4:.1f}" font-size="11" text-anchor="end" font-family="sans-serif">{v:.3g}</text>'
        )
    slot = pw / max(1, len(labels))
    for i, label in enumerate(labels):
        x = PAD_L + i * slot + slot * 0.3
        parts.append(
            f'<rect x="{x:.1f}" y="{sy(highs[i]):.1f}" width="{slot * 0.4:.1f}" height="{max(1.0, sy(lows[i]) - sy(highs[i])):.1f}" fill="#93c5fd"/>'
        )
        parts.append(
            f'<line x1="{x:.1f}" y1="{sy(means[i]):.1f}" x2="{x + slot * 0.4:.1f}" y2="{sy(means[i]):.1f}" stroke="#1e3a8a" stroke-width="2"/>'
        )
        parts.append(
            f'<text x="{x + slot * 0.2:.1f}" y="{PAD_T + ph + 14}" font-size="10" text-anchor="end" font-family="sans-serif" transform="rotate(-30 {x + slot * 0.2:.1f} {PAD_T + ph + 14})">{escape(label)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def scatter_xy(title: str, xs: list[float], ys: list[float], *, marks: list[tuple[float, float]] | None = None) -> str:
    """Top-down scatter (equal axes) of points, e.g. the end-effector's path; ``marks`` as rings."""
    parts = _frame(title)
    pw, ph = W - PAD_L - PAD_R, H - PAD_T - PAD_B
    allx, ally = xs + [m[0] for m in marks or []], ys + [m[1] for m in marks or []]
    if not allx:
        parts.append("</svg>")
        return "".join(parts)
    x0, x1, y0, y1 = min(allx), max(allx), min(ally), max(ally)
    span = max(x1 - x0, y1 - y0, 1e-6)
    scale = min(pw, ph) / span

    def p(x: float, y: float) -> tuple[float, float]:
        return PAD_L + (x - x0) * scale, PAD_T + ph - (y - y0) * scale

    for x, y in zip(xs, ys):
        cx, cy = p(x, y)
        parts.append(f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="1.2" fill="#2563eb" fill-opacity="0.4"/>')
    for x, y in marks or []:
        cx, cy = p(x, y)
        parts.append(f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="6" fill="none" stroke="#dc2626" stroke-width="2"/>')
    parts.append(
        f'<text x="{PAD_L}" y="{H - 8}" font-size="11" font-family="sans-serif">x {x0:.2f}…{x1:.2f} m, y {y0:.2f}…{y1:.2f} m (top view; rings: place spots)</text>'
    )
    parts.append("</svg>")
    return "".join(parts)
