"""Interactive: the articulated version of an object (``assets/interactive/obj_<id>/interactive.usda``).

Layout of the layer (default prim ``Root``, an articulation root):

* ``Base`` references the object's simready layer (its rigid body, mass, colliders and material),
  made dynamic and held by ``Joints/RootJoint``, a fixed joint to the world. The assembly writes
  that joint's world anchor, since only it knows where the object stands.
* one rigid body per moving part (``Parts/door``, ``Parts/drawer_0`` …) with a box collider,
  its share of the object's mass and the object's physics material;
* one ``UsdPhysics.RevoluteJoint`` / ``PrismaticJoint`` per part from ``Base`` to the part, with
  its axis and lower/upper limits. Collisions between jointed bodies stay disabled (the schema
  default), so a door resting in its frame does not fight the cabinet body.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pxr import Gf, Sdf, Usd, UsdGeom, UsdPhysics, UsdShade

from bpflow.stage2.articulation import PartSpec
from bpflow.stage2.usd_util import add_box, new_stage, relative_asset_path, set_custom, set_transform

INTERACTIVE_NAME = "interactive.usda"


@dataclass(frozen=True)
class JointRecord:
    part: str
    joint: str
    axis: str
    lower: float
    upper: float
    prim_path: str
    center: tuple[float, float, float]
    size: tuple[float, float, float]
    """The moving part's box in the object's frame (what a planner must keep clear)."""
    pivot: tuple[float, float, float]

    def to_dict(self) -> dict[str, object]:
        return {
            "part": self.part,
            "type": self.joint,
            "axis": self.axis,
            "lower": self.lower,
            "upper": self.upper,
            "prim_path": self.prim_path,
            "center": list(self.center),
            "size": list(self.size),
            "pivot": list(self.pivot),
        }


def _vec3f(v: tuple[float, float, float]) -> Gf.Vec3f:
    return Gf.Vec3f(*map(float, v))


def build_interactive(
    *,
    object_id: str,
    simready_key: str,
    out_key: str,
    out_local: Path,
    up_axis: str,
    parts: list[PartSpec],
    total_mass: float,
) -> list[JointRecord]:
    """Write the articulated layer; returns one record per joint (relative prim paths)."""
    stage, root = new_stage(out_local, up_axis)
    UsdPhysics.ArticulationRootAPI.Apply(root)
    base = stage.DefinePrim("/Root/Base")
    base.GetReferences().AddReference(relative_asset_path(out_key, simready_key))
    base_mass = total_mass * max(0.05, 1.0 - sum(p.mass_fraction for p in parts))
    UsdPhysics.RigidBodyAPI.Apply(base).CreateKinematicEnabledAttr(False)
    UsdPhysics.MassAPI.Apply(base).CreateMassAttr(float(base_mass))
    material = UsdShade.Material(stage.GetPrimAtPath("/Root/Base/Looks/PhysicsMaterial"))

    joints_scope = UsdGeom.Scope.Define(stage, "/Root/Joints")
    fixed = UsdPhysics.FixedJoint.Define(stage, joints_scope.GetPath().AppendChild("RootJoint"))
    fixed.CreateBody1Rel().SetTargets([base.GetPath()])
    fixed.CreateLocalPos0Attr(Gf.Vec3f(0, 0, 0))
    fixed.CreateLocalRot0Attr(Gf.Quatf(1, 0, 0, 0))
    fixed.CreateLocalPos1Attr(Gf.Vec3f(0, 0, 0))
    fixed.CreateLocalRot1Attr(Gf.Quatf(1, 0, 0, 0))

    records: list[JointRecord] = []
    UsdGeom.Xform.Define(stage, "/Root/Parts")
    for part in parts:
        body = stage.DefinePrim(f"/Root/Parts/{part.name}", "Xform")
        set_transform(body, translate=part.center)
        UsdPhysics.RigidBodyAPI.Apply(body)
        UsdPhysics.MassAPI.Apply(body).CreateMassAttr(float(max(total_mass * part.mass_fraction, 1e-3)))
        geom = add_box(stage, f"{body.GetPath()}/Geom", (0.0, 0.0, 0.0), part.size, color=(0.85, 0.85, 0.88))
        UsdPhysics.CollisionAPI.Apply(geom.GetPrim())
        if material:
            UsdShade.MaterialBindingAPI.Apply(body).Bind(material, UsdShade.Tokens.weakerThanDescendants, "physics")
        schema = UsdPhysics.RevoluteJoint if part.joint == "revolute" else UsdPhysics.PrismaticJoint
        joint = schema.Define(stage, joints_scope.GetPath().AppendChild(f"{part.name}_joint"))
        joint.CreateAxisAttr(part.axis)
        joint.CreateLowerLimitAttr(float(part.lower))
        joint.CreateUpperLimitAttr(float(part.upper))
        joint.CreateBody0Rel().SetTargets([base.GetPath()])
        joint.CreateBody1Rel().SetTargets([body.GetPath()])
        joint.CreateLocalPos0Attr(_vec3f(part.pivot))
        joint.CreateLocalRot0Attr(Gf.Quatf(1, 0, 0, 0))
        joint.CreateLocalPos1Attr(_vec3f(tuple(p - c for p, c in zip(part.pivot, part.center))))  # type: ignore[arg-type]
        joint.CreateLocalRot1Attr(Gf.Quatf(1, 0, 0, 0))
        set_custom(body, "bp:part", part.name, Sdf.ValueTypeNames.String)
        records.append(JointRecord(part.name, part.joint, part.axis, part.lower, part.upper, str(joint.GetPath()).replace("/Root/", "", 1), part.center, part.size, part.pivot))
    set_custom(root, "bp:object_id", object_id, Sdf.ValueTypeNames.String)
    set_custom(root, "bp:articulated", True, Sdf.ValueTypeNames.Bool)
    stage.GetRootLayer().Save()
    return records


def opened_joint_count(path: Path) -> int:
    """How many limited joints the layer really composes (a self-check after writing)."""
    stage = Usd.Stage.Open(str(path))
    count = 0
    for prim in stage.Traverse():
        for schema in (UsdPhysics.RevoluteJoint, UsdPhysics.PrismaticJoint):
            if prim.IsA(schema):
                j = schema(prim)
                if j.GetLowerLimitAttr().HasAuthoredValue() and j.GetUpperLimitAttr().HasAuthoredValue():
                    count += 1
    return count
