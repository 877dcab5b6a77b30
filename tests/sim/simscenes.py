"""Small scene USDs in the assembly's layout (``stage2.assemble``), built with pxr for the
simulation tests: a room floor, a table (kinematic), movable cubes (dynamic rigid bodies with
mass and a physics material) and optionally a drawer unit (articulation root: ``Base`` fixed to
the world, ``Parts/drawer_0`` on a prismatic joint)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pxr import Gf, Sdf, Usd, UsdGeom, UsdPhysics, UsdShade

TABLE_TOP = 0.75


def _xf(prim: Usd.Prim, translate: tuple[float, float, float], scale: tuple[float, float, float] | None = None) -> None:
    api = UsdGeom.Xformable(prim)
    api.AddTranslateOp().Set(Gf.Vec3d(*translate))
    if scale is not None:
        api.AddScaleOp().Set(Gf.Vec3f(*scale))


def _box(
    stage: Usd.Stage, path: str, center: tuple[float, float, float], size: tuple[float, float, float], *, up: str
) -> Usd.Prim:
    cube = UsdGeom.Cube.Define(stage, path)
    cube.CreateSizeAttr(1.0)
    _xf(cube.GetPrim(), _up(center, up), _up_size(size, up))
    UsdPhysics.CollisionAPI.Apply(cube.GetPrim())
    return cube.GetPrim()


def _up(p: tuple[float, float, float], up: str) -> tuple[float, float, float]:
    """A Z-up point written in the stage's axes (Y-up: (x, y, z) → (x, z, -y))."""
    return p if up == "Z" else (p[0], p[2], -p[1])


def _up_size(s: tuple[float, float, float], up: str) -> tuple[float, float, float]:
    return s if up == "Z" else (s[0], s[2], s[1])


def _tag(prim: Usd.Prim, oid: str, category: str, role: str) -> None:
    for name, value in (("bp:object_id", oid), ("bp:category", category), ("bp:sim_role", role)):
        prim.CreateAttribute(name, Sdf.ValueTypeNames.String, custom=True).Set(value)


def _material(stage: Usd.Stage, prim: Usd.Prim, friction: float) -> None:
    mat = UsdShade.Material.Define(stage, f"{prim.GetPath()}/PhysicsMaterial")
    api = UsdPhysics.MaterialAPI.Apply(mat.GetPrim())
    api.CreateStaticFrictionAttr(friction)
    api.CreateDynamicFrictionAttr(friction * 0.8)
    api.CreateRestitutionAttr(0.1)
    UsdShade.MaterialBindingAPI.Apply(prim).Bind(mat, UsdShade.Tokens.weakerThanDescendants, "physics")


