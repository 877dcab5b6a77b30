"""genie-sim-export-job: the scene → the Genie Sim bundle under ``GENIESIM_PREFIX``.

Env (the reference's): ``BUCKET``, ``SCENE_ID``, ``ASSETS_PREFIX``, ``GENIESIM_PREFIX``,
``VARIATION_ASSETS_PREFIX``, ``ROBOT_TYPE`` (franka), ``MAX_TASKS`` (50), ``FILTER_COMMERCIAL``
(true), ``COPY_USD`` (true); bpflow's ``USD_PREFIX`` (``scenes/{scene}/usd``).

Writes ``scene_graph.json``, ``asset_index.json``, ``task_config.json``, ``scene_config.yaml``,
``merged_scene_manifest.json``, ``legal/asset_provenance.json``, ``_GENIESIM_EXPORT_COMPLETE``,
``usd/`` (when ``COPY_USD``) and, last, ``export_manifest.json`` with the inventory and
checksums of all of them. The bundle is validated (schemas + §3.7 cross-file rules) before the
first byte is written, so an invalid bundle never appears; errors are typed (exit 2) and name
the field.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bpflow.core.errors import ValidationFailed
from bpflow.core.jobkit import env_bool, env_int, env_scene_prefix, env_str, job_bucket, log_json, require_env, run_main
from bpflow.core.storage import Bucket
from bpflow.domain.usd.workspace import Workspace

ORDER = (
    "scene_graph.json",
    "asset_index.json",
    "task_config.json",
    "scene_config.yaml",
    "merged_scene_manifest.json",
    "legal/asset_provenance.json",
    "_GENIESIM_EXPORT_COMPLETE",
)


def _json_object(bucket: Bucket, key: str, *, required: bool, code: str, field: str) -> dict[str, Any] | None:
    if not bucket.exists(key):
        if required:
            raise ValidationFailed(f"{key} is missing", code=code, field=field)
        return None
    try:
        body = json.loads(bucket.read(key))
    except ValueError as exc:
        raise ValidationFailed(
            f"{key} is not JSON: {exc}", code=f"{code.removesuffix('_missing')}_invalid", field=field
        ) from None
    if not isinstance(body, dict):
        raise ValidationFailed(
            f"{key} must be a JSON object", code=f"{code.removesuffix('_missing')}_invalid", field=field
        )
    return body


def _scene_tags(bucket: Bucket, scene: str) -> list[str]:
    try:
        config = bucket.read_json_or_none(f"scenes/{scene}/config.json")
    except ValueError:
        return []
    from bpflow.state.canary import normalize_tags

    if not isinstance(config, dict):
        return []
    return normalize_tags(config.get("tags"), config.get("scene_tags"))


TIME_KEYS = frozenset({"generated_at", "export_timestamp", "timestamp"})


def _timeless(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _timeless(v) for k, v in value.items() if k not in TIME_KEYS}
    if isinstance(value, list):
        return [_timeless(v) for v in value]
    return value


def content_digest(files: dict[str, bytes]) -> str:
    """What the bundle says, without when it was written: equal for re-exports of an unchanged
    scene, so the export can keep the bundle (and the runtime's idempotency key) as it is."""
    import hashlib

    h = hashlib.sha256()
    for rel in sorted(files):
        data = files[rel]
        if rel.endswith(".json") or rel == "_GENIESIM_EXPORT_COMPLETE":
            data = json.dumps(_timeless(json.loads(data)), sort_keys=True, separators=(",", ":")).encode()
        h.update(rel.encode() + b"\0" + hashlib.sha256(data).digest())
    return h.hexdigest()


def unchanged(bucket: Bucket, geniesim: str, digest: str) -> bool:
    """The stored bundle has the same content and every file of its inventory is still there."""
    try:
        old = bucket.read_json_or_none(f"{geniesim}/export_manifest.json")
    except ValueError:
        return False
    if not isinstance(old, dict) or old.get("bundle_content_sha256") != digest:
        return False
    return all(
        isinstance(e, dict) and bucket.exists(f"{geniesim}/{e.get('path')}") for e in old.get("file_inventory") or []
    )


def usd_dependencies(ws: Workspace, usd_key: str) -> list[str]:
    """Bucket keys of the scene layer and everything it references (sublayers, references,
    payloads, textures) that resolved locally."""
    from pxr import UsdUtils

    layers, assets, _unresolved = UsdUtils.ComputeAllDependencies(str(ws.path(usd_key)))
    keys = {ws.key_of(Path(layer.realPath)) for layer in layers if layer.realPath}
    keys.update(ws.key_of(Path(a)) for a in assets if a and Path(a).is_file())
    return sorted(keys)


def build_bundle(
    bucket: Bucket,
    scene: str,
    ws: Workspace,
    *,
    assets: str,
    usd_prefix: str,
    variation: str,
    robot_type: str,
    max_tasks: int,
    filter_commercial: bool,
    copy_usd: bool,
    geniesim: str,
) -> tuple[dict[str, bytes], dict[str, int]]:
    """Every bundle file (relative path → bytes), validated, plus its statistics."""
    from bpflow.domain.geniesim import bundle as gb
    from bpflow.domain.geniesim.contracts import validate_bundle
    from bpflow.domain.sim.robot import PROVENANCE
    from bpflow.domain.sim.workcell import load_workcell

    manifest = _json_object(
        bucket, f"{assets}/scene_manifest.json", required=True, code="manifest_missing", field="ASSETS_PREFIX"
    )
    assert manifest is not None
    if not isinstance(manifest.get("objects"), list):
        raise ValidationFailed(
            f"{assets}/scene_manifest.json has no 'objects' list", code="manifest_invalid", field="objects"
        )
    variation_assets = _json_object(
        bucket,
        f"{variation}/variation_assets.json",
        required=False,
        code="variation_assets_missing",
        field="VARIATION_ASSETS_PREFIX",
    )
    usd_key = f"{usd_prefix}/scene.usda"
    if not bucket.exists(usd_key):
        raise ValidationFailed(f"{usd_key} is missing", code="usd_missing", field="USD_PREFIX")
    ws.fetch_prefix(usd_prefix)
    ws.fetch_prefix(assets)  # the scene USD references its objects' layers under assets/
    # the runtime makes the same choice of mount and tasks on the same USD (objects settled)
    sim, tasks, skipped = load_workcell(ws.path(usd_key), manifest, seed=0, kinds=gb.TASK_KINDS)
    tasks = tasks[:max_tasks]
    scene_root = f"scenes/{scene}/"
    bundle_usd = f"usd/{usd_key[len(scene_root) :]}" if copy_usd else usd_key
    docs = gb.build(
        scene,
        manifest,
        sim,
        tasks,
        robot_type=robot_type,
        usd_path=bundle_usd,
        variation_assets=variation_assets,
        scene_tags=_scene_tags(bucket, scene),
        max_tasks=max_tasks,
        filter_commercial=filter_commercial,
        robot_provenance=dict(PROVENANCE),
    )
    stats = docs.pop("_stats")
    if not stats["tasks"]:
        why = "; ".join(f"{k}: {v}" for k, v in sorted(skipped.items())) or "no movable object"
        raise ValidationFailed(
            f"the scene offers no task the robot can perform ({why})", code="no_tasks", field="objects"
        )
    validate_bundle(
        {
            "scene_graph": docs["scene_graph.json"],
            "asset_index": docs["asset_index.json"],
            "task_config": docs["task_config.json"],
            "completion": docs["_GENIESIM_EXPORT_COMPLETE"],
        },
        require_manifest=False,
    )
    files: dict[str, bytes] = {
        rel: (json.dumps(docs[rel], indent=2, sort_keys=True) + "\n").encode() for rel in ORDER if rel in docs
    }
    files["scene_config.yaml"] = gb.scene_config_yaml(scene, robot_type, bundle_usd, stats).encode()
    if copy_usd:
        # The scene layer and every layer/asset it pulls in, at the same relative places, so
        # the bundle's usd/ opens on its own (references like ../assets/obj_x/simready.usda).
        for key in usd_dependencies(ws, usd_key):
            if not key.startswith(scene_root):
                raise ValidationFailed(
                    f"the scene USD depends on {key}, outside the scene's prefix",
                    code="usd_dependency_outside_scene",
                    field="USD_PREFIX",
                )
            files[f"usd/{key[len(scene_root) :]}"] = ws.path(key).read_bytes()
    warnings = [f"object {k} has no task: {v}" for k, v in sorted(skipped.items())]
    manifest_doc = gb.export_manifest(
        scene,
        geniesim,
        files,
        robot_type=robot_type,
        max_tasks=max_tasks,
        filter_commercial=filter_commercial,
        stats=stats,
        warnings=warnings,
        content_sha256=content_digest(files),
    )
    validate_bundle(
        {
            "scene_graph": docs["scene_graph.json"],
            "asset_index": docs["asset_index.json"],
            "task_config": docs["task_config.json"],
            "completion": docs["_GENIESIM_EXPORT_COMPLETE"],
            "export_manifest": manifest_doc,
        }
    )
    files["export_manifest.json"] = (json.dumps(manifest_doc, indent=2, sort_keys=True) + "\n").encode()
    return files, stats


def _main() -> int:
    bucket = job_bucket()
    scene = require_env("SCENE_ID")
    assets = env_scene_prefix(scene, "ASSETS_PREFIX", f"scenes/{scene}/assets")
    geniesim = env_scene_prefix(scene, "GENIESIM_PREFIX", f"scenes/{scene}/geniesim")
    variation = env_scene_prefix(scene, "VARIATION_ASSETS_PREFIX", f"scenes/{scene}/variation_assets")
    usd_prefix = env_scene_prefix(scene, "USD_PREFIX", f"scenes/{scene}/usd")
    robot_type = (env_str("ROBOT_TYPE", "franka") or "franka").strip()
    if robot_type != "franka":
        raise ValidationFailed(
            f"ROBOT_TYPE={robot_type!r}: the local runtime has the franka model only",
            code="unsupported_robot",
            field="ROBOT_TYPE",
        )
    max_tasks = env_int("MAX_TASKS", 50)
    if max_tasks < 1:
        raise ValidationFailed(f"MAX_TASKS must be ≥ 1, not {max_tasks}", field="MAX_TASKS")
    with Workspace(bucket) as ws:
        files, stats = build_bundle(
            bucket,
            scene,
            ws,
            assets=assets,
            usd_prefix=usd_prefix,
            variation=variation,
            robot_type=robot_type,
            max_tasks=max_tasks,
            filter_commercial=env_bool("FILTER_COMMERCIAL", True),
            copy_usd=env_bool("COPY_USD", True),
            geniesim=geniesim,
        )
    digest = json.loads(files["export_manifest.json"])["bundle_content_sha256"]
    if unchanged(bucket, geniesim, digest):
        log_json(
            action="bundle_unchanged",
            status="SKIPPED",
            scene_id=scene,
            bundle_content_sha256=digest,
            message="the stored bundle has the same content; kept as it is",
        )
        return 0
    for rel, data in files.items():  # dict order: bundle, usd/, export_manifest.json last
        ctype = (
            "application/json"
            if rel.endswith(".json") or rel == "_GENIESIM_EXPORT_COMPLETE"
            else "text/yaml"
            if rel.endswith(".yaml")
            else "application/octet-stream"
        )
        bucket.write(f"{geniesim}/{rel}", data, content_type=ctype)
    log_json(action="geniesim_export_complete", scene_id=scene, **stats, files=len(files))
    return 0


def main() -> int:
    return run_main(_main)


if __name__ == "__main__":
    raise SystemExit(main())
