"""How times, durations and states read, the same in the terminal and on the dashboard."""

from __future__ import annotations

from datetime import UTC, datetime

#: rich style and a one-character symbol per stage / scene / run state.
STATE_STYLE: dict[str, tuple[str, str]] = {
    "pending": ("dim", "·"),
    "queued": ("cyan", "…"),
    "running": ("bold cyan", "▶"),
    "succeeded": ("green", "✓"),
    "skipped": ("yellow", "↷"),
    "failed": ("bold red", "✗"),
    "cancelled": ("magenta", "⊘"),
    "not_implemented": ("dim italic", "–"),
    "stalled": ("yellow", "‖"),
}


def duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds < 0.1:
        return "<0.1 s"
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes, sec = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes} m {sec:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} m"


def timestamp(epoch: float | None, *, short: bool = False) -> str:
    """UTC, so every operator and every log line agrees on the time."""
    if epoch is None:
        return ""
    try:
        dt = datetime.fromtimestamp(float(epoch), tz=UTC)
    except (OverflowError, OSError, ValueError, TypeError):
        return str(epoch)  # a hand-written or damaged object: show it as it is
    return dt.strftime("%H:%M:%SZ" if short else "%Y-%m-%d %H:%M:%SZ")


def scene_relative(scene_id: str, key: str) -> str:
    """``scenes/k1/usd/.usd_complete`` → ``usd/.usd_complete``."""
    prefix = f"scenes/{scene_id}/"
    return key[len(prefix) :] if key.startswith(prefix) else key


def symbol(state: str) -> str:
    return STATE_STYLE.get(state, ("", "?"))[1]


def style(state: str) -> str:
    return STATE_STYLE.get(state, ("", "?"))[0]
