"""isaac-lab-refresh-job: add the Stage-3 variation assets to the scene's Isaac Lab task package.

This is the reference's ``isaac-lab-job`` in ``ISAAC_REFRESH_ONLY=true`` mode (spec §9.5), kept as
its own job so Stage 2's baseline job stays what it is. Env: ``BUCKET``/``BPFLOW_BUCKET_URL``,
``SCENE_ID``, ``ISAAC_LAB_PREFIX``, ``VARIATION_ASSETS_PREFIX``, ``USD_PREFIX`` (+ the other
reference prefixes, accepted and checked), ``ISAAC_REFRESH_ONLY`` (must be true: this job does
no baseline), ``POLICY_ID``, ``AFFORDANCE_FEASIBILITY_MODE`` (strict | warn | off | auto, default
strict), ``RUN_RUNTIME_VALIDATION`` (recorded; Isaac Sim is not available to run it here).

Reads ``variation_assets.json`` (required) and ``.simready_complete`` from the variation prefix,
the baseline spawn plan and metadata from the Isaac Lab prefix and ``usd_assembly_manifest.json``
(where each replaced object was placed) when there are some. Every asset's USD is opened: one
that does not open is left out, and the prim carrying its variant sets is recorded. Writes, under the Isaac
Lab prefix: ``variation_assets_cfg.py``, ``task_spawn_plan_refresh.json`` (stamped with the
run id), ``task_spawn_plan.json`` (the refreshed plan, as the reference overwrites it) and a
``refresh`` entry merged into ``generation_metadata.json``. Exit 1 when strict feasibility fails.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from bpflow.core.errors import ConfigError, ObjectNotFound, ValidationFailed
from bpflow.core.jobkit import EXIT_FAILED, env_bool, env_str, job_bucket, log_json, run_main
from bpflow.domain.usd.prefixes import load_env
from bpflow.domain.usd.usd_util import relative_asset_path
from bpflow.domain.usd.workspace import Workspace
from bpflow.domain.variation.isaac_refresh import (
    CFG_MODULE,
    FEASIBILITY_MODES,
    MODE,
    PLAN_BASELINE,
    PLAN_CURRENT,
    PLAN_REFRESH,
    Spawn,
    available_spawns,
    cfg_module,
    feasibility,
    inspect_usd,
    refresh_tasks,
)
from bpflow.state.cas_json import iso_z, update_json, utc_now


def _read_object(bucket: Any, key: str, field: str) -> dict[str, Any]:
    try:
        doc = bucket.read_json(key)
    except ObjectNotFound:
        raise ConfigError(f"{key} does not exist: run variation-gen first", field=field) from None
    except ValueError as exc:
        raise ValidationFailed(f"{key} is not valid JSON: {exc}", field=field) from None
    if not isinstance(doc, dict):
        raise ValidationFailed(f"{key} must be a JSON object", field=field)
    return doc


def _checked(bucket: Any, spawns: list[Spawn], summary: dict[str, Any]) -> tuple[list[Spawn], dict[str, Any]]:
    """Only assets whose USD really opens stay available; each learns where its variant sets are."""
    kept, unusable = [], []
    with Workspace(bucket) as ws:
        for spawn in spawns:
            ws.fetch_prefix(spawn.usd_key.rsplit("/", 1)[0])  # the file and what it references beside it
            opens, holder = inspect_usd(ws.path(spawn.usd_key)) if bucket.exists(spawn.usd_key) else (False, None)
            if opens:
                kept.append(replace(spawn, variant_prim=holder))
            else:
                unusable.append(spawn.asset_id)
    summary = {
        **summary,
        "variation_assets_available": len(kept),
        "available_ids": [s.asset_id for s in kept],
        "unusable_ids": unusable,
    }
    return kept, summary


def _main() -> int:
    bucket = job_bucket()
    env = load_env()
    if not env_bool("ISAAC_REFRESH_ONLY", True):
        raise ConfigError(
            "isaac-lab-refresh-job only refreshes; the baseline package is isaac-lab-job's", field="ISAAC_REFRESH_ONLY"
        )
    mode = (env_str("AFFORDANCE_FEASIBILITY_MODE", "strict")).lower()
    if mode not in FEASIBILITY_MODES:
        raise ConfigError(
            f"AFFORDANCE_FEASIBILITY_MODE must be one of {', '.join(FEASIBILITY_MODES)}, got {mode!r}",
            field="AFFORDANCE_FEASIBILITY_MODE",
        )
    run_id = env_str("BPFLOW_RUN_ID", "")
    policy_id = env_str("POLICY_ID")

    variation = _read_object(bucket, f"{env.variation_assets}/variation_assets.json", "VARIATION_ASSETS_PREFIX")
    simready = bucket.read_json_or_none(f"{env.variation_assets}/.simready_complete")
    baseline_key = next(
        (k for k in (f"{env.isaac_lab}/{PLAN_BASELINE}", f"{env.isaac_lab}/{PLAN_CURRENT}") if bucket.exists(k)), None
    )
    baseline = bucket.read_json_or_none(baseline_key) if baseline_key else None
    metadata = bucket.read_json_or_none(f"{env.isaac_lab}/generation_metadata.json")
    for doc in (baseline, metadata):
        if policy_id is None and isinstance(doc, dict) and isinstance(doc.get("policy_id"), str):
            policy_id = doc["policy_id"]

    assembly = bucket.read_json_or_none(f"{env.usd}/usd_assembly_manifest.json")
    spawns, summary = _checked(bucket, *available_spawns(variation, simready, assembly))
    tasks = refresh_tasks(baseline, spawns)
    gate = feasibility(mode, spawns, tasks)
    now = iso_z(utc_now())
    plan_key = f"{env.isaac_lab}/{PLAN_REFRESH}"
    plan = {
        "scene_id": env.scene_id,
        "mode": MODE,
        "run_id": run_id,
        "policy_id": policy_id,
        "generated_at": now,
        "baseline_plan_path": baseline_key,
        "scene_usd_path": f"{env.usd}/scene.usda" if bucket.exists(f"{env.usd}/scene.usda") else None,
        "variation_assets_prefix": env.variation_assets,
        "variation_assets_summary": summary,
        "variation_spawns": [s.as_dict(relative_asset_path(plan_key, s.usd_key)) for s in spawns],
        "tasks": tasks,
        "feasibility_gate": gate,
        "runtime_validation": {
            "requested": env_bool("RUN_RUNTIME_VALIDATION", False),
            "validated": False,
            "reason": "Isaac Sim is not available to this job",
        },
    }
    log_json(action="refresh_plan", scene_id=env.scene_id, feasibility=gate, **summary)
    if gate["blocking"]:
        log_json(
            action="error",
            error={"code": "refresh_infeasible", "message": f"strict feasibility: {'; '.join(gate['reasons'])}"},
        )
        bucket.write_json(plan_key, plan)  # kept for diagnosis; the workflow ignores a blocking plan
        return EXIT_FAILED
    bucket.write(
        f"{env.isaac_lab}/{CFG_MODULE}", cfg_module(env.scene_id, spawns, env.isaac_lab), content_type="text/x-python"
    )
    bucket.write_json(f"{env.isaac_lab}/{PLAN_CURRENT}", plan)

    def merge(doc: dict[str, Any]) -> dict[str, Any]:
        doc["refresh"] = {
            "mode": MODE,
            "completed_at": now,
            "run_id": run_id,
            "config_module": f"{env.isaac_lab}/{CFG_MODULE}",
            **summary,
        }
        return doc

    update_json(bucket, f"{env.isaac_lab}/generation_metadata.json", merge)
    bucket.write_json(plan_key, plan)  # last: its run id is what the workflow checks
    return 0


def main() -> int:
    return run_main(_main)


if __name__ == "__main__":
    raise SystemExit(main())
