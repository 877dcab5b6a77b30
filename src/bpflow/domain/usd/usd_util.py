"""USD stage plumbing every Stage-2 builder shares: stage metadata, meshes, transforms, bounds.

Every layer bpflow writes states its units and up axis (metres, the manifest's axis) and has a
default prim, so it can be referenced without naming a prim path and opened on its own in any
USD viewer.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from pxr import Gf, Sdf, Usd, UsdGeom

Vec3 = tuple[float, float, float]
Quat = tuple[float, float, float, float]

#: Purposes whose geometry counts for bounds: what is rendered or simulated, not guides.
BOUND_PURPOSES = (UsdGeom.Tokens.default_, UsdGeom.Tokens.render)


def new_stage(
    path: str | Path, up_axis: str, *, default_prim: str = "Root", prim_type: str = "Xform"
) -> tuple[Usd.Stage, Usd.Prim]:
    """A new layer on disk with metersPerUnit 1, the given up axis and a default prim."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    if p.exists():
        p.unlink()
    stage = Usd.Stage.CreateNew(str(p))
    UsdGeom.SetStageMetersPerUnit(stage, 1.0)
    UsdGeom.SetStageUpAxis(stage, UsdGeom.Tokens.y if up_axis == "Y" else UsdGeom.Tokens.z)
    root = stage.DefinePrim(Sdf.Path(f"/{default_prim}"), prim_type)
    stage.SetDefaultPrim(root)
    return stage, root


def gf_quat(q: Quat) -> Gf.Quatd:
    return Gf.Quatd(float(q[0]), Gf.Vec3d(float(q[1]), float(q[2]), float(q[3])))


def set_transform(
    prim: Usd.Prim, *, translate: Vec3 | None = None, orient: Quat | None = None, scale: float | Vec3 | None = None
) -> None:
    """Replace the prim's transform with translate · orient · scale ops (double precision)."""
    xf = UsdGeom.Xformable(prim)
    xf.ClearXformOpOrder()
    if translate is not None:
        xf.AddTranslateOp(UsdGeom.XformOp.PrecisionDouble).Set(Gf.Vec3d(*map(float, translate)))
    if orient is not None:
        xf.AddOrientOp(UsdGeom.XformOp.PrecisionDouble).Set(gf_quat(orient))
    if scale is not None:
        s = (scale, scale, scale) if isinstance(scale, (int, float)) else scale
        xf.AddScaleOp(UsdGeom.XformOp.PrecisionDouble).Set(Gf.Vec3d(*map(float, s)))


def add_mesh(
    stage: Usd.Stage, path: str, vertices: Any, faces: Any, *, color: Sequence[float] | None = None
) -> UsdGeom.Mesh:
    """A triangle mesh prim with its extent authored (what bounds and colliders need)."""
    v = np.asarray(vertices, dtype=float).reshape(-1, 3)
    f = np.asarray(faces, dtype=np.int64).reshape(-1, 3)
    mesh = UsdGeom.Mesh.Define(stage, path)
    mesh.CreatePointsAttr([Gf.Vec3f(*map(float, p)) for p in v])
    mesh.CreateFaceVertexCountsAttr([3] * len(f))
    mesh.CreateFaceVertexIndicesAttr([int(i) for i in f.reshape(-1)])
    mesh.CreateSubdivisionSchemeAttr(UsdGeom.Tokens.none)
    if len(v):
        mesh.CreateExtentAttr([Gf.Vec3f(*map(float, v.min(axis=0))), Gf.Vec3f(*map(float, v.max(axis=0)))])
    if color is not None:
        mesh.CreateDisplayColorAttr([Gf.Vec3f(*map(float, color[:3]))])
    return mesh


def add_box(
    stage: Usd.Stage, path: str, center: Vec3, size: Vec3, *, color: Sequence[float] | None = None
) -> UsdGeom.Cube:
    """An axis-aligned box as a unit ``Cube`` scaled to ``size`` (an analytic box collider)."""
    cube = UsdGeom.Cube.Define(stage, path)
    cube.CreateSizeAttr(1.0)
    cube.CreateExtentAttr([Gf.Vec3f(-0.5, -0.5, -0.5), Gf.Vec3f(0.5, 0.5, 0.5)])
    set_transform(cube.GetPrim(), translate=center, scale=size)
    if color is not None:
        cube.CreateDisplayColorAttr([Gf.Vec3f(*map(float, color[:3]))])
    return cube


def bbox_cache() -> UsdGeom.BBoxCache:
    return UsdGeom.BBoxCache(Usd.TimeCode.Default(), list(BOUND_PURPOSES), useExtentsHint=False)


def _corners(bound: Gf.BBox3d) -> tuple[Vec3, Vec3] | None:
    rng = bound.ComputeAlignedRange()
    if rng.IsEmpty():
        return None
    lo, hi = rng.GetMin(), rng.GetMax()
    return (lo[0], lo[1], lo[2]), (hi[0], hi[1], hi[2])


def local_range(prim: Usd.Prim) -> tuple[Vec3, Vec3] | None:
    """(min, max) of the prim's geometry in its own space; None when it has none."""
    return _corners(bbox_cache().ComputeUntransformedBound(prim))


def world_range(prim: Usd.Prim) -> tuple[Vec3, Vec3] | None:
    """(min, max) of the prim's geometry, axis-aligned in world space; None when it has none."""
    return _corners(bbox_cache().ComputeWorldBound(prim))


def oriented_world_bound(prim: Usd.Prim, cache: UsdGeom.BBoxCache | None = None) -> Gf.BBox3d:
    """The prim's geometry as an ORIENTED box in world space: its own-space range carried by its
    local-to-world matrix. ``ComputeWorldBound`` (and ``ComputeUntransformedBound``, which here
    returns that world box under an inverse matrix) folds a rotated object into an axis-aligned
    envelope, which makes two rotated objects that merely sit close look interpenetrating."""
    cache = cache or bbox_cache()
    own = Gf.Range3d()
    for part in Usd.PrimRange(prim):
        if part.IsA(UsdGeom.Gprim):  # each piece of geometry, in the object's own frame
            own.UnionWith(cache.ComputeRelativeBound(part, prim).ComputeAlignedRange())
    return Gf.BBox3d(own, UsdGeom.Xformable(prim).ComputeLocalToWorldTransform(Usd.TimeCode.Default()))


def stage_meters_per_unit(stage: Usd.Stage) -> float:
    return (
        float(UsdGeom.GetStageMetersPerUnit(stage)) if stage.HasAuthoredMetadata(UsdGeom.Tokens.metersPerUnit) else 1.0
    )


def stage_up_axis(stage: Usd.Stage) -> str:
    return "Z" if UsdGeom.GetStageUpAxis(stage) == UsdGeom.Tokens.z else "Y"


def relative_asset_path(from_layer_key: str, to_key: str) -> str:
    """The relative path a layer at ``from_layer_key`` uses to reference ``to_key`` (bucket keys)."""
    src = Path(from_layer_key).parent.parts
    dst = Path(to_key).parts
    common = 0
    while common < min(len(src), len(dst) - 1) and src[common] == dst[common]:
        common += 1
    rel = [".."] * (len(src) - common) + list(dst[common:])
    path = "/".join(rel)
    return path if path.startswith("..") else "./" + path


def set_custom(prim: Usd.Prim, name: str, value: Any, type_name: Sdf.ValueTypeName) -> None:
    """A custom (non-schema) attribute: bpflow's provenance on the prims it writes."""
    prim.CreateAttribute(name, type_name, custom=True).Set(value)
