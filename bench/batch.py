"""``make bench`` (third part): 20 text requests written at once, on the default settings.

Runs ``bpflow up``'s runtime in this process on a fresh home (SQLite, local bucket, the subprocess
runner, ``BPFLOW_WORKER_CONCURRENCY`` at its default), writes 20 requests of varied rooms at once
and waits until every scene reached a terminal state. Merges into bench/results.json:
``batch_20_wall_s`` (first write → last terminal state), ``scenes_per_min`` and ``stall_free``
(true when every submitted scene reached a terminal state before the time limit).
"""

from __future__ import annotations

import itertools
import json
import os
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
COUNT = 20
LIMIT_S = 1800.0
#: Kitchens, laundry, bathroom, garage, office: every articulated category the planner uses there
#: must have a Stage-2 rule, or the interactive gate fails the scene (tests/engine/test_load.py too).
PROMPTS = (
    "a kitchen with a fridge, a cabinet and two mugs",
    "a laundry room with a washer and a dryer",
    "a bathroom with a vanity and a towel",
    "a garage with a toolbox and a tool cabinet",
    "an office with a desk, a chair and a filing cabinet",
)


def main() -> int:
    home = tempfile.mkdtemp(prefix="bpflow-batch-bench-")
    env = {k: v for k, v in os.environ.items() if not k.startswith("BPFLOW_")}
    env.update(BPFLOW_HOME=home, BPFLOW_LOG_LEVEL="WARNING")
    os.environ.clear()
    os.environ.update(env)

    from bpflow.core.config import load_settings
    from bpflow.core.engine.runtime import Runtime
    from bpflow.domain.request.contract import build_request

    settings = load_settings(env)
    rt = Runtime(settings, env=env).launch(role="all", watch=False)
    prompts = itertools.cycle(PROMPTS)
    scenes = []
    try:
        requests = []
        for i in range(COUNT):
            requests.append(build_request(next(prompts), scene_id=f"batch{i:02d}", settings=settings))
        t0 = time.monotonic()
        for request in requests:
            rt.bucket.write_json(f"scenes/{request['scene_id']}/prompts/scene_request.json", request)
            scenes.append(request["scene_id"])
        statuses: dict[str, str] = {}
        while len(statuses) < COUNT and time.monotonic() - t0 < LIMIT_S:
            for scene in scenes:
                key = f"scenes/{scene}/source_orchestrator_status.json"
                if scene not in statuses and rt.bucket.exists(key):
                    statuses[scene] = json.loads(rt.bucket.read(key)).get("status", "unknown")
            time.sleep(0.5)
        wall = time.monotonic() - t0
    finally:
        rt.shutdown()

    done = [s for s in statuses.values() if s in ("completed", "incomplete")]
    figures = {
        "batch_20_wall_s": round(wall, 1),
        "scenes_per_min": round(len(statuses) / wall * 60, 2) if wall > 0 else 0.0,
        "stall_free": len(statuses) == COUNT,
        "batch_20_succeeded": len(done),
    }
    out = HERE / "results.json"
    data = json.loads(out.read_text()) if out.exists() else {}
    data.update(figures)
    out.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    for key, value in figures.items():
        print(f"{key:34s} {value}")
    print(f"written to {out}")
    return 0 if figures["stall_free"] else 1


if __name__ == "__main__":
    sys.exit(main())
