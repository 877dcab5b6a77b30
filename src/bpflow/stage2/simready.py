"""Simready: one physics-ready USD per object (``assets/obj_<id>/simready.usda``).

The layer references the object's visual and adds what a simulator needs, as UsdPhysics
schemas: a rigid body (kinematic for furniture and appliances, which do not move as a whole),
its mass (volume of the real geometry × a density from ``density``), colliders on the visual's
gprims with the category's mesh approximation, and a physics material with friction and
restitution bound for the ``physics`` purpose. The visual is re-centred on the layer's origin
and brought to metres and the scene's up axis, which is what lets the assembly place every
object by its layout centre.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from pxr import Gf, Sdf, Usd, UsdGeom, UsdPhysics, UsdShade

from bpflow.errors import ValidationFailed
from bpflow.stage2.collision import approximation_for
from bpflow.stage2.density import choose_density
from bpflow.stage2.manifest import SceneObject
from bpflow.stage2.meshes import estimate_volume, up_axis_correction, usd_parts
from bpflow.stage2.placement import quat_from_matrix
from bpflow.stage2.surface import surface_for
from bpflow.stage2.usd_util import add_box, new_stage, relative_asset_path, set_custom, set_transform, stage_meters_per_unit, stage_up_axis

SIMREADY_NAME = "simready.usda"


@dataclass(frozen=True)
class PhysicsRecord:
    """One object's physics as written, for ``simready_physics.json`` and later stages."""

    id: str
    path: str
    mass_kg: float
    volume_m3: float
    volume_source: str
    density_kg_m3: float
    density_basis: str
    density_source: str
    material: str
    static_friction: float
    dynamic_friction: float
    restitution: float
    collision_approximation: str
    kinematic: bool
    size_m: tuple[float, float, float]
    collider_count: int
    estimation_source: str = "deterministic"

    def to_dict(self) -> dict[str, object]:
        out = asdict(self)
        out["size_m"] = list(self.size_m)
        return out


def visual_root(visual: Usd.Stage, name: str) -> Usd.Prim:
    """The prim a reference to the visual brings in: its default prim, else its first root."""
    target = visual.GetDefaultPrim()
    if target:
        return target
    roots = list(visual.GetPseudoRoot().GetChildren())
    if not roots:
        raise ValidationFailed(f"{name} has no prims", code="asset_invalid", field=name)
    return roots[0]


def _apply_colliders(stage: Usd.Stage, geom_root: Usd.Prim, approximation: str) -> int:
    count = 0
    for prim in Usd.PrimRange(geom_root):
        if not prim.IsA(UsdGeom.Gprim) or prim.IsInstanceProxy():
            continue
        if UsdGeom.Imageable(prim).ComputePurpose() not in (UsdGeom.Tokens.default_, UsdGeom.Tokens.render):
            continue
        UsdPhysics.CollisionAPI.Apply(prim)
        if prim.IsA(UsdGeom.Mesh):
            UsdPhysics.MeshCollisionAPI.Apply(prim).CreateApproximationAttr(approximation)
        count += 1
    return count


