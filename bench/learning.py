"""Learning-loop benchmarks (printed, and merged into bench/results.json under "learning").

``python -m bench.learning --quick`` (part of ``make bench``):
- train_step_s: seconds per LeRobot optimizer step, CPU, the demo's policy config (CPU-sized ACT,
  batch 8, two 128² cameras), median over the logged steps after the first;
- eval_episode_s: wall seconds per closed-loop evaluation trial (policy served from
  .venv-train, MuJoCo scene, rendering both cameras), mean over the trials.

``python -m bench.learning`` (``make bench-learning``): 50 scripted episodes of one
pick-and-place task → ACT trained for BENCH_TRAIN_STEPS (default 3000) → the evaluated success
rate over BENCH_EVAL_TRIALS (default 20) randomised trials, beside the scripted expert's.
The policy acts with the evaluator's inference defaults (``policy_client.INFERENCE_DEFAULTS``:
ACT with temporal ensembling); ``BENCH_EVAL_OVERRIDES`` (JSON, policy type → options) replaces
them, e.g. ``{}`` for the checkpoint's own chunked execution (n_action_steps 10).
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))


def _env_int(name: str, default: int) -> int:
    import os

    return int(os.environ.get(name, default))


def run(quick: bool) -> dict[str, Any]:
    from tests.sim.simscenes import write_scene

    from bpflow.domain.episodes.generate import GenerationConfig, generate
    from bpflow.domain.evaluation.policy_client import INFERENCE_DEFAULTS, PolicyClient
    from bpflow.domain.evaluation.rollout import BUDGET_FACTOR, Evaluator
    from bpflow.domain.sim import load_scene
    from bpflow.domain.sim.tasks import derive_tasks
    from bpflow.domain.training.run import train
    from bpflow.domain.training.settings import TrainSettings

    tmp = Path(tempfile.mkdtemp(prefix="bpflow-bench-learning-"))
    episodes = 4 if quick else _env_int("BENCH_EPISODES", 50)
    steps = 6 if quick else _env_int("BENCH_TRAIN_STEPS", 3000)
    trials = 2 if quick else _env_int("BENCH_EVAL_TRIALS", 20)
    size = _env_int("BENCH_IMAGE_SIZE", 128)
    usd, manifest = write_scene(
        tmp / "scene", scene_id="bench", cubes=[{"id": "block", "xy": (0.1, 0.05), "mass": 0.1}]
    )
    started = time.monotonic()
    cfg = GenerationConfig(
        episodes_per_task=episodes,
        cameras=("front", "wrist"),
        width=size,
        height=size,
        workers=_env_int("BPFLOW_SIM_WORKERS", 2),
    )
    gen = generate(usd, manifest, tmp / "episodes", cfg, lineage={"scene_id": "bench"}, extra_info={}, scene_id="bench")
    out: dict[str, Any] = {
        "episodes": episodes,
        "recorded_success_rate": gen["summary"]["success_rate"],
        "record_s": round(time.monotonic() - started, 1),
        "image_size": size,
    }
    result = train(
        tmp / "episodes" / "lerobot",
        tmp / "train",
        TrainSettings(batch_size=8, max_steps=steps, checkpoint_interval=10**6),
        job_name="bench",
    )
    per_step = [p["update_s"] for p in result.loss_curve[1:] if "update_s" in p] or [
        result.wall_seconds / max(1, steps)
    ]
    out.update(
        train_steps=steps,
        train_step_s=round(statistics.median(per_step), 3),
        train_wall_s=round(result.wall_seconds, 1),
        first_loss=result.loss_curve[0]["loss"] if result.loss_curve else None,
        final_loss=result.loss_curve[-1]["loss"] if result.loss_curve else None,
    )
    sim = load_scene(usd, manifest, robot=True)
    (task,) = [t for t in derive_tasks(sim, seed=0)[0] if t.object_id == "block"]
    raw = os.environ.get("BENCH_EVAL_OVERRIDES")
    overrides = json.loads(raw) if raw is not None else INFERENCE_DEFAULTS
    with PolicyClient(result.final_checkpoint, log_path=tmp / "policy_server.log", overrides=overrides) as policy:
        ev = Evaluator(sim, image_size=(size, size), cameras=["front", "wrist"])
        wanted = set(policy.info["inputs"])
        walls, wins, expert_wins = [], 0, 0
        for k in range(trials):
            expert = ev.expert_trial(task, 50_000 + k)
            t0 = time.monotonic()
            trial = ev.policy_trial(
                policy, task, 50_000 + k, budget=int(expert.frames * BUDGET_FACTOR), keep_video=False, wanted=wanted
            )
            walls.append(time.monotonic() - t0)
            wins += trial.success
            expert_wins += expert.success
        ev.close()
    out.update(
        eval_trials=trials,
        eval_inference=json.dumps(overrides.get(str(policy.info["type"]), {})),
        eval_episode_s=round(statistics.mean(walls), 3),
        success_rate=round(wins / trials, 4),
        expert_success_rate=round(expert_wins / trials, 4),
    )
    return out


def main() -> int:
    quick = "--quick" in sys.argv
    figures = run(quick)
    for k, v in figures.items():
        print(f"{k:>24}: {v}")
    path = HERE / "results.json"
    try:
        doc = json.loads(path.read_text()) if path.exists() else {}
    except ValueError:
        doc = {}
    doc["learning_quick" if quick else "learning"] = figures
    path.write_text(json.dumps(doc, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
