"""Robot spawn poses that are clear of every obstacle and within reach of the task target.

Everything happens in the floor plane (the two non-up axes). Obstacles are the layout boxes
of the scene's objects projected to the floor (convex polygons), the room's walls, and for
articulation tasks the area a door or drawer sweeps when it opens. A candidate base position
is clear when the robot's footprint circle (radius + clearance) touches none of them; the
search walks rings around the target from near to far, trying the preferred approach
direction first, so the closest clear pose wins and the result is deterministic.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

Point = tuple[float, float]

CLEARANCE = 0.05
RING_STEP = 0.05
ANGLE_STEP_DEG = 10


def convex_hull(points: np.ndarray) -> np.ndarray:
    """Counter-clockwise hull of 2-D points (Andrew's monotone chain)."""
    pts = sorted(set(map(tuple, np.round(points, 9))))
    if len(pts) <= 2:
        return np.asarray(pts)

    def half(seq: list[tuple[float, float]]) -> list[tuple[float, float]]:
        out: list[tuple[float, float]] = []
        for p in seq:
            while (
                len(out) >= 2
                and (out[-1][0] - out[-2][0]) * (p[1] - out[-2][1]) - (out[-1][1] - out[-2][1]) * (p[0] - out[-2][0])
                <= 0
            ):
                out.pop()
            out.append(p)
        return out

    lower, upper = half(pts), half(list(reversed(pts)))
    return np.asarray(lower[:-1] + upper[:-1])


def distance_to_polygon(p: Point, poly: np.ndarray) -> float:
    """Distance from ``p`` to a convex CCW polygon; negative inside (depth to the nearest edge)."""
    q = np.asarray(p, dtype=float)
    n = len(poly)
    inside = True
    best = math.inf
    for i in range(n):
        a, b = poly[i], poly[(i + 1) % n]
        ab, aq = b - a, q - a
        if ab[0] * aq[1] - ab[1] * aq[0] < 0:
            inside = False
        t = float(np.clip((aq @ ab) / max(float(ab @ ab), 1e-18), 0.0, 1.0))
        best = min(best, float(np.linalg.norm(q - (a + t * ab))))
    return -best if inside and n >= 3 else best


@dataclass(frozen=True)
class Obstacle:
    id: str
    polygon: np.ndarray


@dataclass(frozen=True)
class Spawn:
    position: Point
    yaw_rad: float
    """Rotation about the up axis that points the robot's +x at the target."""
    distance_to_target: float
    clearance: float
    """Free space between the footprint circle and the nearest obstacle or wall."""


def clearance_at(p: Point, radius: float, obstacles: list[Obstacle], room_lo: Point, room_hi: Point) -> float:
    walls = min(p[0] - room_lo[0], room_hi[0] - p[0], p[1] - room_lo[1], room_hi[1] - p[1]) - radius
    nearest = min((distance_to_polygon(p, o.polygon) for o in obstacles), default=math.inf) - radius
    return min(walls, nearest)


def plan_spawn(
    target: Point,
    obstacles: list[Obstacle],
    room_lo: Point,
    room_hi: Point,
    *,
    radius: float,
    reach: float,
    approach: Point | None = None,
    min_distance: float = 0.0,
) -> Spawn | None:
    """The nearest clear base position within ``reach`` of ``target`` (None if there is none)."""
    start = max(radius + CLEARANCE, min_distance)
    angles = list(range(0, 360, ANGLE_STEP_DEG))
    if approach is not None and (approach[0] or approach[1]):
        pref = math.degrees(math.atan2(approach[1], approach[0]))
        angles.sort(key=lambda a: (abs((a - pref + 180) % 360 - 180), a))
    r = start
    while r <= reach + 1e-9:
        for deg in angles:
            th = math.radians(deg)
            p = (target[0] + r * math.cos(th), target[1] + r * math.sin(th))
            free = clearance_at(p, radius, obstacles, room_lo, room_hi)
            if free >= CLEARANCE:
                yaw = math.atan2(target[1] - p[1], target[0] - p[0])
                return Spawn(
                    position=(round(p[0], 6), round(p[1], 6)),
                    yaw_rad=yaw,
                    distance_to_target=round(r, 6),
                    clearance=round(free, 6),
                )
        r += RING_STEP
    return None
