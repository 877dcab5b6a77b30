"""Stage 4 domain, end to end on a tiny scene: episodes recorded in MuJoCo, written as LeRobot
v3.0, opened again with pyarrow and PyAV (and with LeRobot itself in .venv-train).

The scene has a light cube the arm can lift and a cube too heavy for it (8 kg): the physics,
not the script, decides which episode succeeded."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest

from bpflow.domain.episodes.generate import EpisodeGenerationError, GenerationConfig, generate
from tests.episodes.checks import check_dataset, lerobot_load
from tests.sim.simscenes import write_scene

CONFIG = GenerationConfig(episodes_per_task=1, cameras=("front", "wrist"), width=64, height=64, workers=1)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("episodes")
    usd, manifest = write_scene(
        tmp / "scene",
        cubes=[{"id": "light", "xy": (0.1, 0.05), "mass": 0.1}, {"id": "heavy", "xy": (-0.2, 0.1), "mass": 8.0}],
    )
    out = tmp / "out"
    result = generate(
        usd,
        manifest,
        out,
        CONFIG,
        lineage={"scene_id": "simtest", "sim_backend": {"name": "mujoco"}},
        extra_info={"data_pack": {"tier": "core"}},
        scene_id="simtest",
    )
    return {"root": out / "lerobot", "out": out, **result}


def test_dataset_opens_with_pyarrow_and_every_frame_decodes_with_pyav(dataset: dict[str, Any]) -> None:
    root: Path = dataset["root"]
    info = check_dataset(root)
    assert info["fps"] == 25 and info["total_episodes"] == 2
    assert (
        info["lineage"]["sim_backend"]["name"] == "mujoco" and info["lineage"]["robot"]["model_license"] == "Apache-2.0"
    )
    assert {"data_pack", "tier_compliance", "data_quality", "splits", "checksums", "lineage"} <= set(info)
    tasks = pq.read_table(root / "meta" / "tasks.parquet").to_pandas()
    assert all("pick up the block" in t for t in tasks.index)
    stats = json.loads((root / "meta" / "stats.json").read_text())
    assert len(stats["observation.state"]["mean"]) == 8 and np.asarray(
        stats["observation.images.front"]["mean"]
    ).shape == (3, 1, 1)


def test_a_grasp_too_heavy_for_the_arm_is_recorded_as_failed(dataset: dict[str, Any]) -> None:
    summary = dataset["summary"]
    by_object = {r["object_id"]: r for r in summary["episode_results"]}
    assert by_object["light"]["success"] is True
    assert by_object["heavy"]["success"] is False and "not lifted" in by_object["heavy"]["reason"]
    certs = {
        json.loads(p.read_text())["object_id"]: json.loads(p.read_text())
        for p in sorted((dataset["out"] / "certificates").glob("*/quality_certificate.json"))
    }
    assert certs["light"]["validation_passed"] is True and certs["light"]["recommended_use"] in (
        "production_training",
        "fine_tuning",
    )
    assert certs["heavy"]["validation_passed"] is False and certs["heavy"]["recommended_use"] == "testing"
    assert all(all(c["slis"]["video_decodable"].values()) for c in certs.values())
    report = dataset["report"]
    assert report["summary"]["success_rate"] == 0.5
    assert report["summary"]["can_proceed"] is False and report["summary"]["blocking_failures"] == 1
    assert report["summary"]["failed_checks"] == ["success_rate"]


def test_lerobot_loads_the_dataset_offline_with_delta_timestamps(dataset: dict[str, Any]) -> None:
    seen = lerobot_load(dataset["root"])
    assert seen["episodes"] == 2 and seen["fps"] == 25
    assert sorted(seen["cameras"]) == ["observation.images.front", "observation.images.wrist"]
    for item in seen["items"]:
        assert item["images"] == {c: [2, 3, 64, 64] for c in seen["cameras"]}


def test_a_scene_without_a_pickable_object_is_refused(tmp_path: Path) -> None:
    usd, manifest = write_scene(tmp_path, cubes=[{"id": "crate", "xy": (0.0, 0.0), "size": 0.2}])
    with pytest.raises(EpisodeGenerationError) as err:
        generate(usd, manifest, tmp_path / "out", CONFIG, lineage={}, extra_info={}, scene_id="simtest")
    assert err.value.code == "no_pickable_objects" and "wider than the gripper" in err.value.message
    assert not (tmp_path / "out" / "lerobot" / "meta" / "info.json").exists()


def test_parallel_workers_record_the_same_episodes_as_one(tmp_path: Path) -> None:
    """Deterministic for a seed: the work split over two spawned workers gives the very same
    states and actions as one process."""
    usd, manifest = write_scene(
        tmp_path / "scene", cubes=[{"id": "a", "xy": (0.1, 0.05)}, {"id": "b", "xy": (-0.15, -0.1), "size": 0.04}]
    )
    tables = {}
    for workers in (1, 2):
        config = GenerationConfig(episodes_per_task=1, cameras=("front",), width=32, height=32, workers=workers)
        summary = generate(
            usd, manifest, tmp_path / f"w{workers}", config, lineage={}, extra_info={}, scene_id="simtest"
        )["summary"]
        assert summary["workers"] == workers and summary["episodes"] == 2
        tables[workers] = pq.read_table(
            tmp_path / f"w{workers}" / "lerobot" / "data" / "chunk-000" / "file-000.parquet"
        )
    for key in ("observation.state", "action", "episode_index", "frame_index"):
        assert tables[1].column(key).to_pylist() == tables[2].column(key).to_pylist(), key


def test_an_open_drawer_is_pushed_shut_and_judged_by_its_joint(tmp_path: Path) -> None:
    from bpflow.domain.episodes.recorder import RecordConfig, Recorder
    from bpflow.domain.sim.workcell import load_workcell

    usd, manifest = write_scene(tmp_path, cubes=[], drawer=True, table=False)
    # the arm stands where the drawer is its work, clear of its whole travel (mounted for a cube
    # on a table in front of the cabinet, the hand would reach into its own pedestal: refused)
    sim, tasks, _ = load_workcell(usd, manifest, kinds=("close_drawer",))
    assert [t.kind for t in tasks] == ["close_drawer"] and sim.mount["target_ids"] == ["drawers"]
    record = Recorder(sim, RecordConfig(render=False, cameras=())).run(tasks[0], 0)
    joint = sim.joint_by_name(str(tasks[0].joint))
    assert record.initial_pose[0] < -0.2  # it started well open …
    assert record.judgement.success, record.judgement.reason
    assert abs(sim.joint_value(joint)) <= 0.015  # … and the physics shows it shut
