"""The Franka Emika Panda: its MuJoCo model, placement in a scene and inverse kinematics.

The model is the Franka Kitchen arm shipped inside the ``gymnasium-robotics`` wheel (MIT
package; the arm's files say Apache-2.0, after vikashplus/franka): no download at run time. Its
collision meshes double as visuals (the visual meshes make compiling ~500× slower for a 128²
render that cannot tell the difference). Every link gets gravity compensation, so the position
servos track without a droop.

Frames: the ``end_effector`` site sits between the finger pads' tops; its +z is the approach
direction and its +y the direction the fingers open along. Inverse kinematics (mink) runs on a
robot-only model in the robot's base frame, so objects' free joints never take part.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

import mujoco
import numpy as np

from bpflow.core.errors import ValidationFailed

PREFIX = "robot/"
ARM_JOINTS = tuple(f"robot:panda0_joint{i}" for i in range(1, 8))
FINGER_JOINTS = ("robot:panda0_finger_joint1", "robot:panda0_finger_joint2")
ARM_ACTUATORS = tuple(f"panda0_joint{i}" for i in range(1, 8))
FINGER_ACTUATORS = ("r_gripper_finger_joint", "l_gripper_finger_joint")
EE_SITE = "end_effector"
WRIST_CAMERA = "wrist"
GRIPPER_OPEN = 0.04
GRIPPER_CLOSED = 0.0
HOME_Q = (0.0, -0.3, 0.0, -2.2, 0.0, 2.0, 0.785)
"""The IK posture and seed: the hand 58 cm ahead of the base at 72 cm, pointing forward."""
READY_Q = (0.0, -0.785, 0.0, -2.356, 0.0, 0.0, 0.785)
"""Where every episode starts: the hand 31 cm ahead of and 49 cm above the base, pointing down.
Compact on purpose: HOME_Q's outstretched hand reached into a wall or shelf standing behind the
work surface before the episode began."""
LIMIT_MARGIN_RAD = np.array([0.01, 0.01, 0.01, 0.01, 0.05, 0.05, 0.05])
"""How far inside its limits every planned configuration keeps each arm joint (the IK solves in
these narrowed limits; the planner checks them): a servo overshoots a target set on the limit
itself when a contact pushes it, and a certificate counts every frame past a limit. The
wrist's servos are seven times softer than the shoulder's and elbow's (kp 120 against 870)."""
REACH_M = 0.76
"""Horizontal distance from the base axis the planner trusts the arm to reach (Panda: 0.855)."""
SHOULDER_M = 0.333
PROVENANCE = {
    "name": "franka_emika_panda",
    "source": "gymnasium-robotics 1.4.2 (envs/assets/kitchen_franka/franka_assets)",
    "package_license": "MIT",
    "model_license": "Apache-2.0",
    "origin": "github.com/vikashplus/franka",
}


class RobotModelMissing(ValidationFailed):
    code = "robot_model_missing"


def assets_dir() -> Path:
    spec = importlib.util.find_spec("gymnasium_robotics")
    if spec is None or not spec.submodule_search_locations:
        raise RobotModelMissing(
            "the Panda model comes from the gymnasium-robotics package, which is not installed", field="robot"
        )
    root = Path(list(spec.submodule_search_locations)[0]) / "envs/assets/kitchen_franka/franka_assets"
    if not (root / "chain.xml").is_file():
        raise RobotModelMissing(f"gymnasium-robotics has no Franka assets at {root}", field="robot")
    return root


def panda_spec(*, wrist_camera: bool = True) -> mujoco.MjSpec:
    """The arm alone, base at the origin, collision meshes as visuals, gravity compensated."""
    root = assets_dir()
    xml = (
        f'<mujoco model="panda"><include file="{root}/assets.xml"/>'
        f'<worldbody><include file="{root}/chain.xml"/></worldbody>'
        f'<include file="{root}/actuator.xml"/></mujoco>'
    )
    spec = mujoco.MjSpec.from_string(xml)
    for geom in list(spec.geoms):
        if geom.meshname.endswith("_viz"):
            spec.delete(geom)
        elif geom.meshname.endswith("_col"):
            geom.group = 0
            geom.rgba = [0.92, 0.92, 0.9, 1.0]
    for mesh in list(spec.meshes):
        if mesh.name.endswith("_viz"):
            spec.delete(mesh)
        else:  # the include resolved files next to assets.xml, ignoring its meshdir
            mesh.file = mesh.file.replace(f"{root}/", f"{root}/meshes/", 1)
    for body in spec.bodies:
        body.gravcomp = 1.0
    if wrist_camera:
        hand = spec.body("panda0_link7")
        # behind the hand, looking down the approach axis past the fingers
        hand.add_camera(name=WRIST_CAMERA, pos=[0.0, -0.08, 0.12], quat=[0.0, 0.9659, 0.2588, 0.0], fovy=75)
    return spec


def yaw_quat(yaw: float) -> list[float]:
    return [float(np.cos(yaw / 2)), 0.0, 0.0, float(np.sin(yaw / 2))]


def attach(spec: mujoco.MjSpec, base_pos: np.ndarray, yaw: float) -> None:
    """Mount the arm on ``spec``'s world at ``base_pos`` facing ``yaw`` (names get ``robot/``)."""
    spec.nuser_actuator = max(int(spec.nuser_actuator), 5)  # the arm's actuators carry 5 user values
    frame = spec.worldbody.add_frame(pos=[float(v) for v in base_pos], quat=yaw_quat(yaw))
    spec.attach(panda_spec(), prefix=PREFIX, frame=frame)


