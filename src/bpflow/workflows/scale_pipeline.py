"""scale-pipeline — legacy layout chain. Trigger: ``scenes/*/layout/scene_layout.json``.

Skip when ``layout/scene_layout_scaled.done`` exists. Run scale-job and, once it succeeded,
write ``layout/.scale_complete`` and ``assets/.assets_ready`` (which starts regen3d-pipeline).
Two deliberate departures from the reference (docs/decisions.md, "Legacy layout chain"):
``.assets_ready`` is written after the job succeeded, not right after submitting it, so
regen3d never reads a half-scaled layout; and a start failure rolls back only the job's own
outputs (``scene_layout_scaled.*``), never the input ``scene_layout.json`` the reference deletes.
"""

from __future__ import annotations

import re

from bpflow.blocks import markers
from bpflow.blocks.stage_job import launch, legacy_marker, record_failure
from bpflow.core.engine.registry import Outcome, Run, workflow

NAME = "scale-pipeline"
JOB = "scale-job"
TRIGGER = re.compile(r"scenes/[^/]+/layout/scene_layout\.json")
OUTPUTS = ("layout/scene_layout_scaled.json", "layout/scene_layout_scaled.done")


@workflow(NAME)
def scale_pipeline(run: Run) -> Outcome:
    name = run.object_name or ""
    if not TRIGGER.fullmatch(name):
        return Outcome.skipped(f"scale skip {name}")
    if markers.exists(run, run.scene("layout/scene_layout_scaled.done")):
        return Outcome.skipped(f"scale-job already completed for {name} (found done marker)")
    context = {"layout_prefix": run.scene("layout")}
    failed_key, legacy_key = run.scene("layout/.failed"), run.scene("layout/.scale_failed")
    try:
        result = launch(
            run,
            JOB,
            {"LAYOUT_PREFIX": run.scene("layout")},
            rollback=None,
            failed_marker=failed_key,
            code="scale_job_start_failed",
            config_context=context,
            legacy=legacy_key,
        )
    except Exception:
        for rel in OUTPUTS:
            markers.delete(run, run.scene(rel))
        raise
    missing = [rel for rel in OUTPUTS if not markers.exists(run, run.scene(rel))] if result.succeeded else []
    if result.failed or missing:
        code, message = (
            ("scale_failed", "Scale job failed")
            if result.failed
            else ("scale_outputs_missing", f"Scale job left no {', '.join(missing)}")
        )
        record_failure(
            run,
            result,
            failed_marker=failed_key,
            code=code,
            message=message,
            config_context=context,
            keep_existing=False,
        )
        legacy_marker(run, legacy_key)
        return Outcome.failed(f"scale-job failed for {name}: {message}", markers=[failed_key], error_code=code)
    markers.write_marker(run, run.scene("layout/.scale_complete"))
    ready = run.scene("assets/.assets_ready")
    markers.write_marker(run, ready, status="ready")
    return Outcome.success(f"scale-job started for {name}", markers=[run.scene("layout/.scale_complete"), ready])
