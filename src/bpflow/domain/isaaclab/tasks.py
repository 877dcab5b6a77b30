"""The Isaac Lab task plan: which tasks the scene offers, and where the robot starts for each.

Tasks come from the affordance graph (``replicator``): a ``pick_place`` task per graspable
object (track ``manipulation``) and an ``open_articulation`` task per door or drawer (track
``articulation``). Each task gets its own robot base pose (``spawn``) against the layout boxes
of every object and the room walls; a task is feasible when a clear pose within the robot's
reach exists. The plan is in the scene frame and, for Isaac Lab (z-up), in its world frame.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from bpflow.core.errors import ConfigError
from bpflow.domain.isaaclab.spawn import Obstacle, Spawn, convex_hull, plan_spawn
from bpflow.domain.scene.layout import Layout
from bpflow.domain.scene.manifest import Manifest
from bpflow.domain.scene.pose import Quat, Vec3, axes_for, resolve_placement, rotate

#: ROBOT_TYPE → (footprint radius m, reach m, shoulder height m).
ROBOTS: dict[str, tuple[float, float, float]] = {
    "franka": (0.25, 0.855, 0.333),  # Panda: 855 mm reach, shoulder (joint 2) at 333 mm
    "ur10": (0.2, 1.3, 0.128),
    "ur5": (0.18, 0.85, 0.089),
    "kinova": (0.15, 0.902, 0.284),
}
TRACKS = ("manipulation", "articulation")


@dataclass(frozen=True)
class Robot:
    type: str
    radius: float
    reach: float
    shoulder: float


def robot_for(name: str) -> Robot:
    key = name.strip().lower()
    if key not in ROBOTS:
        raise ConfigError(f"ROBOT_TYPE must be one of {', '.join(sorted(ROBOTS))}, got {name!r}", field="ROBOT_TYPE")
    return Robot(key, *ROBOTS[key])


@dataclass(frozen=True)
class Placed:
    id: str
    category: str
    center: Vec3
    rotation: Quat
    half: Vec3


def place_objects(manifest: Manifest, layout: Layout, sizes: dict[str, Vec3]) -> list[Placed]:
    """Each object's layout box (the obstacles the brief names), as the assembly placed it."""
    out = []
    for obj in manifest.objects:
        p = resolve_placement(obj, layout.objects.get(obj.id), manifest.up_axis, sizes.get(obj.id))
        half = p.half_extents or tuple(s / 2 for s in sizes.get(obj.id, (0.0, 0.0, 0.0)))
        out.append(Placed(obj.id, obj.kind, p.center, p.rotation_wxyz, half))  # type: ignore[arg-type]
    return out


def floor_plane(up_axis: str) -> tuple[int, int]:
    axes = axes_for(up_axis)
    return axes.width, axes.depth


def _to2(p: Vec3 | np.ndarray, up_axis: str) -> tuple[float, float]:
    a, b = floor_plane(up_axis)
    return float(p[a]), float(p[b])


def footprint(obj: Placed, up_axis: str) -> np.ndarray:
    corners = [
        np.asarray(obj.center)
        + np.asarray(rotate(obj.rotation, (sx * obj.half[0], sy * obj.half[1], sz * obj.half[2])))
        for sx in (-1, 1)
        for sy in (-1, 1)
        for sz in (-1, 1)
    ]
    return convex_hull(np.array([_to2(c, up_axis) for c in corners]))


def to_isaac(p: Vec3, up_axis: str) -> Vec3:
    """Scene coordinates → Isaac Lab world (z-up): a y-up scene is turned +90° about x."""
    return (p[0], -p[2], p[1]) if up_axis == "Y" else p


def scene_rotation(up_axis: str) -> Quat:
    """The rotation Isaac Lab spawns the scene with (w, x, y, z)."""
    h = math.sqrt(0.5)
    return (h, h, 0.0, 0.0) if up_axis == "Y" else (1.0, 0.0, 0.0, 0.0)


