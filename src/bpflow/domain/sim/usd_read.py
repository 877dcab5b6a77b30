"""Read an assembled ``usd/scene.usda`` into plain data a simulator can be built from.

Everything comes out in the simulator's world frame: metres, Z up. A Y-up stage is turned by
+90° about X (``(x, y, z) → (x, -z, y)``), and ``metersPerUnit`` scales every length.

What is read (the assembly's layout, see ``stage2.assemble``):

* ``/World/Room`` — floor and walls, static boxes;
* every prim carrying ``bp:object_id`` — one object. It is *dynamic* when its rigid body is not
  kinematic, *static* when it is kinematic, *articulated* when it is an articulation root
  (``Base`` fixed to the world, one moving ``Parts/<name>`` per revolute/prismatic joint);
* colliders: every gprim with ``CollisionAPI`` under the object. A ``Cube`` whose transform has
  orthogonal axes becomes an exact box; everything else becomes a point cloud that the
  simulator collides as its convex hull (MuJoCo's rule);
* mass (``MassAPI``) and the ``physics``-purpose material's friction/restitution.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from pxr import Gf, Usd, UsdGeom, UsdPhysics, UsdShade

from bpflow.core.errors import ValidationFailed

Y_TO_Z = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])


class SceneReadError(ValidationFailed):
    """The USD cannot be turned into a simulation (does not open, has no objects, bad joint)."""

    code = "sim_scene_invalid"


@dataclass
class Collider:
    """One collision shape in the world frame: a box (``pos``/``rot``/``half``) or a hull (``points``)."""

    kind: str  # "box" | "hull"
    pos: np.ndarray
    rot: np.ndarray  # 3×3, world from shape
    half: np.ndarray | None = None
    points: np.ndarray | None = None
    rgba: tuple[float, float, float, float] = (0.7, 0.7, 0.7, 1.0)

    def volume(self) -> float:
        if self.kind == "box" and self.half is not None:
            return float(8.0 * np.prod(self.half))
        if self.points is not None and len(self.points) >= 4:
            lo, hi = self.points.min(axis=0), self.points.max(axis=0)
            return float(max(np.prod(hi - lo), 1e-9))
        return 1e-9


@dataclass
class JointSpec:
    """A revolute (``hinge``) or prismatic (``slide``) joint of an articulated object's part."""

    name: str
    type: str  # "hinge" | "slide"
    anchor: np.ndarray  # world
    axis: np.ndarray  # world, unit
    lower: float  # radians or metres
    upper: float


@dataclass
class BodySpec:
    """A rigid body: pose in the world, colliders, mass and surface."""

    name: str
    pos: np.ndarray
    rot: np.ndarray
    colliders: list[Collider]
    mass: float | None
    friction: float
    restitution: float
    joint: JointSpec | None = None


@dataclass
class ObjectSpec:
    """One manifest object as found in the USD."""

    id: str
    prim_path: str
    category: str
    sim_role: str
    kind: str  # "dynamic" | "static" | "articulated"
    body: BodySpec
    parts: list[BodySpec] = field(default_factory=list)
    size: np.ndarray = field(default_factory=lambda: np.zeros(3))  # world AABB size

    @property
    def dynamic(self) -> bool:
        return self.kind == "dynamic"


@dataclass
class SceneSpec:
    scene_id: str | None
    up_axis: str
    meters_per_unit: float
    gravity: float
    room: list[Collider]
    objects: list[ObjectSpec]

    def object(self, object_id: str) -> ObjectSpec:
        for o in self.objects:
            if o.id == object_id:
                return o
        raise KeyError(object_id)


def quat_matrix(w: float, x: float, y: float, z: float) -> np.ndarray:
    """Rotation matrix of a (not necessarily unit) quaternion."""
    n = np.sqrt(w * w + x * x + y * y + z * z) or 1.0
    w, x, y, z = w / n, x / n, y / n, z / n
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
            [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
            [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)],
        ]
    )


def _matrix(m: Gf.Matrix4d) -> np.ndarray:
    """Gf's row-vector matrix as a column-vector 4×4 (``p' = M @ p``)."""
    return np.array(m, dtype=float).T


class _Frame:
    """Stage world (stage units, stage up axis) → simulator world (metres, Z up)."""

    def __init__(self, stage: Usd.Stage) -> None:
        self.up = str(UsdGeom.GetStageUpAxis(stage))
        self.mpu = float(UsdGeom.GetStageMetersPerUnit(stage) or 1.0)
        self.basis = (Y_TO_Z if self.up == "Y" else np.eye(3)) * self.mpu
        self.cache = UsdGeom.XformCache(Usd.TimeCode.Default())

    def world(self, prim: Usd.Prim) -> np.ndarray:
        """4×4 from the prim's local space to simulator world."""
        m = _matrix(self.cache.GetLocalToWorldTransform(prim))
        out = np.eye(4)
        out[:3, :3] = self.basis @ m[:3, :3]
        out[:3, 3] = self.basis @ m[:3, 3]
        return out


