"""genie-sim-gpu-job (reported as genie-sim-submit-job): a Genie Sim bundle → episodes + job.json.

Env (the reference's): ``BUCKET``, ``SCENE_ID``, ``GENIESIM_PREFIX``, ``JOB_OUTPUT_PATH``
(``{GENIESIM_PREFIX}/job.json``), ``ROBOT_TYPE`` (franka), ``EPISODES_PER_TASK`` (10),
``OUTPUT_PREFIX`` (``scenes/{scene}/episodes``), ``CANARY_ENABLED``, ``CANARY_TAGS``,
``CANARY_SCENE_IDS``, ``CANARY_PERCENT``, ``CANARY_RELEASE_CHANNEL``, ``CANARY_ROLLBACK_MARKER``,
``ALLOW_MISSING_ASSET_PROVENANCE``, ``ALLOW_NONCOMMERCIAL_DATA``, ``PIPELINE_ENV``; bpflow's
``GENIESIM_RUNTIME`` (local), ``GENIESIM_ASYNC`` (false), ``GENIESIM_REGION``, and the
simulation sizes of episode generation (``EPISODE_IMAGE_SIZE``, ``EPISODE_CAMERAS``,
``EPISODE_FPS``, ``BPFLOW_SIM_WORKERS``).

Order (spec-geniesim §4.2): validate the bundle (schemas after the task backfill, §3.7, the
completion marker's versions) → job idempotency (same key as a job that did not fail → exit 0,
nothing written) → ``job_id = local-<uuid4>`` → provenance gate → canary assignment → run the
tasks (``{OUTPUT_PREFIX}/geniesim_{job_id}/raw/``: the LeRobot dataset as recorded, the
certificates and the summary; ``config/`` with the bundle's manifest and tasks) → ``job.json``
then ``job_idempotency.json``; a failed job also writes ``geniesim/.failed`` and, for a canary,
the rollback marker; exit 1 iff failed. An invalid bundle writes ``geniesim/.failed`` naming the
field and exits 2 (no job.json: nothing was submitted).

``GENIESIM_ASYNC=true``: job.json says ``submitted`` and the simulation continues in a detached
process (the local stand-in for the remote service), which rewrites job.json when it is done;
the import poller picks the completion up.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from bpflow.core.errors import BpflowError, ValidationFailed
from bpflow.core.jobkit import env_bool, env_int, env_scene_prefix, env_str, job_bucket, log_json, require_env, run_main
from bpflow.domain.usd.workspace import Workspace
from bpflow.state.cas_json import iso_z, utc_now

ASYNC_WORKER_ENV = "GENIESIM_ASYNC_JOB_ID"
CONTENT_TYPES = {".json": "application/json", ".parquet": "application/vnd.apache.parquet", ".mp4": "video/mp4"}


class Ctx:
    """What every step needs: where things are, read once from the env."""

    def __init__(self) -> None:
        self.bucket = job_bucket()
        self.scene = require_env("SCENE_ID")
        s = self.scene
        self.geniesim = env_scene_prefix(s, "GENIESIM_PREFIX", f"scenes/{s}/geniesim")
        self.job_path = env_scene_prefix(s, "JOB_OUTPUT_PATH", f"{self.geniesim}/job.json")
        self.output_prefix = env_scene_prefix(s, "OUTPUT_PREFIX", f"scenes/{s}/episodes")
        self.rollback = env_scene_prefix(s, "CANARY_ROLLBACK_MARKER", f"{self.geniesim}/.canary_rollback")
        self.robot = (env_str("ROBOT_TYPE", "franka") or "franka").strip()
        self.bucket_name = env_str("BUCKET", "local") or "local"

    def uri(self, key: str) -> str:
        from bpflow.core.storage import object_uri

        return object_uri(self.bucket_name, key)


def _read(ctx: Ctx, rel: str) -> Any:
    key = f"{ctx.geniesim}/{rel}"
    if not ctx.bucket.exists(key):
        return None
    try:
        return json.loads(ctx.bucket.read(key))
    except ValueError as exc:
        raise ValidationFailed(f"{key} is not JSON: {exc}", code="geniesim_bundle_invalid", field=rel) from None


def load_bundle(ctx: Ctx) -> dict[str, Any]:
    from bpflow.domain.geniesim.contracts import COMPLETION_MARKER, validate_bundle

    docs = {
        name: _read(ctx, f"{name}.json") for name in ("scene_graph", "asset_index", "task_config", "export_manifest")
    }
    docs["completion"] = _read(ctx, COMPLETION_MARKER)
    validate_bundle(docs)
    return docs


def idempotency(ctx: Ctx, docs: dict[str, Any]) -> dict[str, str]:
    from bpflow.domain.geniesim.contracts import backfill_tasks, sha256_json

    tc = sha256_json(backfill_tasks(docs["task_config"]))
    em = sha256_json(docs["export_manifest"])
    return {
        "key": sha256_json({"scene_id": ctx.scene, "task_config_hash": tc, "export_manifest_hash": em}),
        "task_config_hash": tc,
        "export_manifest_hash": em,
    }


def duplicate_of(ctx: Ctx, key: str) -> str | None:
    """The job a previous run recorded under the same key, unless that job failed (a retry of
    a failure is what ALLOW_IDEMPOTENT_RETRY at the workflow asked for)."""
    from bpflow.domain.geniesim.contracts import schema_problems

    job = ctx.bucket.read_json_or_none(ctx.job_path) if ctx.bucket.exists(ctx.job_path) else None
    if (
        isinstance(job, dict)
        and not schema_problems("job_output", job)
        and job["idempotency"]["key"] == key
        and job.get("status") != "failed"
    ):
        return str(job["job_id"])
    rec_key = f"{ctx.geniesim}/job_idempotency.json"
    rec = ctx.bucket.read_json_or_none(rec_key) if ctx.bucket.exists(rec_key) else None
    if (
        isinstance(rec, dict)
        and not schema_problems("job_idempotency", rec)
        and rec["key"] == key
        and not (isinstance(job, dict) and job.get("job_id") == rec["job_id"] and job.get("status") == "failed")
    ):
        return str(rec["job_id"])
    return None


def provenance_gate(ctx: Ctx) -> tuple[dict[str, Any], str | None]:
    production = (env_str("PIPELINE_ENV", "") or "").lower() == "production"
    allow_missing = env_bool("ALLOW_MISSING_ASSET_PROVENANCE", False) and not production
    allow_nc = env_bool("ALLOW_NONCOMMERCIAL_DATA", False)
    path = f"{ctx.geniesim}/legal/asset_provenance.json"
    report = _read(ctx, "legal/asset_provenance.json")
    gate: dict[str, Any] = {
        "status": "passed",
        "commercial_use_ok": None,
        "commercial_blockers": [],
        "allow_noncommercial_override": allow_nc,
        "asset_provenance_path": path,
    }
    if report is None:
        gate["status"] = "missing_allowed" if allow_missing else "missing"
        return gate, None if allow_missing else "Asset provenance missing"
    licence = lic if isinstance(report, dict) and isinstance(lic := report.get("license"), dict) else {}
    blockers = [str(b) for b in licence.get("blockers") or []]
    ok = licence.get("commercial_ok") is True and not blockers
    gate.update(commercial_use_ok=ok, commercial_blockers=blockers)
    if not ok:
        gate["status"] = "override" if allow_nc else "blocked"
        return gate, None if allow_nc else "Asset provenance blocked submission"
    return gate, None


def canary_assignment(ctx: Ctx) -> dict[str, Any]:
    from bpflow.state.canary import assign

    merged = _read(ctx, "merged_scene_manifest.json") or {}
    meta = md if isinstance(merged, dict) and isinstance(md := merged.get("metadata"), dict) else {}
    percent = env_int("CANARY_PERCENT", 0)
    if not 0 <= percent <= 100:
        raise ValidationFailed(f"CANARY_PERCENT must be 0..100, not {percent}", field="CANARY_PERCENT")
    result = assign(
        ctx.scene,
        enabled=env_bool("CANARY_ENABLED", False),
        percent=percent,
        tags=env_str("CANARY_TAGS", ""),
        scene_tags=[*_list(meta.get("tags")), *_list(meta.get("scene_tags"))],
        scene_ids=env_str("CANARY_SCENE_IDS", ""),
    )
    return {**result, "release_channel": env_str("CANARY_RELEASE_CHANNEL", "stable") or "stable"}


def _list(v: Any) -> list[str]:
    if isinstance(v, str):
        return [x for x in v.split(",")]
    return [str(x) for x in v] if isinstance(v, list) else []


def generation_config(object_ids: list[str]) -> Any:
    from bpflow.domain.episodes.generate import GenerationConfig, default_workers
    from bpflow.domain.geniesim.bundle import TASK_KINDS
    from bpflow.domain.sim.cameras import ALL

    per_task = env_int("EPISODES_PER_TASK", 10)
    if per_task < 1:
        raise ValidationFailed(f"EPISODES_PER_TASK must be ≥ 1, not {per_task}", field="EPISODES_PER_TASK")
    size = env_int("EPISODE_IMAGE_SIZE", 128)
    if not 16 <= size <= 640 or size % 2:
        raise ValidationFailed(
            f"EPISODE_IMAGE_SIZE must be an even number of pixels in 16..640, not {size}", field="EPISODE_IMAGE_SIZE"
        )
    cameras = tuple(c.strip() for c in (env_str("EPISODE_CAMERAS", "front,wrist") or "").split(",") if c.strip())
    if any(c not in ALL for c in cameras):
        raise ValidationFailed(f"EPISODE_CAMERAS names unknown cameras (known: {list(ALL)})", field="EPISODE_CAMERAS")
    return GenerationConfig(
        episodes_per_task=per_task,
        fps=env_int("EPISODE_FPS", 25),
        cameras=cameras,
        width=size,
        height=size,
        workers=env_int("BPFLOW_SIM_WORKERS", default_workers()),
        object_ids=tuple(object_ids),
        task_kinds=TASK_KINDS,
    )


def simulate(ctx: Ctx, docs: dict[str, Any], job_id: str) -> dict[str, Any]:
    """Run the bundle's tasks for the robot; upload under ``geniesim_{job_id}/``. Returns the
    per-robot record (``success``, counts, duration, or the failure)."""
    from bpflow.domain.episodes.generate import generate

    out_prefix = f"{ctx.output_prefix}/geniesim_{job_id}"
    merged = _read(ctx, "merged_scene_manifest.json") or {}
    scene_manifest = (
        {"scene_id": ctx.scene, "objects": merged.get("objects", [])} if isinstance(merged, dict) else {"objects": []}
    )
    ctx.bucket.write_json(f"{out_prefix}/config/scene_manifest.json", scene_manifest)
    ctx.bucket.write_json(f"{out_prefix}/config/task_config.json", docs["task_config"])
    started = time.monotonic()
    nodes = {n["asset_id"]: n for n in docs["scene_graph"]["nodes"]}
    try:
        object_ids = []
        for t in docs["task_config"]["suggested_tasks"]:
            node = nodes.get(t["target_object"])
            oid = (node or {}).get("bp_metadata", {}).get("object_id") if node else None
            if not oid:
                raise ValidationFailed(
                    f"task {t.get('task_id')} targets {t['target_object']}, which has no simulated object",
                    code="task_not_executable",
                    field="suggested_tasks",
                )
            object_ids.append(str(oid))
        config = generation_config(object_ids)
        usd_rel = str(nodes[next(iter(nodes))]["usd_path"]) if nodes else "usd/usd/scene.usda"
        usd_key = usd_rel if usd_rel.startswith("scenes/") else f"{ctx.geniesim}/{usd_rel}"
        with Workspace(ctx.bucket) as ws:
            if usd_key.startswith(f"{ctx.geniesim}/usd/"):
                ws.fetch_prefix(f"{ctx.geniesim}/usd")  # the bundle's self-contained copy
            else:  # COPY_USD=false: the scene's own USD and the asset layers it references
                ws.fetch_prefix(usd_key.rsplit("/", 1)[0])
                ws.fetch_prefix(f"scenes/{ctx.scene}/assets")
            if not ws.path(usd_key).is_file():
                raise ValidationFailed(f"{usd_key} (the bundle's USD) is missing", code="usd_missing", field="usd_path")
            out = Path(tempfile.mkdtemp(prefix="geniesim-", dir=ws.root))
            lineage = {
                "scene_id": ctx.scene,
                "usd": usd_key,
                "bundle": ctx.geniesim,
                "job_id": job_id,
                "sim_backend": {"name": "mujoco", "runtime": "geniesim-local"},
                "generated_at": iso_z(utc_now()),
            }
            result = generate(
                ws.path(usd_key),
                scene_manifest,
                out,
                config,
                lineage=lineage,
                extra_info={"geniesim": {"job_id": job_id}},
                scene_id=ctx.scene,
            )
            passed = sum(
                1
                for c in out.glob("certificates/*/quality_certificate.json")
                if json.loads(c.read_text()).get("validation_passed") is True
            )
            for path in sorted(p for p in out.rglob("*") if p.is_file()):
                ctx.bucket.write(
                    f"{out_prefix}/raw/{path.relative_to(out).as_posix()}",
                    path.read_bytes(),
                    content_type=CONTENT_TYPES.get(path.suffix, "application/octet-stream"),
                )
    except BpflowError as exc:
        return {
            "success": False,
            "duration_seconds": round(time.monotonic() - started, 3),
            "error": {"code": exc.code, "message": exc.message, "field": getattr(exc, "field", None)},
            "episodes_collected": 0,
            "episodes_passed": 0,
            "output_prefix": out_prefix,
        }
    s = result["summary"]
    return {
        "success": True,
        "duration_seconds": round(time.monotonic() - started, 3),
        "episodes_collected": s["episodes"],
        "episodes_passed": passed,
        "success_rate": s["success_rate"],
        "output_prefix": out_prefix,
    }


def job_document(
    ctx: Ctx,
    job_id: str,
    status: str,
    ids: dict[str, str],
    submitted_at: str,
    *,
    canary: dict[str, Any],
    gate: dict[str, Any],
    robot: dict[str, Any] | None,
    failure: tuple[str, dict[str, Any]] | None,
    docs: dict[str, Any],
) -> dict[str, Any]:
    prefix = f"{ctx.output_prefix}/geniesim_{job_id}"
    doc: dict[str, Any] = {
        "job_id": job_id,
        "scene_id": ctx.scene,
        "status": status,
        "submitted_at": submitted_at,
        "run_id": str(uuid.uuid4()),
        "message": None if failure is None else failure[0],
        "idempotency": {
            "key": ids["key"],
            "task_config_hash": ids["task_config_hash"],
            "export_manifest_hash": ids["export_manifest_hash"],
            "first_submitted_at": submitted_at,
        },
        "idempotency_key": ids["key"],
        "canary": canary,
        "bundle": {k: f"{ctx.geniesim}/{k}.json" for k in ("scene_graph", "asset_index", "task_config")}
        | {"asset_provenance": f"{ctx.geniesim}/legal/asset_provenance.json"},
        "provenance_gate": gate,
        "generation_params": {
            "robot_type": ctx.robot,
            "robot_types": [ctx.robot],
            "episodes_per_task": env_int("EPISODES_PER_TASK", 10),
            "num_variations": env_int("NUM_VARIATIONS", 5),
            "min_quality_score": None,
        },
        "runtime": {
            "name": env_str("GENIESIM_RUNTIME", "local"),
            "region": env_str("GENIESIM_REGION"),
            "async": env_bool("GENIESIM_ASYNC", False),
            "host": os.uname().nodename,
        },
        "failure_reason": None if failure is None else failure[0],
        "failure_details": None if failure is None else failure[1],
        "artifacts": {
            "episodes_prefix": ctx.uri(prefix),
            "lerobot_prefix": ctx.uri(f"{prefix}/lerobot"),
            "episodes_path": prefix,
            "lerobot_path": f"{prefix}/lerobot",
        },
    }
    if robot is not None:
        collected, passed = int(robot.get("episodes_collected") or 0), int(robot.get("episodes_passed") or 0)
        doc["job_metrics"] = {
            "job_id": job_id,
            "status": status,
            "created_at": submitted_at,
            "completed_at": iso_z(utc_now()) if status in ("completed", "failed") else None,
            "duration_seconds": robot.get("duration_seconds"),
            "total_episodes": collected,
            "episodes_collected": collected,
            "episodes_passed": passed,
            "quality_pass_rate": round(passed / collected, 4) if collected else 0.0,
            "failure_reason": None if failure is None else failure[0],
            "failure_details": None if failure is None else failure[1],
        }
        doc["local_execution"] = {
            "success": bool(robot.get("success")),
            "episodes_collected": collected,
            "episodes_passed": passed,
            "generation_duration_seconds": robot.get("duration_seconds"),
            "by_robot": {ctx.robot: robot},
        }
    doc["export_schema"] = {
        k: docs["completion"].get(k)
        for k in (
            "export_schema_version",
            "geniesim_schema_version",
            "blueprintpipeline_version",
            "export_timestamp",
            "schema_compatibility",
        )
    }
    return doc


def finish(ctx: Ctx, doc: dict[str, Any]) -> int:
    """job.json, then job_idempotency.json; on failure ``.failed`` and (canary) the rollback marker."""
    from bpflow.domain.geniesim.contracts import schema_problems

    problems = schema_problems("job_output", doc)
    if problems:  # our own document: a bug, not user input
        raise RuntimeError(f"job.json breaks its contract: {[p.to_dict() for p in problems]}")
    ctx.bucket.write_json(ctx.job_path, doc)
    ctx.bucket.write_json(
        f"{ctx.geniesim}/job_idempotency.json",
        {
            "key": doc["idempotency"]["key"],
            "scene_id": ctx.scene,
            "task_config_hash": doc["idempotency"]["task_config_hash"],
            "export_manifest_hash": doc["idempotency"]["export_manifest_hash"],
            "submitted_at": doc["submitted_at"],
            "job_id": doc["job_id"],
            "job_metadata_path": ctx.uri(ctx.job_path),
        },
    )
    if doc["status"] != "failed":
        log_json(
            action="geniesim_job",
            scene_id=ctx.scene,
            job_id=doc["job_id"],
            status=doc["status"],
            metrics=doc.get("job_metrics"),
        )
        return 0
    now = iso_z(utc_now())
    ctx.bucket.write_json(
        f"{ctx.geniesim}/.failed",
        {
            "scene_id": ctx.scene,
            "job_id": doc["job_id"],
            "status": "failed",
            "timestamp": now,
            "reason": doc["failure_reason"],
            "details": doc["failure_details"],
            "job_metadata_path": ctx.uri(ctx.job_path),
        },
    )
    if doc["canary"].get("is_canary"):
        ctx.bucket.write_json(
            ctx.rollback,
            {
                "scene_id": ctx.scene,
                "job_id": doc["job_id"],
                "status": "failed",
                "release_channel": doc["canary"].get("release_channel"),
                "timestamp": now,
                "reason": doc["failure_reason"],
                "details": doc["failure_details"],
                "job_metadata_path": ctx.uri(ctx.job_path),
                "assignment": doc["canary"],
            },
        )
    log_json(
        action="geniesim_job",
        scene_id=ctx.scene,
        job_id=doc["job_id"],
        status="failed",
        reason=doc["failure_reason"],
        rollback_marker=ctx.rollback if doc["canary"].get("is_canary") else None,
    )
    return 1


def run_tasks(
    ctx: Ctx,
    docs: dict[str, Any],
    job_id: str,
    ids: dict[str, str],
    submitted_at: str,
    canary: dict[str, Any],
    gate: dict[str, Any],
) -> int:
    robot = simulate(ctx, docs, job_id)
    failure = None
    if not robot["success"]:
        failure = ("Local Genie Sim execution failed", {"by_robot": {ctx.robot: robot["error"]}})
    doc = job_document(
        ctx,
        job_id,
        "failed" if failure else "completed",
        ids,
        submitted_at,
        canary=canary,
        gate=gate,
        robot=robot,
        failure=failure,
        docs=docs,
    )
    return finish(ctx, doc)


def _main() -> int:
    ctx = Ctx()
    runtime = (env_str("GENIESIM_RUNTIME", "local") or "local").lower()
    if runtime != "local":
        raise ValidationFailed(
            f"GENIESIM_RUNTIME={runtime!r}: this job is the local runtime; the remote one runs through the geniesim-remote runner",
            code="geniesim_runtime_mismatch",
            field="GENIESIM_RUNTIME",
        )
    if ctx.robot != "franka":
        raise ValidationFailed(
            f"ROBOT_TYPE={ctx.robot!r}: the local runtime has the franka model only",
            code="unsupported_robot",
            field="ROBOT_TYPE",
        )
    try:
        docs = load_bundle(ctx)
    except ValidationFailed as exc:
        ctx.bucket.write_json(
            f"{ctx.geniesim}/.failed",
            {
                "scene_id": ctx.scene,
                "job_name": "genie-sim-submit-job",
                "status": "failed",
                "timestamp": iso_z(utc_now()),
                "reason": f"{type(exc).__name__}: {exc.message}",
                "error": exc.to_dict(),
                "context": {"geniesim_prefix": ctx.geniesim},
            },
        )
        raise
    ids = idempotency(ctx, docs)
    worker_job = env_str(ASYNC_WORKER_ENV)
    if worker_job:  # the detached half of an async submission
        job = ctx.bucket.read_json(ctx.job_path)
        return run_tasks(ctx, docs, worker_job, ids, job["submitted_at"], job["canary"], job["provenance_gate"])
    previous = duplicate_of(ctx, ids["key"])
    if previous:
        log_json(
            action="duplicate_job",
            status="SKIPPED",
            scene_id=ctx.scene,
            job_id=previous,
            key=ids["key"],
            message="a job with the same idempotency key exists; nothing to do",
        )
        return 0
    job_id = f"local-{uuid.uuid4()}"
    submitted_at = iso_z(utc_now())
    gate, blocked = provenance_gate(ctx)
    canary = canary_assignment(ctx)
    if blocked:
        doc = job_document(
            ctx,
            job_id,
            "failed",
            ids,
            submitted_at,
            canary=canary,
            gate=gate,
            robot=None,
            failure=(blocked, {"provenance_gate": gate}),
            docs=docs,
        )
        return finish(ctx, doc)
    if env_bool("GENIESIM_ASYNC", False):
        doc = job_document(
            ctx, job_id, "submitted", ids, submitted_at, canary=canary, gate=gate, robot=None, failure=None, docs=docs
        )
        finish(ctx, doc)
        log_dir = Path(os.environ.get("BPFLOW_HOME", tempfile.gettempdir())) / "logs" / "geniesim"
        log_dir.mkdir(parents=True, exist_ok=True)
        with open(log_dir / f"{job_id}.log", "ab") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "bpflow.jobs.genie_sim_gpu"],
                env={**os.environ, ASYNC_WORKER_ENV: job_id, "GENIESIM_ASYNC": "false"},
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,
            )
        log_json(action="geniesim_submitted", scene_id=ctx.scene, job_id=job_id, worker_pid=proc.pid)
        return 0
    return run_tasks(ctx, docs, job_id, ids, submitted_at, canary, gate)


def main() -> int:
    return run_main(_main)


if __name__ == "__main__":
    raise SystemExit(main())
