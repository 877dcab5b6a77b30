"""Test-only stand-in for the Stage-2 jobs: the real job, unless the scene asks for a fault.

Registered for the Stage-2 job names in failure tests (``register_job``). The scene's
``test/faults.json`` maps a job (``usd-assembly-job:convert`` for the convert pass) to:
  ``exit:<n>``     exit with n without doing anything (a job that fails),
  ``sleep:<s>``    sleep first (a hung job; the runner's timeout ends it),
  ``drop_marker``  run the real job, then delete its ``.simready_complete`` (a job that exits 0
                   without writing its marker).
Everything else runs the real job module unchanged.
"""

from __future__ import annotations

import importlib
import time

from bpflow.core.jobkit import env_bool, job_bucket, require_env, run_main
from bpflow.jobs import conventional_module

FAULT_FILE = "scenes/{scene}/test/faults.json"


def _main() -> int:
    job = require_env("BPFLOW_JOB_NAME")
    scene = require_env("SCENE_ID")
    bucket = job_bucket()
    faults = bucket.read_json_or_none(FAULT_FILE.format(scene=scene)) or {}
    key = f"{job}:convert" if job == "usd-assembly-job" and env_bool("CONVERT_ONLY", False) else job
    fault = str(faults.get(key, ""))
    if fault.startswith("exit:"):
        return int(fault.split(":", 1)[1])
    if fault.startswith("sleep:"):
        time.sleep(float(fault.split(":", 1)[1]))
    code = int(importlib.import_module(conventional_module(job)).main())
    if fault == "drop_marker":
        bucket.delete(f"scenes/{scene}/assets/.simready_complete")
    return code


def main() -> int:
    return run_main(_main)


if __name__ == "__main__":
    raise SystemExit(main())
