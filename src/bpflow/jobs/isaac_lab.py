"""isaac-lab-job: the scene's Isaac Lab task package (the Stage-2 baseline).

Env: ``BUCKET``, ``SCENE_ID``, ``ASSETS_PREFIX``, ``LAYOUT_PREFIX``, ``USD_PREFIX``,
``REPLICATOR_PREFIX``, ``ISAAC_LAB_PREFIX``, ``POLICY_ID``,
``ROBOT_TYPE`` (franka), ``NUM_ENVS`` (1024), ``ISAAC_REFRESH_ONLY`` (false),
``RUN_RUNTIME_VALIDATION`` (true), ``STRICT_CONFIG_LOADING`` (false),
``AFFORDANCE_FEASIBILITY_MODE`` (strict | warn | off | auto; default strict).

Baseline: plans one task per graspable object and per door/drawer with an obstacle-free robot
pose (``stage2.isaac_task``), writes the package (``stage2.isaac_package``), the task catalog
and spawn plans and ``generation_metadata.json`` (what the workflow puts in the
``.isaac_lab_complete`` marker it writes; that marker starts arena export, so the job does not).
Validation runs statically (compile, YAML, prims exist): Isaac Sim is not available here, so
``runtime_validated`` is always false and says why. An infeasible plan fails in strict mode.
The reference's refresh mode (``ISAAC_REFRESH_ONLY=true``) is Stage 3's own job here
(``isaac-lab-refresh-job``); this job refuses the flag rather than silently building a baseline.
"""

from __future__ import annotations

from typing import Any

from bpflow.core.errors import ConfigError, ValidationFailed
from bpflow.core.jobkit import EXIT_FAILED, env_bool, env_int, env_str, job_bucket, log_json, run_main
from bpflow.core.storage import Bucket
from bpflow.domain.isaaclab.package import package_config, package_files, static_validation
from bpflow.domain.isaaclab.tasks import build_plan, feasibility, place_objects, robot_for
from bpflow.domain.replicator.bundle import affordances
from bpflow.domain.scene.manifest import Manifest
from bpflow.domain.usd.inputs import load_layout, load_manifest, read_json_optional, stamp
from bpflow.domain.usd.prefixes import Stage2Env, load_env
from bpflow.domain.usd.scene_read import SceneItem, open_scene
from bpflow.domain.usd.usd_util import relative_asset_path
from bpflow.domain.usd.workspace import Workspace
from bpflow.state.cas_json import iso_z, utc_now

FEASIBILITY_MODES = ("strict", "warn", "off", "auto")


def _fallback_graph(manifest: Manifest, interactive: dict[str, Any]) -> dict[str, Any]:
    """Without the replicator's graph: affordances from the manifest, joints from interactive."""
    joints = {
        str(o["id"]): o.get("joints", [])
        for o in interactive.get("objects", [])
        if isinstance(o, dict) and o.get("is_articulated")
    }
    nodes = []
    for o in manifest.objects:
        item = SceneItem(o.id, "", o.kind, o.sim_role, (0.0, 0.0, 0.0), (0.0, 0.0, 0.0))
        nodes.append(
            {
                "object_id": o.id,
                "category": o.kind,
                "sim_role": o.sim_role,
                "affordances": affordances(item, joints.get(o.id, [])),
                "joints": joints.get(o.id, []),
            }
        )
    return {"scene_id": manifest.scene_id, "nodes": nodes, "edges": [], "regions": [], "fallback": True}


def _room(bucket: Bucket, env: Stage2Env, layout: Any) -> tuple[tuple[float, float, float], tuple[float, float, float]]:
    assembly = read_json_optional(bucket, f"{env.usd}/usd_assembly_manifest.json")
    room = assembly.get("room") if isinstance(assembly, dict) else None
    if isinstance(room, dict) and isinstance(room.get("min"), list) and isinstance(room.get("max"), list):
        return tuple(room["min"]), tuple(room["max"])
    if layout.room_min is not None and layout.room_max is not None:
        return layout.room_min, layout.room_max
    raise ValidationFailed(
        "no room bounds: neither usd_assembly_manifest.json room nor layout room_box",
        code="room_missing",
        field="room_box",
    )


