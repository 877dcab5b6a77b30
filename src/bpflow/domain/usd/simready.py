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

from bpflow.core.errors import ValidationFailed
from bpflow.domain.scene.collision import CONVEX_DECOMPOSITION, CONVEX_HULL, approximation_for
from bpflow.domain.scene.contact import surface_for
from bpflow.domain.scene.density import MATERIAL_DENSITY, DensityChoice, choose_density
from bpflow.domain.scene.manifest import SceneObject
from bpflow.domain.scene.mass import BULK, MassProperties, PartMaterial, mass_properties
from bpflow.domain.scene.physics import mass_verdict, physics_row
from bpflow.domain.scene.pose import quat_from_matrix
from bpflow.domain.usd.meshes import estimate_volume, up_axis_correction, usd_parts_with_prims
from bpflow.domain.usd.usd_util import (
    add_box,
    new_stage,
    relative_asset_path,
    set_custom,
    set_transform,
    stage_meters_per_unit,
    stage_up_axis,
)

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
    mass_check: str = "ok"
    """``ok``, ``too_light`` or ``too_heavy`` against the category's plausible range."""
    mass_range_kg: tuple[float, float] = (0.0, 0.0)
    center_of_mass: tuple[float, float, float] = (0.0, 0.0, 0.0)
    diagonal_inertia: tuple[float, float, float] = (0.0, 0.0, 0.0)
    dynamic: bool = False

    def to_dict(self) -> dict[str, object]:
        out = asdict(self)
        out["size_m"] = list(self.size_m)
        for key in ("mass_range_kg", "center_of_mass", "diagonal_inertia"):
            out[key] = [round(float(v), 6) for v in out[key]]
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


def authored_materials(prims: list[Usd.Prim]) -> list[PartMaterial] | None:
    """Each part's construction and material as the asset authored them (``bp:construction``,
    ``bp:material``, ``bp:shell_thickness``, ``bp:bulk_density``); None when any part has none."""
    out = []
    for prim in prims:
        attr = prim.GetAttribute("bp:construction")
        construction = attr.Get() if attr else None
        if not construction:
            return None
        if construction == BULK:
            density = prim.GetAttribute("bp:bulk_density").Get()
            if not density:
                return None
            out.append(PartMaterial(BULK, float(density)))
            continue
        material = prim.GetAttribute("bp:material").Get() if prim.GetAttribute("bp:material") else None
        if str(material) not in MATERIAL_DENSITY:
            return None
        thickness = prim.GetAttribute("bp:shell_thickness").Get() if prim.GetAttribute("bp:shell_thickness") else None
        out.append(
            PartMaterial(str(construction), MATERIAL_DENSITY[str(material)], float(thickness or 0.0), str(material))
        )
    return out


def mass_props(parts: list, materials: list[PartMaterial] | None, mass: float) -> MassProperties | None:  # type: ignore[type-arg]
    """Centre of mass and inertia: from the authored materials, else the parts as one uniform
    solid scaled to ``mass`` (None when the parts enclose nothing)."""
    try:
        if materials is not None:
            return mass_properties(parts, materials)
        unit = mass_properties(parts, [PartMaterial("solid", 1.0)] * len(parts))
    except ValueError:
        return None
    factor = mass / unit.mass
    return MassProperties(mass, unit.center_of_mass, unit.inertia * factor, unit.volume)


def _collision_pieces(geom_root: Usd.Prim) -> tuple[list[Usd.Prim], set[str]]:
    """The asset's authored convex collision pieces and the visual parts they stand in for."""
    pieces, covered = [], set()
    for prim in Usd.PrimRange(geom_root):
        attr = prim.GetAttribute("bp:collision_for")
        if prim.IsA(UsdGeom.Mesh) and attr and attr.Get():
            pieces.append(prim)
            covered.add(str(attr.Get()))
    return pieces, covered


