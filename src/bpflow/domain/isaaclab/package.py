"""The Isaac Lab package contents: the env config (as data), its files, and their static check.

``package_config`` turns the plan into one dict (also written as ``env_cfg.yaml``) from which
every generated file is rendered, so the Python configs and the YAML cannot disagree.
``static_validation`` is what can be checked without Isaac Sim: every file compiles, the YAML
loads, and every prim the configs name exists in the scene USD.
"""

from __future__ import annotations

import math
from typing import Any

import yaml
from pxr import Usd

from bpflow.domain.isaaclab.code import (
    RANDOMIZATIONS,
    REWARD_FUNCTIONS,
    class_name,
    env_cfg_py,
    init_py,
    task_py,
    train_cfg_yaml,
)
from bpflow.domain.isaaclab.tasks import Placed, Robot, scene_rotation, to_isaac
from bpflow.domain.scene.pose import Vec3, axes_for


def _region_isaac(region: dict[str, Any], up_axis: str) -> tuple[list[float], list[float]]:
    axes = axes_for(up_axis)
    lo, hi = [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]
    lo[axes.width], lo[axes.depth], lo[axes.up] = region["lo"][0], region["lo"][1], region["height"]
    hi[axes.width], hi[axes.depth], hi[axes.up] = region["hi"][0], region["hi"][1], region["height"]
    a, b = to_isaac((lo[0], lo[1], lo[2]), up_axis), to_isaac((hi[0], hi[1], hi[2]), up_axis)
    return [min(a[i], b[i]) for i in range(3)], [max(a[i], b[i]) for i in range(3)]


