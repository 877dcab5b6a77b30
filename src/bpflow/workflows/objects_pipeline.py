"""objects-pipeline — legacy layout chain. Trigger: ``scenes/*/layout/scene_layout.json``.

Skip a layout that already lists objects, or that objects-job itself wrote (its rewrite of the
trigger object is a new event: the reference's ``objects: []`` loop, spec §3.4, is cut here by
the job's ``objects_job`` stamp). Run objects-job; a failed job is not fatal (the chain goes on,
the failure is recorded in ``objects/.failed``, the job's own marker kept); ``objects/.objects_complete``
is written after every job that ran. A job that cannot start rolls ``objects/`` back, writes
``.failed`` and the legacy ``.objects_failed``, and ends the run in error (spec §3.3).
"""

from __future__ import annotations

import re

from bpflow.blocks import markers
from bpflow.blocks.stage_job import launch, legacy_marker, record_failure
from bpflow.core.engine.durable import step
from bpflow.core.engine.registry import Outcome, Run, workflow
from bpflow.core.storage import Bucket

NAME = "objects-pipeline"
JOB = "objects-job"
TRIGGER = re.compile(r"scenes/[^/]+/layout/scene_layout\.json")


def layout_state(bucket: Bucket, key: str) -> str:
    """``has_objects`` / ``own_rewrite`` / ``pending``: any read or parse problem is ``pending``
    (the reference logs it and runs the job)."""
    try:
        doc = bucket.read_json(key)
    except Exception:  # noqa: BLE001 - missing object or bad JSON: let the job decide
        return "pending"
    if not isinstance(doc, dict):
        return "pending"
    if isinstance(doc.get("objects"), list) and doc["objects"]:
        return "has_objects"
    return "own_rewrite" if isinstance(doc.get("objects_job"), dict) else "pending"


@workflow(NAME)
def objects_pipeline(run: Run) -> Outcome:
    name = run.object_name or ""
    if not TRIGGER.fullmatch(name):
        return Outcome.skipped(f"objects skip {name}")
    state = step(f"read {name}", layout_state, run.bucket, name)
    if state == "has_objects":
        return Outcome.skipped(f"objects-job already completed for {name} (objects already present)")
    if state == "own_rewrite":
        return Outcome.skipped(f"objects-job already completed for {name} (layout written by objects-job)")
    prefixes = {
        "da3_prefix": run.scene("da3"),
        "seg_dataset_prefix": run.scene("seg/dataset"),
        "layout_prefix": run.scene("layout"),
    }
    env = {
        "DA3_PREFIX": prefixes["da3_prefix"],
        "SEG_DATASET_PREFIX": prefixes["seg_dataset_prefix"],
        "LAYOUT_PREFIX": prefixes["layout_prefix"],
    }
    failed_key, legacy_key = run.scene("objects/.failed"), run.scene("objects/.objects_failed")
    result = launch(
        run,
        JOB,
        env,
        rollback=run.scene("objects"),
        failed_marker=failed_key,
        code="objects_job_start_failed",
        config_context=prefixes,
        legacy=legacy_key,
    )
    if result.failed:
        if record_failure(
            run,
            result,
            failed_marker=failed_key,
            code="objects_failed",
            message="Objects job failed",
            config_context=prefixes,
        ):
            legacy_marker(run, legacy_key)
    complete = run.scene("objects/.objects_complete")
    markers.write_marker(run, complete, job_succeeded=result.succeeded)
    return Outcome.success(f"objects-job started for {name}", markers=[complete], job_succeeded=result.succeeded)
