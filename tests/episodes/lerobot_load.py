"""Run in .venv-train (LeRobot installed): open a bpflow dataset with LeRobot, offline, and read
frames with delta_timestamps. Prints one JSON line with what it saw; exits non-zero on failure.

Usage: python lerobot_load.py DATASET_ROOT
"""

import json
import os
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

from lerobot.datasets.lerobot_dataset import LeRobotDataset  # noqa: E402


def main(root: str) -> int:
    probe = LeRobotDataset("local/bpflow", root=root, video_backend="pyav")
    fps = probe.fps
    cams = list(probe.meta.video_keys)
    delta = {"observation.state": [-1 / fps, 0.0], "action": [0.0, 1 / fps, 2 / fps]}
    for cam in cams:
        delta[cam] = [-1 / fps, 0.0]
    ds = LeRobotDataset("local/bpflow", root=root, delta_timestamps=delta, video_backend="pyav")
    out = {
        "episodes": ds.num_episodes,
        "frames": ds.num_frames,
        "fps": fps,
        "cameras": cams,
        "codebase_version": ds.meta.info["codebase_version"],
    }
    for i in (0, len(ds) // 2, len(ds) - 1):
        item = ds[i]
        out.setdefault("items", []).append(
            {
                "index": i,
                "state": list(item["observation.state"].shape),
                "action": list(item["action"].shape),
                "images": {c: list(item[c].shape) for c in cams},
                "image_mean": {c: float(item[c].float().mean()) for c in cams},
                "image_std": {c: float(item[c].float().std()) for c in cams},
                "task": item["task"],
            }
        )
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1]))
