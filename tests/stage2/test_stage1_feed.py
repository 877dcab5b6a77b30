"""The real Stage-1 output (text-scene-gen → text-scene-adapter, run as ``python -m``) goes
through every Stage-2 job, and the composed scene meets the acceptance checks."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from bpflow.core.storage.local import LocalBucket
from bpflow.domain.request.contract import build_request
from tests.stage2.acceptance import check_scene
from tests.stage2.jobrun import run_chain

PROMPT = "a kitchen with a fridge, a table and two mugs"


def _stage1(bucket: LocalBucket, scene: str, home: Path) -> None:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("BPFLOW_", "TEXT_", "VECTOR_", "OPENAI", "OPENROUTER"))
    }
    env.update(
        {
            "BPFLOW_HOME": str(home),
            "BPFLOW_BUCKET_URL": bucket.url,
            "BUCKET": "test",
            "SCENE_ID": scene,
            "TEXT_GEN_USE_LLM": "false",
        }
    )
    for module in ("bpflow.jobs.text_scene_gen", "bpflow.jobs.text_scene_adapter"):
        done = subprocess.run(
            [sys.executable, "-m", module], env=env, capture_output=True, text=True, timeout=300, check=False
        )
        assert done.returncode == 0, f"{module}: {done.stderr[-3000:]}"


def test_text_stage1_output_through_stage2(tmp_path: Path) -> None:
    bucket = LocalBucket(tmp_path / "bucket")
    scene = "feed1"
    bucket.write_json(f"scenes/{scene}/prompts/scene_request.json", build_request(PROMPT, scene_id=scene))
    _stage1(bucket, scene, tmp_path / "home")
    run_chain(bucket, scene)
    manifest = bucket.read_json(f"scenes/{scene}/assets/scene_manifest.json")
    layout = bucket.read_json(f"scenes/{scene}/layout/scene_layout_scaled.json")
    report = check_scene(bucket.path_for(f"scenes/{scene}/usd/scene.usda"), manifest, layout)
    categories = [o["category"] for o in manifest["objects"]]
    assert report["objects"] == len(manifest["objects"]) and {"table"} <= set(categories)
    fridges = [o["id"] for o in manifest["objects"] if o["category"] in ("refrigerator", "fridge")]
    assert fridges and all(report["joints"][f] > 0 for f in fridges)
    # Stage 1 names some things only by name (an "appliance" called oven): they articulate too
    articulated = [o["id"] for o in manifest["objects"] if o["sim_role"].startswith("articulated_")]
    assert articulated and all(report["joints"][a] > 0 for a in articulated)
    assert bucket.read_json(f"scenes/{scene}/isaac_lab/generation_metadata.json")["feasibility_gate"]["passed"]