def write_scene(
    folder: Path,
    *,
    up: str = "Z",
    cubes: list[dict[str, Any]] | None = None,
    drawer: bool = False,
    table: bool = True,
    table_size: tuple[float, float] = (1.2, 0.8),
    scene_id: str = "simtest",
    back_wall_y: float | None = None,
) -> tuple[Path, dict[str, Any]]:
    """Write ``folder/usd/scene.usda`` and return it with the matching manifest body.

    ``cubes``: ``[{"id", "xy": (x, y), "size": 0.05, "mass": 0.1}]`` placed on the table top
    (or the floor without a table). ``back_wall_y``: a 10 cm thick, 2.5 m high room wall whose
    inner face is at that y (spanning the room's width)."""
    cubes = cubes if cubes is not None else [{"id": "cube_a", "xy": (0.0, 0.0)}]
    path = folder / "usd" / "scene.usda"
    path.parent.mkdir(parents=True, exist_ok=True)
    stage = Usd.Stage.CreateNew(str(path))
    UsdGeom.SetStageUpAxis(stage, UsdGeom.Tokens.y if up == "Y" else UsdGeom.Tokens.z)
    UsdGeom.SetStageMetersPerUnit(stage, 1.0)
    world = stage.DefinePrim("/World", "Xform")
    stage.SetDefaultPrim(world)
    world.CreateAttribute("bp:scene_id", Sdf.ValueTypeNames.String, custom=True).Set(scene_id)
    phys = UsdPhysics.Scene.Define(stage, "/World/PhysicsScene")
    phys.CreateGravityMagnitudeAttr(9.81)
    UsdGeom.Xform.Define(stage, "/World/Room")
    _box(stage, "/World/Room/Floor", (0.0, 0.0, -0.05), (6.0, 6.0, 0.1), up=up)
    if back_wall_y is not None:
        _box(stage, "/World/Room/BackWall", (0.0, back_wall_y + 0.05, 1.25), (6.0, 0.1, 2.5), up=up)
    UsdGeom.Scope.Define(stage, "/World/Objects")
    objects: list[dict[str, Any]] = []
    top = TABLE_TOP if table else 0.0
    if table:
        t = stage.DefinePrim("/World/Objects/obj_table", "Xform")
        _xf(t, _up((0.0, 0.0, TABLE_TOP / 2), up))
        body = UsdPhysics.RigidBodyAPI.Apply(t)
        body.CreateKinematicEnabledAttr(True)
        UsdPhysics.MassAPI.Apply(t).CreateMassAttr(30.0)
        _box(stage, "/World/Objects/obj_table/Top", (0.0, 0.0, 0.0), (table_size[0], table_size[1], TABLE_TOP), up=up)
        # the collider's translate is relative to the object: re-set it to the centre
        UsdGeom.Xformable(stage.GetPrimAtPath("/World/Objects/obj_table/Top")).GetOrderedXformOps()[0].Set(
            Gf.Vec3d(0, 0, 0)
        )
        _material(stage, t, 0.8)
        _tag(t, "table", "table", "static")
        objects.append({"id": "table", "category": "table", "sim_role": "static"})
    for c in cubes:
        size = float(c.get("size", 0.05))
        x, y = c["xy"]
        prim = stage.DefinePrim(f"/World/Objects/obj_{c['id']}", "Xform")
        _xf(prim, _up((x, y, top + size / 2 + 0.001), up))
        UsdPhysics.RigidBodyAPI.Apply(prim).CreateKinematicEnabledAttr(False)
        UsdPhysics.MassAPI.Apply(prim).CreateMassAttr(float(c.get("mass", 0.1)))
        geom = UsdGeom.Cube.Define(stage, f"{prim.GetPath()}/Geom")
        geom.CreateSizeAttr(size)
        geom.CreateDisplayColorAttr([Gf.Vec3f(0.8, 0.2, 0.2)])
        UsdPhysics.CollisionAPI.Apply(geom.GetPrim())
        _material(stage, prim, float(c.get("friction", 1.0)))
        _tag(prim, c["id"], c.get("category", "block"), "manipulable_object")
        objects.append({"id": c["id"], "category": c.get("category", "block"), "sim_role": "manipulable_object"})
    if drawer:
        d = stage.DefinePrim("/World/Objects/obj_drawers", "Xform")
        _xf(d, _up((0.0, 1.2, 0.4), up))
        UsdPhysics.ArticulationRootAPI.Apply(d)
        base = stage.DefinePrim("/World/Objects/obj_drawers/Base", "Xform")
        UsdPhysics.RigidBodyAPI.Apply(base)
        UsdPhysics.MassAPI.Apply(base).CreateMassAttr(20.0)
        b = UsdGeom.Cube.Define(stage, "/World/Objects/obj_drawers/Base/Geom")
        b.CreateSizeAttr(1.0)
        UsdGeom.Xformable(b).AddScaleOp().Set(Gf.Vec3f(*_up_size((0.6, 0.5, 0.8), up)))
        UsdPhysics.CollisionAPI.Apply(b.GetPrim())
        part = stage.DefinePrim("/World/Objects/obj_drawers/Parts/drawer_0", "Xform")
        _xf(part, _up((0.0, -0.27, 0.2), up))
        UsdPhysics.RigidBodyAPI.Apply(part)
        UsdPhysics.MassAPI.Apply(part).CreateMassAttr(1.0)
        pg = UsdGeom.Cube.Define(stage, "/World/Objects/obj_drawers/Parts/drawer_0/Geom")
        pg.CreateSizeAttr(1.0)
        UsdGeom.Xformable(pg).AddScaleOp().Set(Gf.Vec3f(*_up_size((0.5, 0.04, 0.2), up)))
        UsdPhysics.CollisionAPI.Apply(pg.GetPrim())
        j = UsdPhysics.PrismaticJoint.Define(stage, "/World/Objects/obj_drawers/Joints/drawer_0_joint")
        j.CreateAxisAttr("Y" if up == "Z" else "Z")
        j.CreateLowerLimitAttr(-0.3 if up == "Z" else 0.0)
        j.CreateUpperLimitAttr(0.0 if up == "Z" else 0.3)
        j.CreateBody0Rel().SetTargets([base.GetPath()])
        j.CreateBody1Rel().SetTargets([part.GetPath()])
        j.CreateLocalPos0Attr(Gf.Vec3f(*_up((0.0, -0.27, 0.2), up)))
        j.CreateLocalPos1Attr(Gf.Vec3f(0, 0, 0))
        _tag(d, "drawers", "drawer", "articulated_furniture")
        d.CreateAttribute("bp:articulated", Sdf.ValueTypeNames.Bool, custom=True).Set(True)
        objects.append({"id": "drawers", "category": "drawer", "sim_role": "articulated_furniture"})
    stage.GetRootLayer().Save()
    manifest = {"scene_id": scene_id, "version": "1.0", "objects": objects}
    (folder / "scene_manifest.json").write_text(json.dumps(manifest))
    return path, manifest


def first_task_episode(sim: Any) -> tuple[Any, dict[str, str]]:
    """The judgement of one unrendered episode (seed 0) of the first task derived from ``sim``
    (asserted to exist), and why other objects got none: the physics' word on a derived task."""
    from bpflow.domain.episodes.recorder import RecordConfig, Recorder
    from bpflow.domain.sim.tasks import derive_tasks

    tasks, skipped = derive_tasks(sim, max_tasks=1)
    assert tasks, skipped
    rec = Recorder(sim, RecordConfig(fps=25, cameras=(), width=32, height=32, render=False))
    try:
        return rec.run(tasks[0], 0).judgement, skipped
    finally:
        rec.close()
