"""Two jobs rendering at once in one process (the in-process runner runs jobs as threads of the
worker): both finish with every frame, and the process lives (it died of a segfault in
``mujoco.Renderer.render`` in the 20-room load test before ``cameras.GL_LOCK``)."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

from bpflow.domain.episodes.generate import GenerationConfig, generate
from tests.sim.simscenes import write_scene


def test_two_threads_render_episodes_at_once(tmp_path: Path) -> None:
    usd, manifest = write_scene(tmp_path / "scene", cubes=[{"id": "a", "xy": (0.1, 0.05)}])
    config = GenerationConfig(episodes_per_task=2, cameras=("front", "wrist"), width=32, height=32, workers=1)
    results: dict[int, Any] = {}

    def job(i: int) -> None:
        try:
            results[i] = generate(
                usd, manifest, tmp_path / f"out{i}", config, lineage={}, extra_info={}, scene_id="simtest"
            )["summary"]
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            results[i] = exc

    threads = [threading.Thread(target=job, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    assert all(isinstance(results.get(i), dict) for i in range(2)), results
    for i in range(2):
        assert results[i]["episodes"] == 2
        certificates = sorted((tmp_path / f"out{i}" / "certificates").glob("*/quality_certificate.json"))
        assert len(certificates) == 2
        for path in certificates:  # every camera's video decodes to the episode's frame count
            slis = json.loads(path.read_text())["slis"]
            assert slis["frame_count"] > 0 and all(slis["video_decodable"].values()), slis
