"""Where things really rest: the upward-facing surface of a support mesh, as a height field.

A support's bounding-box top is not where a mug lands: an oven's back panel stands 10 cm above
its cooktop, a bed's headboard 50 cm above its mattress. The height field samples the highest
non-vertical triangle above each point of a regular grid in the support's own frame
(x = width, z = depth, y up, metres), so a footprint placed on it learns the height it rests at
and whether the surface under it is flat enough to stand on.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

#: Grid spacing of the height field (m): finer than the smallest thing put on a surface.
CELL = 0.01
#: Triangles steeper than this (|normal·up| below it) are walls, not surfaces.
MIN_UP_COSINE = 0.1
#: A footprint rests on the samples within this of its highest point (m).
CONTACT_TOL = 0.004


@dataclass(frozen=True)
class Rest:
    """How a footprint lies on a height field: the height it rests at (its highest sample),
    the spread of the surface under it, and whether the contact points surround its centre
    (so it stands, instead of tipping off a ridge)."""

    height: float
    spread: float
    covered: bool
    """Every sample lies over the support (nothing overhangs into the void)."""
    stable: bool


class HeightField:
    """The top surface of a triangle soup, sampled on a ``CELL`` grid over its x/z bounds."""

    def __init__(self, triangles: np.ndarray, cell: float = CELL) -> None:
        tris = np.asarray(triangles, dtype=float).reshape(-1, 3, 3)
        if len(tris) == 0:
            raise ValueError("a height field needs at least one triangle")
        self.cell = cell
        lo = tris.reshape(-1, 3).min(axis=0)
        hi = tris.reshape(-1, 3).max(axis=0)
        self.x0, self.z0 = float(lo[0]), float(lo[2])
        self.nx = max(1, int(math.ceil((hi[0] - lo[0]) / cell)) + 1)
        self.nz = max(1, int(math.ceil((hi[2] - lo[2]) / cell)) + 1)
        self.top = np.full((self.nx, self.nz), -np.inf)
        gx = self.x0 + np.arange(self.nx) * cell
        gz = self.z0 + np.arange(self.nz) * cell
        normals = np.cross(tris[:, 1] - tris[:, 0], tris[:, 2] - tris[:, 0])
        lengths = np.linalg.norm(normals, axis=1)
        up = np.abs(normals[:, 1]) / np.where(lengths > 0, lengths, 1.0)
        for tri in tris[(lengths > 0) & (up >= MIN_UP_COSINE)]:
            self._rasterize(tri, gx, gz)

    def _rasterize(self, tri: np.ndarray, gx: np.ndarray, gz: np.ndarray) -> None:
        (ax, ay, az), (bx, by, bz), (cx, cy, cz) = tri
        i0 = max(0, int(math.floor((min(ax, bx, cx) - self.x0) / self.cell)))
        i1 = min(self.nx - 1, int(math.ceil((max(ax, bx, cx) - self.x0) / self.cell)))
        j0 = max(0, int(math.floor((min(az, bz, cz) - self.z0) / self.cell)))
        j1 = min(self.nz - 1, int(math.ceil((max(az, bz, cz) - self.z0) / self.cell)))
        px, pz = np.meshgrid(gx[i0 : i1 + 1], gz[j0 : j1 + 1], indexing="ij")
        det = (bz - cz) * (ax - cx) + (cx - bx) * (az - cz)
        if abs(det) < 1e-12:
            return
        l1 = ((bz - cz) * (px - cx) + (cx - bx) * (pz - cz)) / det
        l2 = ((cz - az) * (px - cx) + (ax - cx) * (pz - cz)) / det
        l3 = 1.0 - l1 - l2
        eps = 1e-6
        inside = (l1 >= -eps) & (l2 >= -eps) & (l3 >= -eps)
        y = l1 * ay + l2 * by + l3 * cy
        block = self.top[i0 : i1 + 1, j0 : j1 + 1]
        np.maximum(block, np.where(inside, y, -np.inf), out=block)

    def heights(self, x: np.ndarray, z: np.ndarray) -> np.ndarray:
        """Surface height at points (nearest grid sample); -inf where there is no surface."""
        i = np.rint((np.asarray(x) - self.x0) / self.cell).astype(int)
        j = np.rint((np.asarray(z) - self.z0) / self.cell).astype(int)
        ok = (i >= 0) & (i < self.nx) & (j >= 0) & (j < self.nz)
        out = np.full(np.shape(i), -np.inf)
        out[ok] = self.top[i[ok], j[ok]]
        return out

    def rest(self, cx: float, cz: float, hx: float, hz: float, yaw: float) -> Rest:
        """How a ``2hx × 2hz`` footprint centred at (cx, cz), turned by ``yaw`` (the textgen
        convention: local x → (cos, -sin)), lies on this surface."""
        nu = max(3, min(41, int(math.ceil(2 * hx / self.cell)) + 1))
        nv = max(3, min(41, int(math.ceil(2 * hz / self.cell)) + 1))
        a, b = np.meshgrid(np.linspace(-hx, hx, nu), np.linspace(-hz, hz, nv), indexing="ij")
        c, s = math.cos(yaw), math.sin(yaw)
        x = cx + a * c + b * s
        z = cz - a * s + b * c
        h = self.heights(x, z)
        covered = bool(np.isfinite(h).all())
        finite = h[np.isfinite(h)]
        if finite.size == 0:
            return Rest(-math.inf, math.inf, False, False)
        top = float(finite.max())
        contact = np.isfinite(h) & (h >= top - CONTACT_TOL)
        # The contact points must surround the centre: some on each side along both axes.
        stable = bool(
            (contact & (a <= 1e-9)).any()
            and (contact & (a >= -1e-9)).any()
            and (contact & (b <= 1e-9)).any()
            and (contact & (b >= -1e-9)).any()
            and _surrounds(a[contact], b[contact])
        )
        return Rest(top, top - float(finite.min()), covered, stable)


def _surrounds(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether the contact points' convex hull contains the footprint centre (0, 0): every
    direction has a contact point on its far side."""
    for angle in np.linspace(0.0, 2 * math.pi, 16, endpoint=False):
        if not ((a * math.cos(angle) + b * math.sin(angle)) >= -1e-9).any():
            return False
    return True
