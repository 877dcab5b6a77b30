"""interactive-job: articulate the objects that have moving parts (doors, drawers).

Env: ``BUCKET``, ``SCENE_ID``, ``ASSETS_PREFIX``, ``INTERACTIVE_PROCESS_ALL`` (false),
``INTERACTIVE_CANDIDATE_FROM_SIM_ROLE`` (true), ``PIPELINE_ENV``.

Candidates are objects flagged ``articulation.candidate``, or (by default) with an
``articulated_*`` sim role; required ones have ``articulation.required``. Each candidate whose
category has rules (``stage2.articulation``) gets ``interactive/obj_<id>/interactive.usda``
(``stage2.interactive``), re-opened to confirm its joints compose. Outputs:
``interactive/interactive_results.json``, ``.interactive_summary.json`` and
``.interactive_complete`` (status ``success`` / ``partial`` / ``failure`` by the reference's
rules), which the workflow's gate reads. Exit 1 when a required object could not be
articulated (or, in production, when nothing could); the workflow then writes
``.interactive_failed`` if its policy fails the gate.
"""

from __future__ import annotations

import posixpath
from typing import Any

from pxr import Usd

from bpflow.core.jobkit import EXIT_FAILED, env_bool, env_str, job_bucket, log_json, run_main
from bpflow.domain.scene.articulation import plan_parts
from bpflow.domain.scene.manifest import SceneObject
from bpflow.domain.scene.pose import axes_for
from bpflow.domain.usd.asset_parts import authored_parts
from bpflow.domain.usd.inputs import load_manifest, read_json_optional, stamp
from bpflow.domain.usd.interactive import (
    INTERACTIVE_NAME,
    build_interactive,
    build_interactive_authored,
    opened_joint_count,
)
from bpflow.domain.usd.prefixes import Stage2Env, load_env
from bpflow.domain.usd.workspace import Workspace
from bpflow.state.cas_json import iso_z, utc_now

BACKEND = "bpflow-category-rules"


def _status(candidates: int, ok: int, errors: int, required_failures: list[str]) -> str:
    if required_failures:
        return "failure"
    if candidates == 0:
        return "success"
    if ok == 0:
        return "failure"
    return "partial" if errors else "success"


def _one(ws: Workspace, env: Stage2Env, obj: SceneObject, simready: dict[str, Any], up_axis: str) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "id": obj.id,
        "category": obj.category,
        "required": obj.articulation_required,
        "is_articulated": False,
        "usd_path": None,
        "joints": [],
    }
    key = env.inside(simready.get(obj.id))
    if key is not None:
        ws.fetch_prefix(posixpath.dirname(key))  # the simready layer with the visual it references
    if key is None or not ws.path(key).exists():
        return {**entry, "status": "error", "reason": "no simready layer for this object"}
    local = ws.path(key)
    mass_attr = size_attr = None
    layer = Usd.Stage.Open(str(local))  # keep the stage alive while its prims are used
    root = layer.GetDefaultPrim()
    if root:
        size_attr, mass_attr = root.GetAttribute("bp:size").Get(), root.GetAttribute("physics:mass").Get()
    if size_attr is None:
        return {**entry, "status": "error", "reason": "simready layer has no bp:size"}
    size = (float(size_attr[0]), float(size_attr[1]), float(size_attr[2]))
    out_key = f"{env.assets}/interactive/obj_{obj.id}/{INTERACTIVE_NAME}"
    own = authored_parts(layer, root) if root else []
    if own:  # the asset models its doors and drawers: they are what moves
        joints = build_interactive_authored(
            object_id=obj.id,
            simready_key=key,
            simready_local=local,
            out_key=out_key,
            out_local=ws.path(out_key),
            up_axis=up_axis,
            parts=own,
            total_mass=float(mass_attr or 1.0),
        )
        source, count = "asset_parts", len(own)
    else:
        parts = plan_parts(obj.category, obj.name, obj.description, size, axes_for(up_axis))
        if not parts:
            return {**entry, "status": "static", "reason": f"no articulation rule for category {obj.category!r}"}
        joints = build_interactive(
            object_id=obj.id,
            simready_key=key,
            out_key=out_key,
            out_local=ws.path(out_key),
            up_axis=up_axis,
            parts=parts,
            total_mass=float(mass_attr or 1.0),
        )
        source, count = "category_rules", len(parts)
    composed = opened_joint_count(ws.path(out_key))
    if composed != count:
        return {**entry, "status": "error", "reason": f"wrote {count} joints but {composed} compose"}
    ws.publish(out_key, content_type="text/plain")
    return {
        **entry,
        "status": "ok",
        "is_articulated": True,
        "usd_path": out_key,
        "articulation_source": source,
        "joints": [j.to_dict() for j in joints],
    }


