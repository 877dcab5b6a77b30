"""``make bench-scale-scan``: the reconciliation scan and the status listing over 100,000 scenes.

Each scene holds the markers a finished text scene leaves for the triggers and the stage table
(its request, ``assets/.regen3d_complete``, ``usd/.usd_complete``, a failure marker on one scene
in fifty) plus ``episodes/`` data files no pattern names. Update times are spread over the last
30 days, so 1 % of the scenes fall inside the scan's 24 h look-back, as in a bucket that has
been in use for a month.

Figures (wall seconds; ``*_cpu_s`` is the process's CPU time, what a quiet machine would show
for work that is CPU bound; peak RSS of the whole process in MB):
- ``scan_100k_s``: ``scan_once`` over the trigger patterns, first (full look-back) pass,
  objects in the window handed to a dispatcher that counts them (dispatch speed is
  ``events_per_s`` in ``make bench``); ``scan_100k_incremental_s``: the next pass;
- ``status_list_100k_s``: the first page (200 scenes) of ``scene_summaries_page``, markers only;
- the same on the S3 emulator (moto server, a separate process; the objects are put into it
  inside that process, since 300,000 PUTs over HTTP take longer than the measurement). Moto
  sorts the whole bucket on every LIST page, so a full listing there costs pages × bucket size:
  the S3 figures measure the emulator as much as bpflow (real S3 answers a page in tens of ms).

Targets: scan_100k_s ≤ 10 s with peak RSS ≤ 500 MB; status_list_100k_s ≤ 2 s.
Env: BENCH_SCENES (100000; 0 skips the local part), BENCH_S3_SCENES (default 10000; 0 skips the
S3 part): at 100,000 scenes moto's per-page sort makes one full listing take hours, so the S3
default is 10,000 scenes, labelled as such in the figures (``scan_bench_s3_scenes``).
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
SCAN_TARGET_S, RSS_TARGET_MB, LIST_TARGET_S = 10.0, 500.0, 2.0
DAY = 86400.0
REQUEST = json.dumps({"schema_version": "v1", "prompt": "a small kitchen with a table"})


def layout(i: int, now: float) -> tuple[str, list[tuple[str, str]], float]:
    """Scene id, (relative key, body) pairs and the update time of scene ``i``."""
    scene = f"scene-{i:06d}"
    # Every 100th scene inside the last day, the others spread over the month before.
    age = (i % 97) * 600.0 if i % 100 == 0 else DAY * (1 + (i * 7919 % 2900) / 100)
    files = [
        ("prompts/scene_request.json", REQUEST),
        ("assets/.regen3d_complete", "{}"),
        ("usd/.usd_complete", "{}"),
        ("episodes/data/chunk-000.parquet", "x" * 64),
    ]
    if i % 50 == 7:
        files.append(("usd/.failed", json.dumps({"error": {"code": "usd_invalid", "message": "bench"}})))
    return scene, files, now - age


def write_local(root: Path, scenes: int, now: float) -> None:
    """Files written directly (no bucket API, no ledger): plain system calls, one folder each."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    for i in range(scenes):
        scene, files, ts = layout(i, now)
        base = f"{root}/scenes/{scene}/"
        made: set[str] = set()
        for rel, body in files:
            folder = rel.rpartition("/")[0]
            if folder not in made:
                os.makedirs(base + folder, exist_ok=True)
                made.add(folder)
            fd = os.open(base + rel, flags, 0o644)
            try:
                os.write(fd, body.encode())
                os.utime(fd, (ts, ts))
            finally:
                os.close(fd)


_MOTO = r"""
import json, os, sys, time
sys.path.insert(0, sys.argv[3])
from werkzeug.serving import make_server
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from moto.core import DEFAULT_ACCOUNT_ID
from moto.s3.models import s3_backends
from bench.scale_scan import layout
backend = s3_backends[DEFAULT_ACCOUNT_ID]["aws"] if "aws" in s3_backends[DEFAULT_ACCOUNT_ID] else s3_backends[DEFAULT_ACCOUNT_ID]["global"]
backend.create_bucket("bench-scale", "us-east-1")
now = float(sys.argv[2])
for i in range(int(sys.argv[1])):
    scene, files, ts = layout(i, now)
    for rel, body in files:
        key = backend.put_object("bench-scale", f"scenes/{scene}/{rel}", body.encode())
        key.last_modified = __import__("datetime").datetime.fromtimestamp(ts, __import__("datetime").timezone.utc).replace(tzinfo=None)
app = DomainDispatcherApplication(create_backend_app)
server = make_server("127.0.0.1", 0, app, threaded=False, request_handler=MotoRequestHandler)
print(server.server_address[1], flush=True)
server.serve_forever()
"""


