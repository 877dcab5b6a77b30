"""Mass, centre of mass and inertia of an object from its closed parts.

Parts overlap (a book's pages sit inside its cover, a cushion sinks into a sofa base), so each
part only counts where no earlier part already is: part i contributes ``part_i − ∪ parts_<i``
(exact mesh booleans with manifold3d). Each contribution has its own density and construction:

* ``solid``: the closed volume is all material;
* ``shell``: panels of a given thickness around a hollow inside (the part minus its inset);
* ``bulk``: a typical mass over the closed volume (upholstery, an appliance body, a full bottle).

A part that is not a closed surface has no inside to measure: it counts as its bounding box.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import trimesh

SOLID = "solid"
SHELL = "shell"
BULK = "bulk"


@dataclass(frozen=True)
class PartMaterial:
    construction: str
    density: float
    """kg/m³ of the material (solid, shell) or of the closed volume (bulk)."""
    thickness: float = 0.0
    name: str = ""
    """The material's name (for friction tables); empty for a bulk mix."""


@dataclass(frozen=True)
class Body:
    """Mass properties of one piece (or a sum of pieces), the inertia about the world origin."""

    mass: float
    first_moment: np.ndarray
    """mass × centre of mass."""
    inertia_origin: np.ndarray

    @staticmethod
    def zero() -> Body:
        return Body(0.0, np.zeros(3), np.zeros((3, 3)))

    def __add__(self, other: Body) -> Body:
        return Body(
            self.mass + other.mass, self.first_moment + other.first_moment, self.inertia_origin + other.inertia_origin
        )

    def __sub__(self, other: Body) -> Body:
        return Body(
            self.mass - other.mass, self.first_moment - other.first_moment, self.inertia_origin - other.inertia_origin
        )


def _shift(mass: float, com: np.ndarray, inertia_com: np.ndarray) -> np.ndarray:
    """Inertia about the origin from the inertia about the centre of mass (parallel axes)."""
    return inertia_com + mass * (float(com @ com) * np.eye(3) - np.outer(com, com))


def mesh_body(mesh: trimesh.Trimesh, density: float) -> Body:
    if density <= 0 or mesh.volume <= 0:
        return Body.zero()
    m = mesh.copy()
    m.density = density
    com = np.asarray(m.center_mass, dtype=float)
    return Body(
        float(m.mass), float(m.mass) * com, _shift(float(m.mass), com, np.asarray(m.moment_inertia, dtype=float))
    )


def _inset(mesh: trimesh.Trimesh, thickness: float) -> trimesh.Trimesh | None:
    """The part shrunk by ``thickness`` on every side (exact for boxes, close for convex solids)."""
    lo, hi = mesh.bounds
    ext = hi - lo
    factors = np.where(ext > 2 * thickness, (ext - 2 * thickness) / np.where(ext > 0, ext, 1.0), 0.0)
    if (factors <= 0).any():
        return None
    centre = (lo + hi) / 2
    inner = mesh.copy()
    inner.vertices = (inner.vertices - centre) * factors + centre
    return inner


def piece_body(mesh: trimesh.Trimesh, material: PartMaterial) -> Body:
    if material.construction == SHELL and material.thickness > 0:
        outer = mesh_body(mesh, material.density)
        inner = _inset(mesh, material.thickness)
        return outer - mesh_body(inner, material.density) if inner is not None else outer
    return mesh_body(mesh, material.density)


def _manifold(mesh: trimesh.Trimesh):  # type: ignore[no-untyped-def]
    import manifold3d

    m = manifold3d.Manifold(
        manifold3d.Mesh(
            vert_properties=np.asarray(mesh.vertices, dtype=np.float32),
            tri_verts=np.asarray(mesh.faces, dtype=np.uint32),
        )
    )
    return m if m.status() == manifold3d.Error.NoError else None


def _trimesh(manifold) -> trimesh.Trimesh:  # type: ignore[no-untyped-def]
    out = manifold.to_mesh()
    return trimesh.Trimesh(np.asarray(out.vert_properties)[:, :3], np.asarray(out.tri_verts), process=True)


