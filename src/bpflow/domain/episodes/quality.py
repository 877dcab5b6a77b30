"""Quality of recorded episodes: per-episode certificates, the stage's gate report and the
production SLIs the ``quality-gate-job`` re-checks from what was written.

An episode is *valid* (``validation_passed``) when the physics judged the task done, every
camera's video decodes to exactly the recorded frame count, and no arm joint left its limits.
``recommended_use``: ``production_training`` for a valid episode without unexpected contacts
(the arm touching anything but the target), ``fine_tuning`` for a valid one with some,
``testing`` otherwise (failed episodes stay in the dataset, labelled, as honest negatives).

The gate (``summary.can_proceed``) blocks on: success rate below ``MIN_SUCCESS_RATE``, any
undecodable video, any frame-count mismatch, any joint-limit violation.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bpflow.state.cas_json import iso_z, utc_now

MIN_SUCCESS_RATE = 0.8
REPORT_VERSION = "1.0"


def write_json(path: Path, body: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(body, indent=2, default=str))


def physics_parameters() -> dict[str, Any]:
    import mujoco

    from bpflow.domain.sim.scene import TIMESTEP

    return {
        "engine": "mujoco",
        "version": mujoco.__version__,
        "timestep_s": TIMESTEP,
        "integrator": "euler",
        "cone": "elliptic",
        "impratio": 10.0,
        "gravity_m_s2": 9.81,
    }


def certificate(outcome: Any, config: Any) -> dict[str, Any]:
    decodable = {k: n == outcome.frames for k, n in outcome.decodable.items()}
    valid = bool(
        outcome.success and all(decodable.values()) and outcome.joint_limit_violations == 0 and outcome.frames > 0
    )
    if valid and outcome.collision_frames == 0:
        use = "production_training"
    elif valid:
        use = "fine_tuning"
    else:
        use = "testing"
    return {
        "episode_index": outcome.index,
        "task_id": outcome.task_id,
        "object_id": outcome.object_id,
        "seed": outcome.seed,
        "validation_passed": valid,
        "recommended_use": use,
        "slis": {
            "task_success": bool(outcome.success),
            "collision_frames": int(outcome.collision_frames),
            "joint_limit_violations": int(outcome.joint_limit_violations),
            "frame_count": int(outcome.frames),
            "expected_fps": config.fps,
            "video_frames_decoded": dict(outcome.decodable),
            "video_decodable": decodable,
        },
        "judgement": outcome.judgement,
        "issued_at": iso_z(utc_now()),
    }


def result(name: str, value: Any, threshold: Any, passed: bool, *, blocking: bool = True) -> dict[str, Any]:
    return {"name": name, "value": value, "threshold": threshold, "passed": bool(passed), "blocking": blocking}


def evaluate(certificates: list[dict[str, Any]], *, min_success_rate: float = MIN_SUCCESS_RATE) -> list[dict[str, Any]]:
    """The production SLIs over a set of certificates (shared by the job and the gate job)."""
    n = len(certificates)
    successes = sum(1 for c in certificates if (c.get("slis") or {}).get("task_success") is True)
    rate = successes / n if n else 0.0
    undecodable = [
        c.get("episode_index")
        for c in certificates
        if not all(((c.get("slis") or {}).get("video_decodable") or {"none": False}).values())
    ]
    limits = sum(int((c.get("slis") or {}).get("joint_limit_violations", 0)) for c in certificates)
    collisions = sum(int((c.get("slis") or {}).get("collision_frames", 0)) for c in certificates)
    return [
        result("episode_count", n, ">= 1", n >= 1),
        result("success_rate", round(rate, 4), f">= {min_success_rate}", rate >= min_success_rate),
        result("video_decodable", {"undecodable_episodes": undecodable}, "all episodes", not undecodable),
        result("joint_limit_violations", limits, "== 0", limits == 0),
        result("collision_frames", collisions, "reported", True, blocking=False),
    ]


def summarize(results: list[dict[str, Any]]) -> dict[str, Any]:
    blocking = [r for r in results if r["blocking"] and not r["passed"]]
    return {
        "can_proceed": not blocking,
        "blocking_failures": len(blocking),
        "failed_checks": [r["name"] for r in blocking],
    }


def gate_report(scene_id: str, outcomes: list[Any], certificates: dict[int, dict[str, Any]]) -> dict[str, Any]:
    results = evaluate(list(certificates.values()))
    successes = sum(1 for o in outcomes if o.success)
    summary = summarize(results)
    summary.update(
        episodes=len(outcomes),
        successful=successes,
        success_rate=round(successes / len(outcomes), 4) if outcomes else 0.0,
    )
    return {
        "report_version": REPORT_VERSION,
        "scene_id": scene_id,
        "timestamp": iso_z(utc_now()),
        "checkpoints": ["EPISODES_RECORDED"],
        "thresholds": {"min_success_rate": MIN_SUCCESS_RATE, "joint_limit_violations": 0, "video_decodable": "all"},
        "results": results,
        "summary": summary,
    }
