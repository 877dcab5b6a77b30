"""Assembly: ``usd/scene.usda``, every manifest object composed by reference at its layout pose.

Scene layout (default prim ``World``, metres, the manifest's up axis):

* ``/World/PhysicsScene`` — ``UsdPhysics.Scene``, gravity 9.81 m/s² along −up;
* ``/World/Room`` — floor and walls (``room``);
* ``/World/Objects/obj_<id>`` — references the object's interactive layer when it was
  articulated, else its simready layer; translate = the placement centre (``placement``
  convention), orient = the layout rotation, a uniform scale fitting the asset into its layout
  box (masses scaled by its cube). ``bp:object_id`` names the manifest object.
* ``/World/Lights`` — a dome light, so the stage renders in any viewer.

Referenced layers are written as paths relative to ``scene.usda``, so the scene opens from the
bucket folder, a bucket mount or a copy of the scene's folder.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pxr import Gf, Sdf, Usd, UsdGeom, UsdLux, UsdPhysics

from bpflow.domain.scene.layout import Layout
from bpflow.domain.scene.manifest import Manifest, SceneObject
from bpflow.domain.scene.pose import Placement, fit_scale, resolve_placement
from bpflow.domain.usd.room_shell import RoomBox, build_room, room_box
from bpflow.domain.usd.usd_util import new_stage, relative_asset_path, set_custom, set_transform

OBJECTS = "/World/Objects"
GRAVITY = 9.81


@dataclass(frozen=True)
class ObjectSource:
    """What the assembly references for one object, and the asset's size there."""

    key: str
    articulated: bool
    size: tuple[float, float, float]


@dataclass(frozen=True)
class PlacedObject:
    id: str
    prim_path: str
    source: ObjectSource
    placement: Placement
    scale: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "prim_path": self.prim_path,
            "asset": self.source.key,
            "articulated": self.source.articulated,
            "placement_source": self.placement.source,
            "center": list(self.placement.center),
            "rotation_wxyz": list(self.placement.rotation_wxyz),
            "fit_scale": self.scale,
        }


def prim_names(ids: list[str]) -> dict[str, str]:
    """``obj_<id>`` made a valid, unique USD prim name (ids may hold '-', which USD refuses)."""
    out: dict[str, str] = {}
    used: set[str] = set()
    for oid in ids:
        base = "obj_" + re.sub(r"[^A-Za-z0-9_]", "_", oid)
        name, n = base, 2
        while name in used:
            name, n = f"{base}_{n}", n + 1
        used.add(name)
        out[oid] = name
    return out


def _scale_masses(prim: Usd.Prim, scale: float) -> None:
    """A body scaled by ``scale``: mass × s³, centre of mass × s, inertia × s⁵."""
    for p in Usd.PrimRange(prim):
        if p.HasAPI(UsdPhysics.MassAPI):
            api = UsdPhysics.MassAPI(p)
            mass = api.GetMassAttr().Get()
            if mass:
                api.GetMassAttr().Set(float(mass) * scale**3)
            com = api.GetCenterOfMassAttr().Get() if api.GetCenterOfMassAttr().HasAuthoredValue() else None
            if com is not None:
                api.GetCenterOfMassAttr().Set(Gf.Vec3f(*(float(c) * scale for c in com)))
            inertia = api.GetDiagonalInertiaAttr().Get() if api.GetDiagonalInertiaAttr().HasAuthoredValue() else None
            if inertia is not None:
                api.GetDiagonalInertiaAttr().Set(Gf.Vec3f(*(float(i) * scale**5 for i in inertia)))


def _anchor_root_joint(stage: Usd.Stage, prim: Usd.Prim, placement: Placement) -> None:
    """The articulation's fixed joint to the world is anchored where the object stands."""
    joint = stage.GetPrimAtPath(prim.GetPath().AppendPath("Joints/RootJoint"))
    if not joint:
        return
    fixed = UsdPhysics.FixedJoint(joint)
    fixed.GetLocalPos0Attr().Set(Gf.Vec3f(*map(float, placement.center)))
    w, x, y, z = placement.rotation_wxyz
    fixed.GetLocalRot0Attr().Set(Gf.Quatf(float(w), float(x), float(y), float(z)))


