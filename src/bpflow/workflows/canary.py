"""canary-pipeline — run a tagged or allowlisted scene's Genie Sim export on the canary image.

Manual only here (``bpflow run canary-pipeline`` / the API) with the export trigger's payload
``{data: {bucket, name}, canary_tags, ...}``: attached to the export trigger as well, it would
start a second export of every canary scene (spec §10.13). Tags come from the scene's
``config.json`` (``tags``, else ``scene_tags``); ``canary_tags`` / ``canary_scene_ids`` from the
payload, else ``CANARY_TAGS`` / ``CANARY_SCENE_IDS``. No percentage here: that is the GPU job's.
Reference: spec §2.7, §1.7.
"""

from __future__ import annotations

from typing import Any

from bpflow.blocks.params import recorded_params
from bpflow.blocks.stages import start_run
from bpflow.core.config import parse_bool
from bpflow.core.engine.durable import step
from bpflow.core.engine.registry import Outcome, Run, workflow
from bpflow.core.stages import STAGES

NAME = "canary-pipeline"
EXPORT = STAGES["genie-sim-export"].workflow
TRIGGER = STAGES["genie-sim-export"].trigger_re
PARAMS = {
    "canary_tags": ("CANARY_TAGS", ""),
    "canary_scene_ids": ("CANARY_SCENE_IDS", ""),
    "canary_enabled": (None, True),
    "canary_percent": ("CANARY_PERCENT", "0"),
    "canary_release_channel": ("CANARY_RELEASE_CHANNEL", "canary"),
    "canary_image_tag": ("GENIESIM_CANARY_IMAGE_TAG", "isaacsim-canary"),
    "canary_rollback_marker": (None, ""),
}


def _items(raw: Any) -> list[str]:
    items = raw.split(",") if isinstance(raw, str) else raw if isinstance(raw, list) else []
    return [str(x).strip() for x in items if str(x).strip()]


@workflow(NAME, timeout_seconds=300)
def canary_pipeline(run: Run) -> Outcome:
    if not TRIGGER.fullmatch(run.object_name or "") or run.scene_id is None:
        return Outcome.skipped(f"Not a replicator completion marker file: {run.object_name}")
    scene, p = run.scene_id, recorded_params(run, PARAMS)

    def _config() -> dict[str, Any]:
        try:
            body = run.bucket.read_json_or_none(run.scene("config.json"))
        except Exception:  # noqa: BLE001 - the reference: any error → {}
            return {}
        return body if isinstance(body, dict) else {}

    config = step("read scene config", _config)
    scene_tags = config.get("tags") or config.get("scene_tags") or []
    scene_tags = _items(scene_tags)
    raw_tags = str(p["canary_tags"] or "")
    raw_ids = str(p["canary_scene_ids"] or "")
    enabled = parse_bool(p["canary_enabled"], True, strict=False)
    tagged = any(t in scene_tags for t in _items(raw_tags))
    allowlisted = scene in _items(raw_ids)
    if not (enabled and (tagged or allowlisted)):
        return Outcome.skipped(f"Skipping canary export for scene {scene} (not tagged/allowlisted)", scene_id=scene)
    payload = {
        "data": {"bucket": run.bucket_name, "name": run.object_name, "generation": run.generation},
        "canary_enabled": True,
        "canary_tags": raw_tags,
        "canary_scene_ids": f"{raw_ids},{scene}" if raw_ids else scene,
        "canary_percent": str(p["canary_percent"]),
        "canary_release_channel": str(p["canary_release_channel"]),
        "canary_image_tag": str(p["canary_image_tag"]),
        "canary_rollback_marker": str(p["canary_rollback_marker"] or ""),
    }
    for key in ("allow_idempotent_retry",):
        if run.payload.get(key) is not None:
            payload[key] = run.payload[key]
    export_run = start_run(run, EXPORT, f"{EXPORT}:canary:{run.object_name}@{run.generation}:{run.run_id}", payload)
    return Outcome.success(
        f"Started canary export for scene {scene}",
        scene_id=scene,
        export_run=export_run,
        reasons=[r for r, ok in (("tag_match", tagged), ("scene_id_allowlist", allowlisted)) if ok],
    )
