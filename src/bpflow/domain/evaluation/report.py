"""``evaluation/report.json``: the policy beside the scripted expert, per task and overall."""

from __future__ import annotations

from statistics import mean
from typing import Any


def _rate(xs: list[bool]) -> float:
    return round(sum(xs) / len(xs), 4) if xs else 0.0


def build_report(
    scene: str,
    model: str,
    task_source: str,
    results: list[dict[str, Any]],
    *,
    policy_info: dict[str, Any],
    fps: int,
    trials_per_task: int,
    finished_at: str,
) -> dict[str, Any]:
    tasks: dict[str, dict[str, Any]] = {}
    for r in results:
        task, p, e = r["task"], r["policy"], r["expert"]
        row = tasks.setdefault(
            task.task_id,
            {"task_id": task.task_id, "description": task.description, "object_id": task.object_id, "trials": []},
        )
        row["trials"].append(
            {
                "seed": p.seed,
                "success": p.success,
                "frames": p.frames,
                "seconds": round(p.frames / fps, 2),
                "reason": p.reason,
                "expert_success": e.success,
                "expert_frames": e.frames,
                "video": r["video"],
                "wall_seconds": round(p.wall_seconds, 3),
            }
        )
    for row in tasks.values():
        t = row["trials"]
        row["success_rate"] = _rate([x["success"] for x in t])
        row["expert_success_rate"] = _rate([x["expert_success"] for x in t])
        row["mean_episode_frames"] = round(mean(x["frames"] for x in t), 1)
        ok = [x["frames"] for x in t if x["success"]]
        row["mean_success_frames"] = round(mean(ok), 1) if ok else None
        row["expert_mean_episode_frames"] = round(mean(x["expert_frames"] for x in t), 1)
        row["videos"] = [x["video"] for x in t if x["video"]]
    every = [x for row in tasks.values() for x in row["trials"]]
    return {
        "scene_id": scene,
        "model_path": model,
        "policy_type": policy_info.get("type"),
        "policy_inputs": policy_info.get("inputs"),
        "task_source": task_source,
        "trials_per_task": trials_per_task,
        "trials": len(every),
        "fps": fps,
        "success_rate": _rate([x["success"] for x in every]),
        "expert_success_rate": _rate([x["expert_success"] for x in every]),
        "mean_episode_seconds": round(mean(x["seconds"] for x in every), 2) if every else None,
        "mean_trial_wall_seconds": round(mean(x["wall_seconds"] for x in every), 3) if every else None,
        "judged_by": "physics: lifted ≥ 5 cm, within 5 cm of the place spot, on the surface, at rest (domain.sim.skills.judge_pick_place)",
        "tasks": list(tasks.values()),
        "finished_at": finished_at,
    }