class CountingDispatcher:
    def __init__(self) -> None:
        self.n = 0

    def submit(self, event: Any) -> None:
        self.n += 1


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(bucket: Any, label: str, scenes: int) -> dict[str, Any]:
    import bpflow.workflows  # noqa: F401 - registers the workflows, so stages count as implemented
    from bpflow.core.events.scan import scan_once
    from bpflow.core.triggers import TriggerMap
    from bpflow.ops.dag import load_dag
    from bpflow.ops.scene_status import scene_summaries_page

    env = dict(os.environ)
    counter = CountingDispatcher()
    rt = SimpleNamespace(
        bucket=bucket,
        env=env,
        triggers=TriggerMap.default(env=env),
        scan_lookback_seconds=DAY,
        dispatcher=counter,
        submit=counter.submit,  # the scan hands events to the source's submit (ScanSource)
    )
    out: dict[str, Any] = {}
    t0, c0 = time.monotonic(), time.process_time()
    started = time.time()
    n = scan_once(rt)
    out[f"scan{label}_s"] = round(time.monotonic() - t0, 3)
    out[f"scan{label}_cpu_s"] = round(time.process_time() - c0, 3)
    out[f"scan{label}_dispatched"] = n
    t0 = time.monotonic()
    scan_once(rt, since_s=started - 300)
    out[f"scan{label}_incremental_s"] = round(time.monotonic() - t0, 3)
    dag = load_dag(env)
    t0, c0 = time.monotonic(), time.process_time()
    lines, cursor = scene_summaries_page(rt, with_runs=False, limit=200, dag=dag)  # type: ignore[arg-type]
    out[f"status_list{label}_s"] = round(time.monotonic() - t0, 3)
    out[f"status_list{label}_cpu_s"] = round(time.process_time() - c0, 3)
    assert len(lines) == 200 and cursor == lines[-1]["scene_id"], (len(lines), cursor)
    t0 = time.monotonic()
    scene_summaries_page(rt, with_runs=False, limit=200, dag=dag, after=f"scene-{scenes // 2:06d}")  # type: ignore[arg-type]
    out[f"status_list{label}_mid_page_s"] = round(time.monotonic() - t0, 3)
    out[f"scan{label}_peak_rss_mb"] = round(peak_rss_mb(), 1)
    return out


def main() -> int:
    from bpflow.core.storage.local import LocalBucket

    scenes = int(os.environ.get("BENCH_SCENES", 100_000))
    s3_scenes = int(os.environ.get("BENCH_S3_SCENES", 10_000))
    now = time.time()
    figures: dict[str, Any] = {"scan_bench_scenes": scenes, "scan_bench_load_at_start": round(os.getloadavg()[0], 1)}
    if scenes:
        with tempfile.TemporaryDirectory(prefix="bpflow-scale-scan-") as tmp:
            t0 = time.monotonic()
            write_local(Path(tmp), scenes, now)
            figures["scan_bench_fixture_write_s"] = round(time.monotonic() - t0, 1)
            local = measure(LocalBucket(tmp), f"_{scenes // 1000}k", scenes)
            figures.update(local)
            for k, v in local.items():  # now: removing 500,000 files takes a while on a busy disk
                print(f"{k:40s} {v}", flush=True)
    if s3_scenes:
        figures.update(s3_figures(s3_scenes, now))
    from bench import merge_results

    path = merge_results(figures)
    for k, v in figures.items():
        print(f"{k:40s} {v}")
    print(
        f"targets: scan_100k_s <= {SCAN_TARGET_S} with peak RSS <= {RSS_TARGET_MB} MB; status_list_100k_s <= {LIST_TARGET_S}"
    )
    print(f"written to {path}")
    return 0


def s3_figures(scenes: int, now: float) -> dict[str, Any]:
    from bpflow.core.storage.s3 import S3Bucket

    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    t0 = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-c", _MOTO, str(scenes), str(now), str(HERE.parent)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    try:
        assert proc.stdout is not None
        port = proc.stdout.readline().decode().strip()
        if not port.isdigit():
            raise RuntimeError("moto server did not start")
        fixture_s = round(time.monotonic() - t0, 1)
        os.environ.update({k: env[k] for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION")})
        os.environ["BPFLOW_S3_ENDPOINT_URL"] = f"http://127.0.0.1:{port}"
        out = measure(S3Bucket.from_url("s3://bench-scale"), f"_s3_{scenes // 1000}k", scenes)
        out["scan_bench_s3_scenes"] = scenes
        out["scan_bench_s3_fixture_s"] = fixture_s
        return out
    finally:
        proc.terminate()
        proc.wait(timeout=30)


if __name__ == "__main__":
    raise SystemExit(main())
