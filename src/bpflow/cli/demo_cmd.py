"""``bpflow demo`` (``make demo``): one text request through every stage this build has, on the
embedded default, with live per-stage progress, then the stage table and the USD path.

It runs the whole runtime in this process on a home of its own (``$BPFLOW_HOME/demo``), so a
``bpflow up`` on the main home is never disturbed, and exits non-zero if any stage failed.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from bpflow.cli import console, err_console, print_json

DEFAULT_PROMPT = "a kitchen with a fridge, a table and two mugs"
OK_STATES = {"succeeded", "skipped", "not_implemented", "not_run", "pending"}


def _demo_env(home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["BPFLOW_HOME"] = str(home)
    for key in ("BPFLOW_BUCKET_URL", "BPFLOW_DATABASE_URL"):
        env.pop(key, None)  # the demo always runs on the embedded default
    env.setdefault("BPFLOW_SCAN_INTERVAL_SECONDS", "0")
    for key, value in LEARNING_DEFAULTS.items():
        env.setdefault(key, value)
    return env


#: The learning loop in the demo: episodes are handed to training, a short LeRobot run on the
#: CPU, then the closed-loop evaluation (each can be overridden from the environment).
LEARNING_DEFAULTS = {"TRIGGER_TRAINING": "true", "TRAINING_MAX_STEPS": "10", "BATCH_SIZE": "8", "EVAL_EPISODES": "2", "EVAL_VIDEOS": "2"}


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

    episodes, trained, evaluated = read("episodes/.episodes_complete"), read("training/.training_complete"), read("evaluation/.evaluation_complete")
    return {
        "dataset_path": path(episodes.get("dataset")),
        "model_path": path(trained.get("model_path")),
        "evaluation_report": path(evaluated.get("report")),
        "success_rate": evaluated.get("success_rate"),
        "expert_success_rate": evaluated.get("expert_success_rate"),
    }


def demo_command(*, prompt: str, timeout: float, json_output: bool) -> int:
    from bpflow.cli.progress import watch_scene
    from bpflow.config import get_settings, load_settings, reset_settings_cache
    from bpflow.engine.runtime import Runtime
    from bpflow.source.request import build_request
    from bpflow.status.scene_status import scene_status

    home = get_settings().home / "demo"
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
        request = build_request(prompt, settings=settings)
        scene_id = request["scene_id"]
        key = f"scenes/{scene_id}/prompts/scene_request.json"
        rt.bucket.write_json(key, request)  # the write is the trigger
        out: Console = err_console if json_output else console
        out.print(f"demo scene [bold]{scene_id}[/bold]: {prompt!r}")
        watch_scene(scene_id, timeout=timeout, console=out)
        wall = time.monotonic() - started
        status = scene_status(rt, scene_id)
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
        "stages": {s.name: {"state": s.state, "seconds": s.duration_seconds, "error_code": s.error_code} for s in stages},
        "usd_path": str(usd) if usd is not None and Path(usd).exists() else None,
        "failed": [s.name for s in failed],
        **_learning(rt.bucket, scene_id),
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
        console.print(f"dataset: {result['dataset_path'] or 'not produced'}")
        console.print(f"model: {result['model_path'] or 'not produced'}")
        rate = result["success_rate"]
        expert = result["expert_success_rate"]
        console.print("evaluation: " + ("not run" if rate is None else f"success rate {rate:.0%} (scripted expert {expert or 0:.0%}) — {result['evaluation_report']}"))
    return 1 if failed or result["usd_path"] is None else 0
