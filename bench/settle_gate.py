"""Diagnosis (issue 15): which offline text scenes pass Stage 2's gates, scene id by scene id.

Not a benchmark (no make target, nothing merged into results.json): it answers "does a change
to Stage 1 cost or save scenes?" by running the real jobs in this process on a local directory
bucket, the way ``bench.episodes_rooms`` does, without the workflows around them:

- ``--tour N``: the README tour's bedroom (``a bedroom with a bed and a lamp``) on N scene ids
  (``tourNN-s001`` with seed 1 and ``-s002`` with seed 2, as ``bpflow submit --seeds 2`` names
  them), through Stage 1 and Stage 2 up to usd-assembly and its physics gate;
- ``--load N``: the load test's first N scenes (``loadNN``, ``bench.batch.PROMPTS``), through
  Stage 2 (with the replicator and the Isaac Lab feasibility gate) and Stage 3 (variation-gen,
  the Isaac Lab refresh).

Prints one line per scene (which job failed and why, what settle moved or dropped) and the
pass counts; ``--json FILE`` keeps every record.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.episodes_rooms import _job_error, _read, prompts, request_scene
from bpflow.core.runners.base import JobSpec
from bpflow.core.runners.inprocess import InProcessRunner
from bpflow.core.storage.local import LocalBucket

TOUR_PROMPT = "a bedroom with a bed and a lamp"


def jobs(scene: str, through: int) -> list[tuple[str, dict[str, str]]]:
    """(job, extra env) in the usd-assembly and variation-assets workflows' order."""
    out = [
        ("text-scene-gen-job", {}),
        ("text-scene-adapter-job", {}),
        ("usd-assembly-job", {"CONVERT_ONLY": "true"}),
        ("simready-job", {"SIMREADY_PHYSICS_MODE": "deterministic"}),
        ("interactive-job", {}),
        ("usd-assembly-job", {}),
    ]
    if through >= 3:
        p = f"scenes/{scene}"
        out += [
            ("replicator-job", {}),
            ("isaac-lab-job", {}),
            (
                "variation-gen-job",
                {"VARIATION_ASSETS_PREFIX": f"{p}/variation_assets", "PRIORITY_FILTER": ""},
            ),
            (
                "isaac-lab-refresh-job",
                {"ISAAC_REFRESH_ONLY": "true", "RUN_RUNTIME_VALIDATION": "false"},
            ),
        ]
    return out


def run_scene(bucket: LocalBucket, home: Path, scene: str, prompt: str, seed: int, through: int) -> dict[str, Any]:
    base = {**request_scene(bucket, home, scene, prompt, "settle"), "TEXT_SEED": str(seed)}
    runner = InProcessRunner()
    record: dict[str, Any] = {"scene_id": scene, "seed": seed, "passed": False}
    started = time.monotonic()
    for job, extra in jobs(scene, through):
        result = runner.run(JobSpec(name=job, env={**base, **extra}, timeout_seconds=900))
        if result.exit_code != 0:
            record["failed_job"] = job
            record["error"] = _job_error(result)
            break
    else:
        record["passed"] = True
    record["seconds"] = round(time.monotonic() - started, 1)
    summary = _read(bucket, f"scenes/{scene}/textgen/adapter_summary.json") or {}
    outputs = summary.get("outputs", {}) if isinstance(summary, dict) else {}
    record["relocated"] = [s for s in outputs.get("settled_on_supports", []) if s.get("planned_support_id")]
    record["dropped"] = outputs.get("dropped_objects", [])
    physics = _read(bucket, f"scenes/{scene}/usd/physics_report.json")
    if isinstance(physics, dict):
        record["physics_passed"] = physics.get("passed")
        record["physics_failures"] = physics.get("failures", [])[:4]
    meta = _read(bucket, f"scenes/{scene}/isaac_lab/generation_metadata.json")
    if isinstance(meta, dict):
        record["feasibility_gate"] = meta.get("feasibility_gate")
    return record


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    ap.add_argument("--tour", type=int, default=0, help="tour bedroom scene ids (two seeds each)")
    ap.add_argument("--load", type=int, default=0, help="the load test's first N scenes")
    ap.add_argument("--only", default="", help="comma-separated scene ids to run (diagnosis)")
    ap.add_argument("--json", default="", help="write every scene's record to this file")
    args = ap.parse_args(argv)
    rows: list[tuple[str, str, int, int]] = []  # scene, prompt, seed, last stage
    for i in range(args.tour):
        rows += [(f"tour{i:02d}-s{seed:03d}", TOUR_PROMPT, seed, 2) for seed in (1, 2)]
    if args.load:
        rows += [(scene, prompt, 1, 3) for scene, _, prompt in prompts(False, args.load)]
    if args.only:
        rows = [r for r in rows if r[0] in set(args.only.split(","))]
    records = []
    with tempfile.TemporaryDirectory(prefix="bpflow-settle-gate-") as tmp:
        bucket = LocalBucket(Path(tmp) / "bucket")
        for scene, prompt, seed, through in rows:
            rec = run_scene(bucket, Path(tmp) / "home", scene, prompt, seed, through)
            records.append(rec)
            why = (
                "" if rec["passed"] else f"{rec['failed_job']}: {rec['error']['code']} {rec['error']['message'][:160]}"
            )
            moved = [f"{m['object_id']}:{m['planned_support_id']}->{m['support_id']}" for m in rec["relocated"]]
            gone = [f"{d['object_id']}({d['category']})" for d in rec["dropped"]]
            print(
                f"{scene:16s} {'PASS' if rec['passed'] else 'FAIL'} {rec['seconds']:6.1f}s moved={moved} dropped={gone} {why}",
                flush=True,
            )
    groups: dict[str, list[dict[str, Any]]] = {}
    for rec in records:
        groups.setdefault(rec["scene_id"].rstrip("0123456789-s")[:4], []).append(rec)
    for name, recs in groups.items():
        print(f"{name}: {sum(r['passed'] for r in recs)}/{len(recs)} passed", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(records, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
