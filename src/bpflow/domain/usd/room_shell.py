"""The room shell: a floor slab and four walls as static colliders around the layout's room box.

The interior is the layout's ``room_box`` (else the manifest's ``scene.room``: bounds
width × depth × height around ``origin`` = floor centre, else the objects' extent plus a
margin). Floor and walls lie entirely *outside* the interior, so a layout whose objects stay
inside the room never interpenetrates its shell; their thickness is the layout's
``wall_thickness_m``.
"""

from __future__ import annotations

from dataclasses import dataclass

from pxr import Usd, UsdGeom, UsdPhysics

from bpflow.domain.scene.layout import Layout
from bpflow.domain.scene.manifest import Manifest
from bpflow.domain.scene.pose import Axes, Vec3, axes_for
from bpflow.domain.usd.usd_util import add_box

ROOM_MARGIN = 0.5
DEFAULT_HEIGHT = 2.7


@dataclass(frozen=True)
class RoomBox:
    lo: Vec3
    hi: Vec3
    thickness: float
    source: str


def room_box(manifest: Manifest, layout: Layout, object_extent: tuple[Vec3, Vec3] | None) -> RoomBox:
    axes = axes_for(manifest.up_axis)
    if layout.room_min is not None and layout.room_max is not None:
        return RoomBox(layout.room_min, layout.room_max, layout.wall_thickness, "layout.room_box")
    if manifest.room is not None:
        (width, depth, height), origin = manifest.room.bounds, manifest.room.origin
        lo, hi = [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]
        # origin is [cx, floor, cz] in the manifest's listing order: x, up, depth.
        cx, floor, cz = origin
        lo[axes.width], hi[axes.width] = cx - width / 2, cx + width / 2
        lo[axes.depth], hi[axes.depth] = cz - depth / 2, cz + depth / 2
        lo[axes.up], hi[axes.up] = floor, floor + height
        return RoomBox((lo[0], lo[1], lo[2]), (hi[0], hi[1], hi[2]), layout.wall_thickness, "manifest.scene.room")
    if object_extent is not None:
        (olo, ohi) = object_extent
        lo = [v - ROOM_MARGIN for v in olo]
        hi = [v + ROOM_MARGIN for v in ohi]
        lo[axes.up] = min(0.0, olo[axes.up])
        hi[axes.up] = max(hi[axes.up], lo[axes.up] + DEFAULT_HEIGHT)
        return RoomBox((lo[0], lo[1], lo[2]), (hi[0], hi[1], hi[2]), layout.wall_thickness, "objects_extent")
    return RoomBox((-3.0, 0.0, -3.0), (3.0, DEFAULT_HEIGHT, 3.0), layout.wall_thickness, "default")


def _slab(axes: Axes, box: RoomBox, fixed_axis: int, side: int) -> tuple[Vec3, Vec3]:
    """Centre and size of the slab just outside the interior on ``side`` (-1/+1) of an axis."""
    t = box.thickness
    center, size = [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]
    for i in range(3):
        if i == fixed_axis:
            edge = box.lo[i] if side < 0 else box.hi[i]
            center[i] = edge + side * t / 2
            size[i] = t
        elif i == axes.up:
            center[i] = (box.lo[i] + box.hi[i]) / 2
            size[i] = box.hi[i] - box.lo[i]
        else:  # walls overlap at the corners so the shell is closed
            center[i] = (box.lo[i] + box.hi[i]) / 2
            size[i] = box.hi[i] - box.lo[i] + 2 * t
    return (center[0], center[1], center[2]), (size[0], size[1], size[2])


def build_room(stage: Usd.Stage, path: str, up_axis: str, box: RoomBox) -> list[str]:
    """Define the floor and walls under ``path``; returns their prim paths."""
    axes = axes_for(up_axis)
    UsdGeom.Xform.Define(stage, path)
    made = []
    center, size = _slab(axes, box, axes.up, -1)
    made.append(add_box(stage, f"{path}/Floor", center, size, color=(0.55, 0.5, 0.45)))
    for name, axis, side in (
        ("Wall_minus_x", axes.width, -1),
        ("Wall_plus_x", axes.width, 1),
        ("Wall_minus_depth", axes.depth, -1),
        ("Wall_plus_depth", axes.depth, 1),
    ):
        c, s = _slab(axes, box, axis, side)
        made.append(add_box(stage, f"{path}/{name}", c, s, color=(0.9, 0.9, 0.88)))
    for cube in made:
        UsdPhysics.CollisionAPI.Apply(cube.GetPrim())
    return [str(c.GetPath()) for c in made]
