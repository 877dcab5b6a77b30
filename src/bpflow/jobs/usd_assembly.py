"""usd-assembly-job: convert every asset to USD (``CONVERT_ONLY``), or assemble ``usd/scene.usda``.

Env: ``BUCKET``, ``SCENE_ID``, ``ASSETS_PREFIX``, ``LAYOUT_PREFIX``, ``USD_PREFIX``,
``CONVERT_ONLY`` (1/true/yes), ``BYPASS_QUALITY_GATES``, ``INTERACTIVE_FAILURE_POLICY``
(``strict`` / ``hybrid_strict``, the default, enforce required articulation; other values warn).

Both modes convert (mesh files → ``asset.usdz``; up-to-date ones are skipped) and write
``USD_PREFIX/usd_assembly_manifest.json``. The full mode then composes the scene from the
layout, the simready layers (``.simready_complete`` maps them) and, for articulated objects,
the interactive layers; it re-opens what it wrote and runs the ``USD_ASSEMBLED`` quality gate
(``stage2.checks``), reported in ``usd-assembly-job/quality_gate_report.json``. Objects that
must articulate but did not fail the job, unless the interactive policy does not enforce it
(``warn``), which places them as static bodies. The job never writes ``usd/.usd_complete``: the workflow does,
after checking this job's outputs.
"""

from __future__ import annotations

from typing import Any

from pxr import Usd

from bpflow.core.errors import ValidationFailed
from bpflow.core.jobkit import EXIT_FAILED, env_bool, env_str, job_bucket, log_json, run_main
from bpflow.core.storage import Bucket
from bpflow.domain.scene.layout import Layout
from bpflow.domain.scene.manifest import Manifest
from bpflow.domain.scene.pose import resolve_placement
from bpflow.domain.usd.assemble import ObjectSource, build_scene
from bpflow.domain.usd.checks import check_scene
from bpflow.domain.usd.convert import convert_object
from bpflow.domain.usd.inputs import load_layout, load_manifest, read_json_optional, stamp
from bpflow.domain.usd.physics_gate import POLICIES, REPORT_NAME, decide, run_gate
from bpflow.domain.usd.prefixes import Stage2Env, load_env
from bpflow.domain.usd.swing import clamp_swings
from bpflow.domain.usd.workspace import Workspace
from bpflow.state.cas_json import iso_z, utc_now

GATE = "USD_ASSEMBLED"


def _simready_map(bucket: Bucket, env: Stage2Env) -> dict[str, str]:
    marker = read_json_optional(bucket, f"{env.assets}/.simready_complete")
    assets = marker.get("simready_assets") if isinstance(marker, dict) else None
    if not isinstance(assets, dict):
        raise ValidationFailed(
            f"{env.assets}/.simready_complete is missing or lists no simready_assets; run simready first",
            code="simready_missing",
            field="ASSETS_PREFIX",
        )
    return {str(k): str(v) for k, v in assets.items()}


def _articulated(bucket: Bucket, env: Stage2Env) -> dict[str, str]:
    """Interactive layers of the objects the interactive job really articulated."""
    results = read_json_optional(bucket, f"{env.assets}/interactive/interactive_results.json")
    out: dict[str, str] = {}
    for item in (results or {}).get("objects", []) if isinstance(results, dict) else []:
        if isinstance(item, dict) and item.get("is_articulated") is True and isinstance(item.get("usd_path"), str):
            out[str(item.get("id"))] = item["usd_path"]
    return out


def _required_articulation(
    bucket: Bucket, env: Stage2Env, manifest: Manifest, articulated: dict[str, str]
) -> list[str]:
    """Problems with required articulation (spec §9.1); empty when none is required or all are fine.

    "Required" is the gate's definition (``articulation.required``), not also the articulated
    sim roles as in the reference job: the workflow's interactive gate and this check then agree
    on what must articulate."""
    required = [o.id for o in manifest.objects if o.articulation_required]
    if not required:
        return []
    problems = []
    marker = read_json_optional(bucket, f"{env.assets}/.interactive_complete")
    if not isinstance(marker, dict):
        problems.append(f"{env.assets}/.interactive_complete is missing")
    else:
        if marker.get("status") not in ("success", "partial"):
            problems.append(f".interactive_complete status is {marker.get('status')!r}")
        failures = (
            (marker.get("summary") or {}).get("required_failures") if isinstance(marker.get("summary"), dict) else None
        )
        if failures:
            problems.append(f"required articulation failed for {failures}")
    missing = [oid for oid in required if oid not in articulated]
    if missing:
        problems.append(f"required objects not articulated: {missing}")
    return problems


