"""``make bench-episodes``: robot episodes across room types, the way the pipeline makes them.

N prompts over the room types of the load test (kitchens, laundry, bathroom, garage, office:
``bench.batch.PROMPTS``, with the load test's scene ids, so the bench sees the very scenes the
test does) or, with ``--physics``, the 30 prompts over 10 room types of ``bench.physics``. Each
scene goes, one after another, through the real jobs on a local directory bucket (in-process
runner): Stage 1 (text-scene-gen, adapter), Stage 2 (convert, simready, interactive,
usd-assembly with its physics gate), Stage 3 (replicator, variation-gen), then Genie Sim: the
export job (which derives the tasks) and the local runtime (``GENIESIM_RUNTIME=local``:
``EPISODES_PER_TASK`` episodes per task in MuJoCo, one small camera so rendering costs little).

Printed, and merged into ``bench/results.json`` under ``episodes_rooms``, per room type and
overall:

- ``scenes_with_pass``: scenes with ≥ 1 episode whose certificate passed (the import's gate) /
  scenes whose Stage 1–3 succeeded;
- ``episode_pass_rate``: certificates passed / episodes recorded;
- ``reasons``: why episodes failed (``ik_unreachable`` and ``arm_collision_planned``: the
  episode's own plan found no reachable or clear path, ``joint_limit_planned`` none inside the
  joint limits; ``not_lifted``, ``grasp_slip``,
  ``placement_off_target``, ``not_at_rest``, ``drawer_not_closed``; ``certificate_failed`` for
  a task done with a joint past its limit; ``arm_collision`` for a successful task whose arm
  touched something on the way, ``timeout``) and why scenes got no episode at all (``no_tasks:<code>`` from
  the export, ``runtime:<code>`` from the runtime, ``stage:<job>`` when Stages 1–3 failed);
- ``contacts``: which arm link first touched what (by object category), for the collisions.

Sizes: ``--count`` scenes (default 20), ``--episodes`` per task (default 2), ``--max-tasks``
(default 50, the pipeline's). ``--json FILE`` also writes every scene's record.
"""

from __future__ import annotations

import argparse
import collections
import itertools
import json
import re
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

#: The load test's five rooms (``bench.batch.PROMPTS``, same order) with their room type.
LOAD_ROOMS = ("kitchen", "laundry", "bathroom", "garage", "office")
OFFLINE = {
    "TEXT_GEN_USE_LLM": "false",
    "TEXT_ASSET_RETRIEVAL_MODE": "lexical_primary",
    "TEXT_ASSET_GENERATION_ENABLED": "false",
    "TEXT_ASSET_REPLICATION_ENABLED": "false",
    "TEXT_BACKEND_DEFAULT": "internal",
}
SIM = {
    "EPISODE_CAMERAS": "front",
    "EPISODE_IMAGE_SIZE": "32",
    "BPFLOW_SIM_WORKERS": "1",
    "GENIESIM_RUNTIME": "local",
    "ROBOT_TYPE": "franka",
}


def prompts(physics: bool, count: int) -> list[tuple[str, str, str]]:
    """(scene id, room type, prompt): the load test's ids and prompts unless ``physics``."""
    if physics:
        from bench.physics import PROMPTS

        rows = [(f"rooms{i:02d}", room, prompt) for i, (room, prompt) in enumerate(PROMPTS)]
        return rows[:count]
    from bench.batch import PROMPTS as LOAD

    cycle = itertools.cycle(zip(LOAD_ROOMS, LOAD))
    return [(f"load{i:02d}", *next(cycle)) for i in range(count)]


