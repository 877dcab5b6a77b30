"""``make bench`` (Stage 4): robot episode figures on this machine, merged into bench/results.json.

On a small scene (a table and two graspable cubes, built the way the assembly lays scenes out):
- episode_sim_s: one 10 s pick-and-place episode (IK plan + physics), no rendering;
- episode_render_s: the same with two cameras at 128×128 rendered every frame (EGL/llvmpipe);
- episodes_per_min: rendered episodes written as a LeRobot v3.0 dataset per minute, with the
  default worker count (one per core), scene loading and dataset writing included;
- dataset_write_s_per_1000_frames: H.264-encoding two 128² cameras and writing the parquet
  and metadata for 1,000 frames.
Per-episode figures are normalised to 10 s of simulated time.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
TARGET_EPISODES_PER_MIN = 10


def _episode_s(usd: Path, manifest: dict[str, Any], *, render: bool) -> float:
    from bpflow.domain.episodes.recorder import RecordConfig, Recorder
    from bpflow.domain.sim import load_scene
    from bpflow.domain.sim.tasks import derive_tasks

    sim = load_scene(usd, manifest, robot=True)
    sim.reset()
    sim.settle(1.0)
    tasks, _ = derive_tasks(sim)
    rec = Recorder(
        sim, RecordConfig(render=render, cameras=("front", "wrist") if render else (), width=128, height=128)
    )
    rec.run(tasks[0], 0)  # warm-up: the first frames pay for shader and buffer set-up
    t0 = time.monotonic()
    r = rec.run(tasks[0], 1)
    wall = time.monotonic() - t0
    rec.close()
    return round(wall * 10.0 / r.sim_seconds, 3)


def _dataset_write_s(tmp: Path) -> float:
    import numpy as np

    from bpflow.domain.episodes.generate import FEATURES
    from bpflow.domain.episodes.lerobot_writer import EpisodeData, encode_video, video_relpath, write_dataset

    rng = np.random.default_rng(0)
    frames = 1000
    base = rng.integers(0, 255, size=(1, 128, 128, 3), dtype=np.uint8)
    video = np.repeat(base, frames, axis=0)
    video[:, :, :, 0] = (np.arange(frames) % 255)[:, None, None]  # frames that change
    root = tmp / "write-bench"
    t0 = time.monotonic()
    infos = {}
    for cam in ("observation.images.front", "observation.images.wrist"):
        infos[cam] = encode_video(video, root / video_relpath(cam, 0), 25)
    cols = {k: rng.normal(size=(frames, f["shape"][0])).astype(np.float32) for k, f in FEATURES.items()}
    ep = EpisodeData(0, "bench", cols, {cam: video_relpath(cam, 0) for cam in infos})
    write_dataset(
        root,
        [ep],
        fps=25,
        features=FEATURES,
        video_info=infos,
        image_sample={k: video[::100] for k in infos},
        robot_type="franka_panda",
    )
    return round(time.monotonic() - t0, 3)


def main() -> int:
    sys.path.insert(0, str(REPO))
    from tests.sim.simscenes import write_scene

    from bpflow.domain.episodes.generate import GenerationConfig, default_workers, generate

    tmp = Path(tempfile.mkdtemp(prefix="bpflow-episodes-bench-"))
    try:
        usd, manifest = write_scene(
            tmp / "scene", cubes=[{"id": "a", "xy": (0.1, 0.05)}, {"id": "b", "xy": (-0.15, -0.1), "size": 0.04}]
        )
        figures: dict[str, Any] = {
            "episode_sim_s": _episode_s(usd, manifest, render=False),
            "episode_render_s": _episode_s(usd, manifest, render=True),
        }
        workers = default_workers()
        per_task = 4 * workers
        t0 = time.monotonic()
        result = generate(
            usd,
            manifest,
            tmp / "out",
            GenerationConfig(episodes_per_task=per_task, workers=workers),
            lineage={},
            extra_info={},
            scene_id="bench",
        )
        wall = time.monotonic() - t0
        summary = result["summary"]
        figures["episodes_per_min"] = round(summary["episodes"] * 60.0 / wall, 2)
        figures["episodes_bench"] = {
            "episodes": summary["episodes"],
            "workers": workers,
            "wall_s": round(wall, 2),
            "success_rate": summary["success_rate"],
        }
        figures["dataset_write_s_per_1000_frames"] = _dataset_write_s(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    from bench import merge_results

    out = merge_results(figures)
    print(f"{'episode_sim_s':34s} {figures['episode_sim_s']}   (one 10 s episode, no rendering)")
    print(f"{'episode_render_s':34s} {figures['episode_render_s']}   (two cameras at 128x128)")
    print(
        f"{'episodes_per_min':34s} {figures['episodes_per_min']}   (target >= {TARGET_EPISODES_PER_MIN}; {figures['episodes_bench']})"
    )
    print(f"{'dataset_write_s_per_1000_frames':34s} {figures['dataset_write_s_per_1000_frames']}")
    print(f"written to {out}")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("MUJOCO_GL", "egl")
    sys.exit(main())
