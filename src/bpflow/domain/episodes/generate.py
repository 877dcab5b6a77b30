"""Stage 4: a scene's USD (+ manifest) → scripted episodes → a LeRobot v3.0 dataset with
per-episode quality certificates and the stage's quality report.

The work is ``episodes_per_task`` episodes for each derived task (seeds ``seed + index``), split
round-robin over ``workers`` processes (spawned: each loads the scene, its IK solver and an
offscreen renderer once, and encodes its own episodes' videos straight into the dataset
folder, so frames never cross processes). One worker runs in this process.

Errors (``EpisodeGenerationError`` with a code and a field): ``no_pickable_objects`` when the
scene offers no task, plus whatever the scene loader raises (``usd_unreadable``,
``unreachable_objects`` …).
"""

from __future__ import annotations

import multiprocessing
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bpflow.core.errors import ValidationFailed

FEATURES = {
    "observation.state": {
        "shape": [8],
        "names": ["joint1", "joint2", "joint3", "joint4", "joint5", "joint6", "joint7", "gripper"],
    },
    "observation.velocity": {
        "shape": [8],
        "names": ["joint1", "joint2", "joint3", "joint4", "joint5", "joint6", "joint7", "gripper"],
    },
    "observation.ee_pose": {"shape": [7], "names": ["x", "y", "z", "qw", "qx", "qy", "qz"]},
    "action": {
        "shape": [8],
        "names": ["joint1", "joint2", "joint3", "joint4", "joint5", "joint6", "joint7", "gripper"],
    },
}
DATASET_DIR = "lerobot"


class EpisodeGenerationError(ValidationFailed):
    code = "episode_generation_failed"


@dataclass
class GenerationConfig:
    episodes_per_task: int = 10
    max_tasks: int | None = None
    fps: int = 25
    cameras: tuple[str, ...] = ("front", "wrist")
    width: int = 128
    height: int = 128
    workers: int = 1
    seed: int = 0
    render: bool = True
    task_kinds: tuple[str, ...] = ("pick_place",)
    object_ids: tuple[str, ...] | None = None
    """Only the tasks on these objects (a Genie Sim bundle's tasks); one the scene cannot offer is an error."""


@dataclass
class EpisodeOutcome:
    index: int
    task_id: str
    task: str
    object_id: str
    seed: int
    frames: int
    success: bool
    judgement: dict[str, Any]
    collision_frames: int
    joint_limit_violations: int
    wall_seconds: float
    initial_pose: list[float]
    videos: dict[str, str]
    video_info: dict[str, dict[str, Any]]
    decodable: dict[str, int]
    first_contact: dict[str, str] | None = None
    columns: dict[str, np.ndarray] = field(repr=False, default_factory=dict)
    image_sample: dict[str, np.ndarray] = field(repr=False, default_factory=dict)


def count_frames(path: Path) -> int:
    """Frames PyAV decodes from a video (0 when it does not open): the decodability SLI."""
    import av

    try:
        with av.open(str(path)) as c:
            return sum(1 for _ in c.decode(video=0))
    except Exception:  # noqa: BLE001 - any decoder failure means "not decodable"
        return 0


