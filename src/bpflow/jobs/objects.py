"""objects-job: lift the segmentation of a reconstructed room into the layout's objects.

Env: BUCKET, SCENE_ID, DA3_PREFIX, SEG_DATASET_PREFIX, LAYOUT_PREFIX (all required, each inside
the scene). Reads ``<DA3_PREFIX>/da3_geom.npz`` and ``<LAYOUT_PREFIX>/scene_layout.json``
(required), ``<SEG_DATASET_PREFIX>/data.yaml`` (class names) and
``<SEG_DATASET_PREFIX>/valid/labels/room.txt`` (optional: no labels, no objects). Rewrites
``scene_layout.json`` with ``objects[]`` and an ``objects_job`` stamp, by which objects-pipeline
recognises its own rewrite (no ``objects: []`` loop). A layout that already lists objects is
left alone (exit 0).
"""

from __future__ import annotations

from typing import Any

import yaml

from bpflow.core.errors import ObjectNotFound, ValidationFailed
from bpflow.core.jobkit import job_bucket, log_json, require_env, run_main, scene_prefix
from bpflow.core.triggers import validate_scene_id
from bpflow.domain.imagegen.objects3d import lift_objects, load_frame
from bpflow.state.cas_json import iso_z, utc_now


def _main() -> int:
    require_env("BUCKET")
    scene_id = validate_scene_id(require_env("SCENE_ID"))
    da3, seg, layout_prefix = (
        scene_prefix(scene_id, n, require_env(n)) for n in ("DA3_PREFIX", "SEG_DATASET_PREFIX", "LAYOUT_PREFIX")
    )
    bucket = job_bucket()
    layout_key = f"{layout_prefix}/scene_layout.json"
    try:
        layout: Any = bucket.read_json(layout_key)
        frame = load_frame(bucket.read(f"{da3}/da3_geom.npz"))
    except ObjectNotFound as exc:
        raise ValidationFailed(
            f"required input missing: {exc.message}", code="objects_input_missing", field=exc.field or "input"
        ) from None
    except ValueError:
        raise ValidationFailed(f"{layout_key} is not JSON", field=layout_key) from None
    if not isinstance(layout, dict):
        raise ValidationFailed(f"{layout_key} is not a JSON object", field=layout_key)
    if isinstance(layout.get("objects"), list) and layout["objects"]:
        log_json(action="skip", reason="objects already present", scene_id=scene_id)
        return 0
    names: list[str] = []
    data_yaml = bucket.read(f"{seg}/data.yaml") if bucket.exists(f"{seg}/data.yaml") else None
    if data_yaml:
        doc = yaml.safe_load(data_yaml)
        raw = doc.get("names") if isinstance(doc, dict) else None
        names = [str(v) for v in (raw.values() if isinstance(raw, dict) else raw or [])]
    labels_key = f"{seg}/valid/labels/room.txt"
    lines = bucket.read(labels_key).decode("utf-8", "replace").splitlines() if bucket.exists(labels_key) else []
    objects = lift_objects(frame, lines, names)
    layout["objects"] = objects
    layout["objects_job"] = {
        "processed_at": iso_z(utc_now()),
        "label_lines": len(lines),
        "objects": len(objects),
        "with_depth": sum(1 for o in objects if o["obb"] is not None),
    }
    bucket.write_json(layout_key, layout)
    log_json(action="objects_complete", scene_id=scene_id, objects=len(objects), label_lines=len(lines))
    return 0


def main() -> int:
    return run_main(_main)


if __name__ == "__main__":
    raise SystemExit(main())
