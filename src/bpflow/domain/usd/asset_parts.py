"""Moving parts as the asset authored them: meshes tagged ``bp:moving_part`` and a joint each.

A packaged asset with doors or drawers models them as their own meshes (panel, handle, the
drawer's open box), each tagged ``bp:moving_part = "<part>"`` (the meshes stay where a plain
asset has them), and describes the joint on ``Articulation/<part>``: ``bp:joint``
(``revolute`` | ``prismatic``), ``bp:axis``, ``bp:anchor`` (the hinge line point or the slide
origin) and ``bp:lower`` / ``bp:upper`` (degrees or metres), all in the asset's own frame. Read
through an object's simready layer, every value is carried into the layer's frame (the fitted,
re-centred object): anchors by the full transform, the axis by its direction (a quarter turn
may swap x and z and flip a sign, which flips the limits), slide travel by the scale along it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pxr import Gf, Sdf, Usd, UsdGeom

from bpflow.domain.usd.usd_util import BOUND_PURPOSES

Vec3 = tuple[float, float, float]


@dataclass(frozen=True)
class AuthoredPart:
    name: str
    members: tuple[Sdf.Path, ...]
    """The part's meshes, as paths in the simready layer's namespace."""
    joint: str
    axis: str
    lower: float
    upper: float
    anchor: Vec3
    """In the simready layer's frame."""
    parent_matrix: Gf.Matrix4d
    """Local-to-layer transform of the asset's root: what places the part's meshes and anchor."""
    center: Vec3
    size: Vec3


def _vec(v: Gf.Vec3d) -> Vec3:
    return (float(v[0]), float(v[1]), float(v[2]))


def authored_parts(stage: Usd.Stage, root: Usd.Prim) -> list[AuthoredPart]:
    """Every authored moving group under ``root`` (empty for an asset without any)."""
    cache = UsdGeom.XformCache()
    bounds = UsdGeom.BBoxCache(Usd.TimeCode.Default(), list(BOUND_PURPOSES))
    root_inv = cache.GetLocalToWorldTransform(root).GetInverse()
    members: dict[str, list[Usd.Prim]] = {}
    specs: list[Usd.Prim] = []
    for prim in Usd.PrimRange(root):
        tag = prim.GetAttribute("bp:moving_part")
        if tag and tag.Get() and prim.IsA(UsdGeom.Gprim):
            members.setdefault(str(tag.Get()), []).append(prim)
        attr = prim.GetAttribute("bp:joint")
        if attr and attr.Get():
            specs.append(prim)
    out: list[AuthoredPart] = []
    for prim in specs:
        meshes = members.get(prim.GetName(), [])
        if not meshes:
            continue
        attr = prim.GetAttribute("bp:joint")
        parent = cache.GetLocalToWorldTransform(prim.GetParent().GetParent()) * root_inv
        anchor = parent.Transform(Gf.Vec3d(*prim.GetAttribute("bp:anchor").Get()))
        letter = str(prim.GetAttribute("bp:axis").Get() or "X")
        unit = Gf.Vec3d(*(1.0 if letter == c else 0.0 for c in "XYZ"))
        direction = np.array(_vec(parent.TransformDir(unit)))
        index = int(np.argmax(np.abs(direction)))
        sign = 1.0 if direction[index] > 0 else -1.0
        lower, upper = float(prim.GetAttribute("bp:lower").Get()), float(prim.GetAttribute("bp:upper").Get())
        if attr.Get() == "prismatic":  # travel in metres scales with the part
            stretch = float(np.linalg.norm(direction))
            lower, upper = lower * stretch, upper * stretch
        if sign < 0:
            lower, upper = -upper, -lower
        rng = Gf.Range3d()
        for mesh in meshes:
            box = bounds.ComputeWorldBound(mesh)
            box.Transform(root_inv)
            rng.UnionWith(box.ComputeAlignedRange())
        out.append(
            AuthoredPart(
                name=prim.GetName(),
                members=tuple(m.GetPath() for m in meshes),
                joint=str(attr.Get()),
                axis="XYZ"[index],
                lower=round(lower, 6) + 0.0,
                upper=round(upper, 6) + 0.0,
                anchor=_vec(anchor),
                parent_matrix=parent,
                center=_vec(rng.GetMidpoint()),
                size=_vec(rng.GetSize()),
            )
        )
    return out