def _apply_colliders(stage: Usd.Stage, geom_root: Usd.Prim, approximation: str) -> int:
    pieces, covered = _collision_pieces(geom_root)
    for piece in pieces:
        UsdPhysics.CollisionAPI.Apply(piece)
        UsdPhysics.MeshCollisionAPI.Apply(piece).CreateApproximationAttr(CONVEX_HULL)
    count = len(pieces)
    for prim in Usd.PrimRange(geom_root):
        if not prim.IsA(UsdGeom.Gprim) or prim.IsInstanceProxy() or prim.GetName() in covered:
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
        raise ValidationFailed(
            f"object {obj.id!r}: {visual_key} does not open as USD",
            code="asset_invalid",
            field=f"objects[{obj.index}].asset.path",
        )
    source_root = visual_root(visual, visual_key)
    pairs = usd_parts_with_prims(visual, up_axis, source_root)
    parts = [mesh for mesh, _ in pairs]
    if not parts:
        raise ValidationFailed(
            f"object {obj.id!r}: {visual_key} has no geometry",
            code="asset_invalid",
            field=f"objects[{obj.index}].asset.path",
        )
    verts = np.vstack([p.vertices for p in parts])
    lo, hi = verts.min(axis=0), verts.max(axis=0)
    center, size = (lo + hi) / 2, hi - lo
    volume = estimate_volume(parts)
    row = physics_row(obj.sim_role, obj.category, obj.name, obj.kind)
    materials = authored_materials([prim for _, prim in pairs])
    props = mass_props(parts, materials, 1.0) if materials is not None else None
    if props is not None:  # the asset says what each part is made of: no guessing
        named = [m for m in materials or [] if m.name]
        main = max(named, key=lambda m: m.density).name if named else "composite"
        density = DensityChoice(props.mass / max(props.volume, 1e-12), "authored", main, "asset")
        mass = max(props.mass, 1e-3)
    else:
        density = choose_density(obj.kind, obj.material_hint, volume)
        mass = max(volume.volume_m3 * density.density_kg_m3, 1e-3)
        hint = obj.physics_hints.get("mass_kg")
        if (
            density.source == "default"
            and isinstance(hint, (int, float))
            and not isinstance(hint, bool)
            and 0 < hint < 1e4
        ):
            # no table knows the thing, the planner does: its typical mass beats a guessed density
            mass = float(hint)
            density = DensityChoice(
                mass / max(volume.volume_m3, 1e-12), "planner_mass", density.material, "physics_hints.mass_kg"
            )
        props = mass_props(parts, None, mass)
    verdict = mass_verdict(row, mass)
    surface = surface_for(density.material)
    approximation = CONVEX_DECOMPOSITION if row.concave else approximation_for(obj.kind)
    kinematic = not row.dynamic

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
    body.CreateKinematicEnabledAttr(kinematic)
    mass_api = UsdPhysics.MassAPI.Apply(root)
    mass_api.CreateMassAttr(float(mass))
    com = (0.0, 0.0, 0.0)
    diag = (0.0, 0.0, 0.0)
    if props is not None:
        com = tuple(float(c - m) for c, m in zip(props.center_of_mass, center, strict=True))  # type: ignore[assignment]
        diag, axes = props.principal()
        mass_api.CreateCenterOfMassAttr(Gf.Vec3f(*com))
        mass_api.CreateDiagonalInertiaAttr(Gf.Vec3f(*diag))
        mass_api.CreatePrincipalAxesAttr(Gf.Quatf(float(axes[0]), float(axes[1]), float(axes[2]), float(axes[3])))
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
        ("bp:mass_check", verdict, Sdf.ValueTypeNames.String),
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
        kinematic=kinematic,
        size_m=(float(size[0]), float(size[1]), float(size[2])),
        collider_count=colliders,
        mass_check=verdict,
        mass_range_kg=row.mass_kg,
        center_of_mass=com,
        diagonal_inertia=diag,
        dynamic=not kinematic,
    )
