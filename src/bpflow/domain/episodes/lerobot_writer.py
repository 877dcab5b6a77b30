"""Write a LeRobot v3.0 dataset with pyarrow and PyAV (no torch), in the layout LeRobot reads:

* ``meta/info.json`` — ``codebase_version: "v3.0"``, fps, features (dtype, shape, names;
  video features with their ``info``), chunking, ``data_path``/``video_path`` templates,
  splits; plus bpflow's fields (``data_pack``, ``tier_compliance``, ``data_quality``,
  ``checksums``, ``lineage``) passed in by the caller;
* ``meta/stats.json`` — min/max/mean/std/count (and quantiles) per numeric feature, and per
  camera over a frame sample (values in [0, 1], shape (3, 1, 1), as LeRobot normalises);
* ``meta/tasks.parquet`` — the task strings as the index, ``task_index`` column;
* ``meta/episodes/chunk-000/file-000.parquet`` — one row per episode: length, tasks, where its
  rows and video segments are (``dataset_from_index``/``to_index``, ``data/*``, ``videos/*``);
* ``data/chunk-000/file-000.parquet`` — one row per frame (fixed-size float32 lists);
* ``videos/<camera key>/chunk-000/file-<episode>.mp4`` — one H.264 (yuv420p) file per episode
  and camera, written by :func:`encode_video` (workers call it, so frames never travel between
  processes). H.264 decodes in PyAV, LeRobot's ``pyav`` backend and browsers alike.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, Final

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

CODEBASE_VERSION = "v3.0"
CHUNK = "chunk-{chunk_index:03d}/file-{file_index:03d}"
DATA_PATH = "data/" + CHUNK + ".parquet"
VIDEO_PATH = "videos/{video_key}/" + CHUNK + ".mp4"
EPISODES_PATH = "meta/episodes/" + CHUNK + ".parquet"
CODEC: Final = "h264"  # a literal, so PyAV types the stream as a video stream
PIX_FMT = "yuv420p"
CRF = "23"


@dataclass
class EpisodeData:
    """One episode as the writer needs it: numeric columns, its task and its video files."""

    index: int
    task: str
    columns: dict[str, np.ndarray]  # feature key → (frames, dim) float32
    videos: dict[str, str] = field(default_factory=dict)  # camera key → path relative to root
    extra: dict[str, Any] = field(default_factory=dict)  # extra per-episode columns (success …)

    @property
    def length(self) -> int:
        return int(next(iter(self.columns.values())).shape[0])


def video_relpath(key: str, episode_index: int) -> str:
    return VIDEO_PATH.format(video_key=key, chunk_index=0, file_index=episode_index)


def encode_video(frames: np.ndarray, path: Path, fps: int) -> dict[str, Any]:
    """Encode (N, H, W, 3) uint8 frames; returns the video ``info`` LeRobot keeps per feature."""
    import av

    path.parent.mkdir(parents=True, exist_ok=True)
    n, h, w, _ = frames.shape
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream(CODEC, rate=Fraction(fps, 1))
        stream.width, stream.height, stream.pix_fmt = w, h, PIX_FMT
        stream.options = {"crf": CRF, "preset": "veryfast", "g": "2"}
        for i in range(n):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(frames[i]), format="rgb24")
            frame.pts = i
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return {
        "video.height": h,
        "video.width": w,
        "video.codec": CODEC,
        "video.pix_fmt": PIX_FMT,
        "video.is_depth_map": False,
        "video.fps": fps,
        "video.channels": 3,
        "has_audio": False,
    }


def _stats(values: np.ndarray) -> dict[str, Any]:
    v = values.astype(np.float64)
    out: dict[str, Any] = {
        "min": v.min(axis=0).tolist(),
        "max": v.max(axis=0).tolist(),
        "mean": v.mean(axis=0).tolist(),
        "std": v.std(axis=0).tolist(),
        "count": [int(v.shape[0])],
    }
    for q in (1, 10, 50, 90, 99):
        out[f"q{q:02d}"] = np.percentile(v, q, axis=0).tolist()
    return out


def image_stats(frames: np.ndarray) -> dict[str, Any]:
    """Per-channel stats over a frame sample, in [0, 1], shaped (3, 1, 1) like LeRobot's."""
    px = frames.reshape(-1, 3).astype(np.float64) / 255.0
    base = _stats(px)
    shaped: dict[str, Any] = {k: [[[x]] for x in v] for k, v in base.items() if k != "count"}
    shaped["count"] = [int(frames.shape[0])]
    return shaped


