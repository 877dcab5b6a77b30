"""The benchmarks' 6-stage no-op chain, loaded through BPFLOW_WORKFLOW_MODULES like any plug-in.

Each stage is its own workflow started by the previous stage's marker (the event chain every real
scene goes through): run one job, write ``.sN_complete``. The job is ``noop-job`` (what launching a
job costs, no work), or with ``BENCH_JOB_SLEEP_SECONDS`` set ``bench-sleep-job``, which sleeps that
long: a remote job (Cloud Run, a GPU box) the worker only waits on, so a scale-out figure measures
orchestration and not this machine's 2 cores. The runner is ``BPFLOW_RUNNER``'s, as for real jobs.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

from bpflow.blocks import markers
from bpflow.blocks.jobs import run_job
from bpflow.core.engine.registry import Outcome, Run, workflow
from bpflow.jobs import register_job

STAGES = 6
START = "bench/chain/start.json"
register_job("bench-sleep-job", "bench.sleep_job")

JOB_SLEEP = os.environ.get("BENCH_JOB_SLEEP_SECONDS") or None
"""Worker-wide, read once at import like any worker setting: a per-run read would be a recorded
step of its own, which the peers' chains do not have."""

FINISHED: dict[str, float] = {}
"""scene id → wall-clock time its last stage ended (runs executed by this process only)."""


def marker(stage: int) -> str:
    """A scene-relative key: the marker stage ``stage`` writes (stage 0 is the start object)."""
    return START if stage == 0 else f"bench/chain/.s{stage}_complete"


def _stage(n: int) -> Callable[[Run], Outcome]:
    def body(run: Run) -> Outcome:
        job = "bench-sleep-job" if JOB_SLEEP else "noop-job"
        result = run_job(run, job, timeout_seconds=60, env={"BENCH_JOB_SLEEP_SECONDS": JOB_SLEEP})
        if result.failed:
            return Outcome.failed(f"{job} failed: exit {result.exit_code}")
        markers.write_marker(run, run.scene(marker(n)))
        if n == STAGES and run.scene_id:
            FINISHED[run.scene_id] = time.time()
        return Outcome.success(markers=[run.scene(marker(n))])

    body.__name__ = f"bench_chain_{n}"
    return workflow(f"bench-chain-{n}", timeout_seconds=300)(body)


for _n in range(1, STAGES + 1):
    _stage(_n)
