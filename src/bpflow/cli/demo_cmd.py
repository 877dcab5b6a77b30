"""``bpflow demo`` (``make demo``): one text request through every stage this build has, on the
embedded default, with live per-stage progress, then the stage table, the USD path and Stage 4's
episodes (count, success rate, the LeRobot dataset's folder).

It runs the whole runtime in this process on a home of its own (``$BPFLOW_HOME/demo``), so a
``bpflow up`` on the main home is never disturbed, and exits non-zero if any stage failed. The
default prompt always makes the same scene (``DEMO_SCENE_ID``); a rerun clears the demo home.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from bpflow.cli.consoles import console, err_console, print_json
from bpflow.core.stages import STAGES

DEFAULT_PROMPT = "a kitchen with a fridge, a table and two mugs"
DEMO_SCENE_ID = "a-kitchen-with-a-fridge-a-table-and-two-a9af27"
"""The default prompt's scene id. Stage 1 seeds its layout from the scene id, so a fixed id
makes the demo's scene — and its robot figures — the same on every run and machine."""
OK_STATES = {"succeeded", "skipped", "not_implemented", "not_run", "pending"}


def _demo_env(home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["BPFLOW_HOME"] = str(home)
    for key in ("BPFLOW_BUCKET_URL", "BPFLOW_DATABASE_URL"):
        env.pop(key, None)  # the demo always runs on the embedded default
    env.setdefault("BPFLOW_SCAN_INTERVAL_SECONDS", "0")
    # Stage 4 stays quick: 2 episodes for each of at most 2 tasks (the seed's default is 10)
    env.setdefault("EPISODES_PER_VARIATION", "2")
    env.setdefault("EPISODE_MAX_TASKS", "2")
    env.setdefault("EPISODES_PER_TASK", "2")  # the Genie Sim local runtime, likewise
    env.setdefault("GENIESIM_MAX_TASKS", "2")
    for key, value in LEARNING_DEFAULTS.items():
        env.setdefault(key, value)
    return env


def _episodes(rt: Any, scene_id: str) -> dict[str, Any] | None:
    """Stage 4's figures for the demo's last lines: episodes, successes, where the dataset is."""
    from bpflow.api.episodes import episode_list

    listed = episode_list(rt, scene_id)
    if listed is None:
        return None
    root = rt.bucket.path_for(listed["dataset"]) if hasattr(rt.bucket, "path_for") else listed["dataset"]
    tasks = sorted({r["task_id"] for r in listed["rows"]})
    return {
        "dataset_path": str(root),
        "episodes": listed["episodes"],
        "successful": listed["successful"],
        "success_rate": listed["success_rate"],
        "tasks": tasks,
    }


#: The learning loop in the demo: episodes are handed to training, a short LeRobot run on the
#: CPU, then the closed-loop evaluation (each can be overridden from the environment).
LEARNING_DEFAULTS = {
    "TRIGGER_TRAINING": "true",
    "TRAINING_MAX_STEPS": "10",
    "BATCH_SIZE": "8",
    "EVAL_EPISODES": "2",
    "EVAL_VIDEOS": "2",
}


def _learning(bucket: Any, scene_id: str) -> dict[str, Any]:
    """Where the dataset and the model are, and how the policy did (from the stage markers)."""

    def read(key: str) -> dict[str, Any]:
        try:
            body = bucket.read_json_or_none(f"scenes/{scene_id}/{key}")
        except ValueError:
            body = None
        return body if isinstance(body, dict) else {}

    def path(key: Any) -> str | None:
        if not isinstance(key, str) or not key:
            return None
        return str(bucket.path_for(key)) if hasattr(bucket, "path_for") else key

    trained, evaluated = read(STAGES["training"].complete[0]), read(STAGES["policy-evaluation"].complete[0])
    return {
        "model_path": path(trained.get("model_path")),
        "evaluation_report": path(evaluated.get("report")),
        "success_rate": evaluated.get("success_rate"),
        "expert_success_rate": evaluated.get("expert_success_rate"),
    }


def demo_command(*, prompt: str, timeout: float, json_output: bool) -> int:
    from bpflow.cli.progress import watch_scene
    from bpflow.core.config import get_settings, load_settings, reset_settings_cache
    from bpflow.core.engine.runtime import Runtime
    from bpflow.domain.request.contract import build_request
    from bpflow.ops.scene_status import scene_status

    home = get_settings().home / "demo"
    scene_id = DEMO_SCENE_ID if prompt == DEFAULT_PROMPT else None
    if scene_id is not None and (home / "bucket" / "scenes" / scene_id).exists():
        shutil.rmtree(home)  # a rerun starts over: the same scene again, from nothing
    env = _demo_env(home)
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)  # jobs launched by this process inherit the demo home
    reset_settings_cache()
    settings = load_settings(env)
    rt = Runtime(settings, env=env)
    started = time.monotonic()
    try:
        rt.launch(role="all", watch=False)
        request = build_request(prompt, settings=settings, scene_id=scene_id)
        scene_id = request["scene_id"]
        key = STAGES["source-orchestrator"].trigger_key(scene_id)
        rt.bucket.write_json(key, request)  # the write is the trigger
        out: Console = err_console if json_output else console
        out.print(f"demo scene [bold]{scene_id}[/bold]: {prompt!r}")
        watch_scene(scene_id, timeout=timeout, console=out)
        wall = time.monotonic() - started
        status = scene_status(rt, scene_id)
        episodes = _episodes(rt, scene_id)
    finally:
        rt.shutdown()
        os.environ.clear()
        os.environ.update(saved)
        reset_settings_cache()

    usd = rt.bucket.path_for(f"scenes/{scene_id}/usd/scene.usda") if hasattr(rt.bucket, "path_for") else None
    stages = [s for s in status.stages]
    failed = [s for s in stages if s.state == "failed"]
    result: dict[str, Any] = {
        "scene_id": scene_id,
        "state": status.state,
        "wall_s": round(wall, 2),
        "stages": {
            s.name: {"state": s.state, "seconds": s.duration_seconds, "error_code": s.error_code} for s in stages
        },
        "usd_path": str(usd) if usd is not None and Path(usd).exists() else None,
        "failed": [s.name for s in failed],
        "episodes": episodes,
        "learning": _learning(rt.bucket, scene_id),
    }
    if json_output:
        print_json(result)
    else:
        table = Table(title=f"scene {scene_id} — {status.state} in {wall:.1f} s")
        for col in ("stage", "state", "seconds", "error"):
            table.add_column(col)
        for s in stages:
            secs = "" if s.duration_seconds is None else f"{s.duration_seconds:.1f}"
            table.add_row(s.title or s.name, s.state, secs, s.error_code or "")
        console.print(table)
        console.print(f"scene id: {scene_id}")
        console.print(f"USD: {result['usd_path'] or 'not produced'}")
        if episodes:
            console.print(
                f"episodes: {episodes['episodes']} ({episodes['successful']} succeeded, success rate {episodes['success_rate']:.0%})"
            )
            console.print(f"dataset (LeRobot v3.0): {episodes['dataset_path']}")
        else:
            console.print("episodes: not produced")
        learning = result["learning"]
        console.print(f"model: {learning['model_path'] or 'not produced'}")
        rate, expert = learning["success_rate"], learning["expert_success_rate"]
        console.print(
            "evaluation: "
            + (
                "not run"
                if rate is None
                else f"success rate {rate:.0%} (scripted expert {expert or 0:.0%}) — {learning['evaluation_report']}"
            )
        )
    return 1 if failed or result["usd_path"] is None else 0
