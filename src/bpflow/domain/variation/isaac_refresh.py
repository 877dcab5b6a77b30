"""The Stage-3 refresh of the Isaac Lab task package: the variation assets become spawnable.

The Stage-2 baseline package knows the scene's own objects. The refresh adds, for every
variation asset that is ready (listed by variation-gen and, when simready produced a list,
sim-ready too), an Isaac Lab ``RigidObjectCfg`` spawning its USD with a variant selection
(``UsdFileCfg.variants``), and a refresh spawn plan that carries the baseline tasks over and
marks which tasks' target objects now have variants to swap in.

The feasibility gate is the reference's (§9.5, ``AFFORDANCE_FEASIBILITY_MODE``): in ``strict``
mode (and ``auto``, which is strict here: there is no runtime probe to relax it) a refresh
with nothing available is a failure, ``warn`` records it and goes on, ``off`` skips the check.

The workflow, not the job, writes ``.isaac_lab_refresh_complete``: it first checks the refresh
plan is this run's (``run_id``), so a plan left by an earlier run never counts.
"""

from __future__ import annotations

import json
import keyword
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pxr import Usd

from bpflow.core.storage import Bucket
from bpflow.domain.isaaclab.tasks import scene_rotation, to_isaac
from bpflow.domain.usd.usd_util import gf_quat, relative_asset_path
from bpflow.domain.variation.palette import VARIANT_SETS
from bpflow.domain.variation.paths import Stage3Paths

REFRESH_JOB = "isaac-lab-refresh-job"
MODE = "refresh_only"
FEASIBILITY_MODES = ("strict", "warn", "off", "auto")
PLAN_REFRESH, PLAN_CURRENT, PLAN_BASELINE = (
    "task_spawn_plan_refresh.json",
    "task_spawn_plan.json",
    "task_spawn_plan_baseline.json",
)
CFG_MODULE = "variation_assets_cfg.py"
TARGET_KEYS = ("target_object", "target_object_id", "object_id")
IDENTITY = (1.0, 0.0, 0.0, 0.0)


Vec3 = tuple[float, float, float]
Quat = tuple[float, float, float, float]


@dataclass(frozen=True)
class Pose:
    """Where a variation asset spawns: in scene coordinates and in Isaac Lab's z-up world."""

    scene_position: Vec3
    scene_rotation_wxyz: Quat
    isaac_position: Vec3
    isaac_orientation_wxyz: Quat
    scale: float
    source: str
    """``usd_assembly`` (the replaced object's placement, geometric centre) or ``manifest``
    (the source object's manifest position, base-anchored on the text path)."""


@dataclass(frozen=True)
class Spawn:
    """One variation asset as the task package spawns it."""

    asset_id: str
    replaces: str | None
    usd_key: str
    simready: bool
    variant_sets: dict[str, list[str]]
    default_variants: dict[str, str]
    pose: Pose
    variant_prim: str | None = None
    """Where the variant sets are, relative to the spawned prim: "" for the root (a bare
    ``variants.usda``), a sub-path for a ``simready.usda`` that references it, None if unknown."""

    def as_dict(self, usd_path: str) -> dict[str, Any]:
        return {
            "asset_id": self.asset_id,
            "replaces": self.replaces,
            "usd_key": self.usd_key,
            "usd_path": usd_path,
            "simready": self.simready,
            "variant_sets": self.variant_sets,
            "default_variants": self.default_variants,
            "variant_prim": self.variant_prim,
            "pose": {
                "source": self.pose.source,
                "position": list(self.pose.scene_position),
                "rotation_wxyz": list(self.pose.scene_rotation_wxyz),
                "isaac_position": list(self.pose.isaac_position),
                "isaac_orientation_wxyz": list(self.pose.isaac_orientation_wxyz),
                "scale": self.pose.scale,
            },
        }


def _vec(value: Any) -> Vec3 | None:
    if isinstance(value, dict):
        value = [value.get("x"), value.get("y"), value.get("z")]
    if (
        isinstance(value, list)
        and len(value) == 3
        and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
    ):
        return (float(value[0]), float(value[1]), float(value[2]))
    return None


def _quat(value: Any) -> Quat:
    if isinstance(value, dict):
        value = [value.get("w"), value.get("x"), value.get("y"), value.get("z")]
    if (
        isinstance(value, list)
        and len(value) == 4
        and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
    ):
        return (float(value[0]), float(value[1]), float(value[2]), float(value[3]))
    return IDENTITY


def _to_isaac(position: Vec3, rotation: Quat, up_axis: str) -> tuple[Vec3, Quat]:
    """Isaac Lab's world is z-up: the scene's frame turned the way Stage 2 spawns the scene."""
    q = gf_quat(scene_rotation(up_axis)) * gf_quat(rotation)
    im = q.GetImaginary()
    return to_isaac(position, up_axis), (q.GetReal(), im[0], im[1], im[2])


