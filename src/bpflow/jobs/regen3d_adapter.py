"""regen3d-adapter-job: a 3D-RE-GEN reconstruction under ``regen3d/`` becomes Stage 1's outputs.

Env: BUCKET, SCENE_ID (required); REGEN3D_PREFIX (``scenes/<id>/regen3d``), ASSETS_PREFIX,
LAYOUT_PREFIX (defaults under the scene; each must stay inside it), ENVIRONMENT_TYPE
(``generic``), SCALE_FACTOR (1.0), SKIP_INVENTORY, BYPASS_QUALITY_GATES. Like the reference it
ignores SEG_PREFIX / USE_MOCK_DATA (the inventory goes to ``scenes/<id>/seg``).

Reads ``scene_info.json`` (optional), ``objects/<dir>/`` (a mesh ``mesh.glb|model.glb|asset.glb|mesh.obj``
— folders without one are skipped —, optional ``pose.json``, ``bounds.json``, ``label.json``)
and ``background/``. Every mesh is opened with trimesh (a corrupt one drops its object).
Writes ``assets/obj_<dir>/asset.glb`` + ``metadata.json``, ``assets/scene_manifest.json``,
``layout/scene_layout_scaled.json``, ``seg/inventory.json``, ``regen3d-job/quality_gate_report.json``
and last ``regen3d-job/adapter_summary.json`` (the ``.regen3d_complete`` body, which the workflow
writes after checking these outputs). The gate (at least one valid object) blocks with
``regen3d-job/.failed`` and exit 1 unless BYPASS_QUALITY_GATES.
"""

from __future__ import annotations

import io
import posixpath
from typing import Any

from bpflow.core.errors import BpflowError, ConfigError, ValidationFailed
from bpflow.core.jobkit import EXIT_FAILED, env_bool, env_str, job_bucket, log_json, require_env, run_main, scene_prefix
from bpflow.core.storage import Bucket
from bpflow.core.triggers import validate_scene_id
from bpflow.domain.imagegen.regen3d import ReconObject, adapt
from bpflow.jobs.text_scene_gen import env_float
from bpflow.state.cas_json import iso_z, utc_now

MESH_NAMES = ("mesh.glb", "model.glb", "asset.glb", "mesh.obj")


def _json(bucket: Bucket, key: str) -> Any:
    try:
        return bucket.read_json_or_none(key)
    except ValueError:
        raise ValidationFailed(f"{key} is not valid JSON", field=key) from None


def read_objects(bucket: Bucket, root: str) -> tuple[list[ReconObject], dict[str, bytes], list[dict[str, str]]]:
    """The reconstruction's objects, their GLB bytes, and the folders skipped (with why)."""
    folders: dict[str, set[str]] = {}
    for info in bucket.list(f"{root}/objects/"):
        rel = info.key[len(root) + len("/objects/") :]
        if "/" in rel:
            d, name = rel.split("/", 1)
            folders.setdefault(d, set()).add(name)
    background = {info.key[len(root) + len("/background/") :] for info in bucket.list(f"{root}/background/")}
    entries = [(d, names, f"{root}/objects/{d}", False) for d, names in sorted(folders.items())]
    if background:
        entries.append(("scene_background", background, f"{root}/background", True))
    objects, meshes, skipped = [], {}, []
    for d, names, base, is_bg in entries:
        mesh = next((n for n in MESH_NAMES if n in names), None)
        if mesh is None:
            skipped.append({"id": d, "reason": "no_mesh"})
            continue
        try:
            glb = to_glb(bucket.read(f"{base}/{mesh}"), posixpath.splitext(mesh)[1][1:])
        except ValueError as exc:
            skipped.append({"id": d, "reason": f"mesh_unreadable: {exc}"[:200]})
            continue
        pose_doc = _json(bucket, f"{base}/pose.json") or {}
        label_doc = _json(bucket, f"{base}/label.json") or {}
        bounds = _json(bucket, f"{base}/bounds.json")
        objects.append(
            ReconObject(
                dir=d,
                mesh_ext="glb",
                transform=pose_doc.get("transform_matrix") if isinstance(pose_doc, dict) else None,
                bounds=bounds if isinstance(bounds, dict) else mesh_bounds(glb),
                label=label_doc.get("label")
                if isinstance(label_doc, dict) and isinstance(label_doc.get("label"), str)
                else None,
                is_floor_contact=pose_doc.get("is_floor_contact")
                if isinstance(pose_doc, dict) and isinstance(pose_doc.get("is_floor_contact"), bool)
                else None,
                background=is_bg,
            )
        )
        meshes[d] = glb
    return objects, meshes, skipped


def to_glb(data: bytes, ext: str) -> bytes:
    """The mesh as GLB bytes, after checking trimesh can read it (ValueError if not)."""
    import trimesh

    try:
        loaded = trimesh.load(io.BytesIO(data), file_type=ext, force="scene")
    except Exception as exc:  # noqa: BLE001 - trimesh raises many types for a corrupt file
        raise ValueError(type(exc).__name__) from None
    if not isinstance(loaded, trimesh.Scene) or not loaded.geometry:  # force="scene": always a Scene
        raise ValueError("no geometry")
    return data if ext == "glb" else bytes(loaded.export(file_type="glb"))  # type: ignore[no-untyped-call]  # trimesh's Scene.export is unannotated