def _yaw(spawn: Spawn, target2: tuple[float, float], up_axis: str) -> float:
    """Angle about the up axis (right-handed) pointing the robot's +x at the target."""
    dx, dy = target2[0] - spawn.position[0], target2[1] - spawn.position[1]
    return math.atan2(-dy, dx) if up_axis == "Y" else math.atan2(dy, dx)


def _quat_about(axis: int, angle: float) -> Quat:
    h = angle / 2
    q = [math.cos(h), 0.0, 0.0, 0.0]
    q[1 + axis] = math.sin(h)
    return (q[0], q[1], q[2], q[3])


def _part_world(obj: Placed, local: list[float]) -> Vec3:
    v = rotate(obj.rotation, (float(local[0]), float(local[1]), float(local[2])))
    return (obj.center[0] + v[0], obj.center[1] + v[1], obj.center[2] + v[2])


def _front(obj: Placed, up_axis: str) -> tuple[float, float]:
    return _to2(rotate(obj.rotation, axes_for(up_axis).to_scene(0.0, 0.0, 1.0)), up_axis)


def _handle(joint: dict[str, Any], up_axis: str) -> list[float]:
    """Where a gripper takes the part (object frame): the free edge of a side door, the top of a
    flap, the front face of a drawer."""
    axes = axes_for(up_axis)
    c, s = list(map(float, joint["center"])), list(map(float, joint["size"]))
    h = list(c)
    h[axes.depth] += axes.front * s[axes.depth] / 2
    if joint["type"] == "revolute" and joint["axis"] == "XYZ"[axes.up]:
        toward_free = 1.0 if c[axes.width] >= float(joint["pivot"][axes.width]) else -1.0
        h[axes.width] += toward_free * 0.4 * s[axes.width]
    elif joint["type"] == "revolute":
        h[axes.up] += 0.4 * s[axes.up]
    return h


def _sweep(obj: Placed, joint: dict[str, Any], up_axis: str) -> Obstacle:
    """The floor area a part sweeps when it opens: a box in front of it as deep as it travels."""
    axes = axes_for(up_axis)
    c, s = list(map(float, joint["center"])), list(map(float, joint["size"]))
    if joint["type"] == "prismatic":
        depth = max(abs(float(joint["lower"])), abs(float(joint["upper"])))
    elif joint["axis"] == "XYZ"[axes.up]:
        depth = s[axes.width]
    else:
        depth = s[axes.up]
    front = c[axes.depth] + axes.front * s[axes.depth] / 2
    corners = []
    for w in (c[axes.width] - s[axes.width] / 2, c[axes.width] + s[axes.width] / 2):
        for d in (front, front + axes.front * depth):
            local = [0.0, 0.0, 0.0]
            local[axes.width], local[axes.depth] = w, d
            corners.append(_to2(_part_world(obj, local), up_axis))
    return Obstacle(f"{obj.id}:{joint['part']}:sweep", convex_hull(np.array(corners)))


