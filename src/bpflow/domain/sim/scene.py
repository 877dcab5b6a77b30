"""USD scene (+ manifest) → a MuJoCo model ready to step: the simulation core's entry point.

API (stable; the physics acceptance gate builds on it)::

    from bpflow.domain.sim import load_scene
    sim = load_scene("…/usd/scene.usda", manifest=None, robot=False)
    sim.model, sim.data            # mujoco.MjModel / MjData (world: metres, Z up)
    sim.objects["mug_1"]           # SimObject: .body (MuJoCo body name), .body_id, .kind
                                   #   ("dynamic" | "static" | "articulated"), .dynamic,
                                   #   .joints (SimJoint: name, joint_id, qpos_adr, dof_adr,
                                   #   type "hinge"/"slide", range), .mass, .size, .category, .sim_role
    sim.dynamic_ids()              # ids of free bodies
    sim.position("mug_1")          # world position of the object's body (np.ndarray, 3)
    sim.settle(3.0)                # step N seconds with the arm (if any) holding its pose
    sim.drive_joint(joint, 0.25, 1.0)  # push a part towards a joint value (bounded PD force)
    sim.max_penetration()          # deepest current contact penetration, metres (≥ 0)
    sim.reset()                    # back to the loaded state (mj_resetData + initial poses)

How the USD maps (``usd_read``): room boxes and static (kinematic) objects are bodies fixed
to the world; dynamic objects are free bodies with the simready stage's mass (spread over their
colliders by volume, inertia from the shapes) and static friction; an articulated object is its
``Base`` fixed to the world with one child body per part on a hinge/slide joint with the USD
limits (plus a little damping so a released drawer does not coast). Mesh colliders collide as
their convex hull — concave furniture is a solid block to the simulator; objects rest on top of
it, which is what tabletop manipulation needs (decomposition is a later refinement).

With ``robot=True`` a Panda is mounted on a pedestal at the edge of the work surface nearest
the pickable objects (``placement.mount_robot``) and the cameras ``front``, ``left``, ``right``
(fixed, aimed at the work surface) and ``wrist`` (on the hand) are added. The model is
deterministic: the same USD gives the same model, and MuJoCo's stepping is deterministic.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import mujoco
import numpy as np

from bpflow.domain.sim.usd_read import (
    BodySpec,
    Collider,
    SceneReadError,
    SceneSpec,
    manifest_roles,
    outline,
    read_scene,
)

TIMESTEP = 0.002
JOINT_DAMPING = {"hinge": 0.5, "slide": 5.0}
MIN_THICKNESS = 0.004


@dataclass
class SimJoint:
    name: str
    object_id: str
    part_body: str
    type: str
    range: tuple[float, float]
    joint_id: int
    qpos_adr: int
    dof_adr: int


@dataclass
class SimObject:
    id: str
    category: str
    sim_role: str
    kind: str
    body: str
    body_id: int
    mass: float
    size: np.ndarray
    joints: list[SimJoint] = field(default_factory=list)
    qpos_adr: int | None = None
    """Start of the free joint's 7 qpos entries (dynamic objects only)."""
    points: np.ndarray = field(default_factory=lambda: np.zeros((0, 3)))
    """The collider outline (box corners, hull points) in the body's frame."""

    @property
    def dynamic(self) -> bool:
        return self.kind == "dynamic"


def mat_quat(rot: np.ndarray) -> list[float]:
    q = np.zeros(4)
    mujoco.mju_mat2Quat(q, np.ascontiguousarray(rot, dtype=float).reshape(9))
    return [float(v) for v in q]


def _safe(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "_-/." else "_" for ch in name)


