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
from typing import TYPE_CHECKING

from pxr import Gf, Sdf, Usd, UsdGeom, UsdPhysics, UsdShade

from bpflow.domain.scene.articulation import PartSpec
from bpflow.domain.scene.pose import Vec3
from bpflow.domain.usd.usd_util import add_box, new_stage, relative_asset_path, set_custom, set_transform

if TYPE_CHECKING:
    from bpflow.domain.scene.mass import MassProperties
    from bpflow.domain.usd.asset_parts import AuthoredPart

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


def _root_joint(stage: Usd.Stage, scope: Sdf.Path, base: Usd.Prim) -> None:
    """The fixed joint holding the base to the world (the assembly anchors it where the object stands)."""
    fixed = UsdPhysics.FixedJoint.Define(stage, scope.AppendChild("RootJoint"))
    fixed.CreateBody1Rel().SetTargets([base.GetPath()])
    fixed.CreateLocalPos0Attr(Gf.Vec3f(0, 0, 0))
    fixed.CreateLocalRot0Attr(Gf.Quatf(1, 0, 0, 0))
    fixed.CreateLocalPos1Attr(Gf.Vec3f(0, 0, 0))
    fixed.CreateLocalRot1Attr(Gf.Quatf(1, 0, 0, 0))


def _define_joint(
    stage: Usd.Stage,
    scope: Sdf.Path,
    name: str,
    kind: str,
    axis: str,
    limits: tuple[float, float],
    base: Usd.Prim,
    body: Usd.Prim,
    pos0: tuple[float, float, float],
    pos1: tuple[float, float, float],
) -> UsdPhysics.Joint:
    """One limited revolute/prismatic joint from ``base`` to ``body`` (anchor given in each body)."""
    schema = UsdPhysics.RevoluteJoint if kind == "revolute" else UsdPhysics.PrismaticJoint
    joint = schema.Define(stage, scope.AppendChild(f"{name}_joint"))
    joint.CreateAxisAttr(axis)
    joint.CreateLowerLimitAttr(float(limits[0]))
    joint.CreateUpperLimitAttr(float(limits[1]))
    joint.CreateBody0Rel().SetTargets([base.GetPath()])
    joint.CreateBody1Rel().SetTargets([body.GetPath()])
    joint.CreateLocalPos0Attr(_vec3f(pos0))
    joint.CreateLocalRot0Attr(Gf.Quatf(1, 0, 0, 0))
    joint.CreateLocalPos1Attr(_vec3f(pos1))
    joint.CreateLocalRot1Attr(Gf.Quatf(1, 0, 0, 0))
    return joint


def _open_layer(out_local: Path, up_axis: str, base_reference: str) -> tuple[Usd.Stage, Usd.Prim, Usd.Prim]:
    """A new articulated layer: the root is the articulation root, ``Base`` references the simready object."""
    stage, root = new_stage(out_local, up_axis)
    UsdPhysics.ArticulationRootAPI.Apply(root)
    base = stage.DefinePrim("/Root/Base")
    base.GetReferences().AddReference(base_reference)
    return stage, root, base


def _scaffold(stage: Usd.Stage, base: Usd.Prim) -> tuple[UsdShade.Material, Sdf.Path]:
    """The physics material the parts share, and the joint scope holding the base's root joint
    (after ``Base`` is authored, before its parts)."""
    material = UsdShade.Material(stage.GetPrimAtPath("/Root/Base/Looks/PhysicsMaterial"))
    joints_scope = UsdGeom.Scope.Define(stage, "/Root/Joints")
    _root_joint(stage, joints_scope.GetPath(), base)
    UsdGeom.Xform.Define(stage, "/Root/Parts")
    return material, joints_scope.GetPath()


def _join_part(
    stage: Usd.Stage,
    joints: Sdf.Path,
    material: UsdShade.Material,
    base: Usd.Prim,
    body: Usd.Prim,
    part: PartSpec | AuthoredPart,
    anchor_in_base: Vec3,
    anchor_in_body: Vec3,
) -> JointRecord:
    """Bind the shared material to a part's body and joint it to the base; its record."""
    if material:
        UsdShade.MaterialBindingAPI.Apply(body).Bind(material, UsdShade.Tokens.weakerThanDescendants, "physics")
    joint = _define_joint(
        stage,
        joints,
        part.name,
        part.joint,
        part.axis,
        (part.lower, part.upper),
        base,
        body,
        anchor_in_base,
        anchor_in_body,
    )
    set_custom(body, "bp:part", part.name, Sdf.ValueTypeNames.String)
    return JointRecord(
        part.name,
        part.joint,
        part.axis,
        part.lower,
        part.upper,
        str(joint.GetPath()).replace("/Root/", "", 1),
        part.center,
        part.size,
        anchor_in_base,
    )