def mesh_bounds(glb: bytes) -> dict[str, Any] | None:
    import trimesh

    scene = trimesh.load(io.BytesIO(glb), file_type="glb", force="scene")
    lo, hi = scene.bounds
    return {"min": [float(v) for v in lo], "max": [float(v) for v in hi]}


def _main() -> int:
    require_env("BUCKET")
    scene_id = validate_scene_id(require_env("SCENE_ID"))
    root = f"scenes/{scene_id}"
    regen = scene_prefix(scene_id, "REGEN3D_PREFIX", env_str("REGEN3D_PREFIX") or f"{root}/regen3d")
    assets = scene_prefix(scene_id, "ASSETS_PREFIX", env_str("ASSETS_PREFIX") or f"{root}/assets")
    layout_prefix = scene_prefix(scene_id, "LAYOUT_PREFIX", env_str("LAYOUT_PREFIX") or f"{root}/layout")
    scale_factor = env_float("SCALE_FACTOR", 1.0)
    if scale_factor <= 0:
        raise ConfigError(f"SCALE_FACTOR must be > 0, got {scale_factor}", field="SCALE_FACTOR")
    env_type = env_str("ENVIRONMENT_TYPE") or "generic"
    bucket = job_bucket()
    if not list(bucket.list(f"{regen}/")):
        raise BpflowError(
            f"{regen}/ does not exist: no reconstruction to adapt",
            code="regen3d_input_missing",
            field="REGEN3D_PREFIX",
            retryable=True,
        )
    info = _json(bucket, f"{regen}/scene_info.json") or {}
    objects, meshes, skipped = read_objects(bucket, regen)
    out = adapt(
        scene_id,
        objects,
        info if isinstance(info, dict) else {},
        environment_type=env_type,
        scale_factor=scale_factor,
        assets_rel=assets.removeprefix(f"{root}/"),
    )
    report = {
        **out["report"],
        "skipped": skipped,
        "status": "passed" if out["report"]["objects_kept"] > 0 else "failed",
        "checks": [{"check": "objects_kept", "value": out["report"]["objects_kept"], "op": ">=", "threshold": 1}],
    }
    bucket.write_json(f"{root}/regen3d-job/quality_gate_report.json", report)
    if report["status"] == "failed" and not env_bool("BYPASS_QUALITY_GATES", False):
        message = f"no valid reconstructed object in {regen}/objects ({len(skipped)} skipped, {len(out['report']['dropped'])} dropped)"
        body = {
            "scene_id": scene_id,
            "job_name": "regen3d-adapter-job",
            "status": "failed",
            "timestamp": iso_z(utc_now()),
            "error": {"code": "regen3d_quality_gate_failed", "message": message, "type": "job_failure"},
            "context": {"failed_step": "quality_gate"},
            "partial_results": report,
        }
        bucket.write_json(f"{root}/regen3d-job/.failed", body)
        bucket.write(f"{root}/regen3d-job/.failed.summary", (message + "\n").encode())
        log_json(action="quality_gate_failed", scene_id=scene_id, message=message)
        return EXIT_FAILED
    by_id = {o["id"]: o for o in out["manifest"]["objects"]}
    for oid, glb in meshes.items():
        if oid not in by_id:
            continue
        folder = f"{assets}/obj_{oid}"
        bucket.write(f"{folder}/asset.glb", glb, content_type="model/gltf-binary")
        dims = by_id[oid]["dimensions_est"]
        bucket.write_json(
            f"{folder}/metadata.json",
            {
                "id": oid,
                "category": by_id[oid]["category"],
                "source": "3d-re-gen",
                "mesh_bounds": {
                    "export": {"center": [0.0, 0.0, 0.0], "size": [dims["width"], dims["height"], dims["depth"]]}
                },
            },
        )
    bucket.write_json(f"{assets}/scene_manifest.json", out["manifest"])
    bucket.write_json(f"{layout_prefix}/scene_layout_scaled.json", out["layout"])
    if not env_bool("SKIP_INVENTORY", False):
        bucket.write_json(f"{root}/seg/inventory.json", out["inventory"])
    marker = {
        "status": "complete",
        "scene_id": scene_id,
        "objects_count": len(out["manifest"]["objects"]),
        "has_background": any(o.background for o in objects),
        "scale_factor": out["report"]["scale_factor"],
        "environment_type": env_type,
        "completed_at": iso_z(utc_now()),
        "metrics_summary": {
            "objects_kept": out["report"]["objects_kept"],
            "dropped": len(out["report"]["dropped"]),
            "skipped": len(skipped),
        },
    }
    bucket.write_json(f"{root}/regen3d-job/adapter_summary.json", {"status": "completed", "regen3d_marker": marker})
    log_json(
        action="regen3d_adapter_complete", scene_id=scene_id, objects=marker["objects_count"], skipped=len(skipped)
    )
    return 0


def main() -> int:
    return run_main(_main)


if __name__ == "__main__":
    raise SystemExit(main())