def _orthonormal(lin: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Split a linear map into rotation × positive axis scales when its columns are orthogonal."""
    scales = np.linalg.norm(lin, axis=0)
    if np.any(scales < 1e-12):
        return None
    rot = lin / scales
    if not np.allclose(rot.T @ rot, np.eye(3), atol=1e-5):
        return None
    if np.linalg.det(rot) < 0:
        rot[:, 0] *= -1
    return rot, scales


def _rgba(prim: Usd.Prim) -> tuple[float, float, float, float]:
    attr = UsdGeom.Gprim(prim).GetDisplayColorAttr()
    value = attr.Get() if attr else None
    if value is not None and len(value) > 0:
        c = value[0]
        return (float(c[0]), float(c[1]), float(c[2]), 1.0)
    return (0.7, 0.7, 0.7, 1.0)


def _collider(frame: _Frame, prim: Usd.Prim) -> Collider | None:
    m = frame.world(prim)
    lin, pos = m[:3, :3], m[:3, 3]
    rgba = _rgba(prim)
    if prim.IsA(UsdGeom.Cube):
        size = float(UsdGeom.Cube(prim).GetSizeAttr().Get() or 2.0)
        split = _orthonormal(lin)
        if split is not None:
            rot, scales = split
            return Collider("box", pos, rot, half=scales * size / 2.0, rgba=rgba)
        corners = np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)], dtype=float) * size / 2.0
        return Collider("hull", np.zeros(3), np.eye(3), points=corners @ lin.T + pos, rgba=rgba)
    if prim.IsA(UsdGeom.Mesh):
        pts = UsdGeom.Mesh(prim).GetPointsAttr().Get()
        if pts is None or len(pts) < 4:
            return None
        local = np.asarray(pts, dtype=float)
        return Collider("hull", np.zeros(3), np.eye(3), points=local @ lin.T + pos, rgba=rgba)
    if prim.IsA(UsdGeom.Gprim):  # spheres, capsules …: their bound as a hull
        bound = UsdGeom.BBoxCache(Usd.TimeCode.Default(), [UsdGeom.Tokens.default_]).ComputeLocalBound(prim).GetRange()
        if bound.IsEmpty():
            return None
        lo, hi = np.array(bound.GetMin()), np.array(bound.GetMax())
        corners = np.array([[a, b, c] for a in (lo[0], hi[0]) for b in (lo[1], hi[1]) for c in (lo[2], hi[2])])
        return Collider("hull", np.zeros(3), np.eye(3), points=corners @ lin.T + pos, rgba=rgba)
    return None


def _colliders(frame: _Frame, root: Usd.Prim, *, stop_at_bodies: bool) -> list[Collider]:
    out = []
    it = iter(Usd.PrimRange(root))
    for prim in it:
        if prim != root and stop_at_bodies and prim.HasAPI(UsdPhysics.RigidBodyAPI):
            it.PruneChildren()
            continue
        if prim.IsA(UsdGeom.Gprim) and prim.HasAPI(UsdPhysics.CollisionAPI):
            c = _collider(frame, prim)
            if c is not None:
                out.append(c)
    return out


def _surface(prim: Usd.Prim) -> tuple[float, float]:
    """Static friction and restitution of the prim's ``physics`` material (defaults 0.5 / 0)."""
    try:
        material, _ = UsdShade.MaterialBindingAPI(prim).ComputeBoundMaterial("physics")
    except Exception:  # noqa: BLE001 - an unusual binding must not stop the read
        material = None
    if material and material.GetPrim().HasAPI(UsdPhysics.MaterialAPI):
        api = UsdPhysics.MaterialAPI(material.GetPrim())
        friction = api.GetStaticFrictionAttr().Get()
        restitution = api.GetRestitutionAttr().Get()
        return float(friction if friction is not None else 0.5), float(restitution or 0.0)
    return 0.5, 0.0


def _mass(prim: Usd.Prim) -> float | None:
    if prim.HasAPI(UsdPhysics.MassAPI):
        value = UsdPhysics.MassAPI(prim).GetMassAttr().Get()
        if value is not None and float(value) > 0:
            return float(value)
    return None


def _rigid(frame: _Frame, prim: Usd.Prim, name: str, *, stop_at_bodies: bool) -> BodySpec:
    m = frame.world(prim)
    split = _orthonormal(m[:3, :3])
    rot = split[0] if split is not None else np.eye(3)
    friction, restitution = _surface(prim)
    return BodySpec(
        name=name,
        pos=m[:3, 3].copy(),
        rot=rot,
        colliders=_colliders(frame, prim, stop_at_bodies=stop_at_bodies),
        mass=_mass(prim),
        friction=friction,
        restitution=restitution,
    )


def _str_attr(prim: Usd.Prim, name: str, default: str = "") -> str:
    attr = prim.GetAttribute(name)
    value = attr.Get() if attr else None
    return str(value) if value is not None else default


_AXES = {"X": np.array([1.0, 0.0, 0.0]), "Y": np.array([0.0, 1.0, 0.0]), "Z": np.array([0.0, 0.0, 1.0])}


def _joint(frame: _Frame, stage: Usd.Stage, joint_prim: Usd.Prim, object_id: str) -> tuple[str, JointSpec]:
    """The part body a joint moves and the joint in world terms."""
    is_rev = joint_prim.IsA(UsdPhysics.RevoluteJoint)
    joint = UsdPhysics.RevoluteJoint(joint_prim) if is_rev else UsdPhysics.PrismaticJoint(joint_prim)
    where = f"{object_id}: {joint_prim.GetPath()}"
    body0 = joint.GetBody0Rel().GetTargets()
    body1 = joint.GetBody1Rel().GetTargets()
    if not body0 or not body1:
        raise SceneReadError(f"joint {where} does not name both bodies", field=str(joint_prim.GetPath()))
    base = stage.GetPrimAtPath(body0[0])
    if not base:
        raise SceneReadError(f"joint {where}: body0 {body0[0]} does not exist", field=str(joint_prim.GetPath()))
    m0 = frame.world(base)
    local = np.array(joint.GetLocalPos0Attr().Get() or (0.0, 0.0, 0.0), dtype=float)
    anchor = m0[:3, :3] @ local + m0[:3, 3]
    axis_token = str(joint.GetAxisAttr().Get() or "X")
    q = joint.GetLocalRot0Attr().Get()
    rot0 = np.eye(3) if q is None else quat_matrix(float(q.GetReal()), *map(float, q.GetImaginary()))
    axis = m0[:3, :3] @ (rot0 @ _AXES.get(axis_token, _AXES["X"]))
    norm = float(np.linalg.norm(axis))
    if norm < 1e-12:
        raise SceneReadError(f"joint {where} has a degenerate axis", field=str(joint_prim.GetPath()))
    lower = joint.GetLowerLimitAttr().Get()
    upper = joint.GetUpperLimitAttr().Get()
    if lower is None or upper is None or float(lower) > float(upper):
        raise SceneReadError(
            f"joint {where} has no valid limits (lower={lower}, upper={upper})", field=str(joint_prim.GetPath())
        )
    if is_rev:
        lo, hi = np.radians(float(lower)), np.radians(float(upper))
    else:
        lo, hi = float(lower) * frame.mpu, float(upper) * frame.mpu
    name = joint_prim.GetName()
    return str(body1[0]), JointSpec(
        name=name,
        type="hinge" if is_rev else "slide",
        anchor=anchor,
        axis=axis / norm,
        lower=float(lo),
        upper=float(hi),
    )


def outline(body: BodySpec) -> np.ndarray:
    """World points bounding the body's colliders (box corners and hull points)."""
    pts = [np.zeros((0, 3))]
    for c in body.colliders:
        if c.kind == "box" and c.half is not None:
            corners = np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)], dtype=float) * c.half
            pts.append(corners @ c.rot.T + c.pos)
        elif c.points is not None:
            pts.append(c.points)
    return np.vstack(pts)