def _sources(
    ws: Workspace, env: Stage2Env, manifest: Manifest, simready: dict[str, str], articulated: dict[str, str]
) -> dict[str, ObjectSource]:
    sources = {}
    for obj in manifest.objects:
        key = env.inside(simready.get(obj.id))
        if key is None or not ws.path(key).exists():
            raise ValidationFailed(
                f"object {obj.id!r} has no simready layer ({key or 'not in .simready_complete'})",
                code="simready_missing",
                field=f"objects[{obj.index}].id",
            )
        layer = Usd.Stage.Open(str(ws.path(key)))  # keep the stage alive while its prim is read
        root = layer.GetDefaultPrim() if layer else None
        size_attr = root.GetAttribute("bp:size").Get() if root else None
        if size_attr is None:
            raise ValidationFailed(
                f"simready layer {key} has no bp:size; rerun simready",
                code="simready_invalid",
                field=f"objects[{obj.index}].id",
            )
        size = (float(size_attr[0]), float(size_attr[1]), float(size_attr[2]))
        chosen = env.inside(articulated.get(obj.id))
        if chosen is not None and ws.path(chosen).exists():
            sources[obj.id] = ObjectSource(chosen, True, size)
        else:
            sources[obj.id] = ObjectSource(key, False, size)
    return sources


def _assemble(
    bucket: Bucket, ws: Workspace, env: Stage2Env, manifest: Manifest, layout: Layout, layout_key: str
) -> tuple[dict[str, Any], bool]:
    simready = _simready_map(bucket, env)
    articulated = _articulated(bucket, env)
    policy = env_str("INTERACTIVE_FAILURE_POLICY", "hybrid_strict")
    art_problems = _required_articulation(bucket, env, manifest, articulated)
    if art_problems and policy in ("strict", "hybrid_strict"):
        raise ValidationFailed(
            "; ".join(art_problems), code="articulation_required_missing", field="assets/.interactive_complete"
        )
    ws.fetch_prefix(env.assets)
    sources = _sources(ws, env, manifest, simready, articulated)
    scene_key = f"{env.usd}/scene.usda"
    placed, box = build_scene(
        scene_key=scene_key, local_path=ws.path(scene_key), manifest=manifest, layout=layout, sources=sources
    )
    stage = Usd.Stage.Open(str(ws.path(scene_key)))
    clamps = clamp_swings(
        stage,
        {p.id: p.prim_path for p in placed},
        {p.id for p in placed if p.source.articulated},
        box.lo,
        box.hi,
        manifest.up_axis,
    )
    if clamps:
        stage.GetRootLayer().Save()
    centers = {p.id: p.placement.center for p in placed}
    resting = {frozenset((o.id, o.support_id)) for o in manifest.objects if o.support_id}
    problems = check_scene(stage, centers, {p.id for p in placed if p.source.articulated}, resting)
    bypass = env_bool("BYPASS_QUALITY_GATES", False)
    passed = not problems
    ws.publish(scene_key, content_type="text/plain")
    report = {
        "gate": GATE,
        "scene_id": env.scene_id,
        "passed": passed,
        "bypassed": bypass and not passed,
        "checks": ["object_prim", "position", "rigid_body", "mass", "collider", "articulation", "interpenetration"],
        "problems": problems,
        "articulation_warnings": art_problems,
        "written_by": stamp(),
    }
    bucket.write_json(env.key("usd-assembly-job/quality_gate_report.json"), report)
    summary: dict[str, Any] = {
        "layout": layout_key,
        "position_convention": "obb_center",
        "up_axis": manifest.up_axis,
        "meters_per_unit": 1.0,
        "manifest_meters_per_unit": manifest.meters_per_unit,
        "objects": [p.to_dict() for p in placed],
        "room": {"min": list(box.lo), "max": list(box.hi), "wall_thickness_m": box.thickness, "source": box.source},
        "quality_gate": {"gate": GATE, "passed": passed, "problems": len(problems), "bypassed": report["bypassed"]},
        "articulation_warnings": art_problems,
        "joint_clamps": [c.to_dict() for c in clamps],
    }
    for p in problems:
        log_json(action="quality_problem", **p)
    policy = env_str("PHYSICS_ACCEPTANCE", "strict")
    if policy not in POLICIES:
        raise ValidationFailed(
            f"PHYSICS_ACCEPTANCE must be one of {list(POLICIES)}, got {policy!r}",
            code="invalid_env",
            field="PHYSICS_ACCEPTANCE",
        )
    if policy != "off" and (passed or bypass):
        raw_manifest = read_json_optional(bucket, f"{env.assets}/scene_manifest.json")
        physics = run_gate(
            ws.path(scene_key),
            raw_manifest if isinstance(raw_manifest, dict) else None,
            read_json_optional(bucket, f"{env.assets}/simready_physics.json"),
            env.scene_id,
        )
        physics.update(policy=policy, written_by=stamp())
        bucket.write_json(f"{env.usd}/{REPORT_NAME}", physics)
        summary["physics_acceptance"] = {
            "policy": policy,
            "passed": physics["passed"],
            "report": f"{env.usd}/{REPORT_NAME}",
            "summary": physics["summary"],
            "failures": physics["failures"],
        }
        log_json(action="physics_acceptance", passed=physics["passed"], **physics["summary"])
        summary["physics_acceptance"]["body"] = physics
    return summary, passed or bypass


