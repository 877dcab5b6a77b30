"""Procedural mesh parts for the packaged asset library.

The library must be rebuildable byte for byte from source (a reviewer can diff a regenerated
asset against the shipped one), so every builder here is pure arithmetic on its arguments:
no randomness, no clock, coordinates rounded to 0.1 mm. Parts are closed, outward-facing
polygon meshes in metres, y up, which is what a physics importer needs to compute volume and
collision shapes from them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

Vec3 = tuple[float, float, float]
Color = tuple[float, float, float]

#: 0.1 mm: small enough for a mug's wall, coarse enough to keep the text files small.
DECIMALS = 4


def _r(value: float) -> float:
    """Round and normalise -0.0, so regenerated files never differ by a sign."""
    out = round(value, DECIMALS)
    return 0.0 if out == 0 else out


@dataclass
class Part:
    """One named mesh of an asset: polygons over a point list, plus a display colour."""

    name: str
    color: Color
    points: list[Vec3] = field(default_factory=list)
    counts: list[int] = field(default_factory=list)
    indices: list[int] = field(default_factory=list)
    collision_for: str = ""
    """Set on a convex collision piece (guide purpose, never rendered nor massed): the visual
    part it stands in for, which then collides through its pieces only."""
    group: str = ""
    """The moving part (``door_0``, ``drawer_1``, ``lid``) this mesh belongs to; empty = the body."""

    def add_face(self, *ids: int) -> None:
        self.counts.append(len(ids))
        self.indices.extend(ids)

    def add_point(self, x: float, y: float, z: float) -> int:
        self.points.append((_r(x), _r(y), _r(z)))
        return len(self.points) - 1

    def bounds(self) -> tuple[Vec3, Vec3]:
        xs, ys, zs = zip(*self.points, strict=True)
        return (min(xs), min(ys), min(zs)), (max(xs), max(ys), max(zs))


def box(name: str, color: Color, center: Vec3, size: Vec3) -> Part:
    """An axis-aligned box given by its centre and full size."""
    cx, cy, cz = center
    hx, hy, hz = (s / 2.0 for s in size)
    part = Part(name, color)
    for dy in (-hy, hy):
        for dz in (-hz, hz):
            for dx in (-hx, hx):
                part.add_point(cx + dx, cy + dy, cz + dz)
    # point i = x + 2*z + 4*y; faces wound counter-clockwise seen from outside
    for face in ((0, 1, 3, 2), (4, 6, 7, 5), (0, 4, 5, 1), (2, 3, 7, 6), (0, 2, 6, 4), (1, 5, 7, 3)):
        part.add_face(*face)
    return part


def box_from_bottom(name: str, color: Color, x: float, y0: float, z: float, size: Vec3) -> Part:
    """A box standing on height ``y0``: the natural way to stack furniture parts."""
    return box(name, color, (x, y0 + size[1] / 2.0, z), size)


def lathe(
    name: str, color: Color, profile: Sequence[tuple[float, float]], segments: int = 24, center: Vec3 = (0.0, 0.0, 0.0)
) -> Part:
    """Revolve a closed (radius, height) profile around the y axis.

    The profile runs from the axis at the bottom, out and up the outer wall, and (for hollow
    objects such as a mug) back down the inner wall to the axis; points on the axis become one
    pole vertex, so the solid is closed without degenerate quads.
    """
    cx, cy, cz = center
    part = Part(name, color)
    rings: list[list[int]] = []
    for radius, height in profile:
        if radius <= 0.0:
            pole = part.add_point(cx, cy + height, cz)
            rings.append([pole] * segments)
            continue
        ring = []
        for k in range(segments):
            angle = 2.0 * math.pi * k / segments
            ring.append(part.add_point(cx + radius * math.cos(angle), cy + height, cz - radius * math.sin(angle)))
        rings.append(ring)
    for lower, upper in zip(rings, rings[1:], strict=False):
        for k in range(segments):
            k2 = (k + 1) % segments
            quad = [lower[k], lower[k2], upper[k2], upper[k]]
            unique = list(dict.fromkeys(quad))
            if len(unique) >= 3:
                part.add_face(*unique)
    return part


def cylinder(
    name: str,
    color: Color,
    center_bottom: Vec3,
    radius: float,
    height: float,
    segments: int = 20,
    top_radius: float | None = None,
) -> Part:
    """A closed cylinder (or frustum when ``top_radius`` differs) standing on its base."""
    top = radius if top_radius is None else top_radius
    return lathe(name, color, [(0.0, 0.0), (radius, 0.0), (top, height), (0.0, height)], segments, center_bottom)


def sphere(name: str, color: Color, center: Vec3, radius: float, segments: int = 12, rings: int = 6) -> Part:
    """A low-poly UV sphere (foliage, knobs)."""
    profile = []
    for i in range(rings + 1):
        theta = math.pi * i / rings
        profile.append((radius * math.sin(theta), -radius * math.cos(theta)))
    profile[0] = (0.0, -radius)
    profile[-1] = (0.0, radius)
    return lathe(name, color, profile, segments, center)


def arc_handle(name: str, color: Color, center: Vec3, radius: float, thickness: float, segments: int = 8) -> Part:
    """A half ring in the x-y plane bulging towards +x (a mug handle), square in section."""
    cx, cy, cz = center
    part = Part(name, color)
    t = thickness / 2.0
    sections: list[list[int]] = []
    for i in range(segments + 1):
        angle = -math.pi / 2.0 + math.pi * i / segments
        ox, oy = math.cos(angle), math.sin(angle)
        ring = []
        for dr, dz in ((-t, -t), (t, -t), (t, t), (-t, t)):
            r = radius + dr
            ring.append(part.add_point(cx + r * ox, cy + r * oy, cz + dz))
        sections.append(ring)
    for a, b in zip(sections, sections[1:], strict=False):
        for j in range(4):
            j2 = (j + 1) % 4
            part.add_face(a[j], b[j], b[j2], a[j2])
    part.add_face(*sections[0])
    part.add_face(*reversed(sections[-1]))
    return part


def _signed_volume(part: Part) -> float:
    total, at = 0.0, 0
    for n in part.counts:
        ring = part.indices[at : at + n]
        at += n
        a = part.points[ring[0]]
        for k in range(1, n - 1):
            b, c = part.points[ring[k]], part.points[ring[k + 1]]
            total += (
                a[0] * (b[1] * c[2] - b[2] * c[1])
                - a[1] * (b[0] * c[2] - b[2] * c[0])
                + a[2] * (b[0] * c[1] - b[1] * c[0])
            ) / 6.0
    return total


def hexahedron(name: str, color: Color, corners: Sequence[Vec3], collision_for: str = "") -> Part:
    """A closed six-faced solid from 8 corners in box order (index = a + 2b + 4c over its three
    edge directions), wound outwards whatever the handedness of those directions."""
    part = Part(name, color, collision_for=collision_for)
    for x, y, z in corners:
        part.add_point(x, y, z)
    faces = ((0, 1, 3, 2), (4, 6, 7, 5), (0, 4, 5, 1), (2, 3, 7, 6), (0, 2, 6, 4), (1, 5, 7, 3))
    for face in faces:
        part.add_face(*face)
    if _signed_volume(part) < 0:
        part.counts, part.indices = [], []
        for face in faces:
            part.add_face(*reversed(face))
    return part


def lathe_wall_pieces(
    name: str,
    color: Color,
    rings: Sequence[tuple[float, float, float]],
    floor: tuple[float, float],
    sectors: int = 12,
    center: Vec3 = (0.0, 0.0, 0.0),
    collision_for: str = "Body",
) -> list[Part]:
    """A thin-walled container's convex decomposition: its floor as one prism and its wall as
    ``sectors`` convex blocks per band between consecutive ``rings`` (height, outer radius,
    inner radius). This is what keeps its inside open to a simulator that collides every
    mesh as its convex hull."""
    cx, cy, cz = center
    floor_y, floor_r = floor
    pieces = [cylinder(f"{name}Floor", color, center, floor_r, floor_y, sectors)]
    pieces[0].collision_for = collision_for
    for band, ((y0, o0, i0), (y1, o1, i1)) in enumerate(zip(rings, rings[1:], strict=False)):
        for k in range(sectors):
            a0, a1 = 2 * math.pi * k / sectors, 2 * math.pi * (k + 1) / sectors
            corners = []
            for y, ro, ri in ((y0, o0, i0), (y1, o1, i1)):
                for r in (ri, ro):
                    for a in (a0, a1):
                        corners.append((cx + r * math.cos(a), cy + y, cz - r * math.sin(a)))
            pieces.append(hexahedron(f"{name}Wall{band}_{k}", color, corners, collision_for))
    return pieces
