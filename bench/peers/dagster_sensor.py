"""Dagster: object event → run start, a sensor at its default interval watching a folder.

A fresh DAGSTER_HOME (SQLite storage, the default run launcher: a process per run), a code
location holding a sensor (default ``minimum_interval_seconds``) that requests one run per new
file in a drop folder, and ``dagster-daemon run`` evaluating it. Files are dropped at random
moments, one at a time; the figure is drop → the run's op beginning. The sensor can only see a
file at its next tick, so the floor is the tick: on average half the interval, at worst all of it.
Run with the Dagster peer venv's python.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import emit, pct  # noqa: E402

EVENTS = int(os.environ.get("BENCH_SENSOR_EVENTS", 4))

DEFS = """
import os, time
from pathlib import Path
import dagster as dg

DROP, STARTS = Path(os.environ["BENCH_DROP_DIR"]), Path(os.environ["BENCH_STARTS_DIR"])

@dg.op(config_schema={"file": str})
def record_start(context) -> None:
    (STARTS / context.op_config["file"]).write_text(repr(time.time()))

@dg.job
def on_drop():
    record_start()

@dg.sensor(job=on_drop, default_status=dg.DefaultSensorStatus.RUNNING)
def drops(context):
    for path in sorted(DROP.iterdir()):
        yield dg.RunRequest(run_key=path.name, run_config={"ops": {"record_start": {"config": {"file": path.name}}}})

defs = dg.Definitions(jobs=[on_drop], sensors=[drops])
"""


def main() -> int:
    import dagster as dg
    from dagster._core.definitions.sensor_definition import DEFAULT_SENSOR_DAEMON_INTERVAL

    root = Path(tempfile.mkdtemp(prefix="dagster-sensor-"))
    home, drop, starts = root / "home", root / "drop", root / "starts"
    for d in (home, drop, starts):
        d.mkdir()
    (root / "defs.py").write_text(DEFS)
    env = {**os.environ, "DAGSTER_HOME": str(home), "BENCH_DROP_DIR": str(drop), "BENCH_STARTS_DIR": str(starts)}
    daemon_bin = str(Path(sys.executable).parent / "dagster-daemon")
    proc = subprocess.Popen(
        [daemon_bin, "run", "-f", str(root / "defs.py")],
        cwd=root,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(root / "daemon.log", "w"),
        start_new_session=True,
    )
    lat: list[float] = []
    try:
        # The daemon's first tick of the sensor: a probe file's run starts.
        probe = "probe.json"
        (drop / probe).write_text("{}")
        deadline = time.monotonic() + 300
        while not (starts / probe).exists():
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError(
                    f"the Dagster daemon never started a run: {(root / 'daemon.log').read_text()[-2000:]}"
                )
            time.sleep(0.05)
        rng = random.Random(17)
        for i in range(EVENTS):
            time.sleep(rng.uniform(0, DEFAULT_SENSOR_DAEMON_INTERVAL))  # a random moment within a tick
            name = f"drop{i:03d}.json"
            t0 = time.time()
            (drop / name).write_text("{}")
            deadline = time.monotonic() + 300
            while not (starts / name).exists():
                if time.monotonic() > deadline:
                    raise RuntimeError(f"no run started for {name} within 300 s")
                time.sleep(0.05)
            time.sleep(0.05)
            lat.append((float((starts / name).read_text()) - t0) * 1000)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    emit(
        {
            "name": "Dagster sensor (default interval)",
            "version": dg.__version__,
            "latency": {
                "dropped_file_to_start_ms_p50": round(pct(lat, 0.5), 1),
                "dropped_file_to_start_ms_max": round(max(lat), 1),
                "events": len(lat),
                "each_ms": [round(v, 1) for v in lat],
                "sensor_interval_s": DEFAULT_SENSOR_DAEMON_INTERVAL,
                "setup": "dagster-daemon, sensor at the default minimum_interval_seconds listing a folder, default run launcher (a process per run)",
            },
        }
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