def _place(
    stage: Usd.Stage, scene_key: str, obj: SceneObject, name: str, source: ObjectSource, placement: Placement
) -> PlacedObject:
    path = f"{OBJECTS}/{name}"
    prim = stage.DefinePrim(path)
    prim.GetReferences().AddReference(relative_asset_path(scene_key, source.key))
    scale = fit_scale(source.size, placement.half_extents)
    set_transform(prim, translate=placement.center, orient=placement.rotation_wxyz, scale=scale)
    if abs(scale - 1.0) > 1e-9:
        _scale_masses(prim, scale)
    if source.articulated:
        _anchor_root_joint(stage, prim, placement)
    for attr, value, vtype in (
        ("bp:object_id", obj.id, Sdf.ValueTypeNames.String),
        ("bp:category", obj.category, Sdf.ValueTypeNames.String),
        ("bp:kind", obj.kind, Sdf.ValueTypeNames.String),
        ("bp:sim_role", obj.sim_role, Sdf.ValueTypeNames.String),
        ("bp:placement_source", placement.source, Sdf.ValueTypeNames.String),
        ("bp:fit_scale", float(scale), Sdf.ValueTypeNames.Double),
        ("semantic:Semantics:params:semanticType", "class", Sdf.ValueTypeNames.String),
        ("semantic:Semantics:params:semanticData", obj.category, Sdf.ValueTypeNames.String),
    ):
        set_custom(prim, attr, value, vtype)
    return PlacedObject(obj.id, path, source, placement, scale)


def _extent(placements: list[Placement]) -> tuple[tuple[float, float, float], tuple[float, float, float]] | None:
    if not placements:
        return None
    lo = [min(p.center[i] - (p.half_extents or (0, 0, 0))[i] for p in placements) for i in range(3)]
    hi = [max(p.center[i] + (p.half_extents or (0, 0, 0))[i] for p in placements) for i in range(3)]
    return (lo[0], lo[1], lo[2]), (hi[0], hi[1], hi[2])


def build_scene(
    *,
    scene_key: str,
    local_path: Any,
    manifest: Manifest,
    layout: Layout,
    sources: dict[str, ObjectSource],
) -> tuple[list[PlacedObject], RoomBox]:
    """Write the scene layer; ``sources`` has one entry per manifest object."""
    stage, _ = new_stage(local_path, manifest.up_axis, default_prim="World")
    up = Gf.Vec3f(0, 1, 0) if manifest.up_axis == "Y" else Gf.Vec3f(0, 0, 1)
    physics = UsdPhysics.Scene.Define(stage, "/World/PhysicsScene")
    physics.CreateGravityDirectionAttr(-up)
    physics.CreateGravityMagnitudeAttr(GRAVITY)
    UsdGeom.Scope.Define(stage, OBJECTS)
    names = prim_names([o.id for o in manifest.objects])
    placed = []
    for obj in manifest.objects:
        source = sources[obj.id]
        placement = resolve_placement(obj, layout.objects.get(obj.id), manifest.up_axis, source.size)
        placed.append(_place(stage, scene_key, obj, names[obj.id], source, placement))
    box = room_box(manifest, layout, _extent([p.placement for p in placed]))
    build_room(stage, "/World/Room", manifest.up_axis, box)
    dome = UsdLux.DomeLight.Define(stage, "/World/Lights/Dome")
    dome.CreateIntensityAttr(1000.0)
    set_custom(stage.GetPrimAtPath("/World"), "bp:scene_id", manifest.scene_id, Sdf.ValueTypeNames.String)
    stage.GetRootLayer().Save()
    return placed, box