def placements(assembly: Any) -> tuple[str, dict[str, dict[str, Any]]]:
    """(up axis, object id → its entry) from ``usd_assembly_manifest.json`` (empty if absent)."""
    if not isinstance(assembly, dict):
        return "Y", {}
    up = "Z" if assembly.get("up_axis") == "Z" else "Y"
    objects = {
        o["id"]: o for o in assembly.get("objects") or [] if isinstance(o, dict) and isinstance(o.get("id"), str)
    }
    return up, objects


def _pose(obj: dict[str, Any], up_axis: str, placed: dict[str, dict[str, Any]]) -> Pose:
    """The replaced object's assembled placement when there is one, else the manifest position."""
    entry = placed.get(str(obj.get("source_object_id")))
    center = _vec(entry.get("center")) if entry else None
    if entry is not None and center is not None:
        rotation = _quat(entry.get("rotation_wxyz"))
        scale = entry.get("fit_scale")
        pos, orient = _to_isaac(center, rotation, up_axis)
        return Pose(
            center, rotation, pos, orient, float(scale) if isinstance(scale, (int, float)) else 1.0, "usd_assembly"
        )
    transform = transform_doc if isinstance(transform_doc := obj.get("transform"), dict) else {}
    position = _vec(transform.get("position")) or (0.0, 0.0, 0.0)
    rotation = _quat(transform.get("rotation_quaternion"))
    pos, orient = _to_isaac(position, rotation, up_axis)
    return Pose(position, rotation, pos, orient, 1.0, "manifest")


def available_spawns(
    variation_doc: dict[str, Any], simready_doc: Any, assembly_doc: Any = None
) -> tuple[list[Spawn], dict[str, Any]]:
    """(spawns, summary). Ids come from ``variation_assets.json``; when the simready marker
    lists any assets, only those count and their ``simready.usda`` is spawned (physics on)."""
    objects = [o for o in variation_doc.get("objects") or [] if isinstance(o, dict) and isinstance(o.get("id"), str)]
    listed = simready_doc.get("simready_assets") if isinstance(simready_doc, dict) else None
    simready = {str(k): str(v) for k, v in listed.items()} if isinstance(listed, dict) else {}
    up_axis, placed = placements(assembly_doc)
    spawns: list[Spawn] = []
    for obj in objects:
        if simready and obj["id"] not in simready:
            continue
        asset = asset_doc if isinstance(asset_doc := obj.get("asset"), dict) else {}
        key = simready.get(obj["id"]) or str(asset.get("path") or "")
        if not key:
            continue
        spawns.append(
            Spawn(
                asset_id=obj["id"],
                replaces=obj.get("source_object_id") if isinstance(obj.get("source_object_id"), str) else None,
                usd_key=key,
                simready=obj["id"] in simready,
                variant_sets=dict(obj.get("variant_sets") or {}),
                default_variants=dict(obj.get("default_variants") or {}),
                pose=_pose(obj, up_axis, placed),
            )
        )
    summary = {
        "variation_assets_total": len(objects),
        "simready_listed": len(simready),
        "variation_assets_available": len(spawns),
        "available_ids": [s.asset_id for s in spawns],
    }
    return spawns, summary


def inspect_usd(usd_file: Path) -> tuple[bool, str | None]:
    """(opens, variant prim): whether the file opens as a USD stage with a default prim, and the
    path, relative to that prim, of the prim carrying the variant sets scale/color/material."""
    try:
        stage = Usd.Stage.Open(str(usd_file))
    except Exception:  # noqa: BLE001 - pxr's Tf errors: an unreadable asset is simply not spawnable
        return False, None
    root = stage.GetDefaultPrim()
    if not root:
        return False, None
    for prim in Usd.PrimRange(root):
        if set(VARIANT_SETS) <= set(prim.GetVariantSets().GetNames()):
            return True, "" if prim == root else str(prim.GetPath().MakeRelativePath(root.GetPath()))
    return True, None


def feasibility(mode: str, spawns: list[Spawn], tasks: list[dict[str, Any]]) -> dict[str, Any]:
    checked = mode != "off"
    passed = not checked or len(spawns) > 0
    return {
        "mode": mode,
        "checked": checked,
        "passed": passed,
        "blocking": mode in ("strict", "auto") and not passed,
        "variation_assets_available": len(spawns),
        "total_tasks": len(tasks),
        "reasons": [] if passed else ["no variation asset is available to spawn"],
    }


