"""Stage 4 domain, end to end on a tiny scene: episodes recorded in MuJoCo, written as LeRobot
v3.0, opened again with pyarrow and PyAV (and with LeRobot itself in .venv-train).

The scene has a light cube the arm can lift and a cube too heavy for it (8 kg): the physics,
not the script, decides which episode succeeded."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import av
import numpy as np
import pyarrow.parquet as pq
import pytest

from bpflow.domain.episodes.generate import EpisodeGenerationError, GenerationConfig, generate
from tests.conftest import REPO
from tests.services import service_missing
from tests.sim.simscenes import write_scene

CONFIG = GenerationConfig(episodes_per_task=1, cameras=("front", "wrist"), width=64, height=64, workers=1)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("episodes")
    usd, manifest = write_scene(tmp / "scene", cubes=[{"id": "light", "xy": (0.1, 0.05), "mass": 0.1}, {"id": "heavy", "xy": (-0.2, 0.1), "mass": 8.0}])
    out = tmp / "out"
    result = generate(usd, manifest, out, CONFIG, lineage={"scene_id": "simtest", "sim_backend": {"name": "mujoco"}}, extra_info={"data_pack": {"tier": "core"}}, scene_id="simtest")
    return {"root": out / "lerobot", "out": out, **result}


def test_dataset_opens_with_pyarrow_and_every_frame_decodes_with_pyav(dataset: dict[str, Any]) -> None:
    root: Path = dataset["root"]
    info = json.loads((root / "meta" / "info.json").read_text())
    assert info["codebase_version"] == "v3.0" and info["fps"] == 25 and info["total_episodes"] == 2
    assert info["lineage"]["sim_backend"]["name"] == "mujoco" and info["lineage"]["robot"]["model_license"] == "Apache-2.0"
    assert {"data_pack", "tier_compliance", "data_quality", "splits", "checksums", "lineage"} <= set(info)
    data = pq.read_table(root / "data" / "chunk-000" / "file-000.parquet")
    assert data.num_rows == info["total_frames"]
    for key, feat in info["features"].items():
        if feat["dtype"] == "float32" and key != "timestamp":
            column = np.asarray(data.column(key).to_pylist(), dtype=np.float32)
            assert column.shape == (data.num_rows, *feat["shape"]), key
            assert np.isfinite(column).all(), key
    episodes = pq.read_table(root / "meta" / "episodes" / "chunk-000" / "file-000.parquet").to_pylist()
    assert [e["episode_index"] for e in episodes] == [0, 1]
    for ep in episodes:
        assert ep["dataset_to_index"] - ep["dataset_from_index"] == ep["length"]
        for key, feat in info["features"].items():
            if feat["dtype"] != "video":
                continue
            path = root / info["video_path"].format(video_key=key, chunk_index=ep[f"videos/{key}/chunk_index"], file_index=ep[f"videos/{key}/file_index"])
            with av.open(str(path)) as container:
                frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
            assert len(frames) == ep["length"], (key, ep["episode_index"])
            assert frames[0].shape == tuple(feat["shape"])
            assert ep[f"videos/{key}/to_timestamp"] == pytest.approx(ep["length"] / info["fps"])
    tasks = pq.read_table(root / "meta" / "tasks.parquet").to_pandas()
    assert len(tasks) == info["total_tasks"] >= 1 and all("pick up the block" in t for t in tasks.index)
    stats = json.loads((root / "meta" / "stats.json").read_text())
    assert len(stats["observation.state"]["mean"]) == 8 and np.asarray(stats["observation.images.front"]["mean"]).shape == (3, 1, 1)
    for rel, digest in info["checksums"]["files"].items():
        assert len(digest) == 64 and (root / rel).is_file()


def test_a_grasp_too_heavy_for_the_arm_is_recorded_as_failed(dataset: dict[str, Any]) -> None:
    summary = dataset["summary"]
    by_object = {r["object_id"]: r for r in summary["episode_results"]}
    assert by_object["light"]["success"] is True
    assert by_object["heavy"]["success"] is False and "not lifted" in by_object["heavy"]["reason"]
    certs = {
        json.loads(p.read_text())["object_id"]: json.loads(p.read_text())
        for p in sorted((dataset["out"] / "certificates").glob("*/quality_certificate.json"))
    }
    assert certs["light"]["validation_passed"] is True and certs["light"]["recommended_use"] in ("production_training", "fine_tuning")
    assert certs["heavy"]["validation_passed"] is False and certs["heavy"]["recommended_use"] == "testing"
    assert all(all(c["slis"]["video_decodable"].values()) for c in certs.values())
    report = dataset["report"]
    assert report["summary"]["success_rate"] == 0.5
    assert report["summary"]["can_proceed"] is False and report["summary"]["blocking_failures"] == 1
    assert report["summary"]["failed_checks"] == ["success_rate"]


def test_lerobot_loads_the_dataset_offline_with_delta_timestamps(dataset: dict[str, Any]) -> None:
    python = REPO / ".venv-train" / "bin" / "python"
    if not python.exists():
        service_missing("the training venv (.venv-train)", "create it with `make venv-train`")
    proc = subprocess.run([str(python), str(REPO / "tests" / "episodes" / "lerobot_load.py"), str(dataset["root"])], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    seen = json.loads(proc.stdout.strip().splitlines()[-1])
    assert seen["codebase_version"] == "v3.0" and seen["episodes"] == 2 and seen["fps"] == 25
    assert sorted(seen["cameras"]) == ["observation.images.front", "observation.images.wrist"]
    for item in seen["items"]:
        assert item["state"] == [2, 8] and item["action"] == [3, 8]
        assert item["images"] == {c: [2, 3, 64, 64] for c in seen["cameras"]}
        assert all(0.0 < m < 1.0 for m in item["image_mean"].values()), item["image_mean"]
        assert all(s > 0.01 for s in item["image_std"].values()), item["image_std"]  # real renders, not blank frames


def test_a_scene_without_a_pickable_object_is_refused(tmp_path: Path) -> None:
    usd, manifest = write_scene(tmp_path, cubes=[{"id": "crate", "xy": (0.0, 0.0), "size": 0.2}])
    with pytest.raises(EpisodeGenerationError) as err:
        generate(usd, manifest, tmp_path / "out", CONFIG, lineage={}, extra_info={}, scene_id="simtest")
    assert err.value.code == "no_pickable_objects" and "wider than the gripper" in err.value.message
    assert not (tmp_path / "out" / "lerobot" / "meta" / "info.json").exists()