def jobs(scene: str) -> list[tuple[str, str, dict[str, str]]]:
    """(stage, job, extra env) in pipeline order for one scene."""
    p = f"scenes/{scene}"
    return [
        ("stage1", "text-scene-gen-job", {}),
        ("stage1", "text-scene-adapter-job", {}),
        ("stage2", "usd-assembly-job", {"CONVERT_ONLY": "true"}),
        ("stage2", "simready-job", {"SIMREADY_PHYSICS_MODE": "deterministic"}),
        ("stage2", "interactive-job", {}),
        ("stage2", "usd-assembly-job", {}),
        (
            "stage3",
            "replicator-job",
            {
                "SEG_PREFIX": f"{p}/seg",
                "ASSETS_PREFIX": f"{p}/assets",
                "USD_PREFIX": f"{p}/usd",
                "REPLICATOR_PREFIX": f"{p}/replicator",
            },
        ),
        (
            "stage3",
            "variation-gen-job",
            {
                "REPLICATOR_PREFIX": f"{p}/replicator",
                "VARIATION_ASSETS_PREFIX": f"{p}/variation_assets",
                "ASSETS_PREFIX": f"{p}/assets",
            },
        ),
        (
            "geniesim",
            "genie-sim-export-job",
            {
                "GENIESIM_PREFIX": f"{p}/geniesim",
                "ASSETS_PREFIX": f"{p}/assets",
                "VARIATION_ASSETS_PREFIX": f"{p}/variation_assets",
                "USD_PREFIX": f"{p}/usd",
            },
        ),
        ("geniesim", "genie-sim-gpu-job", {"GENIESIM_PREFIX": f"{p}/geniesim", "OUTPUT_PREFIX": f"{p}/episodes"}),
    ]


def _read(bucket: LocalBucket, key: str) -> Any:
    try:
        return bucket.read_json(key)
    except Exception:  # noqa: BLE001 - absent or unreadable: recorded as None
        return None


