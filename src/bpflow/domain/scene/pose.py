"""Where an object goes in the scene: the one convention every Stage-2 job shares.

Convention (recorded in ``usd_assembly_manifest.json`` as ``position_convention``):

* An object's prim origin is the **geometric centre of its box**. With a layout ``obb`` that is
  ``obb.center``; with only ``center3d`` (or the manifest ``transform.position``), which the
  text path anchors at the object's **base**, the centre is that point raised along the up axis
  by the box's vertical half height.
* Asset axes: x = width, the up axis = height, the remaining axis = depth. The object's front
  faces +z in y-up scenes and −y in z-up scenes: the standard y-up → z-up turn (+90° about x)
  carries an asset's +z front to −y, so both frames agree on which side of an asset is its front.
* The asset is centred on its origin and scaled uniformly to fit inside the layout box, so a
  layout without interpenetrating boxes gives a scene without interpenetrating objects.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from bpflow.core.errors import ValidationFailed
from bpflow.domain.scene.layout import LayoutObject
from bpflow.domain.scene.manifest import SceneObject

Vec3 = tuple[float, float, float]
Quat = tuple[float, float, float, float]
IDENTITY_Q: Quat = (1.0, 0.0, 0.0, 0.0)
FIT_SNAP = 1e-5


@dataclass(frozen=True)
class Axes:
    """Index of each semantic axis in scene coordinates, and which way the front faces."""

    width: int
    up: int
    depth: int
    front: float
    """+1 when the front faces +depth (y-up), -1 when it faces -depth (z-up)."""

    def to_scene(self, width: float, height: float, depth: float) -> Vec3:
        """An offset given as (right, up, towards the front) in scene coordinates."""
        out = [0.0, 0.0, 0.0]
        out[self.width], out[self.up], out[self.depth] = width, height, self.front * depth
        return (out[0], out[1], out[2])

    def size(self, width: float, height: float, depth: float) -> Vec3:
        """A box size given as (width, height, depth) in scene coordinates."""
        out = [0.0, 0.0, 0.0]
        out[self.width], out[self.up], out[self.depth] = width, height, depth
        return (out[0], out[1], out[2])


def axes_for(up_axis: str) -> Axes:
    return Axes(0, 1, 2, 1.0) if up_axis == "Y" else Axes(0, 2, 1, -1.0)


@dataclass(frozen=True)
class Placement:
    center: Vec3
    rotation_wxyz: Quat
    half_extents: Vec3 | None
    """The layout box's half sizes along its own axes; None when neither the layout nor the
    manifest gives a size (the asset keeps its own)."""
    source: str
    """``obb``, ``center3d`` or ``manifest``: which input placed the object."""


def quat_from_matrix(rows: tuple[Vec3, Vec3, Vec3]) -> Quat:
    """(w, x, y, z) of a rotation matrix given by rows (column-vector convention)."""
    (m00, m01, m02), (m10, m11, m12), (m20, m21, m22) = rows
    trace = m00 + m11 + m22
    if trace > 0:
        s = math.sqrt(trace + 1.0) * 2
        q = (0.25 * s, (m21 - m12) / s, (m02 - m20) / s, (m10 - m01) / s)
    elif m00 > m11 and m00 > m22:
        s = math.sqrt(1.0 + m00 - m11 - m22) * 2
        q = ((m21 - m12) / s, 0.25 * s, (m01 + m10) / s, (m02 + m20) / s)
    elif m11 > m22:
        s = math.sqrt(1.0 + m11 - m00 - m22) * 2
        q = ((m02 - m20) / s, (m01 + m10) / s, 0.25 * s, (m12 + m21) / s)
    else:
        s = math.sqrt(1.0 + m22 - m00 - m11) * 2
        q = ((m10 - m01) / s, (m02 + m20) / s, (m12 + m21) / s, 0.25 * s)
    norm = math.sqrt(sum(v * v for v in q))
    w, x, y, z = (v / norm for v in q)
    return (w, x, y, z) if w >= 0 else (-w, -x, -y, -z)


def matrix_from_quat(q: Quat) -> tuple[Vec3, Vec3, Vec3]:
    w, x, y, z = q
    return (
        (1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)),
        (2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)),
        (2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)),
    )


def rotate(q: Quat, v: Vec3) -> Vec3:
    m = matrix_from_quat(q)
    return (
        m[0][0] * v[0] + m[0][1] * v[1] + m[0][2] * v[2],
        m[1][0] * v[0] + m[1][1] * v[1] + m[1][2] * v[2],
        m[2][0] * v[0] + m[2][1] * v[1] + m[2][2] * v[2],
    )


def world_half_extent(q: Quat, half: Vec3, axis: int) -> float:
    """Half the extent of a rotated box along one world axis."""
    row = matrix_from_quat(q)[axis]
    return sum(abs(row[j]) * half[j] for j in range(3))


def resolve_placement(
    obj: SceneObject, layout_obj: LayoutObject | None, up_axis: str, asset_size: Vec3 | None = None
) -> Placement:
    """The object's centre, orientation and box; raises when nothing places it."""
    axes = axes_for(up_axis)
    if layout_obj is not None and layout_obj.obb is not None:
        obb = layout_obj.obb
        return Placement(obb.center, quat_from_matrix(obb.rotation), obb.extents, "obb")
    if layout_obj is not None and layout_obj.center3d is not None:
        base, source = layout_obj.center3d, "center3d"
        rotation = layout_obj.rotation_wxyz or obj.rotation_wxyz or IDENTITY_Q
    elif obj.position is not None:
        base, source = obj.position, "manifest"
        rotation = obj.rotation_wxyz or IDENTITY_Q
    else:
        raise ValidationFailed(
            f"object {obj.id!r} has no placement: no layout obb/center3d and no manifest transform.position",
            code="placement_missing",
            field=f"objects[{obj.index}].transform.position",
        )
    half: Vec3 | None = None
    if obj.dimensions is not None:
        w, h, d = obj.dimensions
        size = axes.size(w, h, d)
        half = (size[0] / 2, size[1] / 2, size[2] / 2)
    elif asset_size is not None:
        half = (asset_size[0] / 2, asset_size[1] / 2, asset_size[2] / 2)
    lift = world_half_extent(rotation, half, axes.up) if half is not None else 0.0
    center = list(base)
    center[axes.up] += lift
    return Placement((center[0], center[1], center[2]), rotation, half, source)


def fit_scale(asset_size: Vec3, half_extents: Vec3 | None) -> float:
    """The uniform scale that makes an asset of ``asset_size`` fit its layout box (1 if unknown)."""
    if half_extents is None:
        return 1.0
    ratios = [2 * h / s for s, h in zip(asset_size, half_extents) if s > 1e-9]
    scale = min(ratios) if ratios else 1.0
    # Asset sizes come from float32 points: a ratio within float noise of 1 is exactly 1.
    return 1.0 if abs(scale - 1.0) < FIT_SNAP else scale
