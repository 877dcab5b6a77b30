"""`make demo`'s command end to end: the demo's own usd/scene.usda passes the issue's checks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.stage2.acceptance import check_scene


def test_demo_runs_every_implemented_stage_and_its_usd_is_sound(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BPFLOW_")}
    env["BPFLOW_HOME"] = str(tmp_path)
    proc = subprocess.run([sys.executable, "-m", "bpflow.cli", "demo", "--json"], env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    result = json.loads(proc.stdout)
    states = {name: st["state"] for name, st in result["stages"].items()}
    for stage in ("source-orchestrator", "text-scene-gen", "text-scene-adapter", "usd-assembly", "variation-assets"):
        assert states[stage] == "succeeded", states
    assert result["failed"] == []
    assert "Traceback" not in proc.stderr

    scene = tmp_path / "demo" / "bucket" / "scenes" / result["scene_id"]
    assert Path(result["usd_path"]) == scene / "usd" / "scene.usda"
    manifest = json.loads((scene / "assets" / "scene_manifest.json").read_text())
    layout = json.loads((scene / "layout" / "scene_layout_scaled.json").read_text())
    checked = check_scene(scene / "usd" / "scene.usda", manifest, layout)
    assert checked["objects"] == len(manifest["objects"]) >= 4  # fridge, table, two mugs at least
    categories = [o["category"] for o in manifest["objects"]]
    assert sum(1 for c in categories if c == "mug") >= 2 and any(c in ("fridge", "refrigerator") for c in categories), categories
    for marker in ("usd/.usd_complete", "replicator/.replicator_complete", "isaac_lab/.isaac_lab_complete", "variation_assets/.variation_pipeline_complete"):
        assert (scene / marker).exists(), marker
