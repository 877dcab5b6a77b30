"""The issue's acceptance checks on a composed ``usd/scene.usda``, written with pxr directly.

Deliberately independent of ``bpflow.stage2.checks`` (the job's own quality gate): the test
must not trust the code it tests. Interpenetration is decided by projecting box corners on
every separating-axis candidate, a different computation from the job's radius formula.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import numpy as np
from pxr import Gf, Usd, UsdGeom, UsdPhysics

ARTICULATED = {"refrigerator", "fridge", "freezer", "cabinet", "oven", "stove", "microwave", "dishwasher", "drawer", "dresser", "nightstand", "wardrobe"}
POSITION_TOL = 1e-6
TOUCH_TOL = 1e-3


def expected_center(layout_obj: dict[str, Any], manifest_obj: dict[str, Any], up: int) -> np.ndarray:
    """Layout obb centre; else the base-anchored center3d raised by half the height."""
    if layout_obj.get("obb"):
        return np.asarray(layout_obj["obb"]["center"], dtype=float)
    base = np.asarray(layout_obj["center3d"], dtype=float)
    base[up] += manifest_obj["dimensions_est"]["height"] / 2
    return base


def _corners(bbox: Any) -> np.ndarray:
    rng = bbox.GetRange()
    lo, hi = rng.GetMin(), rng.GetMax()
    m = np.array(bbox.GetMatrix(), dtype=float)
    pts = np.array([[x, y, z, 1.0] for x in (lo[0], hi[0]) for y in (lo[1], hi[1]) for z in (lo[2], hi[2])])
    return (pts @ m)[:, :3]


def _oriented_corners(prim: Usd.Prim) -> np.ndarray:
    """The object's box from its mesh points in its own frame, carried to world by its matrix: an
    oriented box, so a rotated object is judged by its real extent, not a world-aligned envelope."""
    to_world = UsdGeom.Xformable(prim).ComputeLocalToWorldTransform(Usd.TimeCode.Default())
    to_own = to_world.GetInverse()
    pts = []
    for part in Usd.PrimRange(prim):
        if not part.IsA(UsdGeom.Gprim):
            continue
        m = UsdGeom.Xformable(part).ComputeLocalToWorldTransform(Usd.TimeCode.Default()) * to_own
        if part.IsA(UsdGeom.Mesh):
            local = list(UsdGeom.Mesh(part).GetPointsAttr().Get() or [])
        else:  # cubes, cylinders…: the 8 corners of their extent
            ext = UsdGeom.Boundable.ComputeExtentFromPlugins(UsdGeom.Boundable(part), Usd.TimeCode.Default())
            local = [] if ext is None else [Gf.Vec3f(x, y, z) for x in (ext[0][0], ext[1][0]) for y in (ext[0][1], ext[1][1]) for z in (ext[0][2], ext[1][2])]
        pts.extend(list(m.Transform(Gf.Vec3d(p))) for p in local)
    assert pts, f"{prim.GetPath()} has no geometry"
    arr = np.asarray(pts, dtype=float)
    return _corners(Gf.BBox3d(Gf.Range3d(Gf.Vec3d(*arr.min(0)), Gf.Vec3d(*arr.max(0))), to_world))


def _axes(corners: np.ndarray) -> list[np.ndarray]:
    # corners are ordered x-major: 0→4 varies x, 0→2 varies y, 0→1 varies z
    out = []
    for i in (4, 2, 1):
        v = corners[i] - corners[0]
        n = np.linalg.norm(v)
        if n > 1e-12:
            out.append(v / n)
    return out


def overlap_depth(a: np.ndarray, b: np.ndarray) -> float:
    axes = _axes(a) + _axes(b)
    axes += [np.cross(u, v) / np.linalg.norm(np.cross(u, v)) for u in _axes(a) for v in _axes(b) if np.linalg.norm(np.cross(u, v)) > 1e-9]
    depth = np.inf
    for ax in axes:
        pa, pb = a @ ax, b @ ax
        depth = min(depth, min(pa.max(), pb.max()) - max(pa.min(), pb.min()))
    return float(depth)


def check_scene(scene_path: Path, manifest: dict[str, Any], layout: dict[str, Any]) -> dict[str, Any]:
    stage = Usd.Stage.Open(str(scene_path))
    assert stage is not None, f"cannot open {scene_path}"
    frame = manifest["scene"]["coordinate_frame"]
    assert UsdGeom.GetStageMetersPerUnit(stage) == manifest["scene"]["meters_per_unit"]
    assert UsdGeom.GetStageUpAxis(stage) == ("Y" if frame == "y_up" else "Z")
    up = 1 if frame == "y_up" else 2
    objects_root = stage.GetPrimAtPath("/World/Objects")
    prims = {p.GetAttribute("bp:object_id").Get(): p for p in objects_root.GetChildren()}
    ids = [o["id"] for o in manifest["objects"]]
    assert sorted(prims) == sorted(ids), "one prim per manifest object"
    layout_by_id = {o["id"]: o for o in layout["objects"]}
    cache = UsdGeom.BBoxCache(Usd.TimeCode.Default(), [UsdGeom.Tokens.default_, UsdGeom.Tokens.render])
    corners = {}
    joints_seen: dict[str, int] = {}
    for obj in manifest["objects"]:
        prim = prims[obj["id"]]
        at = UsdGeom.Xformable(prim).ComputeLocalToWorldTransform(Usd.TimeCode.Default()).ExtractTranslation()
        want = expected_center(layout_by_id[obj["id"]], obj, up)
        assert np.max(np.abs(np.array(at) - want)) <= POSITION_TOL, f"{obj['id']} at {at}, layout says {want}"
        bodies = [p for p in Usd.PrimRange(prim) if p.HasAPI(UsdPhysics.RigidBodyAPI)]
        assert bodies, f"{obj['id']} has no rigid body"
        for body in bodies:
            mass = UsdPhysics.MassAPI(body).GetMassAttr().Get()
            assert mass is not None and mass > 0, f"{obj['id']}: body {body.GetPath()} mass {mass}"
        assert any(p.HasAPI(UsdPhysics.CollisionAPI) for p in Usd.PrimRange(prim)), f"{obj['id']} has no collider"
        limited = 0
        for p in Usd.PrimRange(prim):
            for schema in (UsdPhysics.RevoluteJoint, UsdPhysics.PrismaticJoint):
                if p.IsA(schema):
                    j = schema(p)
                    lo, hi = j.GetLowerLimitAttr().Get(), j.GetUpperLimitAttr().Get()
                    assert lo is not None and hi is not None and lo < hi, f"{p.GetPath()} limits {lo}..{hi}"
                    assert j.GetAxisAttr().Get() in ("X", "Y", "Z")
                    limited += 1
        joints_seen[obj["id"]] = limited
        if obj["category"] in ARTICULATED:
            assert limited > 0, f"{obj['id']} ({obj['category']}) has no limited joint"
        corners[obj["id"]] = _oriented_corners(prim)
    for (a, ca), (b, cb) in itertools.combinations(sorted(corners.items()), 2):
        assert overlap_depth(ca, cb) <= TOUCH_TOL, f"{a} and {b} interpenetrate"
    return {"objects": len(prims), "joints": joints_seen}
