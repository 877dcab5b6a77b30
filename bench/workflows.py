"""Benchmark workflows, loaded through BPFLOW_WORKFLOW_MODULES like any plug-in."""

from __future__ import annotations

import time

from bpflow.blocks.jobs import run_job
from bpflow.core.engine.registry import Outcome, Run, workflow

STARTS: dict[str, float] = {}
"""object name → wall-clock time the workflow body began (this process only)."""


@workflow("bench-start", timeout_seconds=60)
def bench_start(run: Run) -> Outcome:
    STARTS.setdefault(run.object_name or "", time.time())
    return Outcome.success()


@workflow("bench-jobs", timeout_seconds=600)
def bench_jobs(run: Run) -> Outcome:
    n = int(run.payload.get("n", 100))
    t0 = time.perf_counter()
    for _ in range(n):
        run_job(run, "noop-job", timeout_seconds=60, runner="inprocess")
    return Outcome.success(seconds=time.perf_counter() - t0, n=n)