def build_plan(
    *,
    manifest: Manifest,
    placed: list[Placed],
    graph: dict[str, Any],
    room_lo: Vec3,
    room_hi: Vec3,
    robot: Robot,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(task catalog, spawn plan), one entry each per task, in a stable order."""
    up_axis = manifest.up_axis
    up = axes_for(up_axis).up
    floor = room_lo[up]
    by_id = {p.id: p for p in placed}
    obstacles = [Obstacle(p.id, footprint(p, up_axis)) for p in placed]
    lo2, hi2 = _to2(room_lo, up_axis), _to2(room_hi, up_axis)
    supports = {e["source"]: e["target"] for e in graph.get("edges", []) if e.get("relation") == "on"}
    regions = [r for r in graph.get("regions", []) if r.get("type") == "support_top"]
    catalog: list[dict[str, Any]] = []
    plan: list[dict[str, Any]] = []

    def add(
        task: dict[str, Any], target: Vec3, approach: tuple[float, float] | None, extra_obstacles: list[Obstacle]
    ) -> None:
        target2 = _to2(target, up_axis)
        rise = target[up] - floor - robot.shoulder
        horizontal = math.sqrt(max(robot.reach**2 - rise**2, 0.0)) if abs(rise) < robot.reach else 0.0
        spawn, conflict = None, False
        if horizontal > 0:
            spawn = plan_spawn(
                target2, obstacles + extra_obstacles, lo2, hi2, radius=robot.radius, reach=horizontal, approach=approach
            )
            if spawn is None and extra_obstacles:
                spawn, conflict = (
                    plan_spawn(target2, obstacles, lo2, hi2, radius=robot.radius, reach=horizontal, approach=approach),
                    True,
                )
        entry: dict[str, Any] = {
            "task_id": task["task_id"],
            "target_object": task["target_object"],
            "target_point": list(target),
            "feasible": spawn is not None,
        }
        if spawn is None:
            entry["reason"] = "target out of reach" if horizontal <= 0 else "no obstacle-free base pose within reach"
        else:
            a, b = floor_plane(up_axis)
            base = [0.0, 0.0, 0.0]
            base[a], base[b], base[up] = spawn.position[0], spawn.position[1], floor
            yaw = _yaw(spawn, target2, up_axis)
            entry["robot"] = {
                "type": robot.type,
                "base_position": base,
                "yaw_rad": round(yaw, 6),
                "orientation_wxyz": list(_quat_about(up, yaw)),
                "isaac_base_position": list(to_isaac((base[0], base[1], base[2]), up_axis)),
                "isaac_orientation_wxyz": list(_quat_about(2, yaw)),
                "clearance_m": spawn.clearance,
                "distance_to_target_m": spawn.distance_to_target,
                "sweep_conflict": conflict,
            }
        catalog.append(task)
        plan.append(entry)

    for node in graph.get("nodes", []):
        oid = node.get("object_id")
        obj = by_id.get(oid)
        if obj is None:
            continue
        if "graspable" in node.get("affordances", []):
            support = supports.get(oid)
            places = [r["id"] for r in regions if r.get("parent") != support] or [r["id"] for r in regions]
            task = {
                "task_id": f"pick_place_{oid}",
                "task_name": f"Pick up {oid} and place it on {places[0] if places else 'a free surface'}",
                "task_type": "pick_place",
                "track": "manipulation",
                "target_object": oid,
                "source_support": support,
                "place_regions": places,
                "success": {"lifted_height_m": 0.04, "place_tolerance_m": 0.05},
            }
            add(task, obj.center, None, [])
        for joint in node.get("joints", []):
            if not isinstance(joint, dict) or "center" not in joint:
                continue
            handle = _part_world(obj, _handle(joint, up_axis))
            task = {
                "task_id": f"open_{oid}_{joint['part']}",
                "task_name": f"Open the {joint['part'].replace('_', ' ')} of {oid}",
                "task_type": "open_articulation",
                "track": "articulation",
                "target_object": oid,
                "target_part": joint["part"],
                "joint": {k: joint[k] for k in ("type", "axis", "lower", "upper")},
                "success": {"open_fraction": 0.8},
            }
            add(task, handle, _front(obj, up_axis), [_sweep(obj, joint, up_axis)])
    return catalog, plan


def feasibility(catalog: list[dict[str, Any]], plan: list[dict[str, Any]]) -> dict[str, Any]:
    """The reference's gate: tasks exist, some are feasible, and every track present has one."""
    feasible = {p["task_id"] for p in plan if p["feasible"]}
    tracks = sorted({t["track"] for t in catalog})
    per_track = {tr: sum(1 for t in catalog if t["track"] == tr and t["task_id"] in feasible) for tr in tracks}
    passed = bool(catalog) and bool(feasible) and all(v > 0 for v in per_track.values())
    return {"total_tasks": len(catalog), "feasible_tasks": len(feasible), "tracks": per_track, "passed": passed}
