"""Genie Sim test scenes: a small table scene (tests.sim.simscenes) in a real bucket, with the
manifest's provenance fields the asset stages record, and the upstream markers in place."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bpflow.core.storage import Bucket
from tests.sim.simscenes import write_scene

#: Tiny simulation settings: one episode per task, 32 px, one worker.
SMALL = {
    "EPISODES_PER_TASK": "1",
    "BPFLOW_SIM_WORKERS": "1",
    "EPISODE_IMAGE_SIZE": "32",
    "EPISODE_CAMERAS": "front,wrist",
}
CUBES = [{"id": "a", "xy": (0.1, 0.05)}]


def upload_scene(
    bucket: Bucket,
    tmp: Path,
    scene: str,
    *,
    cubes: list[dict[str, Any]] | None = None,
    licences: dict[str, str] | None = None,
    manifest: bool = True,
    tags: list[str] | None = None,
) -> dict[str, Any]:
    """USD under ``usd/``, the manifest under ``assets/`` (each object CC0 placeholder geometry
    unless ``licences`` names another licence for it), ``config.json`` with ``tags``."""
    usd, body = write_scene(tmp / scene, scene_id=scene, cubes=cubes if cubes is not None else CUBES)
    for obj in body["objects"]:
        licence = (licences or {}).get(obj["id"])
        obj["asset_generation"] = (
            {"materialization": "placeholder_usd", "license": licence}
            if licence
            else {"materialization": "placeholder_usd"}
        )
    bucket.write(f"scenes/{scene}/usd/scene.usda", usd.read_bytes(), content_type="text/plain")
    if manifest:
        bucket.write_json(f"scenes/{scene}/assets/scene_manifest.json", body)
    if tags is not None:
        bucket.write_json(f"scenes/{scene}/config.json", {"tags": tags})
    return body


def read(bucket: Bucket, key: str) -> Any:
    return json.loads(bucket.read(key))