class _Builder:
    def __init__(self, spec: mujoco.MjSpec) -> None:
        self.spec = spec
        self.meshes = 0

    def geom(
        self,
        body: Any,
        c: Collider,
        body_pos: np.ndarray,
        body_rot: np.ndarray,
        *,
        friction: float,
        mass: float | None,
        rgba: tuple[float, ...] | None = None,
    ) -> None:
        inv = body_rot.T
        kw: dict[str, Any] = {"friction": [float(friction), 0.005, 0.0001], "rgba": list(rgba or c.rgba)}
        if c.kind == "box" and c.half is not None:
            g = body.add_geom(
                type=mujoco.mjtGeom.mjGEOM_BOX,
                size=[float(max(h, MIN_THICKNESS / 2)) for h in c.half],
                pos=[float(v) for v in inv @ (c.pos - body_pos)],
                quat=mat_quat(inv @ c.rot),
                **kw,
            )
        else:
            assert c.points is not None
            pts = (c.points - body_pos) @ inv.T
            pts = _thicken(pts)
            if len(pts) > 4000:  # the hull is all that collides: a stride keeps it well-shaped
                pts = pts[:: int(np.ceil(len(pts) / 4000))]
            self.meshes += 1
            name = f"hull_{self.meshes}"
            self.spec.add_mesh(name=name, uservert=[float(v) for v in pts.reshape(-1)])
            g = body.add_geom(type=mujoco.mjtGeom.mjGEOM_MESH, meshname=name, **kw)
        if mass is not None:
            g.mass = float(mass)
        else:
            g.density = 0.0 if body is self.spec.worldbody else 1000.0


def _thicken(pts: np.ndarray) -> np.ndarray:
    """A flat point set (a plane, a card) gets a sliver of thickness so its hull has volume."""
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    out = pts
    for axis in range(3):
        if hi[axis] - lo[axis] < MIN_THICKNESS:
            off = np.zeros(3)
            off[axis] = MIN_THICKNESS / 2
            out = np.vstack([out - off, out + off])
    return out


def _body(
    b: _Builder,
    parent: Any,
    spec_body: BodySpec,
    parent_pos: np.ndarray,
    parent_rot: np.ndarray,
    *,
    fixed: bool,
    rgba: tuple[float, ...] | None = None,
) -> Any:
    rel_pos = parent_rot.T @ (spec_body.pos - parent_pos)
    rel_rot = parent_rot.T @ spec_body.rot
    body = parent.add_body(name=_safe(spec_body.name), pos=[float(v) for v in rel_pos], quat=mat_quat(rel_rot))
    vols = [max(c.volume(), 1e-9) for c in spec_body.colliders]
    total = sum(vols) or 1.0
    for c, v in zip(spec_body.colliders, vols):
        mass = None if fixed or spec_body.mass is None else spec_body.mass * v / total
        b.geom(body, c, spec_body.pos, spec_body.rot, friction=spec_body.friction, mass=mass, rgba=rgba)
    if not spec_body.colliders and not fixed:  # a body needs mass to be simulated
        body.mass = float(spec_body.mass or 0.1)
        body.inertia = [1e-4, 1e-4, 1e-4]
        body.explicitinertial = True
    return body


def _palette(i: int) -> tuple[float, float, float, float]:
    colors = [
        (0.85, 0.33, 0.1, 1),
        (0.2, 0.55, 0.85, 1),
        (0.3, 0.7, 0.3, 1),
        (0.85, 0.75, 0.2, 1),
        (0.6, 0.35, 0.7, 1),
        (0.9, 0.5, 0.6, 1),
    ]
    return colors[i % len(colors)]


