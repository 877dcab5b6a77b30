"""noop-job: does nothing but honour the job contract.

Benchmarks use it to measure what launching a job costs (interpreter start, imports, opening
the bucket) apart from any work. It opens the bucket so a wrong ``BPFLOW_BUCKET_URL`` still
fails the way a real job would, and writes nothing, least of all a marker.
"""

from __future__ import annotations

import sys

from bpflow.core.jobkit import env_str, job_bucket, log_json, run_main


def _run() -> int:
    bucket = job_bucket()
    try:
        log_json(action="noop", bucket=bucket.url, scene=env_str("SCENE_ID"), run_id=env_str("BPFLOW_RUN_ID"))
    finally:
        bucket.close()
    return 0


def main() -> int:
    return run_main(_run)


if __name__ == "__main__":
    sys.exit(main())
