"""Shared by the learning-loop tests: a scene with recorded episodes in a real bucket."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bpflow.core.ids import object_run_id
from bpflow.core.storage import Bucket
from tests.sim.simscenes import write_scene
from tests.stage2.helpers import outcome

TINY = {
    "EPISODES_PER_VARIATION": "1",
    "BPFLOW_SIM_WORKERS": "1",
    "EPISODE_IMAGE_SIZE": "32",
    "EPISODE_CAMERAS": "front,wrist",
    "TRAINING_MAX_STEPS": "2",
    "BATCH_SIZE": "4",
    "TRAINING_THREADS": "1",
    "POLICY_THREADS": "1",
    "EVAL_EPISODES": "1",
    "EVAL_VIDEOS": "1",
}


def upload_scene(bucket: Bucket, tmp: Path, scene: str, cubes: list[dict] | None = None, **scene_kw: Any) -> None:
    usd, body = write_scene(
        tmp / scene, scene_id=scene, cubes=cubes or [{"id": "light", "xy": (0.1, 0.05), "mass": 0.1}], **scene_kw
    )
    bucket.write(f"scenes/{scene}/usd/scene.usda", usd.read_bytes(), content_type="text/plain")
    bucket.write_json(f"scenes/{scene}/assets/scene_manifest.json", body)


def record_episodes(bucket: Bucket, tmp: Path, scene: str, cubes: list[dict] | None = None) -> dict:
    """Run the real Stage 4 (episode-generation-pipeline) on a one-cube scene; its outcome."""
    upload_scene(bucket, tmp, scene, cubes)
    key = f"scenes/{scene}/usd/.usd_complete"
    info = bucket.write_json(key, {"scene_id": scene, "status": "completed"})
    result = outcome(object_run_id("episode-generation-pipeline", key, info.generation), timeout=900)
    assert result["status"] == "SUCCESS", (
        result,
        bucket.read_json_or_none(f"scenes/{scene}/episodes/quality_gate_verdict.json"),
        bucket.read_json_or_none(f"scenes/{scene}/episodes/episodes_summary.json"),
    )
    return result