def _run_batch(
    usd: str,
    manifest: dict[str, Any] | None,
    target_ids: list[str] | None,
    items: list[tuple[int, Any, int]],
    dataset: str,
    config: GenerationConfig,
) -> list[EpisodeOutcome]:
    from bpflow.domain.episodes.lerobot_writer import encode_video, video_relpath
    from bpflow.domain.episodes.recorder import RecordConfig, Recorder
    from bpflow.domain.sim import load_scene

    sim = load_scene(usd, manifest, robot=True, target_ids=target_ids)
    rec = Recorder(
        sim,
        RecordConfig(
            fps=config.fps, cameras=config.cameras, width=config.width, height=config.height, render=config.render
        ),
    )
    out = []
    try:
        for index, task, seed in items:
            r = rec.run(task, seed)
            videos, infos, decodable, sample = {}, {}, {}, {}
            for key, frames in r.images.items():
                rel = video_relpath(key, index)
                infos[key] = encode_video(frames, Path(dataset) / rel, config.fps)
                videos[key] = rel
                decodable[key] = count_frames(Path(dataset) / rel)
                sample[key] = frames[:: max(1, len(frames) // 8)]
            out.append(
                EpisodeOutcome(
                    index=index,
                    task_id=task.task_id,
                    task=task.description,
                    object_id=task.object_id,
                    seed=seed,
                    frames=r.frames,
                    success=r.judgement.success,
                    judgement=r.judgement.to_dict(),
                    collision_frames=r.collision_frames,
                    joint_limit_violations=r.joint_limit_violations,
                    wall_seconds=round(r.wall_seconds, 3),
                    initial_pose=r.initial_pose,
                    videos=videos,
                    video_info=infos,
                    decodable=decodable,
                    first_contact=r.first_contact,
                    columns={
                        "observation.state": r.state,
                        "observation.velocity": r.velocity,
                        "observation.ee_pose": r.ee_pose,
                        "action": r.action,
                    },
                    image_sample=sample,
                )
            )
    finally:
        rec.close()
    return out


def _batch_entry(args: tuple[Any, ...]) -> list[EpisodeOutcome]:
    return _run_batch(*args)


def plan_work(
    tasks: list[Any], skipped: dict[str, str], config: GenerationConfig
) -> tuple[list[Any], dict[str, str], list[tuple[int, Any, int]]]:
    """The derived tasks kept for this run, why other objects got none, and the episode list
    ``(index, task, seed)``."""
    if config.object_ids is not None:
        offered = {t.object_id for t in tasks}
        missing = [o for o in config.object_ids if o not in offered]
        if missing:
            why = "; ".join(f"{o}: {skipped.get(o, 'not in the scene')}" for o in missing)
            raise EpisodeGenerationError(
                f"tasks the scene cannot offer ({why})", code="task_not_executable", field="suggested_tasks"
            )
        tasks = [t for t in tasks if t.object_id in config.object_ids]
    elif config.max_tasks is not None:
        tasks = tasks[: config.max_tasks]
    if not tasks:
        why = "; ".join(f"{k}: {v}" for k, v in sorted(skipped.items())) or "the scene has no movable object"
        raise EpisodeGenerationError(
            f"no pickable object the arm can work on ({why})", code="no_pickable_objects", field="objects"
        )
    items: list[tuple[int, Any, int]] = []
    for t_i, task in enumerate(tasks):
        for e in range(config.episodes_per_task):
            items.append((len(items), task, config.seed + 1000 * t_i + e))
    return tasks, skipped, items


def run_episodes(
    usd: Path, manifest: dict[str, Any] | None, dataset: Path, config: GenerationConfig
) -> tuple[list[Any], dict[str, str], list[EpisodeOutcome], dict[str, Any]]:
    """Mount the arm where it has feasible tasks (``workcell``), record every episode (in
    parallel), return tasks, outcomes and the mount."""
    from bpflow.domain.sim.workcell import load_workcell

    limit = config.max_tasks if config.object_ids is None else None  # a bundle's tasks: the export's choice
    sim, derived, skipped = load_workcell(usd, manifest, seed=config.seed, kinds=config.task_kinds, max_tasks=limit)
    tasks, skipped, items = plan_work(derived, skipped, config)
    mount = {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in sim.mount.items()}
    target_ids = list(sim.mount["target_ids"])
    del sim
    workers = max(1, min(config.workers, len(items)))
    batches = [items[w::workers] for w in range(workers)]
    args = [(str(usd), manifest, target_ids, b, str(dataset), config) for b in batches]
    if workers == 1:
        results = [_batch_entry(args[0])]
    else:
        ctx = multiprocessing.get_context("spawn")
        with ctx.Pool(workers) as pool:
            results = pool.map(_batch_entry, args)
    outcomes = sorted((o for batch in results for o in batch), key=lambda o: o.index)
    return tasks, skipped, outcomes, mount


def default_workers() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def generate(
    usd: Path,
    manifest: dict[str, Any] | None,
    out_dir: Path,
    config: GenerationConfig,
    *,
    lineage: dict[str, Any],
    extra_info: dict[str, Any],
    scene_id: str,
) -> dict[str, Any]:
    """Everything under ``out_dir``: ``lerobot/`` (the dataset), ``certificates/``, ``summary``.

    Returns the summary (also the body of ``episodes_summary.json``) with the quality report."""
    from bpflow.domain.episodes import quality
    from bpflow.domain.episodes.lerobot_writer import EpisodeData, write_dataset
    from bpflow.domain.sim.robot import PROVENANCE

    started = time.monotonic()
    dataset = out_dir / DATASET_DIR
    tasks, skipped, outcomes, mount = run_episodes(usd, manifest, dataset, config)
    certificates = {o.index: quality.certificate(o, config) for o in outcomes}
    report = quality.gate_report(scene_id, outcomes, certificates)
    episodes = [
        EpisodeData(
            o.index,
            o.task,
            o.columns,
            o.videos,
            {"success": bool(o.success), "task_id": o.task_id, "seed": int(o.seed)},
        )
        for o in outcomes
    ]
    video_info = outcomes[0].video_info if outcomes else {}
    sample = {k: np.concatenate([o.image_sample[k] for o in outcomes if k in o.image_sample]) for k in video_info}
    successes = sum(1 for o in outcomes if o.success)
    tier = (
        (extra_info.get("data_pack") or {}).get("tier", "core")
        if isinstance(extra_info.get("data_pack"), dict)
        else "core"
    )
    info_extra = {
        "data_pack": {"tier": tier},
        "tier_compliance": {
            "tier": tier,
            "episodes_per_variation": config.episodes_per_task,
            "cameras": list(video_info),
            "image_size": [config.height, config.width],
            "fps": config.fps,
        },
        **extra_info,
        "data_quality": {
            "level": extra_info.get("data_quality", {}).get("level", "production")
            if isinstance(extra_info.get("data_quality"), dict)
            else "production",
            "success_rate": round(successes / len(outcomes), 4),
            "episodes_validated": sum(1 for c in certificates.values() if c["validation_passed"]),
            "quality_gate": report["summary"],
        },
        "lineage": {
            **lineage,
            "robot": PROVENANCE,
            "physics": quality.physics_parameters(),
            "quality_gates": report["thresholds"],
        },
    }
    write_dataset(
        dataset,
        episodes,
        fps=config.fps,
        features=FEATURES,
        video_info=video_info,
        image_sample=sample,
        robot_type="franka_panda",
        extra_info=info_extra,
    )
    for o in outcomes:
        quality.write_json(
            out_dir / "certificates" / f"episode_{o.index:06d}" / "quality_certificate.json", certificates[o.index]
        )
    summary = {
        "scene_id": scene_id,
        "dataset": DATASET_DIR,
        "codebase_version": "v3.0",
        "episodes": len(outcomes),
        "successful": successes,
        "success_rate": round(successes / len(outcomes), 4),
        "tasks": [t.to_dict() for t in tasks],
        "skipped_objects": skipped,
        "mount": mount,
        "episodes_per_task": config.episodes_per_task,
        "workers": max(1, min(config.workers, len(outcomes))),
        "fps": config.fps,
        "cameras": list(video_info),
        "wall_seconds": round(time.monotonic() - started, 3),
        "episode_results": [
            {
                "episode_index": o.index,
                "task_id": o.task_id,
                "object_id": o.object_id,
                "seed": o.seed,
                "success": o.success,
                "reason": o.judgement.get("reason"),
                "collision_frames": o.collision_frames,
                "first_contact": o.first_contact,
                "frames": o.frames,
                "videos": o.videos,
                "wall_seconds": o.wall_seconds,
            }
            for o in outcomes
        ],
        "quality_gate": report["summary"],
    }
    quality.write_json(out_dir / "episodes_summary.json", summary)
    return {"summary": summary, "report": report}