def build_spec(scene: SceneSpec) -> tuple[mujoco.MjSpec, dict[str, dict[str, Any]]]:
    """The MjSpec of the scene (no robot) and, per object, the names needed to find it again."""
    spec = mujoco.MjSpec()
    spec.modelname = _safe(scene.scene_id or "scene")
    spec.option.timestep = TIMESTEP
    spec.compiler.degree = False  # joint ranges are given in radians
    spec.option.gravity = [0.0, 0.0, -float(scene.gravity)]
    spec.option.cone = mujoco.mjtCone.mjCONE_ELLIPTIC
    spec.option.impratio = 10.0
    spec.visual.global_.offwidth = 640
    spec.visual.global_.offheight = 480
    spec.visual.quality.shadowsize = 0
    b = _Builder(spec)
    eye = np.eye(3)
    zero = np.zeros(3)
    world = spec.worldbody
    world.add_light(
        pos=[0.0, 0.0, 3.0],
        dir=[0.0, 0.0, -1.0],
        type=mujoco.mjtLightType.mjLIGHT_DIRECTIONAL,
        diffuse=[0.7, 0.7, 0.7],
        castshadow=0,
    )
    spec.visual.headlight.ambient = [0.35, 0.35, 0.35]
    if scene.room:
        room = world.add_body(name="room")
        for c in scene.room:
            b.geom(room, c, zero, eye, friction=0.8, mass=None, rgba=(0.55, 0.52, 0.48, 1.0))
    else:
        world.add_geom(type=mujoco.mjtGeom.mjGEOM_PLANE, size=[10.0, 10.0, 0.1], rgba=[0.55, 0.52, 0.48, 1.0])
    names: dict[str, dict[str, Any]] = {}
    for i, obj in enumerate(scene.objects):
        if not obj.body.colliders and not obj.parts:
            raise SceneReadError(
                f"object {obj.id!r} has no collider in the USD", code="sim_object_without_collider", field=obj.prim_path
            )
        if obj.kind == "dynamic":
            body = _body(b, world, obj.body, zero, eye, fixed=False, rgba=_palette(i))
            body.add_freejoint(name=_safe(f"obj_{obj.id}/free"))
            names[obj.id] = {"body": body.name, "joints": []}
        elif obj.kind == "static":
            body = _body(b, world, obj.body, zero, eye, fixed=True)
            names[obj.id] = {"body": body.name, "joints": []}
        else:
            base = _body(b, world, obj.body, zero, eye, fixed=True)
            joints = []
            for part in obj.parts:
                child = _body(b, base, part, obj.body.pos, obj.body.rot, fixed=False)
                j = part.joint
                assert j is not None
                jname = _safe(f"obj_{obj.id}/{j.name}")
                child.add_joint(
                    name=jname,
                    type=mujoco.mjtJoint.mjJNT_HINGE if j.type == "hinge" else mujoco.mjtJoint.mjJNT_SLIDE,
                    pos=[float(v) for v in part.rot.T @ (j.anchor - part.pos)],
                    axis=[float(v) for v in part.rot.T @ j.axis],
                    range=[j.lower, j.upper],
                    limited=mujoco.mjtLimited.mjLIMITED_TRUE,
                    damping=JOINT_DAMPING[j.type],
                    armature=0.01,
                )
                joints.append((jname, child.name, j))
                # a part resting in its frame must not fight it (USD: jointed bodies do not collide)
                spec.add_exclude(bodyname1=base.name, bodyname2=child.name)
            names[obj.id] = {"body": base.name, "joints": joints}
    return spec, names


