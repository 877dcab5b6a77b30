"""Running the Stage-2 jobs for real, without the workflow: through a job runner on a bucket."""

from __future__ import annotations

import json
from typing import Any

from bpflow.core.runners.base import JobResult, JobSpec
from bpflow.core.runners.inprocess import InProcessRunner
from bpflow.core.storage.local import LocalBucket

#: The workflow's order and the env each step gets (as ``bpflow.workflows.usd_assembly`` passes it).
CHAIN: tuple[tuple[str, dict[str, str]], ...] = (
    ("usd-assembly-job", {"CONVERT_ONLY": "true"}),
    ("simready-job", {"SIMREADY_PHYSICS_MODE": "deterministic"}),
    ("interactive-job", {}),
    ("usd-assembly-job", {}),
    ("replicator-job", {}),
    ("isaac-lab-job", {}),
)


def run(bucket: LocalBucket, scene: str, job: str, runner: Any = None, **env: str) -> JobResult:
    full = {
        "BPFLOW_BUCKET_URL": str(bucket.root),
        "BUCKET": "test",
        "SCENE_ID": scene,
        "BPFLOW_RUN_ID": f"test:{scene}",
        **env,
    }
    return (runner or InProcessRunner()).run(JobSpec(name=job, env=full, timeout_seconds=300))


def run_chain(bucket: LocalBucket, scene: str) -> dict[str, float]:
    """Every Stage-2 job in order; fails loudly on the first that does not exit 0."""
    durations: dict[str, float] = {}
    for i, (job, env) in enumerate(CHAIN):
        result = run(bucket, scene, job, **env)
        assert result.exit_code == 0, (
            f"{job} exited {result.exit_code}: {result.stderr_tail[-2000:]}{result.stdout_tail[-1000:]}"
        )
        durations[f"{i}:{job}"] = result.duration_seconds
    return durations


def job_error(result: JobResult) -> dict[str, Any]:
    """The structured error a job printed (its last JSON line on stderr)."""
    for line in reversed(result.stderr_tail.strip().splitlines()):
        doc = json.loads(line)
        if doc.get("action") == "error":
            return dict(doc["error"])
    raise AssertionError(f"no structured error in: {result.stderr_tail[-1000:]}")