def aabb(obj: ObjectSpec) -> tuple[np.ndarray, np.ndarray]:
    """World axis-aligned bounds of an object's colliders, parts included."""
    allp = np.vstack([outline(b) for b in [obj.body, *obj.parts]])
    if len(allp) == 0:
        return obj.body.pos.copy(), obj.body.pos.copy()
    return allp.min(axis=0), allp.max(axis=0)


def _aabb_size(body: BodySpec, parts: list[BodySpec]) -> np.ndarray:
    allp = np.vstack([outline(b) for b in [body, *parts]])
    return allp.max(axis=0) - allp.min(axis=0) if len(allp) else np.zeros(3)


def _object(frame: _Frame, stage: Usd.Stage, prim: Usd.Prim) -> ObjectSpec:
    oid = _str_attr(prim, "bp:object_id")
    category = _str_attr(prim, "bp:category", "object")
    role = _str_attr(prim, "bp:sim_role", "")
    articulated = prim.HasAPI(UsdPhysics.ArticulationRootAPI) or bool(
        prim.GetAttribute("bp:articulated") and prim.GetAttribute("bp:articulated").Get()
    )
    if articulated:
        base_prim = prim.GetChild("Base")
        if not base_prim:
            raise SceneReadError(f"articulated object {oid!r} has no Base body", field=str(prim.GetPath()))
        base = _rigid(frame, base_prim, f"obj_{oid}", stop_at_bodies=True)
        parts: list[BodySpec] = []
        joints_scope = prim.GetChild("Joints")
        for jp in joints_scope.GetChildren() if joints_scope else []:
            if not (jp.IsA(UsdPhysics.RevoluteJoint) or jp.IsA(UsdPhysics.PrismaticJoint)):
                continue
            target, spec = _joint(frame, stage, jp, oid)
            part_prim = stage.GetPrimAtPath(target)
            if not part_prim:
                raise SceneReadError(
                    f"joint {jp.GetPath()} moves {target}, which does not exist", field=str(jp.GetPath())
                )
            part = _rigid(frame, part_prim, f"obj_{oid}/{part_prim.GetName()}", stop_at_bodies=True)
            part.joint = spec
            parts.append(part)
        return ObjectSpec(oid, str(prim.GetPath()), category, role, "articulated", base, parts, _aabb_size(base, parts))
    kinematic = False
    if prim.HasAPI(UsdPhysics.RigidBodyAPI):
        kinematic = bool(UsdPhysics.RigidBodyAPI(prim).GetKinematicEnabledAttr().Get())
    else:
        kinematic = True  # no rigid body at all: scenery
    body = _rigid(frame, prim, f"obj_{oid}", stop_at_bodies=False)
    return ObjectSpec(
        oid, str(prim.GetPath()), category, role, "static" if kinematic else "dynamic", body, [], _aabb_size(body, [])
    )


