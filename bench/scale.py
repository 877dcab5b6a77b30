"""``make bench-scale``: scale-out on PostgreSQL, 1, 2 and 4 ``bpflow worker`` processes in turn.

For each worker count: a fresh database on one throwaway PostgreSQL cluster (tests/support/services.py
starts it), a fresh local bucket, one ``bpflow up`` (watcher, dispatcher, HTTP; ``BPFLOW_WORKER_CONCURRENCY=0``: it executes no
run, so the figure is the workers') and N ``bpflow worker`` processes
(``BPFLOW_WORKER_CONCURRENCY`` 8 each). Figures, printed and written to bench/scale.json:

* ``chain_runs_per_s``: the 6-stage chain of bench/chain.py × SCALE_SCENES scenes, each scene's
  start object dropped into the bucket at once. Its job sleeps ``BENCH_JOB_SLEEP_SECONDS`` (0.5 s)
  on a thread (in-process runner): a remote job (Cloud Run, a GPU machine) the worker only waits
  on. That is deliberate: this machine has 2 cores shared with other work, so a CPU-bound job
  would measure the cores, not the orchestration. What the figure shows is how many runs the
  queues, the database and the workers keep in flight.
* ``text_scenes_per_min``: SCALE_TEXT_SCENES real text requests (offline Stage 1, the tests'
  tiny Stage 4 settings, the subprocess runner), request written → the source orchestrator's
  terminal status (as bench/batch.py). These jobs are CPU-bound, so on 2 cores more workers
  cannot make them faster; the figure says what the same cores give.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from bench.peers.common import proc_stat

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "bench" / "scale.json"
WORKER_COUNTS = tuple(int(n) for n in os.environ.get("SCALE_WORKERS", "1,2,4").split(","))
SCENES = int(os.environ.get("SCALE_SCENES", 120))
TEXT_SCENES = int(os.environ.get("SCALE_TEXT_SCENES", 4))
JOB_SLEEP_S = float(os.environ.get("SCALE_JOB_SLEEP_SECONDS", 0.5))
CONCURRENCY = 8
UP_CONCURRENCY = os.environ.get("SCALE_UP_CONCURRENCY", "0")
"""``bpflow up`` is the front (watcher, dispatcher, HTTP) and executes no run: the figure is the
workers'. SCALE_UP_CONCURRENCY=1 lets it take one run per queue too."""
OFFLINE_TEXT = {
    "TEXT_GEN_USE_LLM": "false",
    "TEXT_ASSET_RETRIEVAL_MODE": "lexical_primary",
    "TEXT_ASSET_GENERATION_ENABLED": "false",
    "TEXT_ASSET_REPLICATION_ENABLED": "false",
    "TEXT_BACKEND_DEFAULT": "internal",
    "EPISODES_PER_VARIATION": "1",
    "EPISODE_MAX_TASKS": "1",
    "EPISODE_CAMERAS": "front",
    "EPISODE_IMAGE_SIZE": "32",
    "BPFLOW_SIM_WORKERS": "1",
}
PROMPTS = (
    "a kitchen with a fridge, a cabinet and two mugs",
    "an office with a desk, a chair and a filing cabinet",
    "a bathroom with a vanity and a towel",
    "a laundry room with a washer and a dryer",
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def machine_busy_seconds() -> float:
    """CPU seconds all cores spent not idle since boot (/proc/stat): every process, PostgreSQL too."""
    fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def wait_for(pred: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.1)


class Cluster:
    """One ``bpflow up`` and N ``bpflow worker`` processes on one database and bucket."""

    def __init__(self, pg_url: str, workers: int, tag: str, extra: dict[str, str]) -> None:
        import psycopg

        base, _, _ = pg_url.rpartition("/")
        db = f"bench_{tag}_{workers}w_{int(time.time())}"
        with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{db}"')
        self.home = Path(tempfile.mkdtemp(prefix=f"bpflow-scale-{tag}-"))
        self.port = free_port()
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("BPFLOW_")}
        self.env.update(extra)
        self.env.update(
            BPFLOW_HOME=str(self.home),
            BPFLOW_DATABASE_URL=f"{base}/{db}",
            BPFLOW_BUCKET_URL=f"file://{self.home}/bucket",
            BPFLOW_SCAN_INTERVAL_SECONDS="0",
            BPFLOW_LOG_LEVEL="WARNING",
            BPFLOW_HTTP_PORT=str(self.port),
            PYTHONPATH=os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p),
        )
        self.procs: list[subprocess.Popen[bytes]] = []
        self.names: list[str] = []
        bpflow = str(Path(sys.executable).parent / "bpflow")
        up_env = {**self.env, "BPFLOW_WORKER_CONCURRENCY": UP_CONCURRENCY, "BPFLOW_EXECUTOR_ID": "up"}
        self._start([bpflow, "up"], up_env, "up")
        wait_for(self._healthy, 180, "bpflow up")
        for i in range(workers):
            env = {**self.env, "BPFLOW_WORKER_CONCURRENCY": str(CONCURRENCY), "BPFLOW_EXECUTOR_ID": f"worker-{i}"}
            self._start([bpflow, "worker"], env, f"worker-{i}")
        logs = [self.home / f"worker-{i}.log" for i in range(workers)]
        wait_for(lambda: all("bpflow worker:" in p.read_text(errors="replace") for p in logs), 180, "the workers")
        time.sleep(1.5)  # DBOS starts a queue's worker thread on its next queue check (≤ 1 s)

    def _start(self, argv: list[str], env: dict[str, str], name: str) -> None:
        log = open(self.home / f"{name}.log", "wb")
        self.procs.append(
            subprocess.Popen(argv, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        )
        self.names.append(name)

    def _healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=2) as resp:
                return bool(resp.status == 200)
        except OSError:
            return False

    def bucket(self) -> Any:
        from bpflow.core.storage.local import LocalBucket

        return LocalBucket(self.home / "bucket")

    def cpu_seconds(self) -> dict[str, float]:
        """CPU seconds (user + system) each live process of the cluster has used so far."""
        tick = os.sysconf("SC_CLK_TCK")
        out: dict[str, float] = {}
        for name, p in zip(self.names, self.procs, strict=True):
            fields = proc_stat(p.pid)
            if fields is not None:
                out[name] = round((int(fields[11]) + int(fields[12])) / tick, 2)
        return out

    def stop(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()


def chain_run(pg_url: str, workers: int) -> dict[str, Any]:
    from bench.chain import STAGES, START, marker

    cluster = Cluster(
        pg_url,
        workers,
        "chain",
        {
            "BPFLOW_TRIGGER_FILES": str(REPO / "bench/chain_triggers.yaml"),
            "BPFLOW_WORKFLOW_MODULES": "bench.chain",
            "BPFLOW_RUNNER": "inprocess",
            "BENCH_JOB_SLEEP_SECONDS": str(JOB_SLEEP_S),
        },
    )
    load = os.getloadavg()[0]
    try:
        bucket = cluster.bucket()
        ids = [f"c{i:04d}" for i in range(SCENES)]
        cpu0, busy0 = cluster.cpu_seconds(), machine_busy_seconds()
        t0 = time.monotonic()
        for scene in ids:  # another process's writes: up's watcher dispatches them
            bucket.write(f"scenes/{scene}/{START}", "{}")
        pending = {bucket.path_for(f"scenes/{scene}/{marker(STAGES)}") for scene in ids}

        def all_done() -> bool:  # a stat per unfinished scene: this process must not compete for the cores
            pending.difference_update([p for p in pending if p.exists()])
            return not pending

        wait_for(all_done, 1800, f"{SCENES} chains")
        wall = time.monotonic() - t0
        cpu1, busy = cluster.cpu_seconds(), machine_busy_seconds() - busy0
    finally:
        cluster.stop()
    runs = SCENES * STAGES
    return {
        "workers": workers,
        "scenes": SCENES,
        "runs": runs,
        "wall_s": round(wall, 2),
        "runs_per_s": round(runs / wall, 2),
        "cpu_ms_per_run": {k: round((cpu1[k] - cpu0.get(k, 0.0)) * 1000 / runs, 1) for k in cpu1},
        "machine_busy_ms_per_run": round(busy * 1000 / runs, 1),
        "machine_busy_share": round(busy / (wall * (os.cpu_count() or 1)), 2),
        "load_before": round(load, 1),
        "load_after": round(os.getloadavg()[0], 1),
    }


def text_run(pg_url: str, workers: int) -> dict[str, Any]:
    from bpflow.core.config import load_settings
    from bpflow.domain.request.contract import build_request

    cluster = Cluster(pg_url, workers, "text", dict(OFFLINE_TEXT))
    load = os.getloadavg()[0]
    statuses: dict[str, str] = {}
    try:
        bucket = cluster.bucket()
        settings = load_settings(cluster.env)
        requests = [
            build_request(PROMPTS[i % len(PROMPTS)], scene_id=f"text{workers}w{i:02d}", settings=settings)
            for i in range(TEXT_SCENES)
        ]
        t0 = time.monotonic()
        for req in requests:
            bucket.write_json(f"scenes/{req['scene_id']}/prompts/scene_request.json", req)

        def done() -> bool:
            for req in requests:
                key = f"scenes/{req['scene_id']}/source_orchestrator_status.json"
                if req["scene_id"] not in statuses and bucket.exists(key):
                    statuses[req["scene_id"]] = str(bucket.read_json(key).get("status", "unknown"))
            return len(statuses) == len(requests)

        wait_for(done, 3600, f"{TEXT_SCENES} text scenes")
        wall = time.monotonic() - t0
    finally:
        cluster.stop()
    return {
        "workers": workers,
        "scenes": TEXT_SCENES,
        "wall_s": round(wall, 1),
        "scenes_per_min": round(TEXT_SCENES / wall * 60, 2),
        "statuses": sorted(statuses.values()),
        "load_before": round(load, 1),
        "load_after": round(os.getloadavg()[0], 1),
    }


def speedups(rows: list[dict[str, Any]], key: str) -> dict[str, float]:
    """Each worker count's figure over one worker's."""
    base = next((r[key] for r in rows if r["workers"] == 1), None)
    return {str(r["workers"]): round(r[key] / base, 2) for r in rows} if base else {}


def main() -> int:
    sys.path.insert(0, str(REPO))
    from tests.support.services import throwaway_postgres

    only = os.environ.get("SCALE_ONLY", "chain,text").split(",")
    report: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count()},
        "database": "PostgreSQL (throwaway cluster)",
        "bucket": "local directory",
        "worker_concurrency": CONCURRENCY,
        "job_sleep_s": JOB_SLEEP_S,
    }
    kinds = {
        "chain": (
            chain_run,
            "runs_per_s",
            {"job": f"bench-sleep-job: sleeps {JOB_SLEEP_S} s on a thread (a remote job), in-process runner"},
        ),
        "text": (
            text_run,
            "scenes_per_min",
            {
                "path": "request → source orchestrator's terminal status; offline Stage 1, "
                "tests' tiny Stage 4 settings, subprocess runner"
            },
        ),
    }
    with throwaway_postgres() as pg_url:
        for kind, (measure, figure, about) in kinds.items():
            if kind not in only:
                continue
            rows = []
            for n in WORKER_COUNTS:
                rows.append(measure(pg_url, n))
                print(f"{kind:6s} {n} worker(s): {rows[-1]}", flush=True)
            report[kind] = {"rows": rows, "speedup": speedups(rows, figure), **about}
    target = report.get("chain", {}).get("speedup", {}).get("2")
    if target is not None:
        report["target_2_workers_ge_1.8x"] = target >= 1.8
    OUT.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))
    print(f"written to {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
