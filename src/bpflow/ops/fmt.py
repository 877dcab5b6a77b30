"""How times, durations and states read, the same in the terminal and on the dashboard."""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from html import escape
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from markupsafe import Markup

from bpflow.core.errors import ValidationFailed

#: The zone CLI tables print times in (``--tz``); UTC unless a command sets another.
_ZONE: tzinfo | None = None

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


def set_zone(name: str | None) -> None:
    """``--tz``: ``UTC`` (the default), ``local`` (this machine's zone) or an IANA name."""
    global _ZONE
    _ZONE = parse_zone(name)


def parse_zone(name: str | None) -> tzinfo | None:
    if name is None or not name.strip() or name.strip().upper() in ("UTC", "Z"):
        return None
    if name.strip().lower() == "local":
        return datetime.now().astimezone().tzinfo
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationFailed(
            f"unknown time zone {name!r}: use UTC, local or an IANA name such as Europe/Paris", field="tz"
        ) from None


def _utc(epoch: float | None) -> datetime | None:
    try:
        return datetime.fromtimestamp(float(epoch), tz=UTC) if epoch is not None else None
    except (OverflowError, OSError, ValueError, TypeError):
        return None


def timestamp(epoch: float | None, *, short: bool = False) -> str:
    """UTC by default, so every operator and every log line agrees on the time; ``--tz`` shows
    another zone, with its name."""
    if epoch is None:
        return ""
    dt = _utc(epoch)
    if dt is None:
        return str(epoch)  # a hand-written or damaged object: show it as it is
    if _ZONE is None:
        return dt.strftime("%H:%M:%SZ" if short else "%Y-%m-%d %H:%M:%SZ")
    local = dt.astimezone(_ZONE)
    return local.strftime("%H:%M:%S %Z" if short else "%Y-%m-%d %H:%M:%S %Z")


def time_html(epoch: float | None, short: bool = False) -> Markup:
    """A ``<time>`` the dashboard's script shows in the browser's zone, UTC on hover (and as the
    text until the script runs)."""
    dt = _utc(epoch)
    if dt is None:
        return Markup("") if epoch is None else Markup(escape(str(epoch)))
    utc = dt.strftime("%Y-%m-%d %H:%M:%S UTC")
    text = dt.strftime("%H:%M:%SZ" if short else "%Y-%m-%d %H:%M:%SZ")
    iso = dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    return Markup(
        f'<time datetime="{iso}" data-epoch="{dt.timestamp():.3f}" data-short="{1 if short else 0}" title="{utc}">{text}</time>'
    )


def scene_relative(scene_id: str, key: str) -> str:
    """``scenes/k1/usd/.usd_complete`` → ``usd/.usd_complete``."""
    prefix = f"scenes/{scene_id}/"
    return key[len(prefix) :] if key.startswith(prefix) else key


def symbol(state: str) -> str:
    return STATE_STYLE.get(state, ("", "?"))[1]


def style(state: str) -> str:
    return STATE_STYLE.get(state, ("", "?"))[0]