def refresh_tasks(baseline: Any, spawns: list[Spawn]) -> list[dict[str, Any]]:
    """The baseline plan's tasks, each annotated with the variation assets that can replace
    its target object (an empty list when none)."""
    tasks = baseline.get("tasks") if isinstance(baseline, dict) else None
    by_source: dict[str, list[str]] = {}
    for s in spawns:
        if s.replaces:
            by_source.setdefault(s.replaces, []).append(s.asset_id)
    out = []
    for task in tasks if isinstance(tasks, list) else []:
        if not isinstance(task, dict):
            continue
        target = next((task[k] for k in TARGET_KEYS if isinstance(task.get(k), str)), None)
        out.append({**task, "variation_asset_ids": by_source.get(target or "", [])})
    return out


def _identifier(asset_id: str) -> str:
    name = re.sub(r"\W", "_", asset_id).upper()
    name = name if name and not name[0].isdigit() else "A_" + name
    return name + "_CFG" if not keyword.iskeyword(name) else name + "_X_CFG"


def _rounded(values: tuple[float, ...]) -> str:
    return repr(tuple(round(float(v), 6) for v in values))


def cfg_module(scene_id: str, spawns: list[Spawn], isaac_prefix: str) -> str:
    """An Isaac Lab config module: one ``RigidObjectCfg`` per variation asset, with its USD
    variant selection, plus every variant a randomization term may choose from."""
    lines = [
        f'"""Variation assets of scene {scene_id} for Isaac Lab (generated by bpflow, Stage 3 refresh).',
        "",
        "Each asset is a USD file with the variant sets scale / color / material (on the prim VARIANT_PRIMS",
        "names under the spawned one; `variants` selects them at spawn when they sit on the spawned prim).",
        "VARIANT_CHOICES lists the alternatives for per-episode randomization with",
        "isaaclab.sim.utils.select_usd_variants; REPLACES names the scene object each asset stands in for.",
        '"""',
        "",
        "import os",
        "",
        "import isaaclab.sim as sim_utils",
        "from isaaclab.assets import RigidObjectCfg",
        "",
        "_HERE = os.path.dirname(os.path.abspath(__file__))",
        "",
    ]
    names = []
    for s in spawns:
        name = _identifier(s.asset_id)
        names.append((name, s))
        rel = relative_asset_path(f"{isaac_prefix}/{CFG_MODULE}", s.usd_key)
        lines += [
            f"{name} = RigidObjectCfg(",
            f"    prim_path={json.dumps('{ENV_REGEX_NS}/' + s.asset_id)},",
            "    spawn=sim_utils.UsdFileCfg(",
            f"        usd_path=os.path.normpath(os.path.join(_HERE, {json.dumps(rel)})),",
            f"        variants={json.dumps(s.default_variants, sort_keys=True) if s.variant_prim == '' else None},",
            f"        scale={_rounded((s.pose.scale,) * 3)},",
            "    ),",
            f"    init_state=RigidObjectCfg.InitialStateCfg(pos={_rounded(s.pose.isaac_position)}, rot={_rounded(s.pose.isaac_orientation_wxyz)}),",
            ")",
            "",
        ]
    lines.append("VARIATION_ASSETS = {")
    lines += [f"    {json.dumps(s.asset_id)}: {name}," for name, s in names]
    lines += ["}", "", "VARIANT_CHOICES = {"]
    lines += [f"    {json.dumps(s.asset_id)}: {json.dumps(s.variant_sets, sort_keys=True)}," for _, s in names]
    lines += [
        "}",
        "",
        '# where each asset\'s variant sets live, relative to its spawned prim ("" = the prim itself)',
        "VARIANT_PRIMS = {",
    ]
    lines += [f"    {json.dumps(s.asset_id)}: {json.dumps(s.variant_prim)}," for _, s in names]
    lines += ["}", "", "REPLACES = {"]
    lines += [f"    {json.dumps(s.asset_id)}: {json.dumps(s.replaces)}," for _, s in names]
    lines += ["}", ""]
    return "\n".join(lines)


def refresh_result(bucket: Bucket, p: Stage3Paths, run_id: str) -> dict[str, Any] | None:
    """The refresh marker's fields when this run's refresh plan is there and passed; else None."""
    plan = bucket.read_json_or_none(f"{p.isaac_lab}/{PLAN_REFRESH}")
    if not isinstance(plan, dict) or plan.get("run_id") != run_id:
        return None
    gate = plan.get("feasibility_gate") or {}
    if gate.get("blocking"):
        return None
    return {
        "status": "complete",
        "mode": MODE,
        "policy_id": plan.get("policy_id"),
        "completed_at": plan.get("generated_at"),
        "task_spawn_plan_refresh_path": f"{p.isaac_lab}/{PLAN_REFRESH}",
        "task_spawn_plan_path": f"{p.isaac_lab}/{PLAN_CURRENT}",
        "variation_assets_prefix": p.variation_assets,
        "variation_assets_summary": plan.get("variation_assets_summary"),
        "feasibility_gate": gate,
    }
