"""The physics acceptance test of an assembled scene, on the MuJoCo simulation core.

What a simulation user checks before accepting a scene (the numbers are the defaults of
:class:`Limits`):

1. **no initial penetration**: at t = 0 no two objects (or an object and the room) overlap by
   more than 5 mm;
2. **stability**: after settling 3 s under gravity, every free body moved less than 2 cm and
   turned less than 5°, and nothing fell through the floor (≥ 98 % of free bodies must hold);
3. **joints work**: each articulated object's joints, pushed open together with a bounded torque
   (15 N·m) or force (40 N) for 2 s, reach ≥ 90 % of their range (no jam);
4. **no door in a wall**: with each joint at its open limit, its part overlaps the room or
   another object by at most 5 mm.

The result is plain data (``AcceptanceReport.to_dict``) for ``usd/physics_report.json``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import mujoco
import numpy as np

from bpflow.domain.sim.scene import SimJoint, SimScene, load_scene


@dataclass(frozen=True)
class Limits:
    settle_s: float = 3.0
    max_drift_m: float = 0.02
    max_tilt_deg: float = 5.0
    max_penetration_m: float = 0.005
    min_stable_fraction: float = 0.98
    drive_s: float = 2.0
    hinge_torque_nm: float = 15.0
    slide_force_n: float = 40.0
    min_joint_fraction: float = 0.9

    def to_dict(self) -> dict[str, float]:
        return dict(self.__dict__)


@dataclass
class AcceptanceReport:
    passed: bool
    objects: list[dict[str, Any]]
    joints: list[dict[str, Any]]
    summary: dict[str, Any]
    failures: list[str] = field(default_factory=list)
    limits: Limits = field(default_factory=Limits)

    def to_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "limits": self.limits.to_dict(),
            "summary": self.summary,
            "failures": self.failures,
            "objects": self.objects,
            "joints": self.joints,
        }


def _body_owner(sim: SimScene) -> dict[int, str]:
    """MuJoCo body id → the object id it belongs to (parts included); the room is ``room``."""
    owner: dict[int, str] = {}
    for oid, obj in sim.objects.items():
        owner[obj.body_id] = oid
        for j in obj.joints:
            owner[int(sim.model.jnt_bodyid[j.joint_id])] = oid
    room = mujoco.mj_name2id(sim.model, mujoco.mjtObj.mjOBJ_BODY, "room")
    if room >= 0:
        owner[room] = "room"
    owner.setdefault(0, "room")
    return owner


def _penetrations(sim: SimScene, owner: dict[int, str], only_body: int | None = None) -> dict[str, float]:
    """Deepest overlap per object over the current contacts between different objects."""
    out: dict[str, float] = {}
    for i in range(sim.data.ncon):
        c = sim.data.contact[i]
        b1, b2 = int(sim.model.geom_bodyid[c.geom1]), int(sim.model.geom_bodyid[c.geom2])
        if only_body is not None and only_body not in (b1, b2):
            continue
        o1, o2 = owner.get(b1, "room"), owner.get(b2, "room")
        if o1 == o2:
            continue
        depth = max(0.0, -float(c.dist))
        for o in (o1, o2):
            if o != "room":
                out[o] = max(out.get(o, 0.0), depth)
    return out


def _angle_deg(q0: np.ndarray, q1: np.ndarray) -> float:
    dot = abs(float(np.dot(q0 / np.linalg.norm(q0), q1 / np.linalg.norm(q1))))
    return math.degrees(2.0 * math.acos(min(1.0, dot)))


def _opening(joint: SimJoint) -> float:
    """The limit that opens the part: the far end of the range from the closed pose (0)."""
    lo, hi = joint.range
    return hi if abs(hi) >= abs(lo) else lo


def _drive(sim: SimScene, joints: list[SimJoint], limits: Limits) -> dict[str, float]:
    """Push every joint of one object toward its open limit at once; the position each reached."""
    steps = int(round(limits.drive_s / sim.model.opt.timestep))
    for _ in range(steps):
        sim.data.qfrc_applied[:] = 0.0
        for j in joints:
            bound = limits.hinge_torque_nm if j.type == "hinge" else limits.slide_force_n
            sim.data.qfrc_applied[j.dof_adr] = math.copysign(bound, _opening(j))
        mujoco.mj_step(sim.model, sim.data)
    sim.data.qfrc_applied[:] = 0.0
    return {j.name: sim.joint_value(j) for j in joints}


def run_acceptance(
    usd_path: str | Path, manifest: dict[str, Any] | None = None, limits: Limits | None = None
) -> AcceptanceReport:
    """Load, settle, drive and judge the scene; never raises for a scene that merely fails."""
    limits = limits or Limits()
    sim = load_scene(usd_path, manifest)
    owner = _body_owner(sim)
    failures: list[str] = []
    start = _penetrations(sim, owner)
    dynamic = sim.dynamic_ids()
    pos0 = {oid: sim.position(oid) for oid in dynamic}
    quat0 = {oid: sim.quat(oid) for oid in dynamic}
    sim.settle(limits.settle_s)
    objects = []
    stable = 0
    for oid, obj in sim.objects.items():
        row: dict[str, Any] = {
            "id": oid,
            "category": obj.category,
            "kind": obj.kind,
            "mass_kg": round(obj.mass, 4),
            "initial_penetration_m": round(start.get(oid, 0.0), 5),
        }
        if oid in pos0:
            moved = float(np.linalg.norm(sim.position(oid) - pos0[oid]))
            turned = _angle_deg(quat0[oid], sim.quat(oid))
            fell = bool(sim.position(oid)[2] < -0.05)
            ok = moved < limits.max_drift_m and turned < limits.max_tilt_deg and not fell
            stable += ok
            row.update(
                displacement_m=round(moved, 5), rotation_deg=round(turned, 3), fell_through_floor=fell, stable=ok
            )
            if not ok:
                failures.append(f"{oid} not stable: moved {moved:.3f} m, turned {turned:.1f}°")
        if start.get(oid, 0.0) > limits.max_penetration_m:
            failures.append(f"{oid} starts {start[oid] * 1000:.1f} mm inside another body")
        objects.append(row)
    settled_q, settled_v = sim.data.qpos.copy(), sim.data.qvel.copy()
    joints_out = []
    for oid, obj in sim.objects.items():
        if not obj.joints:
            continue
        reached = _drive(sim, obj.joints, limits)
        for j in obj.joints:
            target = _opening(j)
            fraction = reached[j.name] / target if target else 1.0
            # kinematic check at the open limit: what the part overlaps (walls, neighbours)
            sim.data.qpos[:] = settled_q
            sim.data.qpos[j.qpos_adr] = target
            mujoco.mj_forward(sim.model, sim.data)
            part_body = int(sim.model.jnt_bodyid[j.joint_id])
            hit = max(_penetrations(sim, owner, only_body=part_body).values(), default=0.0)
            ok = fraction >= limits.min_joint_fraction and hit <= limits.max_penetration_m
            joints_out.append(
                {
                    "object_id": oid,
                    "joint": j.name,
                    "type": j.type,
                    "range": [round(v, 5) for v in j.range],
                    "reached": round(reached[j.name], 5),
                    "fraction": round(fraction, 4),
                    "penetration_at_limit_m": round(hit, 5),
                    "ok": ok,
                }
            )
            if fraction < limits.min_joint_fraction:
                failures.append(f"{j.name} reached {fraction:.0%} of its range (jammed)")
            if hit > limits.max_penetration_m:
                failures.append(f"{j.name} enters a wall or neighbour by {hit * 1000:.0f} mm at its limit")
        sim.data.qpos[:] = settled_q
        sim.data.qvel[:] = settled_v
        mujoco.mj_forward(sim.model, sim.data)
    fraction_stable = stable / len(dynamic) if dynamic else 1.0
    max_start = max(start.values(), default=0.0)
    passed = (
        fraction_stable >= limits.min_stable_fraction
        and max_start <= limits.max_penetration_m
        and all(j["ok"] for j in joints_out)
    )
    summary = {
        "objects": len(sim.objects),
        "dynamic": len(dynamic),
        "stable": stable,
        "stable_fraction": round(fraction_stable, 4),
        "max_initial_penetration_m": round(max_start, 5),
        "joints": len(joints_out),
        "joints_ok": sum(1 for j in joints_out if j["ok"]),
    }
    return AcceptanceReport(passed, objects, joints_out, summary, failures, limits)
