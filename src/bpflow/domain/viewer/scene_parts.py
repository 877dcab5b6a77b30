"""An assembled ``usd/scene.usda`` as the viewer needs it: one triangle part per gprim, in glTF's
frame (metres, Y up), with the world transform already applied, grouped by scene object.

The geometry comes from the same reader the assembly measures masses with
(``domain.usd.meshes.usd_parts_with_prims``), so what the viewer shows is what the pipeline measured.
Guide-purpose gprims are the objects' collision proxies: they are kept, marked ``collider``, and
the viewer shows them only when its colliders toggle is on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from pxr import Usd, UsdGeom, UsdPhysics

from bpflow.core.errors import ValidationFailed
from bpflow.domain.usd.checks import OBJECTS_PATH
from bpflow.domain.usd.meshes import usd_parts_with_prims

ROOM_PATH = "/World/Room"
_ALL_PURPOSES = (UsdGeom.Tokens.default_, UsdGeom.Tokens.render, UsdGeom.Tokens.proxy, UsdGeom.Tokens.guide)
_GREY = (0.7, 0.7, 0.7)


class SceneUnreadable(ValidationFailed):
    """The scene's USD does not open or holds no geometry: the viewer says so instead of a blank canvas."""

    code = "scene_unreadable"


@dataclass
class Part:
    """One gprim as triangles. ``positions`` are world metres, Y up (N×3 float32)."""

    prim_path: str
    group: str  # the object id (``bp:object_id``), "Room", or the top prim's name
    role: str  # "visual" | "collider" (a guide-purpose collision proxy)
    collides: bool  # carries PhysicsCollisionAPI
    color: tuple[float, float, float]
    positions: np.ndarray
    triangles: np.ndarray  # M×3 uint32

    @property
    def name(self) -> str:
        return self.prim_path.rsplit("/", 1)[-1]


@dataclass
class Group:
    """A scene object (or the room): what a person points at and sees named."""

    name: str
    prim_path: str
    category: str = ""
    kind: str = "object"  # "object" | "room" | "other"
    parts: list[Part] = field(default_factory=list)


@dataclass
class ViewerScene:
    groups: list[Group]

    def parts(self, role: str | None = None) -> list[Part]:
        return [p for g in self.groups for p in g.parts if role is None or p.role == role]

    def bounds(self, role: str | None = "visual") -> tuple[np.ndarray, np.ndarray]:
        pts = [p.positions for p in self.parts(role) if len(p.positions)]
        if not pts:
            raise SceneUnreadable("the scene has no geometry to show", field="usd/scene.usda")
        allp = np.vstack(pts)
        return allp.min(axis=0), allp.max(axis=0)


def _color(prim: Usd.Prim) -> tuple[float, float, float]:
    colors = UsdGeom.Gprim(prim).GetDisplayColorAttr().Get()
    if colors is not None and len(colors):
        c = colors[0]
        return (float(c[0]), float(c[1]), float(c[2]))
    return _GREY


def _group_of(prim: Usd.Prim, objects: dict[str, Usd.Prim]) -> Usd.Prim | None:
    p = prim
    while p and not p.IsPseudoRoot():
        if str(p.GetPath()) in objects:
            return p
        p = p.GetParent()
    return None


def read_scene(usd_path: Path) -> ViewerScene:
    """Every gprim of the composed stage at ``usd_path`` (its references resolved from disk)."""
    try:
        stage = Usd.Stage.Open(str(usd_path))
    except Exception as exc:  # noqa: BLE001 - pxr raises its own Tf errors for any unreadable layer
        raise SceneUnreadable(
            f"usd/scene.usda does not open: {str(exc).strip()[:300]}", field="usd/scene.usda"
        ) from None
    objects: dict[str, Usd.Prim] = {}
    root = stage.GetPrimAtPath(OBJECTS_PATH)
    if root:
        for child in root.GetChildren():
            attr = child.GetAttribute("bp:object_id")
            if attr and attr.HasValue():
                objects[str(child.GetPath())] = child
    groups: dict[str, Group] = {}
    for mesh, prim in usd_parts_with_prims(stage, "Y", purposes=_ALL_PURPOSES):
        path = str(prim.GetPath())
        owner = _group_of(prim, objects)
        if owner is not None:
            oid = str(owner.GetAttribute("bp:object_id").Get())
            cat = owner.GetAttribute("bp:category")
            group = groups.setdefault(
                oid, Group(oid, str(owner.GetPath()), str(cat.Get()) if cat and cat.HasValue() else "", "object")
            )
        elif path.startswith(ROOM_PATH + "/"):
            group = groups.setdefault("Room", Group("Room", ROOM_PATH, "room", "room"))
        else:
            top = "/".join(path.split("/")[:3])
            group = groups.setdefault(top, Group(top.rsplit("/", 1)[-1], top, "", "other"))
        guide = UsdGeom.Imageable(prim).ComputePurpose() == UsdGeom.Tokens.guide
        group.parts.append(
            Part(
                prim_path=path,
                group=group.name,
                role="collider" if guide else "visual",
                collides=prim.HasAPI(UsdPhysics.CollisionAPI),
                color=_color(prim),
                positions=np.asarray(mesh.vertices, dtype=np.float32),
                triangles=np.asarray(mesh.faces, dtype=np.uint32),
            )
        )
    scene = ViewerScene(sorted(groups.values(), key=lambda g: (g.kind != "room", g.name)))
    if not scene.parts():
        raise SceneUnreadable("usd/scene.usda has no geometry (no mesh or shape prims)", field="usd/scene.usda")
    return scene