class SimScene:
    """A compiled scene: model, data, objects by manifest id, optional robot and cameras."""

    def __init__(
        self,
        scene: SceneSpec,
        spec: mujoco.MjSpec,
        names: dict[str, dict[str, Any]],
        *,
        robot: Any = None,
        cameras: tuple[str, ...] = (),
        mount: dict[str, Any] | None = None,
    ) -> None:
        self.scene = scene
        self.spec = spec
        self.model = spec.compile()
        self.data = mujoco.MjData(self.model)
        self.cameras = cameras
        self.mount = mount or {}
        self.objects: dict[str, SimObject] = {}
        for obj in scene.objects:
            n = names[obj.id]
            bid = mujoco.mj_name2id(self.model, mujoco.mjtObj.mjOBJ_BODY, n["body"])
            joints = []
            for jname, part_body, j in n["joints"]:
                jid = mujoco.mj_name2id(self.model, mujoco.mjtObj.mjOBJ_JOINT, jname)
                joints.append(
                    SimJoint(
                        jname,
                        obj.id,
                        part_body,
                        j.type,
                        (j.lower, j.upper),
                        jid,
                        int(self.model.jnt_qposadr[jid]),
                        int(self.model.jnt_dofadr[jid]),
                    )
                )
            qadr = None
            if obj.kind == "dynamic":
                jid = int(self.model.body_jntadr[bid])
                qadr = int(self.model.jnt_qposadr[jid])
            mass = (
                float(self.model.body_subtreemass[bid])
                if obj.kind == "dynamic"
                else float((obj.body.mass or 0.0) + sum(p.mass or 0.0 for p in obj.parts))
            )
            local = (outline(obj.body) - obj.body.pos) @ obj.body.rot
            self.objects[obj.id] = SimObject(
                obj.id, obj.category, obj.sim_role, obj.kind, n["body"], bid, mass, obj.size.copy(), joints, qadr, local
            )
        self.robot = None
        if robot is not None:
            from bpflow.domain.sim.robot import RobotHandle

            self.robot = RobotHandle.find(self.model, robot[0], robot[1])
        self.reset()

    # -- state -----------------------------------------------------------------------------
    def reset(self) -> None:
        mujoco.mj_resetData(self.model, self.data)
        if self.robot is not None:
            self.robot.set_home(self.model, self.data)
        mujoco.mj_forward(self.model, self.data)

    def reset_forward(self) -> None:
        mujoco.mj_forward(self.model, self.data)

    def joint_by_name(self, name: str) -> SimJoint:
        for o in self.objects.values():
            for j in o.joints:
                if j.name == name:
                    return j
        raise KeyError(name)

    def dynamic_ids(self) -> list[str]:
        return [oid for oid, o in self.objects.items() if o.dynamic]

    def position(self, object_id: str) -> np.ndarray:
        pos: np.ndarray = self.data.xpos[self.objects[object_id].body_id].copy()
        return pos

    def quat(self, object_id: str) -> np.ndarray:
        q: np.ndarray = self.data.xquat[self.objects[object_id].body_id].copy()
        return q

    def world_points(self, object_id: str) -> np.ndarray:
        """The object's collider outline where it is now (world frame)."""
        o = self.objects[object_id]
        rot = self.data.xmat[o.body_id].reshape(3, 3)
        pts: np.ndarray = o.points @ rot.T + self.data.xpos[o.body_id]
        return pts

    def body_points(self, body_id: int) -> np.ndarray:
        """World corners of a body's box geoms and vertices of its mesh geoms, as they are now."""
        m, d = self.model, self.data
        pts = [np.zeros((0, 3))]
        corners = np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)], dtype=float)
        for g in range(m.ngeom):
            if m.geom_bodyid[g] != body_id:
                continue
            rot = d.geom_xmat[g].reshape(3, 3)
            if m.geom_type[g] == mujoco.mjtGeom.mjGEOM_BOX:
                pts.append((corners * m.geom_size[g]) @ rot.T + d.geom_xpos[g])
            elif m.geom_type[g] == mujoco.mjtGeom.mjGEOM_MESH:
                mid = m.geom_dataid[g]
                start, n = m.mesh_vertadr[mid], m.mesh_vertnum[mid]
                pts.append(m.mesh_vert[start : start + n] @ rot.T + d.geom_xpos[g])
        return np.vstack(pts)

    def speed(self, object_id: str) -> float:
        o = self.objects[object_id]
        if o.qpos_adr is None:
            return 0.0
        dof = int(self.model.jnt_dofadr[self.model.body_jntadr[o.body_id]])
        return float(np.linalg.norm(self.data.qvel[dof : dof + 3]))

    def set_pose(self, object_id: str, pos: np.ndarray, quat: np.ndarray | None = None) -> None:
        o = self.objects[object_id]
        if o.qpos_adr is None:
            raise ValueError(f"object {object_id!r} is not a free body")
        self.data.qpos[o.qpos_adr : o.qpos_adr + 3] = pos
        if quat is not None:
            self.data.qpos[o.qpos_adr + 3 : o.qpos_adr + 7] = quat
        dof = int(self.model.jnt_dofadr[self.model.body_jntadr[o.body_id]])
        self.data.qvel[dof : dof + 6] = 0.0
        mujoco.mj_forward(self.model, self.data)

    def step(self, n: int = 1) -> None:
        mujoco.mj_step(self.model, self.data, nstep=max(1, int(n)))

    def settle(self, seconds: float) -> None:
        self.step(int(round(seconds / self.model.opt.timestep)))

    def max_penetration(self) -> float:
        depth = 0.0
        for i in range(self.data.ncon):
            depth = max(depth, -float(self.data.contact[i].dist))
        return depth

    def joint_value(self, joint: SimJoint) -> float:
        return float(self.data.qpos[joint.qpos_adr])

    def drive_joint(
        self,
        joint: SimJoint,
        target: float,
        seconds: float,
        *,
        stiffness: float = 200.0,
        damping: float = 20.0,
        max_force: float = 100.0,
    ) -> float:
        """Push an articulated part towards ``target`` (rad or m) with a bounded PD force for
        ``seconds`` of simulated time — a hand opening a door — and return where it ended."""
        dt = float(self.model.opt.timestep)
        for _ in range(max(1, int(round(seconds / dt)))):
            q = float(self.data.qpos[joint.qpos_adr])
            qd = float(self.data.qvel[joint.dof_adr])
            self.data.qfrc_applied[joint.dof_adr] = float(
                np.clip(stiffness * (target - q) - damping * qd, -max_force, max_force)
            )
            mujoco.mj_step(self.model, self.data)
        self.data.qfrc_applied[joint.dof_adr] = 0.0
        return self.joint_value(joint)


