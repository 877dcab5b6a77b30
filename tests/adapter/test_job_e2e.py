"""text-scene-adapter-job end to end: ``python -m bpflow.jobs.text_scene_adapter`` on a real bucket.

Inputs are what text-scene-gen leaves (the Appendix-shaped fixture, and, when that job is
installed, its real output); outputs are checked against the package's contracts, opened with
pxr, and the bucket is checked for anything written outside the scene.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from bpflow.core.storage.local import LocalBucket
from bpflow.domain.retrieval.asset_catalog import LIBRARY, SCENE_OBJECT, Catalog
from bpflow.domain.retrieval.outputs import stage1_marker_body
from bpflow.domain.retrieval.usd_models import measure_model
from tests.adapter.conftest import SCENE, seed_scene

ALLOWED_OUTSIDE = (
    "automation/asset_embedding/queue/",
    "automation/asset_replication/queue/",
    "automation/asset_retrieval_rollout/state.json",
)


def job_env(tmp_path: Path, bucket: LocalBucket, scene: str = SCENE, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BPFLOW_", "TEXT_", "VECTOR_"))}
    env.update(
        {"BPFLOW_HOME": str(tmp_path / "home"), "BPFLOW_BUCKET_URL": bucket.url, "BUCKET": "bp-test", "SCENE_ID": scene}
    )
    env.update(extra)
    return env


def run_job(env: dict[str, str], module: str = "bpflow.jobs.text_scene_adapter") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", module], env=env, capture_output=True, text=True, timeout=240, check=False
    )


def run_in_process(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """The same job the way the in-process runner runs it (its env in a context, not os.environ)."""
    from bpflow.core.jobkit import job_context
    from bpflow.jobs.text_scene_adapter import main

    out, err = io.StringIO(), io.StringIO()
    with job_context(env, stdout=out, stderr=err):
        code = main()
    return subprocess.CompletedProcess(["in-process"], code, out.getvalue(), err.getvalue())


def keys(bucket: LocalBucket) -> set[str]:
    return {info.key for info in bucket.list("")}


def read(bucket: LocalBucket, key: str) -> Any:
    return bucket.read_json(key)


def validate(name: str, doc: Any) -> None:
    from bpflow.core import contracts

    assert contracts.validate(name, doc) == [], name


def test_job_writes_every_stage1_output(tmp_path: Path, bucket: LocalBucket) -> None:
    seed_scene(bucket)
    before = keys(bucket)
    done = run_job(job_env(tmp_path, bucket))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1])["objects_count"] == 12

    root = f"scenes/{SCENE}/"
    written = keys(bucket) - before
    assert all(k.startswith(root) or k.startswith(ALLOWED_OUTSIDE) for k in written), sorted(written)
    assert f"{root}assets/.regen3d_complete" not in written  # the workflow's marker, not the job's

    manifest = read(bucket, f"{root}assets/scene_manifest.json")
    layout = read(bucket, f"{root}layout/scene_layout_scaled.json")
    inventory = read(bucket, f"{root}seg/inventory.json")
    summary = read(bucket, f"{root}textgen/adapter_summary.json")
    validate("scene_manifest", manifest)
    validate("scene_layout_scaled", layout)
    validate("inventory", inventory)
    validate("regen3d_complete_marker", stage1_marker_body(summary))
    assert summary == read(bucket, f"{root}textgen/.text_adapter_complete")
    assert read(bucket, f"{root}assets/.text_adapter_complete") == {"scene_id": SCENE, "status": "completed"}

    assert manifest["scene"]["room"] == {
        "bounds": {"width": 6.9462, "depth": 5.9336, "height": 3.1},
        "origin": [0.0, 0.0, 0.0],
    }
    assert manifest["metadata"]["source"]["type"] == "text_sage"
    assert (
        [o["id"] for o in manifest["objects"]]
        == [o["id"] for o in layout["objects"]]
        == [f"obj_{i:03d}" for i in range(1, 13)]
    )
    fridge = next(o for o in layout["objects"] if o["id"] == "obj_002")
    assert fridge["center3d"] == [-0.7564, 0.0129, -2.6553]
    assert fridge["obb"] == {
        "center": [-0.7564, 0.9129, -2.6553],
        "extents": [0.45, 0.9, 0.4],
        "R": [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]],
    }
    # the package's support is carried through; the fixture's retrieved sink (0.35 x 0.26 m) has room
    # for the bottle only, and no top near the bowl's planned spot is a kitchen top: the bowl stands
    # on the floor beside the sink, never in mid-air where the planned top was
    by_id = {o["id"]: o for o in manifest["objects"]}
    assert (
        by_id["obj_010"]["placement"]["parent_support_id"] == "obj_001"
        and "asset_validation" in by_id["obj_010"]["source"]
    )
    assert by_id["obj_004"]["placement"]["parent_support_id"] == "room_floor"
    moved = {m["object_id"]: m for m in summary["outputs"]["settled_on_supports"]}
    assert moved["obj_004"]["planned_support_id"] == "obj_001"
    assert summary["outputs"]["dropped_objects"] == [] and summary["outputs"]["relationships_removed"] == 0

    for obj in manifest["objects"]:
        folder = f"{root}assets/obj_{obj['id']}"
        assert obj["asset"] == {"path": f"{folder}/model.usd", "source": "text_scene_gen", "format": "usd"}
        validate("asset_metadata", read(bucket, f"{folder}/metadata.json"))
        size, centre, meshes = measure_model(bucket.path_for(f"{folder}/model.usd"))
        dims = obj["dimensions_est"]
        assert size == pytest.approx((dims["width"], dims["height"], dims["depth"]), abs=1e-4)
        assert centre == pytest.approx((0, 0, 0), abs=1e-4) and meshes >= 1

    report = read(bucket, f"{root}assets/.asset_retrieval_report.json")
    assert report["object_count"] == 12 and report["retrieval_mode"] == "ann_shadow"
    assert report["ann_attempted_count"] == 12 and report["ann_error_count"] == 0
    assert report["method_counts"]["lexical"] >= 10
    assert report["rollout"]["active_mode"] == "ann_shadow"
    outputs = summary["outputs"]
    assert outputs["embedding"]["queued"] and outputs["replication"]["queued"]
    assert outputs["catalog"]["assets_upserted"] == 12
    assert read(bucket, outputs["embedding"]["queue_object"])["scene_id"] == SCENE

    catalog = Catalog.open(f"sqlite:///{tmp_path}/home/bpflow.sqlite")
    try:
        assert len(catalog.rows("assets-v1", LIBRARY)) >= 50
        assert len(catalog.rows("assets-v1", SCENE_OBJECT)) == 12
        assert catalog.scene(SCENE) is not None
    finally:
        catalog.close()


def test_a_rerun_rewrites_the_same_outputs_and_counts_its_decisions(tmp_path: Path, bucket: LocalBucket) -> None:
    seed_scene(bucket)
    env = job_env(tmp_path, bucket)
    assert run_job(env).returncode == 0
    manifest = bucket.read(f"scenes/{SCENE}/assets/scene_manifest.json")
    models = {k: bucket.read(k) for k in keys(bucket) if k.endswith("model.usd")}
    assert run_job(env).returncode == 0
    assert bucket.read(f"scenes/{SCENE}/assets/scene_manifest.json") == manifest
    assert {k: bucket.read(k) for k in keys(bucket) if k.endswith("model.usd")} == models
    assert read(bucket, "automation/asset_retrieval_rollout/state.json")["total_decisions"] == 24


def test_switches_off_catalog_ann_and_replication(tmp_path: Path, bucket: LocalBucket) -> None:
    package = json.loads((Path(__file__).parent / "fixtures" / "package.json").read_text())
    package["objects"][0].update(name="hyperdrive", category="spaceship_part")
    seed_scene(bucket, package=package)
    env = job_env(
        tmp_path,
        bucket,
        TEXT_ASSET_RETRIEVAL_MODE="lexical_primary",
        TEXT_ASSET_CATALOG_ENABLED="false",
        TEXT_ASSET_REPLICATION_ENABLED="false",
        TEXT_ASSET_ANN_ENABLED="false",
    )
    done = run_job(env)
    assert done.returncode == 0, done.stderr
    summary = read(bucket, f"scenes/{SCENE}/textgen/adapter_summary.json")["outputs"]
    assert summary["embedding"] == {"enabled": False, "queued": False}
    assert summary["replication"] == {"enabled": False, "queued": False}
    assert summary["catalog"]["enabled"] is False
    assert not (tmp_path / "home" / "bpflow.sqlite").exists()
    assert not list(bucket.list("automation/asset_embedding/")) and not list(
        bucket.list("automation/asset_replication/")
    )
    report = read(bucket, f"scenes/{SCENE}/assets/.asset_retrieval_report.json")
    assert report["ann_attempted_count"] == 0
    first = report["decisions"][0]
    assert first["method"] == "none"
    manifest = read(bucket, f"scenes/{SCENE}/assets/scene_manifest.json")
    assert manifest["objects"][0]["asset_generation"]["materialization"] == "placeholder_usd"
    assert manifest["objects"][0]["asset_generation"]["fallback_reason"] == "retrieval_miss_placeholder"


def test_a_database_outage_costs_ann_not_the_scene(tmp_path: Path, bucket: LocalBucket) -> None:
    seed_scene(bucket)
    done = run_job(job_env(tmp_path, bucket, BPFLOW_DATABASE_URL="postgresql://postgres@127.0.0.1:1/none"))
    assert done.returncode == 0, done.stderr
    outputs = read(bucket, f"scenes/{SCENE}/textgen/adapter_summary.json")["outputs"]
    assert outputs["catalog"]["error"].startswith("catalog_unavailable:")
    assert outputs["embedding"]["error"] == "no_catalog_assets" and outputs["replication"]["queued"]
    report = read(bucket, f"scenes/{SCENE}/assets/.asset_retrieval_report.json")
    assert report["ann_error_count"] == 12 and report["method_counts"]["lexical"] >= 10
    assert report["decisions"][0]["ann_error"].startswith("ann_query_failed:catalog_unavailable:")


@pytest.mark.parametrize(
    ("setup", "env_extra", "code", "field", "via_python_m"),
    [
        ("no_package", {}, "missing_stage1_input", f"scenes/{SCENE}/textgen/package.json", True),
        ("bad_id", {}, "invalid_text_package", "objects[2].id", False),
        ("bad_json", {}, "invalid_text_package", f"scenes/{SCENE}/textgen/package.json", False),
        ("ok", {"ASSETS_PREFIX": "scenes/other_scene/assets"}, "invalid_config", "ASSETS_PREFIX", False),
        ("ok", {"SEG_PREFIX": "scenes/scene_k/../x/seg"}, "invalid_config", "SEG_PREFIX", False),
        ("ok", {"SCENE_ID": "../x"}, "invalid_scene_id", None, True),
        ("ok", {"TEXT_ASSET_ANN_TOP_K": "lots"}, "invalid_config", "TEXT_ASSET_ANN_TOP_K", False),
        (
            "ok",
            {"TEXT_SAM3D_API_HOST": "http://127.0.0.1:9", "TEXT_SAM3D_API_KEY": "k"},
            "invalid_config",
            "TEXT_ASSET_GENERATION_PROVIDER_CHAIN",
            False,
        ),
    ],
)
def test_bad_input_fails_cleanly_and_writes_nothing(
    tmp_path: Path,
    bucket: LocalBucket,
    setup: str,
    env_extra: dict[str, str],
    code: str,
    field: str | None,
    via_python_m: bool,
) -> None:
    """Each case fails with exit 2 and one JSON error line; two go through ``python -m``, the rest
    through the in-process runner's path (same code, no interpreter start-up)."""
    seed_scene(bucket)
    if setup == "no_package":
        bucket.delete(f"scenes/{SCENE}/textgen/package.json")
    elif setup == "bad_id":
        pkg = read(bucket, f"scenes/{SCENE}/textgen/package.json")
        pkg["objects"][2]["id"] = "../escape"
        bucket.write_json(f"scenes/{SCENE}/textgen/package.json", pkg)
    elif setup == "bad_json":
        bucket.write(f"scenes/{SCENE}/textgen/package.json", b"\xff{not json")
    before = {k: bucket.stat(k) for k in keys(bucket)}
    done = (run_job if via_python_m else run_in_process)(job_env(tmp_path, bucket, **env_extra))
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    error = json.loads(done.stderr.strip().splitlines()[-1])["error"]
    assert error["code"] == code
    if field is not None:
        assert error["field"] == field
    assert {k: bucket.stat(k) for k in keys(bucket)} == before


