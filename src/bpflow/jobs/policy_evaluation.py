"""policy-evaluation-job: closed-loop evaluation of a trained policy in the scene's simulation.

Env: ``BUCKET``, ``SCENE_ID``, ``MODEL_PATH`` (bucket key of a LeRobot ``pretrained_model/``
folder, under the scene's prefix), ``EVAL_EPISODES`` (trials per task, default 10),
``EVAL_SEED`` (default 50000: seeds the recorded episodes never used), ``EVAL_MAX_TASKS``,
``EVAL_VIDEOS`` (videos kept per task, default 3), ``POLICY_THREADS``.

Outputs under ``scenes/{scene}/evaluation/``: ``report.json`` (per task: the policy's success
rate and episode lengths beside the scripted expert's on the same seeds; overall rates; where
tasks came from; the model), ``videos/{task_id}/trial_NNN.mp4`` (what the policy's first camera
saw), ``policy_server.log``. Never writes markers: the workflow does.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from bpflow.core.errors import ValidationFailed
from bpflow.core.jobkit import env_int, job_bucket, log_json, require_env, run_main, scene_prefix
from bpflow.domain.usd.workspace import Workspace
from bpflow.state.cas_json import iso_z, utc_now


def _main() -> int:
    from bpflow.domain.episodes.lerobot_writer import encode_video
    from bpflow.domain.evaluation.policy_client import PolicyClient
    from bpflow.domain.evaluation.report import build_report
    from bpflow.domain.evaluation.rollout import BUDGET_FACTOR, Evaluator
    from bpflow.domain.evaluation.scene_tasks import load_scene_with_tasks, read_manifest

    bucket = job_bucket()
    scene = require_env("SCENE_ID")
    model = scene_prefix(scene, "MODEL_PATH", require_env("MODEL_PATH"), code="model_path_outside_scene")
    trials = env_int("EVAL_EPISODES", 10)
    if not 1 <= trials <= 1000:
        raise ValidationFailed(f"EVAL_EPISODES must be in 1..1000, not {trials}", field="EVAL_EPISODES")
    seed0 = env_int("EVAL_SEED", 50_000)
    max_tasks = env_int("EVAL_MAX_TASKS", 0)
    keep_videos = env_int("EVAL_VIDEOS", 3)
    manifest = read_manifest(bucket, scene)
    out_prefix = f"scenes/{scene}/evaluation"
    with Workspace(bucket) as ws:
        if not ws.fetch_prefix(model) or not (ws.root / model / "model.safetensors").is_file():
            raise ValidationFailed(
                f"no model.safetensors under MODEL_PATH {model}/", code="model_missing", field="MODEL_PATH"
            )
        usd_key = f"scenes/{scene}/usd/scene.usda"
        ws.fetch_prefix(f"scenes/{scene}/usd")
        ws.fetch_prefix(f"scenes/{scene}/assets")
        if not (ws.root / usd_key).is_file():
            raise ValidationFailed(f"{usd_key} is missing", code="usd_missing", field="USD_PREFIX")
        sim, tasks, task_source = load_scene_with_tasks(bucket, scene, ws.root / usd_key, manifest)
        if max_tasks:
            tasks = tasks[:max_tasks]
        if not tasks:
            raise ValidationFailed("the scene offers no task to evaluate", code="no_tasks", field="tasks")
        work = Path(tempfile.mkdtemp(prefix="evaluation-", dir=ws.root))
        log_path = work / "policy_server.log"
        results = []
        with PolicyClient(ws.root / model, threads=env_int("POLICY_THREADS", 0) or None, log_path=log_path) as policy:
            images = policy.image_inputs()
            sizes = set(images.values())
            if len(sizes) > 1:
                raise ValidationFailed(
                    f"the policy's cameras differ in size {sorted(sizes)}; one size is supported",
                    code="policy_inputs_unsupported",
                    field="MODEL_PATH",
                )
            size = next(iter(sizes)) if sizes else (64, 64)
            cameras = [k.removeprefix("observation.images.") for k in images]
            ev = Evaluator(sim, image_size=size, cameras=cameras)
            wanted = set(policy.info["inputs"])
            try:
                for t_i, task in enumerate(tasks):
                    for k in range(trials):
                        seed = seed0 + 1000 * t_i + k
                        expert = ev.expert_trial(task, seed)
                        budget = max(25, int(expert.frames * BUDGET_FACTOR))
                        trial = ev.policy_trial(
                            policy, task, seed, budget=budget, keep_video=k < keep_videos, wanted=wanted
                        )
                        video = None
                        if trial.frames_rgb is not None and len(trial.frames_rgb):
                            rel = f"videos/{task.task_id}/trial_{k:03d}.mp4"
                            encode_video(trial.frames_rgb, work / rel, ev.fps)
                            video = f"{out_prefix}/{rel}"
                            bucket.write(video, (work / rel).read_bytes(), content_type="video/mp4")
                        results.append({"task": task, "policy": trial, "expert": expert, "video": video})
                        log_json(
                            action="trial",
                            task_id=task.task_id,
                            seed=seed,
                            success=trial.success,
                            frames=trial.frames,
                            expert_success=expert.success,
                        )
            finally:
                ev.close()
        report = build_report(
            scene,
            model,
            task_source,
            results,
            policy_info=policy.info,
            fps=ev.fps,
            trials_per_task=trials,
            finished_at=iso_z(utc_now()),
        )
        bucket.write(
            f"{out_prefix}/policy_server.log",
            log_path.read_bytes() if log_path.exists() else b"",
            content_type="text/plain",
        )
        bucket.write_json(f"{out_prefix}/report.json", report)
    log_json(
        action="evaluation_complete",
        scene_id=scene,
        success_rate=report["success_rate"],
        expert_success_rate=report["expert_success_rate"],
        trials=report["trials"],
    )
    return 0


def main() -> int:
    return run_main(_main)


if __name__ == "__main__":
    raise SystemExit(main())
