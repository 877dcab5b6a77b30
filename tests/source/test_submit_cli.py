"""``bpflow submit`` as a user runs it (a real subprocess): it writes a valid request where it
starts a scene and prints the scene id alone on its last line; a bad argument writes nothing."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from bpflow.core.storage import open_bucket
from bpflow.domain.request.contract import parse_request
from tests.conftest import runtime_env
from tests.source.conftest import REQUEST, wait_for_run
from tests.test_cli import bpflow

PROMPT = "a kitchen with a fridge, a table and two mugs"


def test_submit_writes_a_valid_request_and_prints_the_scene_id_last(tmp_path: Path) -> None:
    env = runtime_env(tmp_path / "home")
    proc = bpflow("submit", PROMPT, "--seeds", "3", "--tier", "premium", env=env)
    assert proc.returncode == 0, proc.stderr
    scene = proc.stdout.splitlines()[-1]
    assert proc.stdout == scene + "\n"  # stdout is the id alone; the rest went to stderr
    assert scene.startswith("a-kitchen-with-a-fridge") and "wrote" in proc.stderr
    assert "not enqueued now" in proc.stderr  # no runtime database yet: bpflow up starts it later
    raw = open_bucket(f"file://{tmp_path / 'home' / 'bucket'}").read(REQUEST.format(scene))
    req = parse_request(raw, scene_id_from_path=scene)
    assert (req.prompt, req.seed_count, req.quality_tier, req.source_mode) == (PROMPT, 3, "premium", "text")


def test_submit_json_and_explicit_scene_id(tmp_path: Path) -> None:
    env = runtime_env(tmp_path / "home")
    proc = bpflow("submit", PROMPT, "--scene-id", "my-kitchen", "--backend", "internal", "--json", env=env)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["scene_id"] == "my-kitchen" and out["request_object"] == REQUEST.format("my-kitchen")
    assert out["request"]["text_backend"] == "internal" and out["dispatch"]["enqueued"] is False


def test_submit_refuses_bad_arguments_and_writes_nothing(tmp_path: Path) -> None:
    env = runtime_env(tmp_path / "home")
    for args, field in (
        (["--seeds", "0"], "seed_count"),
        (["--seeds", "17"], "seed_count"),
        (["--scene-id", "../x"], "scene_id"),
        (["--tier", "ultra"], "quality_tier"),
        (["--backend", "gpt"], "text_backend"),
    ):
        proc = bpflow("submit", PROMPT, *args, "--json", env=env)
        assert proc.returncode == 2, (args, proc.stdout, proc.stderr)
        assert json.loads(proc.stdout)["error"]["field"] == field, args
        assert "Traceback" not in proc.stderr
    blank = bpflow("submit", "   ", env=env)
    assert blank.returncode == 2 and "prompt" in blank.stderr
    assert not (tmp_path / "home" / "bucket").exists() or not any(
        (tmp_path / "home" / "bucket").rglob("scene_request.json")
    )


def test_submit_starts_the_orchestrator_of_a_running_runtime(source_runtime: Any, stage1_only: None) -> None:
    rt = source_runtime()
    proc = bpflow("submit", PROMPT, "--scene-id", "submitted", env=dict(os.environ))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[-1] == "submitted" and "started source-orchestrator:" in proc.stderr
    result = wait_for_run("source-orchestrator", "submitted")
    assert result["status"] == "INCOMPLETE" and result["completed_variants"] == 1
    assert rt.bucket.exists("scenes/submitted/assets/.regen3d_complete")


def test_submit_wait_follows_the_scene_to_its_end(source_runtime: Any) -> None:
    source_runtime(TEXT_GEN_RUNTIME="cloudrun")  # no cloudrun runner here: the scene fails fast
    proc = bpflow("submit", PROMPT, "--scene-id", "waited", "--wait", env=dict(os.environ))
    assert proc.returncode == 1, (proc.stdout, proc.stderr)
    assert proc.stdout.splitlines()[-1] == "waited"
    assert "text_stage_failed" in proc.stderr, proc.stderr