def closed(mesh: trimesh.Trimesh) -> bool:
    return bool(mesh.is_watertight and mesh.is_winding_consistent and mesh.volume > 0)


def exclusive_pieces(meshes: list[trimesh.Trimesh]) -> list[trimesh.Trimesh]:
    """Each part minus the union of the parts before it; a non-closed part becomes its box."""
    out: list[trimesh.Trimesh] = []
    union = None
    for mesh in meshes:
        m = trimesh.Trimesh(mesh.vertices, mesh.faces, process=True)
        if not closed(m):
            if m.is_winding_consistent and m.is_watertight and m.volume < 0:
                m.invert()
            else:
                m = trimesh.creation.box(bounds=m.bounds) if len(m.vertices) else m
        solid = _manifold(m) if closed(m) else None
        if solid is None:
            out.append(m)
            continue
        piece = solid if union is None else solid - union
        union = solid if union is None else union + solid
        out.append(_trimesh(piece) if piece.num_tri() > 0 else trimesh.Trimesh())
    return out


@dataclass(frozen=True)
class MassProperties:
    mass: float
    center_of_mass: tuple[float, float, float]
    inertia: np.ndarray
    """3×3 about the centre of mass."""
    volume: float
    """Of the union of the closed parts."""

    def principal(self) -> tuple[tuple[float, float, float], tuple[float, float, float, float]]:
        """(diagonal inertia, principal axes as a (w, x, y, z) quaternion) — what UsdPhysics.MassAPI takes."""
        values, vectors = np.linalg.eigh((self.inertia + self.inertia.T) / 2)
        if np.linalg.det(vectors) < 0:
            vectors[:, 2] = -vectors[:, 2]
        return (tuple(float(max(v, 1e-9)) for v in values), _quat(vectors))  # type: ignore[return-value]


def _quat(r: np.ndarray) -> tuple[float, float, float, float]:
    """Rotation matrix (columns = axes) → unit quaternion (w, x, y, z)."""
    t = float(np.trace(r))
    if t > 0:
        s = math.sqrt(t + 1.0) * 2
        q = (0.25 * s, (r[2, 1] - r[1, 2]) / s, (r[0, 2] - r[2, 0]) / s, (r[1, 0] - r[0, 1]) / s)
    elif r[0, 0] > r[1, 1] and r[0, 0] > r[2, 2]:
        s = math.sqrt(1.0 + r[0, 0] - r[1, 1] - r[2, 2]) * 2
        q = ((r[2, 1] - r[1, 2]) / s, 0.25 * s, (r[0, 1] + r[1, 0]) / s, (r[0, 2] + r[2, 0]) / s)
    elif r[1, 1] > r[2, 2]:
        s = math.sqrt(1.0 + r[1, 1] - r[0, 0] - r[2, 2]) * 2
        q = ((r[0, 2] - r[2, 0]) / s, (r[0, 1] + r[1, 0]) / s, 0.25 * s, (r[1, 2] + r[2, 1]) / s)
    else:
        s = math.sqrt(1.0 + r[2, 2] - r[0, 0] - r[1, 1]) * 2
        q = ((r[1, 0] - r[0, 1]) / s, (r[0, 2] + r[2, 0]) / s, (r[1, 2] + r[2, 1]) / s, 0.25 * s)
    n = math.sqrt(sum(v * v for v in q))
    return (q[0] / n, q[1] / n, q[2] / n, q[3] / n)


def mass_properties(meshes: list[trimesh.Trimesh], materials: list[PartMaterial]) -> MassProperties:
    """The object's mass properties from its parts (in order) and each part's material."""
    pieces = exclusive_pieces(meshes)
    total = Body.zero()
    volume = 0.0
    for piece, material in zip(pieces, materials, strict=True):
        if len(piece.faces) == 0:
            continue
        volume += float(piece.volume)
        total = total + piece_body(piece, material)
    if total.mass <= 0:
        raise ValueError("the parts enclose no volume")
    com = total.first_moment / total.mass
    inertia = total.inertia_origin - total.mass * (float(com @ com) * np.eye(3) - np.outer(com, com))
    return MassProperties(total.mass, (float(com[0]), float(com[1]), float(com[2])), inertia, volume)