def _baseline(bucket: Bucket, env: Stage2Env) -> int:
    mode = (env_str("AFFORDANCE_FEASIBILITY_MODE", "strict") or "strict").lower()
    if mode not in FEASIBILITY_MODES:
        raise ConfigError(
            f"AFFORDANCE_FEASIBILITY_MODE must be one of {', '.join(FEASIBILITY_MODES)}",
            field="AFFORDANCE_FEASIBILITY_MODE",
        )
    robot = robot_for(env_str("ROBOT_TYPE", "franka") or "franka")
    num_envs = env_int("NUM_ENVS", 1024)
    if not 1 <= num_envs <= 65536:
        raise ConfigError("NUM_ENVS must be between 1 and 65536", field="NUM_ENVS")
    manifest, _ = load_manifest(bucket, env)
    layout, _ = load_layout(bucket, env, manifest)
    graph = read_json_optional(bucket, f"{env.replicator}/affordance_graph.json")
    if mode == "auto":
        mode = "strict" if graph is not None else "warn"
    if graph is None:
        if mode == "strict":
            raise ValidationFailed(
                f"{env.replicator}/affordance_graph.json is required in strict feasibility mode",
                code="affordance_graph_missing",
                field="REPLICATOR_PREFIX",
            )
        graph = _fallback_graph(
            manifest, read_json_optional(bucket, f"{env.assets}/interactive/interactive_results.json") or {}
        )
    bundle = read_json_optional(bucket, f"{env.replicator}/bundle_metadata.json")
    if bundle is None and env_bool("STRICT_CONFIG_LOADING", False):
        raise ValidationFailed(
            f"{env.replicator}/bundle_metadata.json is required with STRICT_CONFIG_LOADING",
            code="bundle_metadata_missing",
            field="REPLICATOR_PREFIX",
        )
    physics = read_json_optional(bucket, f"{env.assets}/simready_physics.json") or {}
    sizes = {o["id"]: tuple(o["size_m"]) for o in physics.get("objects", []) if isinstance(o, dict) and "size_m" in o}
    assembly = read_json_optional(bucket, f"{env.usd}/usd_assembly_manifest.json") or {}
    prim_names = {
        o["id"]: o["prim_path"].rsplit("/", 1)[-1] for o in assembly.get("objects", []) if isinstance(o, dict)
    }
    articulated = {o["id"] for o in assembly.get("objects", []) if isinstance(o, dict) and o.get("articulated")}
    room_lo, room_hi = _room(bucket, env, layout)
    placed = place_objects(manifest, layout, sizes)
    catalog, plan = build_plan(
        manifest=manifest, placed=placed, graph=graph, room_lo=room_lo, room_hi=room_hi, robot=robot
    )
    gate = {**feasibility(catalog, plan), "mode": mode}
    policy_id = env_str("POLICY_ID") or (
        "pick_place" if any(t["task_type"] == "pick_place" for t in catalog) else "open_articulation"
    )
    out = env.isaac_lab
    now = iso_z(utc_now())
    bucket.write_json(
        f"{out}/task_catalog.json",
        {"scene_id": env.scene_id, "generated_at": now, "robot": robot.type, "tasks": catalog},
    )
    plan_doc = {
        "scene_id": env.scene_id,
        "generated_at": now,
        "mode": "baseline",
        "robot": {"type": robot.type, "footprint_radius_m": robot.radius, "reach_m": robot.reach},
        "up_axis": manifest.up_axis,
        "tasks": plan,
    }
    bucket.write_json(f"{out}/task_spawn_plan_baseline.json", plan_doc)
    bucket.write_json(f"{out}/task_spawn_plan.json", plan_doc)
    feasible = [(t, p) for t, p in zip(catalog, plan) if p["feasible"]]
    if not gate["passed"] and mode == "strict":
        _metadata(bucket, env, {"status": "failed", "feasibility_gate": gate, "policy_id": policy_id})
        log_json(action="infeasible", **gate)
        return EXIT_FAILED
    validation_errors: list[str] = []
    task_name = ""
    if feasible:
        primary = next(((t, p) for t, p in feasible if t["task_type"] == policy_id), feasible[0])
        scene_key = f"{env.usd}/scene.usda"
        cfg = package_config(
            scene_id=env.scene_id,
            up_axis=manifest.up_axis,
            scene_usd=scene_key,
            scene_usd_relative=relative_asset_path(f"{out}/env_cfg.py", scene_key),
            policy_id=policy_id,
            primary=primary,
            catalog=catalog,
            placed=placed,
            prim_names=prim_names,
            articulated=articulated,
            robot=robot,
            num_envs=num_envs,
            room_lo=room_lo,
            room_hi=room_hi,
            regions={r["id"]: r for r in graph.get("regions", []) if isinstance(r, dict) and "id" in r},
        )
        files = package_files(cfg)
        if env_bool("RUN_RUNTIME_VALIDATION", True):
            with Workspace(bucket) as ws:
                validation_errors = static_validation(files, cfg, open_scene(ws, env))
        for name, text in files.items():
            bucket.write(
                f"{out}/{name}", text, content_type="text/x-python" if name.endswith(".py") else "application/yaml"
            )
        task_name = cfg["gym_id"]
    _metadata(
        bucket,
        env,
        {
            "status": "complete",
            "task_name": task_name,
            "policy_id": policy_id,
            "robot_type": robot.type,
            "runtime_validated": False,
            "runtime_validation": "static only: Isaac Sim is not available to this job",
            "validation_errors": validation_errors,
            "task_catalog_path": f"{out}/task_catalog.json",
            "task_spawn_plan_baseline_path": f"{out}/task_spawn_plan_baseline.json",
            "task_spawn_plan_path": f"{out}/task_spawn_plan.json",
            "feasibility_gate": gate,
        },
    )
    log_json(action="complete", task=task_name, **{k: gate[k] for k in ("total_tasks", "feasible_tasks", "passed")})
    return 0


def _metadata(bucket: Bucket, env: Stage2Env, fields: dict[str, Any]) -> None:
    key = f"{env.isaac_lab}/generation_metadata.json"
    current = read_json_optional(bucket, key)
    body = current if isinstance(current, dict) else {}
    body.update({k: v for k, v in fields.items() if v is not None})
    body.update({"scene_id": env.scene_id, "updated_at": iso_z(utc_now()), "written_by": stamp()})
    bucket.write_json(key, body)


def _main() -> int:
    env = load_env()
    bucket = job_bucket()
    if env_bool("ISAAC_REFRESH_ONLY", False):
        raise ConfigError(
            "isaac-lab-job builds the baseline package; the Stage-3 refresh is isaac-lab-refresh-job",
            code="refresh_not_supported",
            field="ISAAC_REFRESH_ONLY",
        )
    return _baseline(bucket, env)


def main() -> int:
    return run_main(_main)


if __name__ == "__main__":
    raise SystemExit(main())
