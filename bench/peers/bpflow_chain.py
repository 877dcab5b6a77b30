"""bpflow on the peers' workload: the 6-stage event chain (bench/chain.py) × N scenes.

``python -m bench.peers.bpflow_chain RUNNER [--latency]``: the embedded default (SQLite, local
directory bucket, file watcher on, worker concurrency 8) with ``BPFLOW_RUNNER=RUNNER``. Each
repetition writes every scene's start object through the Bucket API at once (one event per
scene) and ends when every scene's 6th stage has ended. ``--latency`` also measures object event
→ run start: a write through the Bucket API, and a file dropped into the bucket folder by
another process (what an outside program does), paced, one at a time.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from bench.peers.common import chain_figures, emit, pct, tree_cpu_seconds, wait_for, workload  # noqa: E402

LATENCY_EVENTS = 100

_DROPPER = """
import json, os, sys, time
root, n = sys.argv[1], int(sys.argv[2])
out = {}
for i in range(n):
    key = f"scenes/drop{i:04d}/bench/ping.json"
    path = os.path.join(root, key)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    t = time.time()
    with open(path, "w") as fh:
        fh.write("{}")
    out[key] = t
    time.sleep(0.05)
print(json.dumps(out))
"""


def latency(rt: Any) -> dict[str, Any]:
    import json

    from bench.workflows import STARTS

    api: list[float] = []
    for i in range(LATENCY_EVENTS):
        key = f"scenes/api{i:04d}/bench/ping.json"
        t0 = time.time()
        rt.bucket.write(key, "{}")
        wait_for(lambda: key in STARTS, 30, "a bench-start run")
        api.append((STARTS[key] - t0) * 1000)
        time.sleep(0.02)
    proc = subprocess.run(
        [sys.executable, "-c", _DROPPER, str(rt.bucket.root), str(LATENCY_EVENTS)],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    written: dict[str, float] = json.loads(proc.stdout)
    wait_for(lambda: all(k in STARTS for k in written), 120, "dropped-file runs")
    dropped = [(STARTS[k] - t) * 1000 for k, t in written.items()]
    return {
        "api_write_to_start_ms_p50": round(pct(api, 0.5), 2),
        "api_write_to_start_ms_p95": round(pct(api, 0.95), 2),
        "dropped_file_to_start_ms_p50": round(pct(dropped, 0.5), 2),
        "dropped_file_to_start_ms_p95": round(pct(dropped, 0.95), 2),
        "events": LATENCY_EVENTS,
    }


def main() -> int:
    runner = sys.argv[1] if len(sys.argv) > 1 else "subprocess"
    with_latency = "--latency" in sys.argv
    watch = "--no-watch" not in sys.argv
    scenes, reps = workload()
    home = Path(tempfile.mkdtemp(prefix="bpflow-peers-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("BPFLOW_")}
    env.update(
        BPFLOW_HOME=str(home),
        BPFLOW_TRIGGER_FILES=f"{REPO / 'bench/chain_triggers.yaml'},{REPO / 'bench/triggers.yaml'}",
        BPFLOW_WORKFLOW_MODULES="bench.chain,bench.workflows",
        BPFLOW_SCAN_INTERVAL_SECONDS="0",
        BPFLOW_LOG_LEVEL="WARNING",
        BPFLOW_RUNNER=runner,
        BPFLOW_WATCH="true" if watch else "false",
        PYTHONPATH=os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p),
    )
    os.environ.clear()
    os.environ.update(env)

    import bpflow
    from bench import chain
    from bpflow.core.engine.runtime import Runtime

    rt = Runtime(env=env).launch(role="all")
    doc: dict[str, Any] = {
        "name": f"bpflow ({runner} runner{'' if watch else ', watcher off'})",
        "version": bpflow.__version__,
    }
    try:

        def run_once(tag: str, n: int) -> tuple[float, float]:
            ids = [f"{tag}{i:04d}" for i in range(n)]
            cpu0, t0 = tree_cpu_seconds(), time.perf_counter()
            for scene in ids:
                rt.bucket.write(f"scenes/{scene}/{chain.START}", "{}")
            wait_for(lambda: all(s in chain.FINISHED for s in ids), 600, f"{n} chains", interval=0.02)
            return time.perf_counter() - t0, tree_cpu_seconds() - cpu0

        run_once("warm", 5)
        measured = [run_once(f"r{rep}s", scenes) for rep in range(reps)]
        doc["chain"] = chain_figures([w for w, _ in measured], scenes, [c for _, c in measured])
        if with_latency:
            doc["latency"] = latency(rt)
    finally:
        rt.shutdown()
    emit(doc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