def _close_layer(stage: Usd.Stage, root: Usd.Prim, object_id: str, source: str | None = None) -> None:
    set_custom(root, "bp:object_id", object_id, Sdf.ValueTypeNames.String)
    set_custom(root, "bp:articulated", True, Sdf.ValueTypeNames.Bool)
    if source is not None:
        set_custom(root, "bp:articulation_source", source, Sdf.ValueTypeNames.String)
    stage.GetRootLayer().Save()


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
    stage, root, base = _open_layer(out_local, up_axis, relative_asset_path(out_key, simready_key))
    base_mass = total_mass * max(0.05, 1.0 - sum(p.mass_fraction for p in parts))
    UsdPhysics.RigidBodyAPI.Apply(base).CreateKinematicEnabledAttr(False)
    UsdPhysics.MassAPI.Apply(base).CreateMassAttr(float(base_mass))
    material, joints = _scaffold(stage, base)

    records: list[JointRecord] = []
    for part in parts:
        body = stage.DefinePrim(f"/Root/Parts/{part.name}", "Xform")
        set_transform(body, translate=part.center)
        UsdPhysics.RigidBodyAPI.Apply(body)
        UsdPhysics.MassAPI.Apply(body).CreateMassAttr(float(max(total_mass * part.mass_fraction, 1e-3)))
        geom = add_box(stage, f"{body.GetPath()}/Geom", (0.0, 0.0, 0.0), part.size, color=(0.85, 0.85, 0.88))
        UsdPhysics.CollisionAPI.Apply(geom.GetPrim())
        in_body = tuple(p - c for p, c in zip(part.pivot, part.center))
        records.append(_join_part(stage, joints, material, base, body, part, part.pivot, in_body))  # type: ignore[arg-type]
    _close_layer(stage, root, object_id)
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


# -- articulation from the asset's own parts ------------------------------------------------------


def _group_mass(pairs: list, total_mass: float, share: float) -> MassProperties | None:  # type: ignore[type-arg]
    """Mass properties of some of the object's meshes, as simready computes an object's: from their
    authored materials, else a uniform solid holding ``share`` of the object's mass."""
    from bpflow.domain.usd.simready import authored_materials, mass_props

    if not pairs:
        return None
    return mass_props([m for m, _ in pairs], authored_materials([p for _, p in pairs]), total_mass * share)


def _author_mass(prim: Usd.Prim, props: MassProperties | None, fallback_mass: float) -> float:
    api = UsdPhysics.MassAPI.Apply(prim)
    if props is None:
        api.CreateMassAttr(float(max(fallback_mass, 1e-3)))
        return fallback_mass
    api.CreateMassAttr(float(max(props.mass, 1e-3)))
    api.CreateCenterOfMassAttr(Gf.Vec3f(*props.center_of_mass))
    diag, axes = props.principal()
    api.CreateDiagonalInertiaAttr(Gf.Vec3f(*diag))
    api.CreatePrincipalAxesAttr(Gf.Quatf(*map(float, axes)))
    return props.mass


def build_interactive_authored(
    *,
    object_id: str,
    simready_key: str,
    simready_local: Path,
    out_key: str,
    out_local: Path,
    up_axis: str,
    parts: list[AuthoredPart],
    total_mass: float,
) -> list[JointRecord]:
    """The articulated layer from the asset's own moving groups: ``Base`` is the simready object
    with those groups switched off (so its colliders are the carcass: the inside stays open),
    each group becomes ``Parts/<name>`` (its own meshes and colliders, its own mass), joined to
    the base at the authored hinge or slide."""
    from bpflow.domain.usd.meshes import usd_parts_with_prims

    source = Usd.Stage.Open(str(simready_local))
    src_root = source.GetDefaultPrim()
    member_paths = {path for p in parts for path in p.members}
    pairs = usd_parts_with_prims(source, up_axis, src_root)
    moving = {p.name: [(m, prim) for m, prim in pairs if prim.GetPath() in p.members] for p in parts}
    still = [(m, prim) for m, prim in pairs if prim.GetPath() not in member_paths]

    rel = relative_asset_path(out_key, simready_key)
    stage, root, base = _open_layer(out_local, up_axis, rel)
    for member in sorted(member_paths):  # the moving parts' meshes leave the base
        stage.OverridePrim(Sdf.Path("/Root/Base").AppendPath(member.MakeRelativePath(src_root.GetPath()))).SetActive(
            False
        )
    UsdPhysics.RigidBodyAPI.Apply(base).CreateKinematicEnabledAttr(False)
    part_masses = {p.name: _group_mass(moving[p.name], total_mass, 0.1 / len(parts)) for p in parts}
    moving_mass = sum(m.mass for m in part_masses.values() if m is not None)
    _author_mass(
        base,
        _group_mass(still, total_mass, max(0.05, 1.0 - moving_mass / max(total_mass, 1e-9))),
        total_mass - moving_mass,
    )
    material, joints = _scaffold(stage, base)

    records: list[JointRecord] = []
    for part in parts:
        body = UsdGeom.Xform.Define(stage, f"/Root/Parts/{part.name}").GetPrim()
        UsdPhysics.RigidBodyAPI.Apply(body)
        _author_mass(body, part_masses[part.name], total_mass * 0.1 / len(parts))
        visual = UsdGeom.Xform.Define(stage, f"/Root/Parts/{part.name}/Geom")
        visual.AddTransformOp(UsdGeom.XformOp.PrecisionDouble).Set(part.parent_matrix)
        for member in part.members:  # each mesh, with the colliders simready put on it
            stage.DefinePrim(visual.GetPath().AppendChild(member.name)).GetReferences().AddReference(rel, member)
        # the part's frame is the object's at rest: the anchor is the same point in both bodies
        records.append(_join_part(stage, joints, material, base, body, part, part.anchor, part.anchor))
    _close_layer(stage, root, object_id, source="asset_parts")
    return records
