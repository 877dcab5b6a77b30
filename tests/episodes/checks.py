"""Opening a LeRobot v3.0 dataset the way a consumer would: pyarrow for the tables, PyAV for
every frame of every video (shapes against ``meta/info.json``), and LeRobot itself in
``.venv-train``. Shared by the dataset, workflow and demo tests."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import av
import numpy as np
import pyarrow.parquet as pq
import pytest

from tests.conftest import REPO
from tests.support.services import service_missing


def check_dataset(root: Path) -> dict[str, Any]:
    """Every table readable, every numeric column finite with its declared shape, every video
    decoding to exactly its episode's length at the declared size; returns ``info``."""
    info = json.loads((root / "meta" / "info.json").read_text())
    assert info["codebase_version"] == "v3.0"
    data = pq.read_table(root / "data" / "chunk-000" / "file-000.parquet")
    assert data.num_rows == info["total_frames"]
    for key, feat in info["features"].items():
        if feat["dtype"] == "float32" and key != "timestamp":
            column = np.asarray(data.column(key).to_pylist(), dtype=np.float32)
            assert column.shape == (data.num_rows, *feat["shape"]), key
            assert np.isfinite(column).all(), key
    episodes = pq.read_table(root / "meta" / "episodes" / "chunk-000" / "file-000.parquet").to_pylist()
    assert [e["episode_index"] for e in episodes] == list(range(info["total_episodes"]))
    for ep in episodes:
        assert ep["dataset_to_index"] - ep["dataset_from_index"] == ep["length"]
        for key, feat in info["features"].items():
            if feat["dtype"] != "video":
                continue
            path = root / info["video_path"].format(
                video_key=key, chunk_index=ep[f"videos/{key}/chunk_index"], file_index=ep[f"videos/{key}/file_index"]
            )
            with av.open(str(path)) as container:
                frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
            assert len(frames) == ep["length"], (key, ep["episode_index"])
            assert frames[0].shape == tuple(feat["shape"])
            assert ep[f"videos/{key}/to_timestamp"] == pytest.approx(ep["length"] / info["fps"])
    tasks = pq.read_table(root / "meta" / "tasks.parquet").to_pandas()
    assert len(tasks) == info["total_tasks"] >= 1
    for rel, digest in info["checksums"]["files"].items():
        assert len(digest) == 64 and (root / rel).is_file()
    return info


def lerobot_load(root: Path) -> dict[str, Any]:
    """What LeRobot (in .venv-train, offline, with delta_timestamps) read from the dataset."""
    python = REPO / ".venv-train" / "bin" / "python"
    if not python.exists():
        service_missing("the training venv (.venv-train)", "create it with `make venv-train`")
    proc = subprocess.run(
        [str(python), str(REPO / "tests" / "episodes" / "lerobot_load.py"), str(root)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    seen: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    assert seen["codebase_version"] == "v3.0"
    for item in seen["items"]:
        assert item["state"] == [2, 8] and item["action"] == [3, 8]
        assert all(0.0 < m < 1.0 for m in item["image_mean"].values()), item["image_mean"]
        assert all(s > 0.01 for s in item["image_std"].values()), item["image_std"]  # real renders, not blank frames
    return seen