@dataclass
class RobotHandle:
    """Indices of the mounted arm in a compiled scene model."""

    base_pos: np.ndarray
    yaw: float
    arm_qpos: np.ndarray
    arm_dof: np.ndarray
    finger_qpos: np.ndarray
    finger_dof: np.ndarray
    arm_act: np.ndarray
    finger_act: np.ndarray
    site_id: int
    body_ids: frozenset[int]
    start_q: tuple[float, ...] = READY_Q
    """The pose every episode starts from (``clearance.clear_start`` picks it per mount)."""

    @classmethod
    def find(cls, model: mujoco.MjModel, base_pos: np.ndarray, yaw: float) -> RobotHandle:
        def jid(name: str) -> int:
            jnt: int = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_JOINT, PREFIX + name)
            return jnt

        def aid(name: str) -> int:
            act: int = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_ACTUATOR, PREFIX + name)
            return act

        root = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, PREFIX + "panda0_link0")
        bodies = frozenset(b for b in range(model.nbody) if b == root or _descends(model, b, root))
        return cls(
            base_pos=np.asarray(base_pos, dtype=float),
            yaw=float(yaw),
            arm_qpos=np.array([model.jnt_qposadr[jid(j)] for j in ARM_JOINTS]),
            arm_dof=np.array([model.jnt_dofadr[jid(j)] for j in ARM_JOINTS]),
            finger_qpos=np.array([model.jnt_qposadr[jid(j)] for j in FINGER_JOINTS]),
            finger_dof=np.array([model.jnt_dofadr[jid(j)] for j in FINGER_JOINTS]),
            arm_act=np.array([aid(a) for a in ARM_ACTUATORS]),
            finger_act=np.array([aid(a) for a in FINGER_ACTUATORS]),
            site_id=mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_SITE, PREFIX + EE_SITE),
            body_ids=bodies,
        )

    def to_base(self, p_world: np.ndarray) -> np.ndarray:
        c, s = np.cos(-self.yaw), np.sin(-self.yaw)
        d = np.asarray(p_world, dtype=float) - self.base_pos
        return np.array([c * d[0] - s * d[1], s * d[0] + c * d[1], d[2]])

    def rot_to_base(self, r_world: np.ndarray) -> np.ndarray:
        c, s = np.cos(-self.yaw), np.sin(-self.yaw)
        rz = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
        rotated: np.ndarray = rz @ r_world
        return rotated

    def set_home(self, model: mujoco.MjModel, data: mujoco.MjData) -> None:
        data.qpos[self.arm_qpos] = self.start_q
        data.qpos[self.finger_qpos] = GRIPPER_OPEN
        data.ctrl[self.arm_act] = self.start_q
        data.ctrl[self.finger_act] = GRIPPER_OPEN

    def ee_pose(self, data: mujoco.MjData) -> tuple[np.ndarray, np.ndarray]:
        return data.site_xpos[self.site_id].copy(), data.site_xmat[self.site_id].reshape(3, 3).copy()


def _descends(model: mujoco.MjModel, body: int, root: int) -> bool:
    while body > 0:
        body = int(model.body_parentid[body])
        if body == root:
            return True
    return False


def grasp_rotation(yaw: float) -> np.ndarray:
    """Site orientation for a top-down grasp whose fingers open along world direction ``yaw``."""
    y = np.array([np.cos(yaw), np.sin(yaw), 0.0])
    z = np.array([0.0, 0.0, -1.0])
    x = np.cross(y, z)
    return np.column_stack([x, y, z])


class IKSolver:
    """Differential IK (mink + daqp) for the end-effector site on the robot-only model."""

    def __init__(self) -> None:
        import mink

        self._mink = mink
        self.model = panda_spec(wrist_camera=False).compile()
        for i, name in enumerate(ARM_JOINTS):
            jid = mujoco.mj_name2id(self.model, mujoco.mjtObj.mjOBJ_JOINT, name)
            self.model.jnt_range[jid] += np.array([LIMIT_MARGIN_RAD[i], -LIMIT_MARGIN_RAD[i]])
        self.config = mink.Configuration(self.model)
        self.task = mink.FrameTask(EE_SITE, "site", position_cost=1.0, orientation_cost=0.5, lm_damping=1e-3)
        self.posture = mink.PostureTask(self.model, cost=1e-3)
        self.limits = [mink.ConfigurationLimit(self.model)]
        q = np.zeros(self.model.nq)
        q[:7] = HOME_Q
        q[7:9] = GRIPPER_OPEN
        self.posture.set_target(q)

    def solve(
        self, pos_base: np.ndarray, rot_base: np.ndarray, q_arm: np.ndarray, *, iterations: int = 300, tol: float = 2e-3
    ) -> tuple[np.ndarray, float]:
        """Arm joints reaching the pose (base frame) from ``q_arm``, and the position error left."""
        mink = self._mink
        q = np.zeros(self.model.nq)
        q[:7] = q_arm
        q[7:9] = GRIPPER_OPEN
        self.config.update(q)
        target = mink.SE3.from_rotation_and_translation(
            mink.SO3.from_matrix(np.asarray(rot_base)), np.asarray(pos_base, dtype=float)
        )
        self.task.set_target(target)
        dt = 0.05
        err = np.inf
        for _ in range(iterations):
            vel = mink.solve_ik(self.config, [self.task, self.posture], dt, "daqp", damping=1e-3, limits=self.limits)
            self.config.integrate_inplace(vel, dt)
            e = self.task.compute_error(self.config)
            err = float(np.linalg.norm(e[:3]))
            if err < tol and float(np.linalg.norm(e[3:])) < 2e-2:
                break
        return self.config.q[:7].copy(), err
