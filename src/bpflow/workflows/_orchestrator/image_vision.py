"""The image path's default reconstructor: a vision-capable LLM plans the room, the text path
places, gates and retrieves it. No GPU is needed.

Two jobs, in order, like the text path's Stage 1: ``image-scene-gen-job`` (photo check, vision
LLM, placement, quality gate → ``textgen/package.json``) then ``text-scene-adapter-job`` (the
same retrieval and Stage-1 contracts as a text scene). A job's typed error becomes this stage's
failure with the job's own code and field (``image_too_large``, ``vision_llm_failed``,
``quality_gate_failed``, ``image_reconstruction_unavailable`` ...).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bpflow.blocks.jobs import run_job
from bpflow.core.errors import JobStartError
from bpflow.core.policy.timeouts import stage_retry_profile, stage_timeout
from bpflow.workflows._orchestrator.errors import ImageReconstructionFailed, ImageReconstructionUnavailable

if TYPE_CHECKING:
    from bpflow.core.engine.registry import Run

VISION = "vision"
GEN_JOB = "image-scene-gen-job"
ADAPTER_JOB = "text-scene-adapter-job"
BUDGET_STEP = "image-to-scene"


def vision_env(run: Run, scene_id: str, image_object: str, generation: int) -> tuple[dict[str, Any], dict[str, Any]]:
    from bpflow.workflows._orchestrator.options import gen_job_env, retrieval_env

    settings = run.settings
    base = {
        "SCENE_ID": scene_id,
        "TEXTGEN_PREFIX": f"scenes/{scene_id}/textgen",
        "REQUEST_OBJECT": f"scenes/{scene_id}/imagegen/image_request.json",
    }
    gen = {**gen_job_env(settings), **base, "IMAGE_OBJECT": image_object, "IMAGE_GENERATION": str(generation)}
    adapter = {
        **retrieval_env(settings),
        **base,
        "ASSETS_PREFIX": f"scenes/{scene_id}/assets",
        "LAYOUT_PREFIX": f"scenes/{scene_id}/layout",
        "SEG_PREFIX": f"scenes/{scene_id}/seg",
    }
    return gen, adapter


def run_vision(run: Run, scene_id: str, image_object: str, generation: int) -> dict[str, Any]:
    """Run both jobs; raise the stage's typed failure naming the job's own reason."""
    from bpflow.core.engine.durable import step

    gen_env, adapter_env = step(f"vision env {scene_id}", vision_env, run, scene_id, image_object, generation)
    timeout = stage_timeout(run.workflow, BUDGET_STEP)
    jobs = []
    for job, env, outputs in (
        (GEN_JOB, gen_env, f"scenes/{scene_id}/textgen/"),
        (ADAPTER_JOB, adapter_env, f"scenes/{scene_id}/assets/"),
    ):
        try:
            outcome = run_job(
                run,
                job,
                timeout_seconds=timeout,
                env=env,
                outputs=outputs,
                retry=stage_retry_profile(run.workflow, BUDGET_STEP),
            )
        except JobStartError as exc:
            raise ImageReconstructionFailed(
                f"{job} could not be started for scene {scene_id}: {exc.message}",
                code="image_reconstruction_start_failed",
                stage="reconstruction",
            ) from None
        jobs.append({"job": job, "exit_code": outcome.exit_code, "execution_id": outcome.execution_id})
        if outcome.failed:
            err = outcome.job_error or {}
            code = str(
                err.get("code")
                or ("image_reconstruction_timeout" if outcome.timed_out else "image_reconstruction_failed")
            )
            message = str(err.get("message") or f"{job} exited {outcome.exit_code}")[:1000]
            cls = (
                ImageReconstructionUnavailable
                if code == ImageReconstructionUnavailable.code
                else ImageReconstructionFailed
            )
            raise cls(
                f"{job} failed for scene {scene_id}: {message}",
                code=code,
                field=err.get("field") or "image",
                stage="reconstruction",
                details={"job": job, "exit_code": outcome.exit_code, "timed_out": outcome.timed_out},
            )
    return {"reconstructor": VISION, "jobs": jobs}
