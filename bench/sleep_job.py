"""bench-sleep-job: noop-job that first sleeps ``BENCH_JOB_SLEEP_SECONDS``, standing for a remote
job (Cloud Run, a GPU machine) that the worker only waits on: it holds a run slot, not a core."""

from __future__ import annotations

import sys
import time

from bpflow.core.jobkit import env_str
from bpflow.jobs import noop


def main() -> int:
    time.sleep(float(env_str("BENCH_JOB_SLEEP_SECONDS") or 0))
    return noop.main()


if __name__ == "__main__":
    sys.exit(main())
