"""The issue's acceptance checks on a composed ``usd/scene.usda``, written with pxr directly.

Deliberately independent of ``bpflow.domain.usd.checks`` (the job's own quality gate): the test
must not trust the code it tests. Interpenetration is decided by projecting box corners on
every separating-axis candidate, a different computation from the job's radius formula.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import numpy as np
from pxr import Gf, Usd, UsdGeom, UsdPhysics

ARTICULATED = {
    "refrigerator",
    "fridge",
    "freezer",
    "cabinet",
    "oven",
    "stove",
    "microwave",
    "dishwasher",
    "drawer",
    "dresser",
    "nightstand",
    "wardrobe",
}
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
            local = (
                []
                if ext is None
                else [
                    Gf.Vec3f(x, y, z)
                    for x in (ext[0][0], ext[1][0])
                    for y in (ext[0][1], ext[1][1])
                    for z in (ext[0][2], ext[1][2])
                ]
            )
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
    axes += [
        np.cross(u, v) / np.linalg.norm(np.cross(u, v))
        for u in _axes(a)
        for v in _axes(b)
        if np.linalg.norm(np.cross(u, v)) > 1e-9
    ]
    depth = np.inf
    for ax in axes:
        pa, pb = a @ ax, b @ ax
        depth = min(depth, min(pa.max(), pb.max()) - max(pa.min(), pb.min()))
    return float(depth)


def _world_points_and_triangles(prim: Usd.Prim) -> tuple[np.ndarray, np.ndarray]:
    """Every rendered mesh point under ``prim`` in world space, and its triangles (k×3×3)."""
    pts, tris = [], []
    for part in Usd.PrimRange(prim):
        if not part.IsA(UsdGeom.Mesh) or UsdGeom.Imageable(part).ComputePurpose() == "guide":
            continue
        m = UsdGeom.Xformable(part).ComputeLocalToWorldTransform(Usd.TimeCode.Default())
        mesh = UsdGeom.Mesh(part)
        world = np.asarray([list(m.Transform(Gf.Vec3d(p))) for p in mesh.GetPointsAttr().Get()], dtype=float)
        pts.append(world)
        at = 0
        idx = list(mesh.GetFaceVertexIndicesAttr().Get())
        for n in mesh.GetFaceVertexCountsAttr().Get():
            ring = idx[at : at + n]
            at += n
            tris += [world[[ring[0], ring[k], ring[k + 1]]] for k in range(1, n - 1)]
    return np.vstack(pts), np.asarray(tris)


def _hull2d(points: np.ndarray) -> list[tuple[float, float]]:
    """Convex hull (monotone chain), counter-clockwise."""
    pts = sorted(set(map(tuple, np.round(points, 6))))
    if len(pts) < 3:
        return pts

    def cross(o: tuple[float, float], p: tuple[float, float], q: tuple[float, float]) -> float:
        return (p[0] - o[0]) * (q[1] - o[1]) - (p[1] - o[1]) * (q[0] - o[0])

    lower: list[tuple[float, float]] = []
    upper: list[tuple[float, float]] = []
    for p in pts:
        while len(lower) >= 2 and cross(lower[-2], lower[-1], p) <= 0:
            lower.pop()
        lower.append(p)
    for p in reversed(pts):
        while len(upper) >= 2 and cross(upper[-2], upper[-1], p) <= 0:
            upper.pop()
        upper.append(p)
    return lower[:-1] + upper[:-1]


def _inside(hull: list[tuple[float, float]], p: tuple[float, float]) -> bool:
    if len(hull) < 3:
        return False
    return all(
        (q[0] - o[0]) * (p[1] - o[1]) - (q[1] - o[1]) * (p[0] - o[0]) >= -1e-9
        for o, q in zip(hull, hull[1:] + hull[:1], strict=True)
    )


def assert_rests_on(obj: Usd.Prim, support: Usd.Prim, up: int) -> None:
    """The object's lowest point touches the support's real surface under it: the highest
    support triangle below the object's footprint is within TOUCH_TOL... 5 mm of its bottom,
    and no part of that surface rises into it (sampled on a grid over its footprint)."""
    pts, _ = _world_points_and_triangles(obj)
    _, tris = _world_points_and_triangles(support)
    a, b = [i for i in range(3) if i != up]
    bottom = float(pts[:, up].min())
    base = pts[pts[:, up] <= bottom + 0.005][:, [a, b]]  # what the object stands on: its lowest points
    lo, hi = base.min(0), base.max(0)
    hull = _hull2d(base)
    grid = np.array(
        [(u, v) for u in np.linspace(lo[0], hi[0], 9) for v in np.linspace(lo[1], hi[1], 9) if _inside(hull, (u, v))]
        or [tuple(base.mean(0))]
    )
    p0, p1, p2 = tris[:, 0], tris[:, 1], tris[:, 2]
    surface = np.full(len(grid), -np.inf)
    for i, (u, v) in enumerate(grid):
        d = (p1[:, b] - p2[:, b]) * (p0[:, a] - p2[:, a]) + (p2[:, a] - p1[:, a]) * (p0[:, b] - p2[:, b])
        ok = np.abs(d) > 1e-12
        l1 = np.where(
            ok,
            ((p1[:, b] - p2[:, b]) * (u - p2[:, a]) + (p2[:, a] - p1[:, a]) * (v - p2[:, b])) / np.where(ok, d, 1),
            -1,
        )
        l2 = np.where(
            ok,
            ((p2[:, b] - p0[:, b]) * (u - p2[:, a]) + (p0[:, a] - p2[:, a]) * (v - p2[:, b])) / np.where(ok, d, 1),
            -1,
        )
        l3 = 1 - l1 - l2
        inside = ok & (l1 >= -1e-9) & (l2 >= -1e-9) & (l3 >= -1e-9)
        if inside.any():
            h = l1 * p0[:, up] + l2 * p1[:, up] + l3 * p2[:, up]
            below = inside & (h <= bottom + 0.05)  # surfaces under the object, not a panel beside it
            if below.any():
                surface[i] = h[below].max()
    assert np.isfinite(surface).any(), f"{obj.GetPath()} is not over {support.GetPath()}"
    top = float(surface[np.isfinite(surface)].max())
    assert top <= bottom + 0.005, f"{obj.GetPath()} sinks {top - bottom:.4f} m into {support.GetPath()}"
    assert top >= bottom - 0.005, f"{obj.GetPath()} floats {bottom - top:.4f} m above {support.GetPath()}"


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
    resting = {frozenset((o["id"], (o.get("placement") or {}).get("parent_support_id"))) for o in manifest["objects"]}
    for (a, ca), (b, cb) in itertools.combinations(sorted(corners.items()), 2):
        if frozenset((a, b)) in resting:  # boxes may overlap: the object stands on the real surface
            top, bottom = (
                (a, b)
                if any(
                    o["id"] == a and (o.get("placement") or {}).get("parent_support_id") == b
                    for o in manifest["objects"]
                )
                else (b, a)
            )
            assert_rests_on(prims[top], prims[bottom], up)
            continue
        assert overlap_depth(ca, cb) <= TOUCH_TOL, f"{a} and {b} interpenetrate"
    return {"objects": len(prims), "joints": joints_seen}
