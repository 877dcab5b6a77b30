"""The variation workflow's reads and writes of its own state, as plain bucket functions.

The workflow runs each of these as a durable step (so a replay does not redo them); keeping
them here, free of engine code, keeps the workflow module a list of decisions and lets the
unit tests call them on a bare bucket.
"""

from __future__ import annotations

from typing import Any

from bpflow.core.storage import Bucket
from bpflow.domain.variation.paths import Stage3Paths
from bpflow.state.cas_json import iso_z, utc_now

COMPLETE_CONTENT_TYPE = "text/plain"


def has_earlier_output(bucket: Bucket, p: Stage3Paths) -> bool:
    """The reference's resume rule: a progress marker, or anything at all under the prefix."""
    if bucket.exists(p.progress):
        return True
    return next(iter(bucket.list(p.variation_assets + "/")), None) is not None


def write_progress(bucket: Bucket, p: Stage3Paths, **fields: Any) -> None:
    """A full overwrite of the progress marker, as the reference does after each stage."""
    bucket.write_json(
        p.progress,
        {
            "scene_id": p.scene_id,
            "variation_assets_prefix": p.variation_assets,
            "updated_at": iso_z(utc_now()),
            **fields,
        },
    )


def variation_asset_count(bucket: Bucket, p: Stage3Paths) -> int:
    """How many objects ``variation_assets.json`` lists; a missing or unreadable file means none."""
    try:
        doc = bucket.read_json(p.assets_json)
    except Exception:  # noqa: BLE001 - the reference takes the no-assets path on any read error
        return 0
    objects = doc.get("objects") if isinstance(doc, dict) else None
    return len(objects) if isinstance(objects, list) else 0


def missing_outputs(bucket: Bucket, p: Stage3Paths) -> list[str]:
    """What ``variation_assets.json`` promises but the bucket lacks (the pre-marker check)."""
    doc = bucket.read_json_or_none(p.assets_json)
    if not isinstance(doc, dict) or not isinstance(doc.get("objects"), list):
        return [p.assets_json]
    missing = []
    for obj in doc["objects"]:
        path = (obj.get("asset") or {}).get("path") if isinstance(obj, dict) else None
        if not isinstance(path, str) or not path.startswith(p.key() + "/") or not bucket.exists(path):
            missing.append(str(path))
    return missing


def write_complete_marker(bucket: Bucket, p: Stage3Paths, status: str, count: int, run_id: str) -> str:
    """The plain-text completion marker (the reference's format; consumers rely only on its existence)."""
    text = f"Completed at {iso_z(utc_now())}\nstatus: {status}\nvariation_assets: {count}\nrun_id: {run_id}\n"
    bucket.write(p.complete_marker, text, content_type=COMPLETE_CONTENT_TYPE)
    return text