def _main() -> int:
    env = load_env()
    convert_only = env_bool("CONVERT_ONLY", False)
    bucket = job_bucket()
    manifest, manifest_key = load_manifest(bucket, env)
    ok = True
    if not convert_only:  # placement inputs are checked before anything is written
        layout, layout_key = load_layout(bucket, env, manifest)
        for obj in manifest.objects:
            resolve_placement(obj, layout.objects.get(obj.id), manifest.up_axis, (1.0, 1.0, 1.0))
    with Workspace(bucket) as ws:
        conversions = [convert_object(ws, env, obj, manifest.up_axis) for obj in manifest.objects]
        for c in conversions:
            log_json(action="convert", **c.to_dict())
        details: dict[str, Any] = {}
        if not convert_only:
            details, ok = _assemble(bucket, ws, env, manifest, layout, layout_key)
    body = {
        "scene_id": env.scene_id,
        "assets_prefix": env.assets,
        "layout_prefix": env.layout,
        "usd_prefix": env.usd,
        "manifest": manifest_key,
        "convert_only": convert_only,
        "status": "completed" if ok else "failed",
        "completed_at": iso_z(utc_now()),
        "metrics_summary": {
            "object_count": len(manifest.objects),
            "converted": sum(1 for c in conversions if c.outcome == "converted"),
            "up_to_date": sum(1 for c in conversions if c.outcome == "up_to_date"),
            "usd_given": sum(1 for c in conversions if c.outcome == "usd_given"),
            "articulated_count": sum(1 for o in details.get("objects", []) if o["articulated"]),
        },
        "conversions": [c.to_dict() for c in conversions],
        "written_by": stamp(),
        **details,
    }
    if not convert_only:
        body["scene_usda"] = f"{env.usd}/scene.usda"
    physics = body.get("physics_acceptance")
    if isinstance(physics, dict):
        physics_body = physics.pop("body")
        if physics["policy"] == "strict" and not physics["passed"]:
            body["status"] = "failed"
    bucket.write_json(f"{env.usd}/usd_assembly_manifest.json", body)
    if isinstance(physics, dict):
        decide(physics["policy"], physics_body)  # a failing scene ends here, with its report written
    log_json(action="complete" if ok else "quality_gate_failed", convert_only=convert_only)
    return 0 if ok else EXIT_FAILED


def main() -> int:
    return run_main(_main)


if __name__ == "__main__":
    raise SystemExit(main())
