"""interactive-pipeline — legacy assets-plan path. Trigger: ``scenes/*/assets/scene_assets.json``.

Run interactive-job with the reference's env pass-through (ARTICULATION_BACKEND and the
articulation service endpoints). Failures never end the run in error (spec §5): a job that
cannot start rolls ``assets/interactive/`` back and writes ``assets/.failed``
(``interactive_job_start_failed``); a failed job's ``assets/.failed`` says ``interactive_job_failed``;
both return FAILED. On success ``assets/.interactive_complete`` is rewritten with the backend —
keeping the job's own ``status`` (success|partial) and summary instead of the reference's
``"completed"``, which usd-assembly-job's articulation check would refuse (the reference's hazard).
"""

from __future__ import annotations

import re

from bpflow.blocks import markers
from bpflow.blocks.params import recorded_params
from bpflow.blocks.stage_job import launch, record_failure
from bpflow.core.engine.registry import Outcome, Run, workflow
from bpflow.core.errors import JobStartError

NAME = "interactive-pipeline"
JOB = "interactive-job"
TRIGGER = re.compile(r"scenes/[^/]+/assets/scene_assets\.json")
PASS_THROUGH = {
    "ARTICULATION_BACKEND": "auto",
    "PARTICULATE_ENDPOINT": "",
    "DISALLOW_PLACEHOLDER_URDF": "false",
    "INFINIGEN_ENABLED": "false",
    "INFINIGEN_ENDPOINT": "",
    "PHYSX_ANYTHING_ENABLED": "false",
    "PHYSX_ANYTHING_ENDPOINT": "",
}


@workflow(NAME)
def interactive_pipeline(run: Run) -> Outcome:
    name = run.object_name or ""
    if not TRIGGER.fullmatch(name):
        return Outcome.skipped(f"interactive skip {name}")
    context = {
        "assets_prefix": run.scene("assets"),
        "layout_prefix": run.scene("layout"),
        "multiview_prefix": run.scene("multiview"),
    }
    env = {
        "MULTIVIEW_PREFIX": context["multiview_prefix"],
        "ASSETS_PREFIX": context["assets_prefix"],
        "LAYOUT_PREFIX": context["layout_prefix"],
    }
    params = recorded_params(run, {k.lower(): (k, default) for k, default in PASS_THROUGH.items()})
    env.update({k: str(params[k.lower()]) for k in PASS_THROUGH})
    failed_key = run.scene("assets/.failed")
    failed_message = f"Interactive + simready pipeline failed for {name}"
    try:
        result = launch(
            run,
            JOB,
            env,
            rollback=run.scene("assets/interactive"),
            failed_marker=failed_key,
            code="interactive_job_start_failed",
            config_context=context,
        )
    except JobStartError as exc:
        return Outcome.failed(
            failed_message, markers=[failed_key], error_code="interactive_job_start_failed", cause=exc.message
        )
    if result.failed:
        record_failure(
            run,
            result,
            failed_marker=failed_key,
            code="interactive_job_failed",
            message="Interactive job failed",
            config_context=context,
            keep_existing=False,
        )
        return Outcome.failed(failed_message, markers=[failed_key], error_code="interactive_job_failed")
    complete = run.scene("assets/.interactive_complete")
    own = markers.read_json(run, complete)
    job_fields = (
        {k: v for k, v in own.items() if k not in ("scene_id", "timestamp", "workflow", "run_id")}
        if isinstance(own, dict)
        else {}
    )
    job_fields.setdefault("status", "success")
    markers.write_marker(run, complete, **job_fields, backend=env["ARTICULATION_BACKEND"])
    return Outcome.success(
        f"Interactive pipeline completed for {name}", markers=[complete], backend=env["ARTICULATION_BACKEND"]
    )
