"""How many intervals overlap at most: the concurrency a test observed from runs' start and end times."""

from __future__ import annotations


def most_at_once(spans: list[tuple[float, float]]) -> int:
    """An interval that ends exactly when another starts does not overlap it (ends sort first)."""
    edges = sorted([(start, 1) for start, _ in spans] + [(end, -1) for _, end in spans])
    now = most = 0
    for _, change in edges:
        now += change
        most = max(most, now)
    return most
