"""Geometry as triangle meshes: read from mesh files (trimesh) or from a USD asset's prims.

Mass comes from volume, and volume from the actual geometry: every visible gprim of an asset
(meshes and the analytic shapes placeholders use) becomes a triangle mesh in metres, in the
scene's axis convention. A watertight part contributes its enclosed volume; a part with holes
(no inside to measure) contributes its bounding box instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import trimesh
from pxr import Usd, UsdGeom

from bpflow.core.errors import ValidationFailed
from bpflow.domain.usd.usd_util import BOUND_PURPOSES, stage_meters_per_unit, stage_up_axis


def up_axis_correction(source_up: str, target_up: str) -> np.ndarray:
    """3×3 rotation taking a ``source_up`` asset into a ``target_up`` scene (column vectors)."""
    if source_up == target_up:
        return np.eye(3)
    if source_up == "Y":  # +90° about X: y → z
        return np.array([[1.0, 0, 0], [0, 0, -1.0], [0, 1.0, 0]])
    return np.array([[1.0, 0, 0], [0, 0, 1.0], [0, -1.0, 0]])  # -90° about X: z → y


def _fan(counts: list[int], indices: list[int]) -> np.ndarray:
    tris: list[tuple[int, int, int]] = []
    at = 0
    for n in counts:
        face = indices[at : at + n]
        at += n
        tris.extend((face[0], face[k], face[k + 1]) for k in range(1, n - 1))
    return np.asarray(tris, dtype=np.int64).reshape(-1, 3)


def _gprim_mesh(prim: Usd.Prim) -> trimesh.Trimesh | None:
    """The prim's own geometry in its local space."""
    if prim.IsA(UsdGeom.Mesh):
        mesh = UsdGeom.Mesh(prim)
        points = mesh.GetPointsAttr().Get()
        counts = mesh.GetFaceVertexCountsAttr().Get()
        indices = mesh.GetFaceVertexIndicesAttr().Get()
        if not points or not counts or not indices:
            return None
        faces = _fan(list(counts), list(indices))
        if (faces >= len(points)).any() or (faces < 0).any():
            raise ValidationFailed(
                f"mesh {prim.GetPath()} has face indices outside its points",
                code="asset_invalid",
                field=str(prim.GetPath()),
            )
        return trimesh.Trimesh(vertices=np.asarray(points, dtype=float), faces=faces, process=True)
    if prim.IsA(UsdGeom.Cube):
        size = UsdGeom.Cube(prim).GetSizeAttr().Get() or 2.0
        box: trimesh.Trimesh = trimesh.creation.box(extents=[size] * 3)
        return box
    if prim.IsA(UsdGeom.Sphere):
        sphere: trimesh.Trimesh = trimesh.creation.icosphere(
            subdivisions=2, radius=UsdGeom.Sphere(prim).GetRadiusAttr().Get() or 1.0
        )
        return sphere
    if prim.IsA(UsdGeom.Cylinder) or prim.IsA(UsdGeom.Cone) or prim.IsA(UsdGeom.Capsule):
        schema = (
            UsdGeom.Cylinder(prim)
            if prim.IsA(UsdGeom.Cylinder)
            else UsdGeom.Cone(prim)
            if prim.IsA(UsdGeom.Cone)
            else UsdGeom.Capsule(prim)
        )
        radius = schema.GetRadiusAttr().Get() or 1.0
        height = schema.GetHeightAttr().Get() or 2.0
        if prim.IsA(UsdGeom.Cylinder):
            m: trimesh.Trimesh = trimesh.creation.cylinder(radius=radius, height=height, sections=24)
        elif prim.IsA(UsdGeom.Cone):
            m = trimesh.creation.cone(radius=radius, height=height, sections=24)
            m.apply_translation([0, 0, -height / 2])
        else:
            m = trimesh.creation.capsule(radius=radius, height=height, count=[16, 16])
        axis = schema.GetAxisAttr().Get() or "Z"
        if axis == "X":
            m.apply_transform(trimesh.transformations.rotation_matrix(np.pi / 2, [0, 1, 0]))  # type: ignore[no-untyped-call]  # trimesh.transformations is unannotated
        elif axis == "Y":
            m.apply_transform(trimesh.transformations.rotation_matrix(-np.pi / 2, [1, 0, 0]))  # type: ignore[no-untyped-call]  # trimesh.transformations is unannotated
        return m
    return None


