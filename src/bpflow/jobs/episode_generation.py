"""episode-generation-job: the scene's USD → robot episodes → a LeRobot v3.0 dataset.

Env (the reference's): ``BUCKET``, ``SCENE_ID``, ``ASSETS_PREFIX``, ``USD_PREFIX``,
``EPISODES_PREFIX``, ``EPISODES_PER_VARIATION`` (episodes per task), ``DATA_PACK_TIER``,
``BUNDLE_TIER``, ``DATA_QUALITY_LEVEL``; bpflow's: ``BPFLOW_SIM_WORKERS`` (default: the cores
this process may use), ``EPISODE_MAX_TASKS``, ``EPISODE_CAMERAS`` (comma list, default
``front,wrist``), ``EPISODE_IMAGE_SIZE`` (square, default 128), ``EPISODE_FPS`` (25),
``EPISODE_SEED`` (0), ``EPISODE_TASKS`` (task kinds, default ``pick_place``; ``close_drawer``
is opt-in).

Outputs under ``EPISODES_PREFIX`` (a rerun replaces the previous ones): ``lerobot/`` (the
dataset), ``certificates/episode_NNNNNN/quality_certificate.json``, ``episodes_summary.json``; and
``scenes/{scene}/episode-generation-job/quality_gate_report.json``. Inputs are checked before
any work: a missing manifest or USD, a USD that does not open, a scene with no pickable object
the arm can reach end the job with a typed error (exit 2), and nothing is written. Never writes
the stage's markers: the workflow does.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from bpflow.core.errors import ValidationFailed
from bpflow.core.jobkit import env_int, env_scene_prefix, env_str, job_bucket, log_json, require_env, run_main
from bpflow.core.storage import Bucket
from bpflow.domain.usd.workspace import Workspace
from bpflow.state.cas_json import iso_z, utc_now

CONTENT_TYPES = {".json": "application/json", ".parquet": "application/vnd.apache.parquet", ".mp4": "video/mp4"}


def _manifest(bucket: Bucket, assets: str) -> dict[str, Any]:
    key = f"{assets}/scene_manifest.json"
    if not bucket.exists(key):
        raise ValidationFailed(
            f"{key} is missing: the episodes need the scene manifest", code="manifest_missing", field="ASSETS_PREFIX"
        )
    try:
        body = json.loads(bucket.read(key))
    except ValueError as exc:
        raise ValidationFailed(f"{key} is not JSON: {exc}", code="manifest_invalid", field="ASSETS_PREFIX") from None
    if not isinstance(body, dict) or not isinstance(body.get("objects"), list):
        raise ValidationFailed(f"{key} has no 'objects' list", code="manifest_invalid", field="objects")
    return body


def _config() -> Any:
    from bpflow.domain.episodes.generate import GenerationConfig, default_workers

    size = env_int("EPISODE_IMAGE_SIZE", 128)
    if not 16 <= size <= 640 or size % 2:
        raise ValidationFailed(
            f"EPISODE_IMAGE_SIZE must be an even number of pixels in 16..640, not {size}", field="EPISODE_IMAGE_SIZE"
        )
    per_task = env_int("EPISODES_PER_VARIATION", 10)
    if per_task < 1:
        raise ValidationFailed(f"EPISODES_PER_VARIATION must be ≥ 1, not {per_task}", field="EPISODES_PER_VARIATION")
    max_tasks = env_int("EPISODE_MAX_TASKS", 0)
    cameras = tuple(c.strip() for c in (env_str("EPISODE_CAMERAS", "front,wrist") or "").split(",") if c.strip())
    from bpflow.domain.sim.cameras import ALL

    unknown = [c for c in cameras if c not in ALL]
    if unknown:
        raise ValidationFailed(
            f"EPISODE_CAMERAS names unknown cameras {unknown} (known: {list(ALL)})", field="EPISODE_CAMERAS"
        )
    from bpflow.domain.sim.tasks import DEFAULT_KINDS, KINDS

    kinds = tuple(k.strip() for k in (env_str("EPISODE_TASKS", ",".join(DEFAULT_KINDS)) or "").split(",") if k.strip())
    if not kinds or any(k not in KINDS for k in kinds):
        raise ValidationFailed(
            f"EPISODE_TASKS must list task kinds from {list(KINDS)}, not {kinds}", field="EPISODE_TASKS"
        )
    return GenerationConfig(
        task_kinds=kinds,
        episodes_per_task=per_task,
        max_tasks=max_tasks or None,
        fps=env_int("EPISODE_FPS", 25),
        cameras=cameras,
        width=size,
        height=size,
        workers=env_int("BPFLOW_SIM_WORKERS", default_workers()),
        seed=env_int("EPISODE_SEED", 0),
    )


def _main() -> int:
    from bpflow.domain.episodes.generate import generate

    bucket = job_bucket()
    scene = require_env("SCENE_ID")
    assets = env_scene_prefix(scene, "ASSETS_PREFIX", f"scenes/{scene}/assets")
    usd_prefix = env_scene_prefix(scene, "USD_PREFIX", f"scenes/{scene}/usd")
    episodes = env_scene_prefix(scene, "EPISODES_PREFIX", f"scenes/{scene}/episodes")
    config = _config()
    manifest = _manifest(bucket, assets)
    usd_key = f"{usd_prefix}/scene.usda"
    if not bucket.exists(usd_key):
        raise ValidationFailed(f"{usd_key} is missing", code="usd_missing", field="USD_PREFIX")
    tier = env_str("DATA_PACK_TIER", "core")
    extra = {
        "data_pack": {"tier": tier, "bundle_tier": env_str("BUNDLE_TIER", "standard")},
        "data_quality": {"level": env_str("DATA_QUALITY_LEVEL", "production")},
    }
    with Workspace(bucket) as ws:
        ws.fetch_prefix(usd_prefix)
        ws.fetch_prefix(assets)
        out = Path(tempfile.mkdtemp(prefix="episodes-", dir=ws.root))
        lineage = {
            "scene_id": scene,
            "usd": usd_key,
            "manifest": f"{assets}/scene_manifest.json",
            "sim_backend": {"name": "mujoco", "version": _mujoco_version()},
            "generator": "bpflow episode-generation-job",
            "generated_at": iso_z(utc_now()),
        }
        result = generate(ws.path(usd_key), manifest, out, config, lineage=lineage, extra_info=extra, scene_id=scene)
        _clear_previous(bucket, episodes)
        for path in sorted(p for p in out.rglob("*") if p.is_file()):
            rel = path.relative_to(out).as_posix()
            bucket.write(
                f"{episodes}/{rel}",
                path.read_bytes(),
                content_type=CONTENT_TYPES.get(path.suffix, "application/octet-stream"),
            )
    bucket.write_json(f"scenes/{scene}/episode-generation-job/quality_gate_report.json", result["report"])
    s = result["summary"]
    log_json(
        action="episodes_complete",
        scene_id=scene,
        episodes=s["episodes"],
        successful=s["successful"],
        success_rate=s["success_rate"],
        can_proceed=s["quality_gate"]["can_proceed"],
        wall_seconds=s["wall_seconds"],
    )
    return 0


def _clear_previous(bucket: Bucket, episodes: str) -> None:
    """A rerun replaces the last dataset whole: a smaller one must not keep stale episodes."""
    for sub in ("lerobot/", "certificates/"):
        for info in list(bucket.list(f"{episodes}/{sub}")):
            bucket.delete(info.key)


def _mujoco_version() -> str:
    import mujoco

    return str(mujoco.__version__)


def main() -> int:
    return run_main(_main)


if __name__ == "__main__":
    raise SystemExit(main())