@pytest.mark.services
def test_catalog_in_postgresql_is_shared_by_runs(tmp_path: Path, bucket: LocalBucket, postgres_url: str) -> None:
    namespace = f"e2e-{uuid.uuid4().hex[:8]}"
    for scene in ("pg_a", "pg_b"):
        seed_scene(bucket, scene)
        done = run_job(
            job_env(tmp_path, bucket, scene, BPFLOW_DATABASE_URL=postgres_url, TEXT_ASSET_ANN_NAMESPACE=namespace)
        )
        assert done.returncode == 0, done.stderr
    catalog = Catalog.open(postgres_url)
    try:
        assert len(catalog.rows(namespace, SCENE_OBJECT)) == 24
        library = catalog.rows(namespace, LIBRARY)
        assert len(library) >= 50 and all(r.embedding is not None for r in library)
        assert catalog.scene("pg_b") is not None
    finally:
        catalog.close()


def test_adapts_what_text_scene_gen_really_writes(tmp_path: Path, bucket: LocalBucket) -> None:
    scene = "kitchen_real"
    bucket.write_json(
        f"scenes/{scene}/prompts/scene_request.json",
        {
            "schema_version": "v1",
            "scene_id": scene,
            "source_mode": "text",
            "text_backend": "sage",
            "prompt": "a kitchen with a fridge, a table and two mugs",
            "quality_tier": "premium",
        },
    )
    env = job_env(tmp_path, bucket, scene, TEXT_GEN_USE_LLM="false")
    gen = run_job(env, "bpflow.jobs.text_scene_gen")
    assert gen.returncode == 0, gen.stderr
    done = run_job(env)
    assert done.returncode == 0, done.stderr
    manifest = read(bucket, f"scenes/{scene}/assets/scene_manifest.json")
    package = read(bucket, f"scenes/{scene}/textgen/package.json")
    assert len(manifest["objects"]) == len(package["objects"])
    validate("scene_manifest", manifest)
    validate("scene_layout_scaled", read(bucket, f"scenes/{scene}/layout/scene_layout_scaled.json"))
    validate("inventory", read(bucket, f"scenes/{scene}/seg/inventory.json"))
    methods = read(bucket, f"scenes/{scene}/assets/.asset_retrieval_report.json")["method_counts"]
    assert methods.get("lexical", 0) + methods.get("ann", 0) >= len(package["objects"]) // 2