def load_scene(
    usd_path: str | Path,
    manifest: dict[str, Any] | None = None,
    *,
    robot: bool = False,
    target_ids: list[str] | None = None,
) -> SimScene:
    """Build the simulation of ``usd_path``.

    ``manifest`` (the ``scene_manifest.json`` body) is checked against the USD: every manifest
    object must be in the scene (:class:`SceneReadError` ``sim_object_missing`` otherwise), and
    its ``sim_role``/``category`` win over the USD's copies. ``robot`` mounts the Panda next to
    the work surface holding ``target_ids`` (default: every dynamic object) and adds cameras.
    """
    scene = read_scene(usd_path)
    roles = manifest_roles(manifest)
    if roles:
        found = {o.id for o in scene.objects}
        missing = sorted(set(roles) - found)
        if missing:
            raise SceneReadError(
                f"manifest objects missing from the USD: {missing}", code="sim_object_missing", field="objects"
            )
        for o in scene.objects:
            m = roles.get(o.id)
            if m:
                o.sim_role = str(m.get("sim_role") or o.sim_role)
                o.category = str(m.get("category") or o.category)
    if not scene.objects:
        raise SceneReadError(
            "the scene has no objects (no prim carries bp:object_id)", code="sim_scene_empty", field="usd_path"
        )
    spec, names = build_spec(scene)
    if not robot:
        return SimScene(scene, spec, names)
    from bpflow.domain.sim import cameras as cams
    from bpflow.domain.sim import placement
    from bpflow.domain.sim import robot as panda

    mount = placement.mount_robot(scene, target_ids)
    placement.add_pedestal(spec, mount)
    panda.attach(spec, mount["base"], mount["yaw"])
    names_cams = cams.add_cameras(spec, mount)
    sim = SimScene(scene, spec, names, robot=(mount["base"], mount["yaw"]), cameras=names_cams, mount=mount)
    from bpflow.domain.sim.clearance import clear_start

    assert sim.robot is not None
    sim.robot.start_q = tuple(float(v) for v in clear_start(sim))
    sim.reset()
    return sim