def _job_error(result: Any) -> dict[str, Any]:
    """The typed error a job logged (``run_main`` prints it as JSON), else its last words."""
    for line in reversed((result.stderr_tail + "\n" + result.stdout_tail).splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                body = json.loads(line)
            except ValueError:
                continue
            err = body.get("error") if isinstance(body.get("error"), dict) else body
            if isinstance(err, dict) and err.get("code"):
                return {"code": str(err["code"]), "message": str(err.get("message", ""))[:400]}
    return {
        "code": "timeout" if result.timed_out else f"exit_{result.exit_code}",
        "message": (result.stderr_tail or result.stdout_tail)[-400:],
    }


def classify(episode: dict[str, Any]) -> str | None:
    """The failure category of one episode's recorded outcome (None: it passed cleanly)."""
    reason = str(episode.get("reason") or "")
    if episode.get("success"):
        if not episode.get("passed", True):
            return "certificate_failed"  # done, but a joint went past its limit or a video broke
        return "arm_collision" if int(episode.get("collision_frames") or 0) > 0 else None
    if reason.startswith("ik_unreachable"):
        return "ik_unreachable"
    if reason.startswith("not lifted"):
        return "not_lifted"
    if reason.startswith("not placed"):
        m = re.search(r"height change ([0-9.]+) cm", reason)
        return "grasp_slip" if m and float(m.group(1)) >= 3.0 else "placement_off_target"
    if reason.startswith("not at rest"):
        return "not_at_rest"
    if reason.startswith("not closed"):
        return "drawer_not_closed"
    if reason.startswith("arm_collision"):
        return "arm_collision_planned"
    if reason.startswith("joint_limit"):
        return "joint_limit_planned"
    return reason.split(" ", 1)[0] or "unknown"


def request_scene(bucket: LocalBucket, home: Path, scene: str, prompt: str, run: str) -> dict[str, str]:
    """Write ``scene``'s offline text request; the env every job of that scene runs with."""
    bucket.write_json(
        f"scenes/{scene}/prompts/scene_request.json", build_request(prompt, scene_id=scene, backend="internal")
    )
    return {
        "BPFLOW_BUCKET_URL": bucket.url,
        "BPFLOW_HOME": str(home),
        "BUCKET": "bench",
        "SCENE_ID": scene,
        "BPFLOW_RUN_ID": f"{run}:{scene}",
        **OFFLINE,
    }


def run_scene(
    bucket: LocalBucket, home: Path, scene: str, room: str, prompt: str, *, episodes: int, max_tasks: int
) -> dict[str, Any]:
    base = {
        **request_scene(bucket, home, scene, prompt, "bench"),
        **SIM,
        "EPISODES_PER_TASK": str(episodes),
        "MAX_TASKS": str(max_tasks),
    }
    runner = InProcessRunner()
    record: dict[str, Any] = {
        "scene_id": scene,
        "room": room,
        "prompt": prompt,
        "stages_ok": False,
        "episodes": [],
        "reasons": [],
    }
    started = time.monotonic()
    for stage, job, extra in jobs(scene):
        t0 = time.monotonic()
        result = runner.run(JobSpec(name=job, env={**base, **extra}, timeout_seconds=900))
        record.setdefault("job_seconds", {})[job] = round(time.monotonic() - t0, 2)
        if result.exit_code == 0:
            continue
        err = _job_error(result)
        if stage != "geniesim":
            record["reasons"].append(f"stage:{job}:{err['code']}")
        elif job == "genie-sim-export-job":
            record["stages_ok"] = True
            record["reasons"].append(f"no_tasks:{err['code']}")
        else:  # the runtime: a failed job.json is read below; without one, the job itself broke
            record["stages_ok"] = True
            if _read(bucket, f"scenes/{scene}/geniesim/job.json") is None:
                record["reasons"].append(f"runtime:{err['code']}")
        record["error"] = err
        break
    else:
        record["stages_ok"] = True
    record["seconds"] = round(time.monotonic() - started, 2)
    bundle = _read(bucket, f"scenes/{scene}/geniesim/task_config.json")
    record["tasks"] = [t.get("target_object") for t in (bundle or {}).get("suggested_tasks", [])]
    job = _read(bucket, f"scenes/{scene}/geniesim/job.json")
    if isinstance(job, dict):
        record["job_status"] = job.get("status")
        failure = job.get("failure_details") or {}
        for err in ((failure.get("by_robot") or {}) if isinstance(failure, dict) else {}).values():
            record["reasons"].append(f"runtime:{err.get('code')}")
            record["error"] = err
        prefix = (job.get("artifacts") or {}).get("episodes_path")
        summary = _read(bucket, f"{prefix}/raw/episodes_summary.json") if prefix else None
        if isinstance(summary, dict):
            record["mount"] = {k: summary.get("mount", {}).get(k) for k in ("base", "yaw", "surface_id", "reach")}
            record["skipped_objects"] = summary.get("skipped_objects")
            passed = {}
            for cert in bucket.list(f"{prefix}/raw/certificates/"):
                body = _read(bucket, cert.key)
                if isinstance(body, dict):
                    passed[int(body["episode_index"])] = (
                        body.get("validation_passed") is True and body.get("recommended_use") != "testing"
                    )
            for e in summary.get("episode_results", []):
                record["episodes"].append(
                    {
                        **{
                            k: e.get(k)
                            for k in (
                                "episode_index",
                                "object_id",
                                "success",
                                "reason",
                                "collision_frames",
                                "first_contact",
                            )
                        },
                        "passed": passed.get(int(e["episode_index"]), False),
                    }
                )
    record["passed"] = sum(1 for e in record["episodes"] if e["passed"])
    return record


def figures(records: list[dict[str, Any]], categories: dict[str, str]) -> dict[str, Any]:
    def block(rows: list[dict[str, Any]]) -> dict[str, Any]:
        eps = [e for r in rows for e in r["episodes"]]
        reasons: collections.Counter[str] = collections.Counter()
        contacts: collections.Counter[str] = collections.Counter()
        for r in rows:
            reasons.update(x for x in r["reasons"])
            for e in r["episodes"]:
                why = classify(e)
                if why:
                    reasons[why] += 1
                fc = e.get("first_contact")
                if fc:
                    other = str(fc.get("other", ""))
                    contacts[
                        f"{fc.get('arm_link', '').removeprefix('robot/')} x {categories.get(other, other)} ({fc.get('segment')})"
                    ] += 1
        staged = [r for r in rows if r["stages_ok"]]
        return {
            "scenes": len(rows),
            "scenes_stages_ok": len(staged),
            "scenes_with_pass": sum(1 for r in staged if r["passed"] > 0),
            "episodes": len(eps),
            "episodes_passed": sum(1 for e in eps if e["passed"]),
            "episode_pass_rate": round(sum(1 for e in eps if e["passed"]) / len(eps), 3) if eps else None,
            "reasons": dict(reasons.most_common()),
            "contacts": dict(contacts.most_common(8)),
            "seconds_per_scene_mean": round(sum(r["seconds"] for r in rows) / len(rows), 1) if rows else None,
        }

    rooms = sorted({r["room"] for r in records}, key=lambda x: [r["room"] for r in records].index(x))
    return {
        "overall": block(records),
        "by_room": {room: block([r for r in records if r["room"] == room]) for room in rooms},
    }


def _categories(bucket: LocalBucket, scenes: list[str]) -> dict[str, str]:
    """MuJoCo body name → object category, so contacts read as 'hand x cabinet'."""
    out: dict[str, str] = {}
    for scene in scenes:
        manifest = _read(bucket, f"scenes/{scene}/assets/scene_manifest.json") or {}
        for o in manifest.get("objects", []) if isinstance(manifest, dict) else []:
            oid = str(o.get("id") or o.get("object_id") or "")
            if oid:
                out[f"obj_{oid}"] = str(o.get("category") or oid)
    return out


class _kept:
    """A named folder used like a temporary directory but left in place."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __enter__(self) -> str:
        Path(self.path).mkdir(parents=True, exist_ok=True)
        return self.path

    def __exit__(self, *exc: object) -> None:
        return None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    ap.add_argument("--count", type=int, default=20)
    ap.add_argument("--episodes", type=int, default=2)
    ap.add_argument("--max-tasks", type=int, default=50)
    ap.add_argument("--physics", action="store_true", help="the 30 prompts over 10 room types of bench.physics")
    ap.add_argument("--only", default="", help="comma-separated scene ids to run (diagnosis)")
    ap.add_argument("--json", default="", help="write every scene's record to this file")
    ap.add_argument("--no-save", action="store_true", help="do not merge into bench/results.json")
    ap.add_argument("--keep", default="", help="work in this folder and keep it (diagnosis) instead of a temporary one")
    args = ap.parse_args(argv)
    rows = prompts(args.physics, args.count)
    if args.only:
        keep = set(args.only.split(","))
        rows = [r for r in rows if r[0] in keep]
    records = []
    with tempfile.TemporaryDirectory(prefix="bpflow-bench-rooms-") if not args.keep else _kept(args.keep) as tmp:
        bucket = LocalBucket(Path(tmp) / "bucket")
        for scene, room, prompt in rows:
            rec = run_scene(
                bucket, Path(tmp) / "home", scene, room, prompt, episodes=args.episodes, max_tasks=args.max_tasks
            )
            records.append(rec)
            print(
                f"{scene} {room:9s} passed {rec['passed']}/{len(rec['episodes'])} {rec['seconds']:6.1f}s {rec['reasons'][:2]} {sorted(collections.Counter(filter(None, map(classify, rec['episodes']))).items())}",
                flush=True,
            )
        result = figures(records, _categories(bucket, [r["scene_id"] for r in records]))
    result["settings"] = {
        "count": len(rows),
        "episodes_per_task": args.episodes,
        "max_tasks": args.max_tasks,
        "prompts": "bench.physics" if args.physics else "bench.batch (load test)",
        "camera": "front 32x32",
    }
    print(json.dumps(result, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(records, indent=2, default=str))
    if not args.no_save:
        path = HERE / "results.json"
        merged = json.loads(path.read_text()) if path.exists() else {}
        merged["episodes_rooms"] = result
        path.write_text(json.dumps(merged, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
