"""What starting one job costs with each process runner (``make bench``; ``python -m bench.job_start``).

``job_start_ms`` is the wall time of ``Runner.run`` for ``noop-job`` (which opens the bucket and
prints one line): interpreter start and imports for ``subprocess``, a fork of the warm launcher
for ``zygote``. Median and p90 over ``--runs`` jobs after one warm-up job (which also starts the
launcher; its own start is reported as ``zygote_launcher_start_ms``). Merged into bench/results.json.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from bench import merge_results
from bench.__main__ import pct
from bpflow.core.runners import JobSpec, SubprocessRunner, ZygoteRunner
from bpflow.core.runners.base import Runner


def _time(runner: Runner, spec: JobSpec) -> float:
    started = time.perf_counter()
    result = runner.run(spec)
    elapsed = (time.perf_counter() - started) * 1000
    if not result.succeeded:
        raise RuntimeError(f"noop-job failed under {runner.name}: {result.stderr_tail}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="bpflow-bench-start-"))
    spec = JobSpec(
        name="noop-job",
        env={"BPFLOW_BUCKET_URL": (home / "bucket").as_uri(), "SCENE_ID": "s", "BPFLOW_RUN_ID": "bench"},
        timeout_seconds=120,
        log_dir=str(home / "logs" / "jobs"),
    )
    figures: dict[str, float] = {}
    for runner in (SubprocessRunner(), ZygoteRunner()):
        first = _time(runner, spec)  # warm-up (the zygote's launcher starts here)
        if runner.name == "zygote":
            figures["zygote_launcher_start_ms"] = round(first, 1)
        times = [_time(runner, spec) for _ in range(args.runs)]
        figures[f"job_start_ms_{runner.name}"] = round(statistics.median(times), 1)
        figures[f"job_start_p90_ms_{runner.name}"] = round(pct(times, 0.9), 1)
    figures["job_start_speedup"] = round(figures["job_start_ms_subprocess"] / figures["job_start_ms_zygote"], 1)
    for name, value in figures.items():
        print(f"{name}: {value}")
    print(f"wrote {merge_results(figures)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
