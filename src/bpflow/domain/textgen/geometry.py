"""Boxes that only turn about the vertical axis, and the exact tests the solver and the gate share.

Every object in a scene is an oriented box: a footprint rectangle in the floor (x/z) plane that
may be rotated by a yaw about +y, and a vertical interval from its base to its top. Two such
boxes interpenetrate iff their footprints overlap (separating-axis test on the four edge
normals) *and* their vertical intervals overlap. Touching (a mug standing on a table top, two
footprints sharing an edge) is contact, not interpenetration, which is why every test takes a
tolerance: only overlaps deeper than it count.

Conventions (y-up, metres): local +x is the object's width, local +z its depth and front; a
yaw θ maps local x to world (cos θ, -sin θ) and local z to world (sin θ, cos θ) in (x, z), the
rotation of the quaternion (w, x, y, z) = (cos θ/2, 0, sin θ/2, 0).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

Vec2 = tuple[float, float]


@dataclass(frozen=True)
class Footprint:
    """A rectangle in the floor plane: centre, half extents along its local axes, yaw (radians)."""

    cx: float
    cz: float
    hx: float
    hz: float
    yaw: float = 0.0

    def axes(self) -> tuple[Vec2, Vec2]:
        c, s = math.cos(self.yaw), math.sin(self.yaw)
        return (c, -s), (s, c)

    def corners(self) -> list[Vec2]:
        (ax, az), (bx, bz) = self.axes()
        out = []
        for sx, sz in ((1, 1), (1, -1), (-1, -1), (-1, 1)):
            out.append((self.cx + sx * self.hx * ax + sz * self.hz * bx, self.cz + sx * self.hx * az + sz * self.hz * bz))
        return out

    def aabb(self) -> tuple[float, float, float, float]:
        """(min_x, min_z, max_x, max_z): a cheap pre-test before the exact one."""
        (ax, az), (bx, bz) = self.axes()
        ex = abs(self.hx * ax) + abs(self.hz * bx)
        ez = abs(self.hx * az) + abs(self.hz * bz)
        return self.cx - ex, self.cz - ez, self.cx + ex, self.cz + ez

    def to_local(self, x: float, z: float) -> Vec2:
        """World (x, z) in this rectangle's frame (origin at its centre, axes its own)."""
        (ax, az), (bx, bz) = self.axes()
        dx, dz = x - self.cx, z - self.cz
        return dx * ax + dz * az, dx * bx + dz * bz

    def to_world(self, u: float, v: float) -> Vec2:
        (ax, az), (bx, bz) = self.axes()
        return self.cx + u * ax + v * bx, self.cz + u * az + v * bz


def _project(corners: Sequence[Vec2], axis: Vec2) -> tuple[float, float]:
    values = [x * axis[0] + z * axis[1] for x, z in corners]
    return min(values), max(values)


def footprint_overlap(a: Footprint, b: Footprint) -> float:
    """Penetration depth of two footprints: the smallest projection overlap over the four
    separating axes (≤ 0 means separated or touching, by at least ``-result``)."""
    ca, cb = a.corners(), b.corners()
    depth = math.inf
    for axis in (*a.axes(), *b.axes()):
        lo_a, hi_a = _project(ca, axis)
        lo_b, hi_b = _project(cb, axis)
        depth = min(depth, min(hi_a, hi_b) - max(lo_a, lo_b))
    return depth


def aabbs_apart(a: Footprint, b: Footprint, gap: float) -> bool:
    ax0, az0, ax1, az1 = a.aabb()
    bx0, bz0, bx1, bz1 = b.aabb()
    return ax1 + gap <= bx0 or bx1 + gap <= ax0 or az1 + gap <= bz0 or bz1 + gap <= az0


def footprints_clear(a: Footprint, b: Footprint, gap: float) -> bool:
    """True when the footprints are at least ``gap`` apart along some separating axis (so their
    true distance is at least ``gap``): conservative, never lets two objects closer than asked."""
    if aabbs_apart(a, b, gap):
        return True
    return footprint_overlap(a, b) <= -gap


def contains(outer: Footprint, inner: Footprint, margin: float = 0.0, tol: float = 0.0) -> bool:
    """Every corner of ``inner`` lies in ``outer`` shrunk by ``margin`` (rectangles are convex,
    so corners inside means all inside)."""
    for x, z in inner.corners():
        u, v = outer.to_local(x, z)
        if abs(u) > outer.hx - margin + tol or abs(v) > outer.hz - margin + tol:
            return False
    return True


def interval_overlap(a0: float, a1: float, b0: float, b1: float) -> float:
    return min(a1, b1) - max(a0, b0)


@dataclass(frozen=True)
class Box:
    """An object's oriented box: footprint plus base and top heights."""

    footprint: Footprint
    y0: float
    y1: float


def penetration(a: Box, b: Box) -> float:
    """How deep two boxes interpenetrate (≤ 0: they do not)."""
    vertical = interval_overlap(a.y0, a.y1, b.y0, b.y1)
    if vertical <= 0:
        return vertical
    return min(vertical, footprint_overlap(a.footprint, b.footprint))


def yaw_quaternion(yaw: float) -> dict[str, float]:
    return {"w": math.cos(yaw / 2.0), "x": 0.0, "y": math.sin(yaw / 2.0), "z": 0.0}


def quaternion_yaw(q: Mapping[str, Any]) -> float:
    """The yaw of a rotation about +y given as {w, x, y, z} (tilts are not representable here:
    objects rest upright, so a tilted quaternion is reported by the caller as unsupported)."""
    return 2.0 * math.atan2(float(q.get("y", 0.0)), float(q.get("w", 1.0)))


def yaw_matrix(yaw: float) -> list[list[float]]:
    """Row-major 3×3 rotation about +y (the OBB ``R`` of the layout contract)."""
    c, s = math.cos(yaw), math.sin(yaw)
    return [[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]]


def normalize_angle(yaw: float) -> float:
    """Into (-π, π]."""
    out = math.fmod(yaw, 2.0 * math.pi)
    if out <= -math.pi:
        out += 2.0 * math.pi
    elif out > math.pi:
        out -= 2.0 * math.pi
    return out
