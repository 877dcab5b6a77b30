"""gated-text-scene-gen-job (tests only): the real text-scene-gen-job, except for the scenes
listed in ``BPFLOW_TEST_FAIL_SCENES`` (comma list, ``*`` = all), where it refuses to run and
exits non-zero with a structured error. It is how the tests make one seed fail honestly: the
failing child never produces outputs, every other child gets the real job."""

from __future__ import annotations

import sys

from bpflow.core.jobkit import env_str, log_json, require_env, run_main


def _main() -> int:
    scene = require_env("SCENE_ID")
    failing = {s.strip() for s in (env_str("BPFLOW_TEST_FAIL_SCENES") or "").split(",") if s.strip()}
    if scene in failing or "*" in failing:
        log_json(action="refuse", scene_id=scene)
        print(
            '{"action": "error", "error": {"code": "test_seed_rejected", "message": "this test rejects scene '
            + scene
            + '"}}',
            file=sys.stderr,
        )
        return 3
    from bpflow.jobs.text_scene_gen import main as real_main

    return real_main()


def main() -> int:
    return run_main(_main)


if __name__ == "__main__":
    sys.exit(main())