def _fixed(values: np.ndarray) -> pa.Array:
    n, dim = values.shape
    flat = pa.array(values.astype(np.float32).reshape(-1), type=pa.float32())
    return pa.FixedSizeListArray.from_arrays(flat, dim)


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def write_dataset(
    root: Path,
    episodes: list[EpisodeData],
    *,
    fps: int,
    features: dict[str, dict[str, Any]],
    video_info: dict[str, dict[str, Any]],
    image_sample: dict[str, np.ndarray],
    robot_type: str,
    extra_info: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Write the dataset under ``root`` (videos must already be there); returns ``info``.

    ``features``: numeric feature key → ``{"shape": [d], "names": [...]}``; ``video_info``:
    camera key → the dict :func:`encode_video` returned; ``image_sample``: camera key → a few
    frames for the image stats."""
    if not episodes:
        raise ValueError("a dataset needs at least one episode")
    episodes = sorted(episodes, key=lambda e: e.index)
    if [e.index for e in episodes] != list(range(len(episodes))):
        raise ValueError("episode indices must be 0..N-1")
    tasks = sorted({e.task for e in episodes})
    task_index = {t: i for i, t in enumerate(tasks)}

    # data
    cols: dict[str, list[np.ndarray]] = {k: [] for k in features}
    ts, fi, ei, ti = [], [], [], []
    for e in episodes:
        for k in features:
            cols[k].append(np.asarray(e.columns[k], dtype=np.float32))
        ts.append(np.arange(e.length, dtype=np.float32) / np.float32(fps))
        fi.append(np.arange(e.length, dtype=np.int64))
        ei.append(np.full(e.length, e.index, dtype=np.int64))
        ti.append(np.full(e.length, task_index[e.task], dtype=np.int64))
    total = int(sum(e.length for e in episodes))
    arrays = {k: _fixed(np.concatenate(v)) for k, v in cols.items()}
    arrays.update(
        timestamp=pa.array(np.concatenate(ts), type=pa.float32()),
        frame_index=pa.array(np.concatenate(fi), type=pa.int64()),
        episode_index=pa.array(np.concatenate(ei), type=pa.int64()),
        index=pa.array(np.arange(total, dtype=np.int64), type=pa.int64()),
        task_index=pa.array(np.concatenate(ti), type=pa.int64()),
    )
    data_path = root / DATA_PATH.format(chunk_index=0, file_index=0)
    data_path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table(arrays), data_path)

    # episodes
    rows: dict[str, list[Any]] = {
        "episode_index": [],
        "tasks": [],
        "length": [],
        "data/chunk_index": [],
        "data/file_index": [],
        "dataset_from_index": [],
        "dataset_to_index": [],
    }
    for key in video_info:
        for suffix in ("chunk_index", "file_index", "from_timestamp", "to_timestamp"):
            rows[f"videos/{key}/{suffix}"] = []
    rows["meta/episodes/chunk_index"], rows["meta/episodes/file_index"] = [], []
    extra_keys = sorted({k for e in episodes for k in e.extra})
    for k in extra_keys:
        rows[k] = []
    start = 0
    for e in episodes:
        rows["episode_index"].append(e.index)
        rows["tasks"].append([e.task])
        rows["length"].append(e.length)
        rows["data/chunk_index"].append(0)
        rows["data/file_index"].append(0)
        rows["dataset_from_index"].append(start)
        rows["dataset_to_index"].append(start + e.length)
        start += e.length
        for key in video_info:
            if key not in e.videos:
                raise ValueError(f"episode {e.index} has no video for {key}")
            rows[f"videos/{key}/chunk_index"].append(0)
            rows[f"videos/{key}/file_index"].append(e.index)
            rows[f"videos/{key}/from_timestamp"].append(0.0)
            rows[f"videos/{key}/to_timestamp"].append(e.length / fps)
        rows["meta/episodes/chunk_index"].append(0)
        rows["meta/episodes/file_index"].append(0)
        for k in extra_keys:
            rows[k].append(e.extra.get(k))
    ep_path = root / EPISODES_PATH.format(chunk_index=0, file_index=0)
    ep_path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table(rows), ep_path)

    # tasks
    import pandas as pd

    pd.DataFrame({"task_index": list(range(len(tasks)))}, index=pd.Index(tasks)).to_parquet(
        root / "meta" / "tasks.parquet"
    )

    # stats
    stats: dict[str, Any] = {k: _stats(np.concatenate(v)) for k, v in cols.items()}
    for name, arr in (
        ("timestamp", np.concatenate(ts)),
        ("frame_index", np.concatenate(fi)),
        ("episode_index", np.concatenate(ei)),
        ("index", np.arange(total)),
        ("task_index", np.concatenate(ti)),
    ):
        stats[name] = _stats(arr.reshape(-1, 1))
    for key, frames in image_sample.items():
        stats[key] = image_stats(frames)
    (root / "meta" / "stats.json").write_text(json.dumps(stats, indent=1))

    # info
    feats: dict[str, Any] = {}
    for key, f in features.items():
        feats[key] = {"dtype": "float32", "shape": list(f["shape"]), "names": f.get("names")}
    for key, vinfo in video_info.items():
        feats[key] = {
            "dtype": "video",
            "shape": [vinfo["video.height"], vinfo["video.width"], 3],
            "names": ["height", "width", "channels"],
            "info": vinfo,
        }
    for key in ("timestamp",):
        feats[key] = {"dtype": "float32", "shape": [1], "names": None}
    for key in ("frame_index", "episode_index", "index", "task_index"):
        feats[key] = {"dtype": "int64", "shape": [1], "names": None}
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.name != "info.json")
    info: dict[str, Any] = {
        "codebase_version": CODEBASE_VERSION,
        "robot_type": robot_type,
        "total_episodes": len(episodes),
        "total_frames": total,
        "total_tasks": len(tasks),
        "chunks_size": 1000,
        "data_files_size_in_mb": 100,
        "video_files_size_in_mb": 200,
        "fps": fps,
        "splits": {"train": f"0:{len(episodes)}"},
        "data_path": DATA_PATH,
        "video_path": VIDEO_PATH if video_info else None,
        "features": feats,
        "checksums": {"algorithm": "sha256", "files": {str(p.relative_to(root)): sha256(p) for p in files}},
    }
    info.update(extra_info or {})
    (root / "meta" / "info.json").write_text(json.dumps(info, indent=2))
    return info