def read_scene(usd_path: str | Path) -> SceneSpec:
    """The scene's room and objects in simulator terms; :class:`SceneReadError` when it cannot be."""
    path = Path(usd_path)
    if not path.is_file():
        raise SceneReadError(f"scene USD {path} does not exist", code="usd_missing", field="usd_path")
    try:
        stage = Usd.Stage.Open(str(path))
    except Exception as exc:  # noqa: BLE001 - the USD library raises its own error types
        raise SceneReadError(
            f"scene USD {path.name} does not open: {str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__}",
            code="usd_unreadable",
            field="usd_path",
        ) from None
    if stage is None:
        raise SceneReadError(f"scene USD {path.name} does not open", code="usd_unreadable", field="usd_path")
    frame = _Frame(stage)
    gravity = 9.81
    for prim in stage.Traverse():
        if prim.IsA(UsdPhysics.Scene):
            g = UsdPhysics.Scene(prim).GetGravityMagnitudeAttr().Get()
            if g is not None and float(g) > 0 and np.isfinite(float(g)):
                gravity = float(g) * (frame.mpu if float(g) > 50 else 1.0)
            break
    room_prim = stage.GetPrimAtPath("/World/Room")
    room = _colliders(frame, room_prim, stop_at_bodies=False) if room_prim else []
    objects: list[ObjectSpec] = []
    seen: set[str] = set()
    it = iter(stage.Traverse())
    for prim in it:
        if prim.GetAttribute("bp:object_id") and prim.GetAttribute("bp:object_id").Get():
            obj = _object(frame, stage, prim)
            if obj.id in seen:
                raise SceneReadError(f"object id {obj.id!r} appears twice in the scene", field=str(prim.GetPath()))
            seen.add(obj.id)
            objects.append(obj)
            it.PruneChildren()
    world = stage.GetPrimAtPath("/World")
    scene_id = _str_attr(world, "bp:scene_id") or None if world else None
    return SceneSpec(
        scene_id=scene_id, up_axis=frame.up, meters_per_unit=frame.mpu, gravity=gravity, room=room, objects=objects
    )


def manifest_roles(manifest: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    """``{object_id: manifest object}`` of a ``scene_manifest.json`` body (empty when none)."""
    if not isinstance(manifest, dict):
        return {}
    objs = manifest.get("objects")
    if not isinstance(objs, list):
        raise SceneReadError("scene manifest has no 'objects' list", code="manifest_invalid", field="objects")
    out = {}
    for i, o in enumerate(objs):
        if not isinstance(o, dict) or not isinstance(o.get("id"), (str, int)):
            raise SceneReadError(
                f"scene manifest objects[{i}] has no id", code="manifest_invalid", field=f"objects[{i}].id"
            )
        out[str(o["id"])] = o
    return out
