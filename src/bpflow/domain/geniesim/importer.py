"""Import of a Genie Sim job's episodes: validate, score, filter, convert to LeRobot v3.0.

The runtime's raw recording (``raw/``: a LeRobot dataset as recorded plus one quality
certificate per episode) is not what training should see: episodes that failed their task,
broke a joint limit or have undecodable video are dropped here, and the survivors are rewritten
as a dense, re-indexed LeRobot v3.0 dataset with the shared writer.

Quality score of an episode (0..1), from its certificate's SLIs: task success 0.5, no joint
limit violation 0.2, every camera's video decodes to the recorded frame count 0.2, no
collision 0.1. With the default ``MIN_QUALITY_SCORE`` 0.85 an episode must succeed, respect
its joint limits and have sound video; a collision alone does not drop it.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np

WEIGHTS = {"task_success": 0.5, "joint_limits": 0.2, "video": 0.2, "collision_free": 0.1}


def score(cert: dict[str, Any]) -> float:
    slis = slis_doc if isinstance(slis_doc := cert.get("slis"), dict) else {}
    decodable = decodable_doc if isinstance(decodable_doc := slis.get("video_decodable"), dict) else {}
    parts = {
        "task_success": slis.get("task_success") is True,
        "joint_limits": slis.get("joint_limit_violations") == 0,
        "video": bool(decodable) and all(v is True for v in decodable.values()),
        "collision_free": slis.get("collision_frames") == 0,
    }
    return round(sum(WEIGHTS[k] for k, ok in parts.items() if ok), 4)


def _sample_frames(path: Path, n: int = 4) -> np.ndarray:
    import av

    frames = []
    with av.open(str(path)) as c:
        for i, frame in enumerate(c.decode(video=0)):
            if i % 4 == 0:
                frames.append(frame.to_ndarray(format="rgb24"))
            if len(frames) >= n:
                break
    return np.stack(frames)


def convert(raw: Path, dest: Path, *, min_score: float, validate: bool, filter_low: bool) -> dict[str, Any]:
    """``raw`` (the runtime's folder: ``lerobot/``, ``certificates/``) → ``dest`` (a LeRobot
    dataset of the kept episodes). Returns the counts and scores for the import manifest."""
    import pyarrow.parquet as pq

    from bpflow.domain.episodes.generate import FEATURES
    from bpflow.domain.episodes.lerobot_writer import EPISODES_PATH, EpisodeData, video_relpath, write_dataset

    src = raw / "lerobot"
    info = json.loads((src / "meta" / "info.json").read_text())
    episodes_meta = pq.read_table(src / EPISODES_PATH.format(chunk_index=0, file_index=0)).to_pylist()
    data = pq.read_table(src / "data" / "chunk-000" / "file-000.parquet")
    ep_col = np.asarray(data.column("episode_index").to_numpy())
    video_keys = [k for k, f in info["features"].items() if f.get("dtype") == "video"]
    results: list[dict[str, Any]] = []
    kept: list[tuple[int, dict[str, Any]]] = []
    for meta in sorted(episodes_meta, key=lambda m: m["episode_index"]):
        idx = int(meta["episode_index"])
        cert_path = raw / "certificates" / f"episode_{idx:06d}" / "quality_certificate.json"
        problems = []
        cert = json.loads(cert_path.read_text()) if cert_path.is_file() else None
        if cert is None:
            problems.append("quality certificate missing")
        rows = int((ep_col == idx).sum())
        if validate:
            if rows != int(meta["length"]) or rows == 0:
                problems.append(f"{rows} data rows for a recorded length of {meta['length']}")
            for key in video_keys:
                if not (src / video_relpath(key, idx)).is_file():
                    problems.append(f"video {key} missing")
        s = score(cert) if cert is not None else 0.0
        valid = not problems
        keep = valid and (s >= min_score or not filter_low)
        results.append(
            {
                "episode_index": idx,
                "score": s,
                "valid": valid,
                "kept": keep,
                "problems": problems,
                "task": meta["tasks"][0] if meta.get("tasks") else "",
            }
        )
        if keep:
            kept.append((idx, meta))
    out: dict[str, Any] = {
        "results": results,
        "downloaded": len(results),
        "passed_validation": len(kept),
        "failed_validation": sum(1 for r in results if not r["valid"]),
        "filtered_low_quality": sum(1 for r in results if r["valid"] and not r["kept"]),
    }
    scores = [r["score"] for r in results]
    out["quality"] = {
        "average_score": round(float(np.mean(scores)), 4) if scores else 0.0,
        "min_score": min(scores, default=0.0),
        "max_score": max(scores, default=0.0),
        "threshold": min_score,
        "kept_average_score": round(float(np.mean([r["score"] for r in results if r["kept"]])), 4) if kept else 0.0,
    }
    if not kept:
        return out
    if dest.exists():
        shutil.rmtree(dest)
    table = data.to_pydict()
    episodes: list[EpisodeData] = []
    samples: dict[str, list[np.ndarray]] = {k: [] for k in video_keys}
    for new, (old, meta) in enumerate(kept):
        mask = ep_col == old
        columns = {k: np.asarray([v for v, m in zip(table[k], mask) if m], dtype=np.float32) for k in FEATURES}
        videos = {}
        for key in video_keys:
            rel = video_relpath(key, new)
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src / video_relpath(key, old), dest / rel)
            videos[key] = rel
            samples[key].append(_sample_frames(dest / rel))
        extra: dict[str, Any] = {k: meta[k] for k in ("success", "task_id", "seed") if k in meta}
        extra["source_episode_index"] = old
        extra["quality_score"] = next(r["score"] for r in results if r["episode_index"] == old)
        episodes.append(EpisodeData(new, meta["tasks"][0], columns, videos, extra))
    video_info = {k: info["features"][k]["info"] for k in video_keys}
    passthrough = {
        k: v for k, v in info.items() if k in ("data_pack", "tier_compliance", "lineage", "data_quality", "geniesim")
    }
    passthrough["geniesim_import"] = {
        "min_quality_score": min_score,
        "source_episodes": len(results),
        "kept_episodes": len(kept),
    }
    write_dataset(
        dest,
        episodes,
        fps=int(info["fps"]),
        features=FEATURES,
        video_info=video_info,
        image_sample={k: np.concatenate(v) for k, v in samples.items()},
        robot_type=str(info.get("robot_type", "franka_panda")),
        extra_info=passthrough,
    )
    out["lerobot"] = {
        "codebase_version": "v3.0",
        "total_episodes": len(kept),
        "total_frames": int(sum(e.length for e in episodes)),
    }
    return out


def checksums(root: Path) -> dict[str, dict[str, Any]]:
    out = {}
    for p in sorted(q for q in root.rglob("*") if q.is_file()):
        out[p.relative_to(root).as_posix()] = {
            "sha256": hashlib.sha256(p.read_bytes()).hexdigest(),
            "size_bytes": p.stat().st_size,
        }
    return out