def _main() -> int:
    env = load_env()
    bucket = job_bucket()
    manifest, _ = load_manifest(bucket, env)
    process_all = env_bool("INTERACTIVE_PROCESS_ALL", False)
    from_role = env_bool("INTERACTIVE_CANDIDATE_FROM_SIM_ROLE", True)
    production = (env_str("PIPELINE_ENV", "") or "").lower() in ("production", "prod")
    marker = read_json_optional(bucket, f"{env.assets}/.simready_complete")
    simready = marker.get("simready_assets", {}) if isinstance(marker, dict) else {}
    candidates = [
        o for o in manifest.objects if process_all or o.articulation_candidate or (from_role and o.is_articulated_role)
    ]
    required = [o.id for o in manifest.objects if o.articulation_required]
    with Workspace(bucket) as ws:
        results = [_one(ws, env, obj, simready, manifest.up_axis) for obj in candidates]
    for r in results:
        log_json(
            action="interactive", object=r["id"], status=r["status"], joints=len(r["joints"]), reason=r.get("reason")
        )
    articulated = [r["id"] for r in results if r["is_articulated"]]
    required_failures = [oid for oid in required if oid not in articulated]
    ok = sum(1 for r in results if r["status"] == "ok")
    errors = [f"{r['id']}: {r['reason']}" for r in results if r["status"] == "error"]
    warnings = [f"{r['id']}: {r['reason']}" for r in results if r["status"] == "static"]
    status = _status(len(candidates), ok, len(errors), required_failures)
    now = iso_z(utc_now())
    counts = {
        "total_objects": len(candidates),
        "ok_count": ok,
        "articulated_count": len(articulated),
        "error_count": len(errors),
        "fallback_count": 0,
        "skipped_count": len(manifest.objects) - len(candidates),
    }
    base = f"{env.assets}"
    bucket.write_json(
        f"{base}/interactive/interactive_results.json",
        {
            "scene_id": env.scene_id,
            **counts,
            "mode": "process_all" if process_all else "candidates",
            "backend": BACKEND,
            "objects": results,
            "written_by": stamp(),
        },
    )
    summary = {
        "scene_id": env.scene_id,
        "timestamp": now,
        "total_objects_in_manifest": len(manifest.objects),
        "interactive_objects_in_manifest": len(candidates),
        "candidate_interactive_count": len(candidates),
        "required_interactive_count": len(required),
        "process_all_interactive": process_all,
        "status": status,
        "processed_count": len(results),
        "ok_count": ok,
        "error_count": len(errors),
        "required_failure_count": len(required_failures),
        "required_failures": required_failures,
        "written_by": stamp(),
    }
    bucket.write_json(f"{base}/.interactive_summary.json", summary)
    bucket.write_json(
        f"{base}/.interactive_complete",
        {
            "scene_id": env.scene_id,
            "status": status,
            "success": status != "failure",
            "timestamp": now,
            "summary": {
                **counts,
                "mode": "candidates",
                "backend": BACKEND,
                "required_failures": required_failures,
                "required_interactive_count": len(required),
                "articulated_objects": articulated,
            },
            "errors": errors,
            "warnings": warnings,
            "written_by": stamp(),
        },
    )
    failed = bool(required_failures) or (production and candidates and ok == 0)
    log_json(action="complete", status=status, articulated=articulated, required_failures=required_failures)
    return EXIT_FAILED if failed else 0


def main() -> int:
    return run_main(_main)


if __name__ == "__main__":
    raise SystemExit(main())
