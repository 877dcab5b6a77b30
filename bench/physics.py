"""``make bench-physics``: the physics acceptance batch, 30 prompts over 10 room types.

Each prompt goes prompt → text-scene-gen → text-scene-adapter → convert → simready →
interactive → usd-assembly (whose physics gate loads the scene into MuJoCo, settles it 3 s and
drives every joint), one scene after another on a local directory bucket (the jobs run in this
process through the in-process runner; no two scenes share anything). The figures printed and
merged into ``bench/results.json`` under ``physics``:

- scenes produced (the gate passed) out of 30, and why the others failed;
- dynamic objects stable after 3 s (< 2 cm, < 5°), initial penetrations over 5 mm,
  joints reaching ≥ 90 % of their range, joints entering a wall, masses out of their range;
- seconds per scene.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bpflow.core.runners.base import JobSpec
from bpflow.core.runners.inprocess import InProcessRunner
from bpflow.core.storage.local import LocalBucket
from bpflow.domain.request.contract import build_request

HERE = Path(__file__).resolve().parent

#: 3 prompts for each of the 10 room types of the acceptance.
PROMPTS: tuple[tuple[str, str], ...] = (
    ("kitchen", "a kitchen with a fridge, a table and two mugs"),
    ("kitchen", "a kitchen with an oven, a counter, a bowl and a cutting board"),
    ("kitchen", "a kitchen with a sink, a dishwasher, a microwave and a kettle"),
    ("office", "an office with a desk, an office chair, a monitor and a keyboard"),
    ("office", "an office with a filing cabinet, a desk, a laptop and a lamp"),
    ("office", "an office with a bookshelf, a desk, a trash bin and a plant"),
    ("living room", "a living room with a sofa, a coffee table, a tv and a remote"),
    ("living room", "a living room with an armchair, a side table, a lamp and a book"),
    ("living room", "a living room with a bookshelf, a sofa, a vase and a plant"),
    ("bedroom", "a bedroom with a bed, a nightstand, a pillow and an alarm clock"),
    ("bedroom", "a bedroom with a wardrobe, a dresser, a lamp and a laundry basket"),
    ("bedroom", "a bedroom with a bed, a desk, a chair and a book"),
    ("dining room", "a dining room with a table, four chairs, plates and glasses"),
    ("dining room", "a dining room with a table, a cabinet, a bowl of fruit and a vase"),
    ("dining room", "a dining room with a sideboard, a table, two chairs and a bottle"),
    ("bathroom", "a bathroom with a toilet, a sink, a towel and a trash bin"),
    ("bathroom", "a bathroom with a bathtub, a vanity, soap and a towel"),
    ("bathroom", "a bathroom with a sink, a cabinet, a toothbrush holder and a bottle"),
    ("laundry", "a laundry room with a washer, a dryer, a laundry basket and detergent"),
    ("laundry", "a laundry room with a washing machine, a shelf, a bucket and towels"),
    ("laundry", "a laundry room with a dryer, a table, a basket and a spray bottle"),
    ("garage", "a garage with a workbench, a wrench and a toolbox"),
    ("garage", "a garage with a shelf, a barrel, a bucket and a safety cone"),
    ("garage", "a garage with a tool cabinet, a workbench and a box"),
    ("kids room", "a kids' room with a bed, a toy box, a book and a lamp"),
    ("kids room", "a kids' room with a desk, a chair, a book and a basket"),
    ("kids room", "a kids' room with a bookshelf, a bed and a pillow"),
    ("workshop", "a workshop with a workbench, a tool cabinet, pliers and a screwdriver"),
    ("workshop", "a workshop with a workbench, a stool, a toolbox and a wrench"),
    ("workshop", "a workshop with a shelf, a crate, a pallet and a bucket"),
)

STAGE1 = ("text-scene-gen-job", "text-scene-adapter-job")
STAGE2: tuple[tuple[str, dict[str, str]], ...] = (
    ("usd-assembly-job", {"CONVERT_ONLY": "true"}),
    ("simready-job", {"SIMREADY_PHYSICS_MODE": "deterministic"}),
    ("interactive-job", {}),
    ("usd-assembly-job", {}),
)


def scene_for(bucket: LocalBucket, scene_id: str, prompt: str, home: Path) -> dict[str, Any]:
    """Run one prompt to its assembled, physics-judged scene; the outcome and its report."""
    bucket.write_json(f"scenes/{scene_id}/prompts/scene_request.json", build_request(prompt, scene_id=scene_id))
    base = {
        "BPFLOW_BUCKET_URL": bucket.url,
        "BPFLOW_HOME": str(home),
        "BUCKET": "bench",
        "SCENE_ID": scene_id,
        "BPFLOW_RUN_ID": f"bench:{scene_id}",
        "TEXT_GEN_USE_LLM": "false",
    }
    runner = InProcessRunner()
    started = time.monotonic()
    for job, extra in [(j, {}) for j in STAGE1] + list(STAGE2):
        result = runner.run(JobSpec(name=job, env={**base, **extra}, timeout_seconds=600))
        if result.exit_code != 0:
            report = _read(bucket, f"scenes/{scene_id}/usd/physics_report.json") if job == "usd-assembly-job" else None
            return {
                "scene_id": scene_id,
                "prompt": prompt,
                "ok": False,
                "failed_job": job,
                "error": f"exit {result.exit_code}: {result.stderr_tail[-600:]}{result.stdout_tail[-600:]}",
                "report": report,
                "seconds": time.monotonic() - started,
            }
    return {
        "scene_id": scene_id,
        "prompt": prompt,
        "ok": True,
        "seconds": time.monotonic() - started,
        "report": _read(bucket, f"scenes/{scene_id}/usd/physics_report.json"),
    }


def _read(bucket: LocalBucket, key: str) -> Any:
    try:
        return bucket.read_json(key)
    except Exception:  # noqa: BLE001 - a missing report is recorded as None
        return None


def figures(outcomes: list[dict[str, Any]]) -> dict[str, Any]:
    reports = [o["report"] for o in outcomes if o.get("report")]
    dyn = [obj for r in reports for obj in r["objects"] if obj["kind"] == "dynamic"]
    joints = [j for r in reports for j in r["joints"]]
    return {
        "prompts": len(outcomes),
        "scenes_produced": sum(1 for o in outcomes if o["ok"]),
        "dynamic_objects": len(dyn),
        "dynamic_stable_pct": round(100.0 * sum(1 for o in dyn if o["stable"]) / len(dyn), 2) if dyn else None,
        "initial_penetrations_over_5mm": sum(
            1 for r in reports for o in r["objects"] if o["initial_penetration_m"] > 0.005
        ),
        "joints": len(joints),
        "joints_reaching_90pct": sum(1 for j in joints if j["fraction"] >= 0.9),
        "joints_entering_walls": sum(1 for j in joints if j["penetration_at_limit_m"] > 0.005),
        "masses_out_of_range": sum(len(r.get("masses_out_of_range", [])) for r in reports),
        "seconds_per_scene_mean": round(sum(o["seconds"] for o in outcomes) / len(outcomes), 2) if outcomes else None,
        "failed": [
            {
                "prompt": o["prompt"],
                "job": o.get("failed_job"),
                "why": (o.get("report") or {}).get("failures") or o.get("error", "")[-300:],
            }
            for o in outcomes
            if not o["ok"]
        ],
    }


def run_batch(prompts: tuple[tuple[str, str], ...], root: Path) -> list[dict[str, Any]]:
    bucket = LocalBucket(root / "bucket")
    return [scene_for(bucket, f"phys{i:02d}", prompt, root / "home") for i, (_, prompt) in enumerate(prompts)]


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="bpflow-bench-physics-") as tmp:
        outcomes = run_batch(PROMPTS, Path(tmp))
    result = figures(outcomes)
    print(json.dumps(result, indent=2))
    path = HERE / "results.json"
    merged = json.loads(path.read_text()) if path.exists() else {}
    merged["physics"] = result
    path.write_text(json.dumps(merged, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
