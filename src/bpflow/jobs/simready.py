"""simready-job: a physics-ready ``simready.usda`` per object, then ``.simready_complete``.

Env: ``BUCKET``, ``SCENE_ID``, ``ASSETS_PREFIX`` (required in the reference; default
``scenes/<id>/assets``), ``SIMREADY_PHYSICS_MODE`` (``auto`` | ``deterministic`` | ``gemini``),
``PROGRESS_MARKER_PATH`` (default ``ASSETS_PREFIX/.progress.json``).

The object list is ``ASSETS_PREFIX/scene_manifest.json``, or for Stage 3's variation assets
``variation_assets.json``. Physics here is deterministic (``stage2.density`` / ``surface`` /
``collision``): ``gemini`` mode needs an LLM estimator this build does not have, so it fails
clearly instead of pretending. Outputs: ``obj_<id>/simready.usda`` per object,
``simready_physics.json``, the progress marker (merged), and last ``.simready_complete``,
which the workflow waits for (it triggers nothing).
"""

from __future__ import annotations

import posixpath

from bpflow.core.errors import ConfigError
from bpflow.core.jobkit import env_scene_prefix, env_str, job_bucket, log_json, run_main
from bpflow.domain.usd.inputs import load_manifest, stamp
from bpflow.domain.usd.object_files import list_object_files, no_visual, usd_visual
from bpflow.domain.usd.prefixes import load_env
from bpflow.domain.usd.simready import SIMREADY_NAME, build_simready
from bpflow.domain.usd.workspace import Workspace
from bpflow.state.cas_json import iso_z, update_json, utc_now

MODES = ("auto", "deterministic", "gemini")


def _mode() -> str:
    mode = (env_str("SIMREADY_PHYSICS_MODE", "auto") or "auto").lower()
    if mode not in MODES:
        raise ConfigError(
            f"SIMREADY_PHYSICS_MODE must be one of {', '.join(MODES)}, got {mode!r}", field="SIMREADY_PHYSICS_MODE"
        )
    if mode == "gemini":
        raise ConfigError(
            "SIMREADY_PHYSICS_MODE=gemini needs an LLM physics estimator, which this build does not include; use deterministic",
            code="simready_mode_unavailable",
            field="SIMREADY_PHYSICS_MODE",
        )
    return "deterministic"


def _main() -> int:
    env = load_env()
    mode = _mode()
    bucket = job_bucket()
    manifest, manifest_key = load_manifest(bucket, env, allow_variation_list=True)
    progress_key = env_scene_prefix(env.scene_id, "PROGRESS_MARKER_PATH", f"{env.assets}/.progress.json")
    visuals = []
    for obj in manifest.objects:  # every object's visual is found before anything is written
        files = list_object_files(bucket, env.assets, env.root, obj)
        visual = usd_visual(files)
        if visual is None:
            raise no_visual(obj, "no USD file; run convert (usd-assembly-job CONVERT_ONLY) first")
        visuals.append((obj, visual, files.folder or posixpath.dirname(visual)))
    records = []
    with Workspace(bucket) as ws:
        for obj, visual, folder in visuals:
            ws.fetch_prefix(folder)
            if not ws.path(visual).exists():
                ws.fetch(visual)
            out_key = f"{folder}/{SIMREADY_NAME}"
            record = build_simready(
                obj,
                visual_key=visual,
                visual_local=ws.path(visual),
                out_key=out_key,
                out_local=ws.path(out_key),
                up_axis=manifest.up_axis,
            )
            ws.publish(out_key, content_type="text/plain")
            records.append(record)
            log_json(
                action="simready",
                object=obj.id,
                path=out_key,
                mass_kg=record.mass_kg,
                volume_source=record.volume_source,
                collision=record.collision_approximation,
            )
    now = iso_z(utc_now())
    assets = {r.id: r.path for r in records}
    profile = {"selector_available": False, "profile_used": mode}
    bucket.write_json(
        f"{env.assets}/simready_physics.json",
        {
            "scene_id": env.scene_id,
            "generated_at": now,
            "manifest": manifest_key,
            "objects": [r.to_dict() for r in records],
            "written_by": stamp(),
        },
    )

    def merge(state: dict[str, object]) -> dict[str, object]:
        state.update(
            {
                "simready_assets": assets,
                "simready_count": len(assets),
                "simready_updated_at": now,
                "scene_id": env.scene_id,
                "assets_prefix": env.assets,
                "physics_profile": profile,
            }
        )
        return state

    update_json(bucket, progress_key, merge)
    marker = {
        "status": "complete",
        "scene_id": env.scene_id,
        "simready_assets": assets,
        "count": len(assets),
        "physics_profile": profile,
        "completed_at": now,
        "written_by": stamp(),
    }
    if not assets:
        marker["note"] = "no objects to prepare"
    bucket.write_json(f"{env.assets}/.simready_complete", marker)
    log_json(action="complete", count=len(assets))
    return 0


def main() -> int:
    return run_main(_main)


if __name__ == "__main__":
    raise SystemExit(main())
