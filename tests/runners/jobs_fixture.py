"""A job module for runner tests: one real process doing what FIXTURE_MODE says.

It follows the same contract as the shipped jobs (env via ``bpflow.core.jobkit``, ``main() -> int``),
so the runners are exercised exactly as with a real job.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time

from bpflow.core.errors import ConfigError
from bpflow.core.jobkit import env_int, env_str, job_stderr, job_stdout, log_json, run_main

CONTRACT_VARS = (
    "BUCKET",
    "SCENE_ID",
    "BPFLOW_BUCKET_URL",
    "BPFLOW_RUN_ID",
    "BPFLOW_JOB_NAME",
    "BPFLOW_EXECUTION_ID",
    "FIXTURE_INHERITED",
    "FIXTURE_OVERRIDE",
)


def _spawn_sleeper() -> None:
    child = subprocess.Popen(["sleep", "1000"])
    with open(env_str("FIXTURE_PID_FILE", ""), "w") as fh:
        fh.write(str(child.pid))


def _run() -> int:
    mode = env_str("FIXTURE_MODE", "ok")
    if mode == "ok":
        log_json(env={name: env_str(name) for name in CONTRACT_VARS})
        return 0
    if mode == "exit":
        return env_int("FIXTURE_EXIT_CODE", 3)
    if mode == "system_exit":
        sys.exit(env_int("FIXTURE_EXIT_CODE", 4))
    if mode == "raise":
        raise RuntimeError("fixture exploded")
    if mode == "bad_param":
        raise ConfigError("Invalid value for FIXTURE_X: nope", field="FIXTURE_X")
    if mode == "sleep":
        time.sleep(float(env_str("FIXTURE_SLEEP", "1000")))
        return 0
    if mode == "grandchild":  # leaves a grandchild in its group, then hangs (optionally deaf to SIGTERM)
        if env_str("FIXTURE_IGNORE_TERM"):
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
        _spawn_sleeper()
        time.sleep(1000)
        return 0
    if mode == "leftover":  # leaves a grandchild holding our pipes, then exits 0
        _spawn_sleeper()
        return 0
    if mode == "state":  # what a fresh process would show: own session, default handlers, fresh seeds
        log_json(
            pid=os.getpid(),
            pgid=os.getpgid(0),
            sid=os.getsid(0),
            ppid=os.getppid(),
            sigterm_default=signal.getsignal(signal.SIGTERM) == signal.SIG_DFL,
            sigint_python=signal.getsignal(signal.SIGINT) is signal.default_int_handler,
            random=random.random(),
            hash=hash("bpflow"),
            threads=len(os.listdir("/proc/self/task")),
            env=sorted(os.environ),
            cwd=os.getcwd(),
            argv0=sys.argv[0],
        )
        return 0
    if mode == "big_output":
        size = env_int("FIXTURE_BYTES", 5_000_000)
        line = "x" * 99 + "\n"
        out, err = job_stdout(), job_stderr()
        for _ in range(size // 100):
            out.write(line)
            err.write(line)
        out.write("END-OUT\n")
        err.write("END-ERR\n")
        out.flush()
        err.flush()
        return 0
    print(json.dumps({"unknown_mode": mode}))
    return 99


def main() -> int:
    return run_main(_run)


if __name__ == "__main__":
    sys.exit(main())
