"""policy-evaluation-pipeline — the trained policy, run closed-loop in the scene it learned from.

Beyond the seed (which stops at training). Trigger: ``scenes/*/training/.training_complete``,
written by training-pipeline with the model location. Runs ``policy-evaluation-job`` (the
policy in ``.venv-train``, the MuJoCo scene in bpflow's venv, the tasks of the recorded
episodes, ``EVAL_EPISODES`` randomised trials per task, physics-judged) and writes
``evaluation/.evaluation_complete`` with the success rates, or ``evaluation/.failed``.
"""

from __future__ import annotations

from bpflow.blocks import markers
from bpflow.blocks.jobs import StartFailure, run_job
from bpflow.blocks.lock import scene_lock
from bpflow.blocks.params import recorded_params
from bpflow.core.engine.registry import Outcome, Run, workflow
from bpflow.core.policy.timeouts import stage_retry_profile, stage_timeout
from bpflow.core.stages import STAGES

STAGE = STAGES["policy-evaluation"]
NAME = STAGE.workflow
#: The training run's completion marker: this stage's trigger, naming the model to evaluate.
TRAINED = STAGES["training"].complete[0]
JOB = "policy-evaluation-job"
TRIGGER = STAGE.trigger_re
TIMEOUT = stage_timeout(NAME, JOB) + 600
#: The job's options: payload field, else the worker's env var, else default (None: not passed).
#: Read once in a recorded step, so a replay on a worker with other env vars passes the same.
PARAMS = {
    "eval_episodes": ("EVAL_EPISODES", "10"),
    "eval_seed": ("EVAL_SEED", None),
    "eval_max_tasks": ("EVAL_MAX_TASKS", None),
    "eval_videos": ("EVAL_VIDEOS", None),
    "policy_threads": ("POLICY_THREADS", None),
}


@workflow(NAME, timeout_seconds=TIMEOUT)
def policy_evaluation(run: Run) -> Outcome:
    if not TRIGGER.fullmatch(run.object_name or "") or run.scene_id is None:
        return Outcome.skipped(f"Not a training completion marker file: {run.object_name}")
    scene = run.scene_id
    failed = run.scene(STAGE.failed[0])
    trained = markers.read_json(run, run.scene(TRAINED))
    model = trained.get("model_path") if isinstance(trained, dict) else None
    if not isinstance(model, str) or not model:
        markers.write_failure(
            run,
            failed,
            job_name=JOB,
            code="model_path_missing",
            message=f"{TRAINED} names no model_path",
            config_context={"marker": run.object_name},
        )
        return Outcome.failed(f"{TRAINED} names no model_path", scene_id=scene)
    params = recorded_params(run, PARAMS)
    with scene_lock(run, "policy-evaluation", ttl_seconds=TIMEOUT) as lock:
        if not lock.acquired:
            return Outcome.skipped(lock.message, scene_id=scene)
        env = {"MODEL_PATH": model}
        env.update({var: str(params[name]) for name, (var, _) in PARAMS.items() if params[name] is not None})
        result = run_job(
            run,
            JOB,
            timeout_seconds=stage_timeout(NAME, JOB),
            env=env,
            retry=stage_retry_profile(NAME, JOB),
            on_start_failure=StartFailure(
                failed,
                "policy_evaluation_start_failed",
                rollback=run.scene("evaluation"),
                context={"model_path": model},
            ),
        )
        if result.failed:
            err = result.job_error
            message = f"Policy evaluation failed for scene {scene}" + (
                f": {err['message']}" if err and err.get("message") else ""
            )
            markers.write_failure(
                run,
                failed,
                job_name=JOB,
                code="policy_evaluation_failed",
                message=message,
                execution_id=result.execution_id,
                error_type="workflow_timeout" if result.timed_out else "workflow_failure",
                config_context={
                    "model_path": model,
                    "exit_code": result.exit_code,
                    "log": result.log_path,
                    "job_error": err,
                },
            )
            return Outcome.failed(message, scene_id=scene)
        report = markers.read_json(run, run.scene("evaluation/report.json"))
        if not isinstance(report, dict) or "success_rate" not in report:
            markers.write_failure(
                run,
                failed,
                job_name=JOB,
                code="evaluation_report_missing",
                message="policy-evaluation-job left no report.json",
                execution_id=result.execution_id,
                config_context={"model_path": model},
            )
            return Outcome.failed("policy-evaluation-job left no report.json", scene_id=scene)
        markers.delete(run, failed)
        marker = run.scene(STAGE.complete[0])
        markers.write_marker(
            run,
            marker,
            model_path=model,
            report=run.scene("evaluation/report.json"),
            success_rate=report["success_rate"],
            expert_success_rate=report.get("expert_success_rate"),
            trials=report.get("trials"),
            execution_id=result.execution_id,
        )
        return Outcome.success(
            f"Policy evaluated for scene {scene}: success rate {report['success_rate']:.0%} (scripted expert {report.get('expert_success_rate', 0):.0%})",
            markers=[marker],
            scene_id=scene,
            model_path=model,
            success_rate=report["success_rate"],
            expert_success_rate=report.get("expert_success_rate"),
        )