def build_simready(
    obj: SceneObject,
    *,
    visual_key: str,
    visual_local: Path,
    out_key: str,
    out_local: Path,
    up_axis: str,
) -> PhysicsRecord:
    """Write ``out_local`` (the layer for bucket key ``out_key``) and return its physics."""
    visual = Usd.Stage.Open(str(visual_local))
    if visual is None:
        raise ValidationFailed(f"object {obj.id!r}: {visual_key} does not open as USD", code="asset_invalid", field=f"objects[{obj.index}].asset.path")
    source_root = visual_root(visual, visual_key)
    parts = usd_parts(visual, up_axis, source_root)
    if not parts:
        raise ValidationFailed(f"object {obj.id!r}: {visual_key} has no geometry", code="asset_invalid", field=f"objects[{obj.index}].asset.path")
    verts = np.vstack([p.vertices for p in parts])
    lo, hi = verts.min(axis=0), verts.max(axis=0)
    center, size = (lo + hi) / 2, hi - lo
    volume = estimate_volume(parts)
    density = choose_density(obj.kind, obj.material_hint, volume)
    mass = max(volume.volume_m3 * density.density_kg_m3, 1e-3)
    surface = surface_for(density.material)
    approximation = approximation_for(obj.kind)

    stage, root = new_stage(out_local, up_axis)
    geom = stage.DefinePrim("/Root/Geom", "Xform")
    # The visual goes one level down so its own root transform survives under ours.
    rel = relative_asset_path(out_key, visual_key)
    asset = stage.DefinePrim("/Root/Geom/Asset")
    if source_root == visual.GetDefaultPrim():
        asset.GetReferences().AddReference(rel)
    else:
        asset.GetReferences().AddReference(rel, source_root.GetPath())
    fix = up_axis_correction(stage_up_axis(visual), up_axis)
    set_transform(
        geom,
        translate=(-float(center[0]), -float(center[1]), -float(center[2])),
        orient=quat_from_matrix(tuple(tuple(float(v) for v in row) for row in fix)),  # type: ignore[arg-type]
        scale=stage_meters_per_unit(visual),
    )
    colliders = _apply_colliders(stage, geom, approximation)
    if colliders == 0:  # instanced or unusual geometry: collide with its box instead
        box = add_box(stage, "/Root/Collider", (0.0, 0.0, 0.0), (float(size[0]), float(size[1]), float(size[2])))
        UsdGeom.Imageable(box).CreatePurposeAttr(UsdGeom.Tokens.guide)
        UsdPhysics.CollisionAPI.Apply(box.GetPrim())
        colliders = 1

    body = UsdPhysics.RigidBodyAPI.Apply(root)
    body.CreateKinematicEnabledAttr(obj.is_static)
    UsdPhysics.MassAPI.Apply(root).CreateMassAttr(float(mass))
    material = UsdShade.Material.Define(stage, "/Root/Looks/PhysicsMaterial")
    phys = UsdPhysics.MaterialAPI.Apply(material.GetPrim())
    phys.CreateStaticFrictionAttr(surface.static_friction)
    phys.CreateDynamicFrictionAttr(surface.dynamic_friction)
    phys.CreateRestitutionAttr(surface.restitution)
    UsdShade.MaterialBindingAPI.Apply(root).Bind(material, UsdShade.Tokens.weakerThanDescendants, "physics")

    for name, value, vtype in (
        ("bp:object_id", obj.id, Sdf.ValueTypeNames.String),
        ("bp:category", obj.category, Sdf.ValueTypeNames.String),
        ("bp:kind", obj.kind, Sdf.ValueTypeNames.String),
        ("bp:sim_role", obj.sim_role, Sdf.ValueTypeNames.String),
        ("bp:size", Gf.Vec3d(*map(float, size)), Sdf.ValueTypeNames.Double3),
        ("bp:volume_m3", float(volume.volume_m3), Sdf.ValueTypeNames.Double),
        ("bp:volume_source", volume.source, Sdf.ValueTypeNames.String),
        ("bp:density_kg_m3", float(density.density_kg_m3), Sdf.ValueTypeNames.Double),
        ("bp:material", density.material, Sdf.ValueTypeNames.String),
        ("bp:collision_approximation", approximation, Sdf.ValueTypeNames.String),
    ):
        set_custom(root, name, value, vtype)
    stage.GetRootLayer().Save()
    return PhysicsRecord(
        id=obj.id,
        path=out_key,
        mass_kg=round(float(mass), 6),
        volume_m3=float(volume.volume_m3),
        volume_source=volume.source,
        density_kg_m3=density.density_kg_m3,
        density_basis=density.basis,
        density_source=density.source,
        material=density.material,
        static_friction=surface.static_friction,
        dynamic_friction=surface.dynamic_friction,
        restitution=surface.restitution,
        collision_approximation=approximation,
        kinematic=obj.is_static,
        size_m=(float(size[0]), float(size[1]), float(size[2])),
        collider_count=colliders,
    )
