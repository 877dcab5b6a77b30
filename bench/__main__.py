"""``make bench``: orchestration figures on this machine, printed and written to bench/results.json.

Every figure runs the real runtime (SQLite, local directory bucket, DBOS queue) in this process:
- api_write_to_start_ms: a write through the Bucket API → the triggered workflow's first line;
- dropped_file_to_start_ms: a file written by another process into the bucket folder → first line;
- job_overhead_ms: run_job with a no-op in-process job, minus calling the job directly;
- events_per_s: matching object events dispatched (durably enqueued) per second by one worker.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def wait_for(pred: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise RuntimeError("benchmark timed out waiting for runs")
        time.sleep(0.005)


def main() -> int:
    home = Path(tempfile.mkdtemp(prefix="bpflow-bench-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("BPFLOW_")}
    env.update(
        BPFLOW_HOME=str(home),
        BPFLOW_TRIGGER_FILES=str(HERE / "triggers.yaml"),
        BPFLOW_WORKFLOW_MODULES="bench.workflows",
        BPFLOW_SCAN_INTERVAL_SECONDS="3600",
        BPFLOW_LOG_LEVEL="WARNING",
    )
    os.environ.update(env)
    sys.path.insert(0, str(REPO))

    from dbos import DBOS

    from bench.workflows import STARTS
    from bpflow.core.engine.runtime import Runtime
    from bpflow.core.events.model import ObjectEvent
    from bpflow.jobs import noop

    results: dict[str, Any] = {}
    rt = Runtime(env=env).launch(role="all", watch=True)
    try:
        bucket = rt.bucket
        # Warm up: DBOS connections, imports, the watcher.
        for i in range(20):
            bucket.write(f"scenes/warm{i}/bench/ping.json", "{}")
        wait_for(lambda: len(STARTS) >= 20, 30)

        # 1. write through the Bucket API → workflow start, 1,000 events, paced.
        lat: list[float] = []
        for i in range(1000):
            key = f"scenes/api{i:04d}/bench/ping.json"
            t0 = time.time()
            bucket.write(key, "{}")
            wait_for(lambda: key in STARTS, 10)
            lat.append((STARTS[key] - t0) * 1000)
        results["api_write_to_start_ms_p50"] = round(pct(lat, 0.50), 2)
        results["api_write_to_start_ms_p95"] = round(pct(lat, 0.95), 2)
        results["api_write_to_start_events"] = len(lat)

        # 2. a file written by another process into the bucket folder → workflow start.
        n_drop = 200
        writer = (
            "import json,os,sys,time\n"
            "root=sys.argv[1]; out={}\n"
            f"for i in range({n_drop}):\n"
            "    p=os.path.join(root,f'scenes/drop{i:04d}/bench'); os.makedirs(p,exist_ok=True)\n"
            "    t=time.time()\n"
            "    with open(os.path.join(p,'ping.json'),'w') as f: f.write('{}')\n"
            "    out[f'scenes/drop{i:04d}/bench/ping.json']=t\n"
            "    time.sleep(0.02)\n"
            "print(json.dumps(out))\n"
        )
        proc = subprocess.run(
            [sys.executable, "-c", writer, str(bucket.root)], capture_output=True, text=True, check=True
        )
        written: dict[str, float] = json.loads(proc.stdout)
        wait_for(lambda: all(k in STARTS for k in written), 60)
        dlat = [(STARTS[k] - t) * 1000 for k, t in written.items()]
        results["dropped_file_to_start_ms_p50"] = round(pct(dlat, 0.50), 2)
        results["dropped_file_to_start_ms_p95"] = round(pct(dlat, 0.95), 2)
        results["dropped_file_events"] = len(dlat)

        # 3. orchestration overhead per job invocation (no-op job, in-process runner).
        n_jobs = 300
        os.environ.update({"BPFLOW_BUCKET_URL": bucket.url})
        t0 = time.perf_counter()
        for _ in range(n_jobs):
            from bpflow.core.jobkit import job_context

            with job_context({"BPFLOW_BUCKET_URL": bucket.url}):
                noop.main()
        direct = (time.perf_counter() - t0) / n_jobs
        out = rt.dispatcher.start_manual("bench-jobs", {"n": n_jobs})
        res = DBOS.retrieve_workflow(out.run_ids[0]).get_result()
        per_job = res["seconds"] / n_jobs
        results["job_overhead_ms"] = round((per_job - direct) * 1000, 3)
        results["job_direct_ms"] = round(direct * 1000, 3)

        # 4. dispatch throughput: matching events → durable enqueue, one worker. The objects exist
        # (a run acts on exactly its object version), written behind the watcher's back.
        rt._watcher.stop()
        rt._watcher = None
        n_ev = 2000
        events = []
        for i in range(n_ev):
            key = f"scenes/tp{i:05d}/bench/ping.json"
            path = bucket.path_for(key)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("{}")
            events.append(
                ObjectEvent(bucket=bucket.url, name=key, generation=bucket.stat(key).generation, source="bench")
            )
        t0 = time.perf_counter()
        for ev in events:
            rt.dispatcher.dispatch_object(ev)
        disp = time.perf_counter() - t0
        results["events_per_s"] = round(n_ev / disp, 1)
        wait_for(lambda: all(ev.name in STARTS for ev in events), 120)
        results["runs_started_per_s"] = round(n_ev / (time.perf_counter() - t0), 1)
    finally:
        rt.shutdown()

    results["machine"] = {"cpus": os.cpu_count(), "database": "sqlite", "bucket": "local directory"}
    demo_file = HERE / "results.json"
    previous: dict[str, Any] = {}
    if demo_file.exists():
        try:
            previous = json.loads(demo_file.read_text())
        except ValueError:
            previous = {}
    previous.update(results)
    demo_file.write_text(json.dumps(previous, indent=2, sort_keys=True) + "\n")
    targets = {
        "api_write_to_start_ms_p95": ("<=", 50),
        "dropped_file_to_start_ms_p95": ("<=", 500),
        "job_overhead_ms": ("<=", 10),
        "events_per_s": (">=", 200),
    }
    for key in sorted(results):
        if key == "machine":
            continue
        target = targets.get(key)
        note = f"   (target {target[0]} {target[1]})" if target else ""
        print(f"{key:34s} {results[key]}{note}")
    print(f"written to {demo_file}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
