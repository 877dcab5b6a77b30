"""The loss curve, read from LeRobot's own training log, and drawn as a small SVG.

``lerobot-train`` logs one line per ``log_freq`` steps, e.g.
``step:200 smpl:1K ep:3 epch:0.45 loss:3.712 grdn:41.2 lr:1.0e-04 updt_s:0.39 data_s:0.01``
(big numbers shortened: ``1K``, ``2M``). The SVG is rendered here, server-side, so the dashboard
needs no script (its CSP allows none inline)."""

from __future__ import annotations

import re
from html import escape
from typing import Any

_LINE = re.compile(
    r"\bstep:(?P<step>[0-9.]+[KMBT]?)\s.*?\bloss:(?P<loss>[-+0-9.eE]+)(?:.*?\bupdt_s:(?P<updt>[0-9.eE+-]+))?"
)
_SUFFIX = {"": 1, "K": 1_000, "M": 1_000_000, "B": 1_000_000_000, "T": 1_000_000_000_000}


def _number(text: str) -> int:
    suffix = text[-1] if text[-1].isalpha() else ""
    return int(round(float(text.removesuffix(suffix)) * _SUFFIX[suffix]))


def parse_log(text: str) -> list[dict[str, float]]:
    """``[{step, loss, update_s}]`` in log order; lines that are not step lines are ignored."""
    points: list[dict[str, float]] = []
    for line in text.splitlines():
        m = _LINE.search(line)
        if not m:
            continue
        try:
            point: dict[str, float] = {"step": _number(m["step"]), "loss": float(m["loss"])}
            if m["updt"]:
                point["update_s"] = float(m["updt"])
        except ValueError:
            continue
        points.append(point)
    return points


def svg(points: list[dict[str, Any]], *, width: int = 560, height: int = 240, title: str = "training loss") -> str:
    """A line chart (log-scaled loss when it spans more than a decade) with labelled axes."""
    import math

    pad_l, pad_r, pad_t, pad_b = 56, 16, 28, 36
    head = f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">'
    parts = [
        head,
        f'<rect width="{width}" height="{height}" fill="#fff"/>',
        f'<text x="{pad_l}" y="18" font-size="13" font-family="sans-serif">{escape(title)}</text>',
    ]
    pts = [p for p in points if isinstance(p.get("loss"), (int, float)) and math.isfinite(p["loss"])]
    if not pts:
        parts.append(
            f'<text x="{pad_l}" y="{height // 2}" font-size="12" font-family="sans-serif">no loss logged</text></svg>'
        )
        return "".join(parts)
    steps = [float(p["step"]) for p in pts]
    losses = [float(p["loss"]) for p in pts]
    log_scale = min(losses) > 0 and max(losses) / min(losses) > 10
    ys = [math.log10(v) for v in losses] if log_scale else losses
    x0, x1 = min(steps), max(steps) if max(steps) > min(steps) else min(steps) + 1
    y0, y1 = min(ys), max(ys) if max(ys) > min(ys) else min(ys) + 1
    pw, ph = width - pad_l - pad_r, height - pad_t - pad_b

    def sx(v: float) -> float:
        return pad_l + (v - x0) / (x1 - x0) * pw

    def sy(v: float) -> float:
        return pad_t + (1 - (v - y0) / (y1 - y0)) * ph

    parts.append(
        f'<line x1="{pad_l}" y1="{pad_t + ph}" x2="{pad_l + pw}" y2="{pad_t + ph}" stroke="#444"/><line x1="{pad_l}" y1="{pad_t}" x2="{pad_l}" y2="{pad_t + ph}" stroke="#444"/>'
    )
    for frac in (0.0, 0.5, 1.0):
        yv = y0 + frac * (y1 - y0)
        label = 10**yv if log_scale else yv
        parts.append(
            f'<text x="{pad_l - 6}" y="{sy(yv) + 4:.1f}" font-size="11" text-anchor="end" font-family="sans-serif">{label:.3g}</text>'
        )
        xv = x0 + frac * (x1 - x0)
        parts.append(
            f'<text x="{sx(xv):.1f}" y="{pad_t + ph + 16}" font-size="11" text-anchor="middle" font-family="sans-serif">{int(xv)}</text>'
        )
    parts.append(
        f'<text x="{pad_l + pw / 2}" y="{height - 4}" font-size="11" text-anchor="middle" font-family="sans-serif">step</text>'
    )
    parts.append(
        f'<text x="12" y="{pad_t + ph / 2}" font-size="11" font-family="sans-serif" transform="rotate(-90 12 {pad_t + ph / 2})" text-anchor="middle">loss{" (log)" if log_scale else ""}</text>'
    )
    path = " ".join(f"{'M' if i == 0 else 'L'}{sx(x):.1f},{sy(y):.1f}" for i, (x, y) in enumerate(zip(steps, ys)))
    parts.append(f'<path d="{path}" fill="none" stroke="#2563eb" stroke-width="2"/>')
    if len(pts) == 1:
        parts.append(f'<circle cx="{sx(steps[0]):.1f}" cy="{sy(ys[0]):.1f}" r="3" fill="#2563eb"/>')
    parts.append("</svg>")
    return "".join(parts)
