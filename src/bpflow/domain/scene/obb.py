"""Oriented boxes, the one module for them: the general box and the upright box of the planner.

Every object in a scene is judged on an oriented box. Stage 2 builds a general one from USD's
world bounds (:class:`Box`, any rotation); the text planner and its layout check work with upright
boxes that only turn about the vertical (:class:`UprightBox`: a :class:`Footprint` rectangle in the
floor plane plus a base and a top height). Interpenetration is a separating-axis test:
:func:`penetration` for general boxes, :func:`upright_penetration` its upright special case (the
same verdict, see there). The floor-plane helpers (footprint overlap, clearance, containment)
answer the planner's 2-D questions: how far apart two footprints are, whether one lies inside
another.

Touching (a mug standing on a table top, two footprints sharing an edge) is contact, not
interpenetration, which is why the tests take a tolerance: only overlaps deeper than it count.

Conventions of the upright boxes (y-up, metres): local +x is the object's width, local +z its depth
and front; a yaw θ maps local x to world (cos θ, -sin θ) and local z to world (sin θ, cos θ) in
(x, z), the rotation of the quaternion (w, x, y, z) = (cos θ/2, 0, sin θ/2, 0).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # only a type here: the planner's processes need not load USD
    from pxr import Gf


@dataclass(frozen=True)
class Box:
    center: np.ndarray
    axes: np.ndarray
    """Rows are the box's unit axes in world space."""
    half: np.ndarray

    @classmethod
    def from_bbox3d(cls, bbox: Gf.BBox3d) -> Box:
        rng = bbox.GetRange()
        lo, hi = np.array(rng.GetMin()), np.array(rng.GetMax())
        m = np.array(bbox.GetMatrix(), dtype=float)  # row-vector convention
        center = np.append((lo + hi) / 2, 1.0) @ m
        rows = m[:3, :3]
        lengths = np.linalg.norm(rows, axis=1)
        lengths[lengths == 0] = 1.0
        return cls(center=center[:3], axes=rows / lengths[:, None], half=(hi - lo) / 2 * lengths)

    @classmethod
    def aligned(cls, lo: tuple[float, float, float], hi: tuple[float, float, float]) -> Box:
        a, b = np.array(lo, dtype=float), np.array(hi, dtype=float)
        return cls(center=(a + b) / 2, axes=np.eye(3), half=(b - a) / 2)

    def corners(self) -> np.ndarray:
        signs = np.array([[sx, sy, sz] for sx in (-1, 1) for sy in (-1, 1) for sz in (-1, 1)], dtype=float)
        pts: np.ndarray = self.center + (signs * self.half) @ self.axes
        return pts


def penetration(a: Box, b: Box) -> float:
    """The smallest overlap over all separating-axis candidates (≤ 0 means apart or touching)."""
    candidates = [*a.axes, *b.axes]
    for u in a.axes:
        for v in b.axes:
            c = np.cross(u, v)
            n = np.linalg.norm(c)
            if n > 1e-9:
                candidates.append(c / n)
    d = b.center - a.center
    smallest = np.inf
    for axis in candidates:
        ra = float(np.sum(np.abs(a.axes @ axis) * a.half))
        rb = float(np.sum(np.abs(b.axes @ axis) * b.half))
        overlap = ra + rb - abs(float(d @ axis))
        smallest = min(smallest, overlap)
        if smallest <= 0:
            return smallest
    return float(smallest)


def interpenetrating(a: Box, b: Box, tolerance: float = 1e-3) -> bool:
    return penetration(a, b) > tolerance


# -- upright boxes: the planner's footprints --------------------------------------------------

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
            out.append(
                (self.cx + sx * self.hx * ax + sz * self.hz * bx, self.cz + sx * self.hx * az + sz * self.hz * bz)
            )
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

    def distance_to(self, x: float, z: float) -> float:
        """From world point (x, z) to this rectangle; 0 inside it."""
        u, v = self.to_local(x, z)
        return math.hypot(max(abs(u) - self.hx, 0.0), max(abs(v) - self.hz, 0.0))


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


@dataclass(frozen=True)
class UprightBox:
    """An object standing upright: footprint plus base and top heights."""

    footprint: Footprint
    y0: float
    y1: float

    def oriented(self) -> Box:
        """The same box as a general one (for two upright boxes the general test's candidate axes
        are the vertical and the four footprint normals, so both tests give the same verdict)."""
        fp = self.footprint
        (ax, az), (bx, bz) = fp.axes()
        return Box(
            center=np.array([fp.cx, (self.y0 + self.y1) / 2.0, fp.cz]),
            axes=np.array([[ax, 0.0, az], [0.0, 1.0, 0.0], [bx, 0.0, bz]]),
            half=np.array([abs(fp.hx), (self.y1 - self.y0) / 2.0, abs(fp.hz)]),
        )


def upright_penetration(a: UprightBox, b: UprightBox) -> float:
    """How much two upright boxes share (≤ 0: they do not interpenetrate): the least of their
    vertical overlap and their footprint overlap.

    It measures the shared extent of the projections, where :func:`penetration` measures the
    distance that pushes the boxes apart; the two differ only when one box's projection lies inside
    the other's, and agree on whether boxes thicker than the tolerance interpenetrate. The planner's
    reports publish this measure (``mean_collision_depth_mm``), and it runs in plain Python on every
    pair of a layout, so it stays its own function.
    """
    vertical = min(a.y1, b.y1) - max(a.y0, b.y0)
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