def _terms(
    task: dict[str, Any], up_axis: str, floor: float, regions: dict[str, dict[str, Any]]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    target = task["target_object"]
    rewards: list[dict[str, Any]] = []
    terminations: list[dict[str, Any]] = [{"name": "time_out", "func": "mdp.time_out", "time_out": True, "params": {}}]
    events: list[dict[str, Any]] = []
    if task["task_type"] == "pick_place":
        rewards += [
            {
                "name": "reaching_object",
                "func": "reward_functions.object_ee_distance",
                "weight": 1.0,
                "params": {"std": 0.1, "object_cfg": {"entity": target}, "ee_cfg": {"entity": "robot", "ee": True}},
            },
            {
                "name": "lifting_object",
                "func": "reward_functions.object_is_lifted",
                "weight": 15.0,
                "params": {"minimal_height": task["success"]["lifted_height_m"], "object_cfg": {"entity": target}},
            },
        ]
        place = regions.get(task["place_regions"][0]) if task.get("place_regions") else None
        if place is not None:
            lo, hi = _region_isaac(place, up_axis)
            goal = [round((lo[i] + hi[i]) / 2, 6) for i in range(3)]
            rewards.append(
                {
                    "name": "object_goal_tracking",
                    "func": "reward_functions.object_goal_distance",
                    "weight": 16.0,
                    "params": {"std": 0.3, "goal": tuple(goal), "object_cfg": {"entity": target}},
                }
            )
        terminations.append(
            {
                "name": "object_dropping",
                "func": "mdp.root_height_below_minimum",
                "params": {"minimum_height": round(floor - 0.05, 6), "asset_cfg": {"entity": target}},
            }
        )
        source = regions.get(f"{task.get('source_support')}_top")
        if source is not None:
            lo, hi = _region_isaac(source, up_axis)
            events.append(
                {
                    "name": "reset_target",
                    "func": "randomizations.reset_object_on_region",
                    "params": {
                        "asset_cfg": {"entity": target},
                        "region_min": tuple(round(v, 6) for v in lo),
                        "region_max": tuple(round(v, 6) for v in hi),
                    },
                }
            )
    else:
        joint = task["joint"]
        travel = joint["upper"] if joint["upper"] > 0 else joint["lower"]  # the open end of the range
        open_pos = math.radians(travel) if joint["type"] == "revolute" else travel
        rewards.append(
            {
                "name": "opening",
                "func": "reward_functions.joint_opening",
                "weight": 10.0,
                "params": {
                    "asset_cfg": {"entity": target, "joint": f"{task['target_part']}_joint"},
                    "open_position": round(float(open_pos), 6),
                },
            }
        )
    rewards += [
        {"name": "action_rate", "func": "mdp.action_rate_l2", "weight": -0.0001, "params": {}},
        {
            "name": "joint_vel",
            "func": "mdp.joint_vel_l2",
            "weight": -0.0001,
            "params": {"asset_cfg": {"entity": "robot"}},
        },
    ]
    return rewards, terminations, events


def package_config(
    *,
    scene_id: str,
    up_axis: str,
    scene_usd: str,
    scene_usd_relative: str,
    policy_id: str,
    primary: tuple[dict[str, Any], dict[str, Any]],
    catalog: list[dict[str, Any]],
    placed: list[Placed],
    prim_names: dict[str, str],
    articulated: set[str],
    robot: Robot,
    num_envs: int,
    room_lo: Vec3,
    room_hi: Vec3,
    regions: dict[str, dict[str, Any]],
) -> dict[str, Any]:
    task, spawn = primary
    floor = room_lo[axes_for(up_axis).up]
    rewards, terminations, events = _terms(task, up_axis, floor, regions)
    by_id = {p.id: p for p in placed}
    targets = sorted({t["target_object"] for t in catalog if t["target_object"] in by_id})
    spacing = max(abs(room_hi[i] - room_lo[i]) for i in range(3)) + 1.0
    return {
        "scene_id": scene_id,
        "policy_id": policy_id,
        "class_name": class_name(f"{scene_id}_{policy_id}"),
        "gym_id": f"Isaac-BP-{class_name(scene_id)}-{class_name(policy_id)}-v0",
        "task_name": task["task_name"],
        "primary_task": task,
        "up_axis": up_axis,
        "scene_usd": scene_usd,
        "scene_usd_relative": scene_usd_relative,
        "scene_rotation_wxyz": list(scene_rotation(up_axis)),
        "robot": {"type": robot.type, **spawn["robot"]},
        "task_objects": [
            {
                "id": oid,
                "prim_name": prim_names.get(oid, f"obj_{oid}"),
                "articulated": oid in articulated,
                "scene_position": list(by_id[oid].center),
                "isaac_position": list(to_isaac(by_id[oid].center, up_axis)),
            }
            for oid in targets
        ],
        "rewards": rewards,
        "terminations": terminations,
        "events": events,
        "num_envs": num_envs,
        "env_spacing": round(spacing, 3),
        "episode_length_s": 8.0 if task["task_type"] == "pick_place" else 10.0,
    }


def package_files(cfg: dict[str, Any]) -> dict[str, str]:
    """File name → text of every generated file of the package."""
    return {
        "env_cfg.py": env_cfg_py(cfg),
        f"task_{cfg['policy_id']}.py": task_py(cfg),
        "reward_functions.py": REWARD_FUNCTIONS,
        "randomizations.py": RANDOMIZATIONS,
        "__init__.py": init_py(cfg),
        "train_cfg.yaml": train_cfg_yaml(cfg),
        "env_cfg.yaml": yaml.safe_dump(_plain(cfg), sort_keys=False),
    }


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def static_validation(files: dict[str, str], cfg: dict[str, Any], stage: Usd.Stage | None) -> list[str]:
    errors = []
    for name, text in files.items():
        if name.endswith(".py"):
            try:
                compile(text, name, "exec")
            except SyntaxError as exc:
                errors.append(f"{name}: {exc.msg} (line {exc.lineno})")
        elif name.endswith(".yaml"):
            try:
                yaml.safe_load(text)
            except yaml.YAMLError as exc:
                errors.append(f"{name}: {exc}")
    if stage is None:
        errors.append("scene.usda not available: task object prims not checked")
    else:
        for obj in cfg["task_objects"]:
            if not stage.GetPrimAtPath(f"/World/Objects/{obj['prim_name']}"):
                errors.append(f"task object {obj['id']}: no prim /World/Objects/{obj['prim_name']} in the scene")
    return errors
