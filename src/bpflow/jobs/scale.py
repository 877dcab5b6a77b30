"""scale-job: give a reconstructed layout its metric scale (spec-stages-assets-usd §4.5).

Env: BUCKET, SCENE_ID, LAYOUT_PREFIX (required); METRIC_METADATA_PATH (default
``<LAYOUT_PREFIX>/metric_metadata.json``, optional file: ``scale_factors``, ``known_heights`` /
``reference_objects``, ``scene_metrics``). Writes ``scene_layout_scaled.json`` (the layout plus
``scale{factor, n_samples, priors_used, reference_samples, source, up_axis}``) and then
``scene_layout_scaled.done`` (``ok``). Never rewrites ``scene_layout.json`` (no trigger loop).
Skips when both outputs exist; a missing ``scene_layout.json`` is an error.
"""

from __future__ import annotations

from typing import Any

from bpflow.core.errors import ObjectNotFound, ValidationFailed
from bpflow.core.jobkit import env_str, job_bucket, log_json, require_env, run_main, scene_prefix
from bpflow.core.triggers import validate_scene_id
from bpflow.domain.imagegen.scale import apply_scale, scale_samples


def _main() -> int:
    require_env("BUCKET")
    scene_id = validate_scene_id(require_env("SCENE_ID"))
    layout_prefix = scene_prefix(scene_id, "LAYOUT_PREFIX", require_env("LAYOUT_PREFIX"))
    meta_key = scene_prefix(
        scene_id, "METRIC_METADATA_PATH", env_str("METRIC_METADATA_PATH") or f"{layout_prefix}/metric_metadata.json"
    )
    bucket = job_bucket()
    scaled_key, done_key = f"{layout_prefix}/scene_layout_scaled.json", f"{layout_prefix}/scene_layout_scaled.done"
    if bucket.exists(scaled_key) and bucket.exists(done_key):
        log_json(action="skip", reason="already scaled", scene_id=scene_id)
        return 0
    try:
        layout: Any = bucket.read_json(f"{layout_prefix}/scene_layout.json")
    except ObjectNotFound:
        raise ValidationFailed(
            f"{layout_prefix}/scene_layout.json does not exist", code="scale_input_missing", field="LAYOUT_PREFIX"
        ) from None
    except ValueError:
        raise ValidationFailed(f"{layout_prefix}/scene_layout.json is not JSON", field="scene_layout.json") from None
    if not isinstance(layout, dict):
        raise ValidationFailed("scene_layout.json is not a JSON object", field="scene_layout.json")
    try:
        meta = bucket.read_json_or_none(meta_key) or {}
    except ValueError:
        raise ValidationFailed(f"{meta_key} is not JSON", field="METRIC_METADATA_PATH") from None
    scale = scale_samples(layout, meta if isinstance(meta, dict) else {})
    if meta:
        scale["metadata_path"] = meta_key
    bucket.write_json(scaled_key, apply_scale(layout, scale))
    bucket.write(done_key, b"ok\n")
    log_json(
        action="scale_complete",
        scene_id=scene_id,
        factor=scale["factor"],
        source=scale["source"],
        n_samples=scale["n_samples"],
    )
    return 0


def main() -> int:
    return run_main(_main)


if __name__ == "__main__":
    raise SystemExit(main())
