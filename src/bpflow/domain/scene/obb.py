"""Oriented boxes: built from USD world bounds, tested for interpenetration by separating axes.

Two objects that merely touch (a mug standing on a table) are not interpenetrating: boxes
count as interpenetrating only when they overlap by more than ``tolerance`` along every
candidate separating axis.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
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
