"""quality-gate-job: re-evaluate the production SLIs of a scene's episodes from what is stored.

Env: ``BUCKET``, ``SCENE_ID``, ``EPISODES_PREFIX``; ``MIN_SUCCESS_RATE`` (default 0.8).
It trusts nothing the generation job concluded: it reads every
``certificates/*/quality_certificate.json``, checks the dataset's ``meta/info.json`` says
``codebase_version: "v3.0"`` and that its episode and frame counts match the certificates,
and decodes every video again (frame count = the episode's length). Exit 0 when every blocking
SLI holds, 1 when one does not (the verdict goes to ``episodes/quality_gate_verdict.json``),
2 for bad input (no episodes, no dataset).
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from bpflow.core.errors import ValidationFailed
from bpflow.core.jobkit import EXIT_FAILED, env_scene_prefix, env_str, job_bucket, log_json, require_env, run_main
from bpflow.state.cas_json import iso_z, utc_now


def _min_rate() -> float:
    raw = env_str("MIN_SUCCESS_RATE", "0.8") or "0.8"
    try:
        value = float(raw)
    except ValueError:
        raise ValidationFailed(
            f"MIN_SUCCESS_RATE must be a number in 0..1, not {raw!r}", field="MIN_SUCCESS_RATE"
        ) from None
    if not 0.0 <= value <= 1.0:
        raise ValidationFailed(f"MIN_SUCCESS_RATE must be in 0..1, not {value}", field="MIN_SUCCESS_RATE")
    return value


def _main() -> int:
    from bpflow.domain.episodes import quality
    from bpflow.domain.episodes.generate import DATASET_DIR, count_frames

    bucket = job_bucket()
    scene = require_env("SCENE_ID")
    episodes = env_scene_prefix(scene, "EPISODES_PREFIX", f"scenes/{scene}/episodes")
    min_rate = _min_rate()
    certs: list[dict[str, Any]] = []
    for info in bucket.list(f"{episodes}/certificates/"):
        if info.key.endswith("/quality_certificate.json"):
            try:
                certs.append(json.loads(bucket.read(info.key)))
            except ValueError:
                certs.append({"episode_index": info.key, "slis": {}})
    if not certs:
        raise ValidationFailed(
            f"no quality certificates under {episodes}/certificates/", code="episodes_missing", field="EPISODES_PREFIX"
        )
    info_key = f"{episodes}/{DATASET_DIR}/meta/info.json"
    if not bucket.exists(info_key):
        raise ValidationFailed(f"{info_key} is missing", code="dataset_missing", field="EPISODES_PREFIX")
    info = json.loads(bucket.read(info_key))
    results = quality.evaluate(certs, min_success_rate=min_rate)
    version_ok = info.get("codebase_version") == "v3.0"
    counts_ok = info.get("total_episodes") == len(certs) and info.get("total_frames") == sum(
        int((c.get("slis") or {}).get("frame_count", 0)) for c in certs
    )
    results.append(quality.result("dataset_format", info.get("codebase_version"), "v3.0", version_ok))
    results.append(
        quality.result(
            "dataset_counts",
            {"episodes": info.get("total_episodes"), "frames": info.get("total_frames")},
            "matches the certificates",
            counts_ok,
        )
    )
    bad_videos = []
    with tempfile.TemporaryDirectory(prefix="quality-gate-") as tmp:
        for obj in bucket.list(f"{episodes}/{DATASET_DIR}/videos/"):
            if not obj.key.endswith(".mp4"):
                continue
            local = Path(tmp) / "v.mp4"
            local.write_bytes(bucket.read(obj.key))
            episode = int(obj.key.rsplit("file-", 1)[1].split(".")[0])
            want = next(
                (int((c.get("slis") or {}).get("frame_count", -1)) for c in certs if c.get("episode_index") == episode),
                -1,
            )
            if count_frames(local) != want:
                bad_videos.append(obj.key)
    results.append(quality.result("videos_redecoded", {"bad": bad_videos}, "every frame decodes", not bad_videos))
    summary = quality.summarize(results)
    verdict = {
        "scene_id": scene,
        "timestamp": iso_z(utc_now()),
        "min_success_rate": min_rate,
        "results": results,
        "summary": summary,
    }
    bucket.write_json(f"{episodes}/quality_gate_verdict.json", verdict)
    log_json(action="quality_gate", scene_id=scene, **summary)
    return 0 if summary["can_proceed"] else EXIT_FAILED


def main() -> int:
    return run_main(_main)


if __name__ == "__main__":
    raise SystemExit(main())