def usd_parts(stage: Usd.Stage, target_up: str, root: Usd.Prim | None = None) -> list[trimesh.Trimesh]:
    """Every rendered gprim of ``stage`` (under ``root``) as a mesh in metres, in ``target_up``."""
    return [mesh for mesh, _ in usd_parts_with_prims(stage, target_up, root)]


def usd_parts_with_prims(
    stage: Usd.Stage, target_up: str, root: Usd.Prim | None = None, purposes: tuple[str, ...] = BOUND_PURPOSES
) -> list[tuple[trimesh.Trimesh, Usd.Prim]]:
    """Like :func:`usd_parts`, each mesh with the prim it came from (for its authored physics)."""
    mpu = stage_meters_per_unit(stage)
    fix = up_axis_correction(stage_up_axis(stage), target_up)
    cache = UsdGeom.XformCache()
    parts: list[tuple[trimesh.Trimesh, Usd.Prim]] = []
    prims = (
        Usd.PrimRange(root, Usd.TraverseInstanceProxies())
        if root is not None
        else Usd.PrimRange.Stage(stage, Usd.TraverseInstanceProxies())
    )
    for prim in prims:
        if not prim.IsA(UsdGeom.Gprim) or UsdGeom.Imageable(prim).ComputePurpose() not in purposes:
            continue
        mesh = _gprim_mesh(prim)
        if mesh is None or len(mesh.vertices) == 0:
            continue
        m = np.array(cache.GetLocalToWorldTransform(prim), dtype=float)  # row-vector convention
        v = np.hstack([mesh.vertices, np.ones((len(mesh.vertices), 1))]) @ m
        verts = (v[:, :3] * mpu) @ fix.T
        parts.append((trimesh.Trimesh(vertices=verts, faces=mesh.faces.copy(), process=False), prim))
    return parts


def file_parts(path: Path, target_up: str) -> list[trimesh.Trimesh]:
    """The meshes of a mesh file (glTF/GLB are Y-up metres by their spec; others are taken so)."""
    try:
        scene = trimesh.load(str(path), force="scene")
    except Exception as exc:  # noqa: BLE001 - any parser error means "not a readable mesh"
        raise ValidationFailed(f"cannot read mesh {path.name}: {exc}", code="asset_invalid", field=path.name) from None
    assert isinstance(scene, trimesh.Scene)  # force="scene" always loads a Scene
    fix = up_axis_correction("Y", target_up)
    parts = []
    for geom in scene.dump(concatenate=False):
        if isinstance(geom, trimesh.Trimesh) and len(geom.faces):
            parts.append(
                trimesh.Trimesh(vertices=geom.vertices @ fix.T, faces=geom.faces, process=False, visual=geom.visual)
            )
    if not parts:
        raise ValidationFailed(f"mesh {path.name} has no triangles", code="asset_invalid", field=path.name)
    return parts


@dataclass(frozen=True)
class VolumeEstimate:
    volume_m3: float
    source: str
    """``mesh`` when every part was watertight, ``bbox`` when none was, ``mixed`` otherwise."""
    bbox_volume_m3: float

    @property
    def fill_ratio(self) -> float:
        """Solid volume over the envelope: ~1 for a box-like solid, small for a thin shell."""
        return self.volume_m3 / self.bbox_volume_m3 if self.bbox_volume_m3 > 0 else 0.0


def estimate_volume(parts: list[trimesh.Trimesh], scale: float = 1.0) -> VolumeEstimate:
    """Volume of the union of the parts after a uniform ``scale`` (overlaps count once)."""
    from bpflow.domain.scene.mass import closed, exclusive_pieces

    total = 0.0
    kinds: set[str] = set()
    for part, piece in zip(parts, exclusive_pieces(parts), strict=True):
        whole = trimesh.Trimesh(part.vertices, part.faces, process=True)
        if closed(whole) or (whole.is_watertight and whole.is_winding_consistent and whole.volume < 0):
            total += abs(float(piece.volume)) if len(piece.faces) else 0.0
            kinds.add("mesh")
        else:
            total += float(np.prod(part.extents))
            kinds.add("bbox")
    allv = np.vstack([p.vertices for p in parts]) if parts else np.zeros((1, 3))
    env = float(np.prod(allv.max(axis=0) - allv.min(axis=0)))
    source = "mesh" if kinds == {"mesh"} else "bbox" if kinds == {"bbox"} else "mixed"
    s3 = scale**3
    return VolumeEstimate(volume_m3=total * s3, source=source, bbox_volume_m3=env * s3)
