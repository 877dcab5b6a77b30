"""arena-export-pipeline — Stage 5: package the scene for Isaac Lab Arena whenever USD, Isaac
Lab or Genie Sim output lands. Reference: spec §2.5, §4.7.

Triggers (first match): ``usd/.usd_complete`` → ``usd``; ``geniesim/.geniesim_complete`` →
``geniesim`` (with the Genie Sim prefix); ``isaac_lab/.isaac_lab_complete`` → ``isaac_lab``;
any other key → SKIPPED. ``arena-export-job`` writes the package and ``arena/.arena_export_complete``.
A job that cannot start rolls back ``arena/`` and writes ``arena/.failed``
(``arena_export_start_failed``), then raises; a job that fails is *not* fatal: the scene is
usable without Arena, so the run returns ``PARTIAL_SUCCESS`` and writes no marker.

Decision: exports of one scene are serialised by the scene lock ``locks/arena-export.lock``;
a trigger arriving while another export of the scene runs is skipped with the lock's message
(the reference runs them concurrently, writing the same files).
"""

from __future__ import annotations

from bpflow.blocks.jobs import StartFailure, run_job
from bpflow.blocks.lock import scene_lock
from bpflow.blocks.params import recorded_params
from bpflow.core.config import parse_bool
from bpflow.core.engine.registry import Outcome, Run, workflow
from bpflow.core.policy.timeouts import stage_retry_profile, stage_timeout
from bpflow.core.stages import STAGES, scene_key_re

STAGE = STAGES["arena-export"]
NAME = STAGE.workflow
JOB = "arena-export-job"
TIMEOUT = stage_timeout(NAME, JOB) + 600
#: Each trigger object and the source it names: its folder (``usd``, ``isaac_lab``, ``geniesim``).
SOURCES = tuple((scene_key_re(key), key.split("/", 1)[0]) for key in STAGE.triggers)

PARAMS = {
    "enable_hub_registration": ("ENABLE_HUB_REGISTRATION", "false"),
    "hub_namespace": ("HUB_NAMESPACE", "blueprint-robotics"),
}


def trigger_source(name: str | None) -> str | None:
    for rx, source in SOURCES:
        if rx.fullmatch(name or ""):
            return source
    return None


@workflow(NAME, timeout_seconds=TIMEOUT)
def arena_export(run: Run) -> Outcome:
    source = trigger_source(run.object_name)
    if source is None or run.scene_id is None:
        return Outcome.skipped(f"Not an Arena trigger marker file: {run.object_name}")
    scene = run.scene_id
    arena, p = run.scene("arena"), recorded_params(run, PARAMS)
    hub = parse_bool(p["enable_hub_registration"], False)
    env = {
        "ASSETS_PREFIX": run.scene("assets"),
        "USD_PREFIX": run.scene("usd"),
        "ARENA_PREFIX": arena,
        "GENIESIM_PREFIX": run.scene("geniesim") if source == "geniesim" else "",
        "TRIGGER_SOURCE": source,
        "USE_LLM_AFFORDANCES": "true",
        "ENABLE_HUB_REGISTRATION": "true" if hub else "false",
        "HUB_NAMESPACE": str(p["hub_namespace"]),
    }
    with scene_lock(run, "arena-export", ttl_seconds=TIMEOUT) as lock:
        if not lock.acquired:
            return Outcome.skipped(lock.message, scene_id=scene, trigger_source=source)
        result = run_job(
            run,
            JOB,
            timeout_seconds=stage_timeout(NAME, JOB),
            env=env,
            retry=stage_retry_profile(NAME, JOB),
            on_start_failure=StartFailure(
                run.scene(STAGE.failed[0]), "arena_export_start_failed", rollback=arena, context={"arena_prefix": arena}
            ),
        )
        if result.failed:
            return Outcome(
                status="PARTIAL_SUCCESS",
                message=f"Arena export FAILED for scene {scene} - scene is available but without Arena evaluation support",
                details={
                    "scene_id": scene,
                    "failure_details": result.job_error
                    or {"exit_code": result.exit_code, "timed_out": result.timed_out, "log": result.log_path},
                    "trigger_source": source,
                    "arena_execution": result.execution_id,
                    "outputs": {"scene_usda": run.scene("usd/scene.usda")},
                },
            )
        return Outcome.success(
            f"Arena export completed for scene {scene}",
            markers=[run.scene(STAGE.complete[0])],
            scene_id=scene,
            trigger_source=source,
            arena_execution=result.execution_id,
            outputs={
                "arena_manifest": f"{arena}/arena_manifest.json",
                "scene_module": f"{arena}/scene_module.py",
                "tasks_dir": f"{arena}/tasks/",
                "hub_config": f"{arena}/hub_config.yaml",
                "asset_registry": f"{arena}/asset_registry.json",
            },
        )
