"""variation-gen-job on a real local bucket: outputs, bad input, partial failure, resume."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from pxr import Usd

from bpflow.core.jobkit import job_context
from bpflow.core.storage.local import LocalBucket
from bpflow.domain.scene.manifest import parse_manifest as parse_scene_manifest
from bpflow.jobs import variation_gen
from tests.stage3.stage2_fixture import scene_manifest, write_stage2_outputs

SCENE = "kitchen1"
VA = f"scenes/{SCENE}/variation_assets"


@pytest.fixture
def bucket(tmp_path: Path) -> LocalBucket:
    b = LocalBucket(tmp_path / "bucket")
    write_stage2_outputs(b, SCENE)
    return b


def run_job(bucket: LocalBucket, **env: str) -> tuple[int, list[dict[str, Any]], str]:
    out, err = io.StringIO(), io.StringIO()
    full = {"BPFLOW_BUCKET_URL": bucket.url, "SCENE_ID": SCENE, **env}
    with job_context(full, stdout=out, stderr=err):
        code = variation_gen.main()
    return code, [json.loads(line) for line in out.getvalue().splitlines() if line.strip()], err.getvalue()


def keys(bucket: LocalBucket, prefix: str = "") -> set[str]:
    return {i.key for i in bucket.list(prefix)}


def test_variants_catalogue_and_report(bucket: LocalBucket) -> None:
    code, lines, err = run_job(bucket)
    assert code == 0, err
    doc = bucket.read_json(f"{VA}/variation_assets.json")
    assert doc["source"] == "variation-gen-job" and doc["metadata"]["total_objects"] == 2
    by_id = {o["id"]: o for o in doc["objects"]}
    assert set(by_id) == {"mug_variants", "table_variants"}
    mug = by_id["mug_variants"]
    for field in ("id", "category", "sim_role", "transform", "asset", "variants"):
        assert field in mug
    assert mug["category"] == "mug" and mug["sim_role"] == "manipulable_object" and mug["source_object_id"] == "mug_0"
    assert mug["transform"] == scene_manifest(SCENE)["objects"][2]["transform"]
    assert mug["asset"]["path"] == f"{VA}/obj_mug_variants/variants.usda" and mug["asset"]["license"] == "unknown"
    assert {v["variant_set"] for v in mug["variants"]} == {"scale", "color", "material"} and len(mug["variants"]) == 9
    assert mug["default_variants"] == {"scale": "medium", "color": "red", "material": "ceramic"}
    scales = {v["name"]: v for v in mug["variants"] if v["variant_set"] == "scale"}
    assert scales["large"]["scale"] == 1.15 and scales["large"]["mass_factor"] == pytest.approx(1.15**3)
    assert scales["medium"]["mass_factor"] == 1.0
    # the USD is really there and has what the catalogue says
    stage = Usd.Stage.Open(str(bucket.path_for(mug["asset"]["path"])))
    vsets = stage.GetDefaultPrim().GetVariantSets()
    assert {s: sorted(vsets.GetVariantSet(s).GetVariantNames()) for s in vsets.GetNames()} == {
        k: sorted(v) for k, v in mug["variant_sets"].items()
    }
    # the variation manifest is a valid scene manifest for Stage 2's simready
    parsed = parse_scene_manifest(bucket.read(f"{VA}/scene_manifest.json"), expected_scene=SCENE)
    assert [o.id for o in parsed.objects] == ["mug_variants", "table_variants"]
    assert parsed.objects[0].asset_path == mug["asset"]["path"] and parsed.objects[0].material_hint == "ceramic"
    report = bucket.read_json(f"{VA}/generation_report.json")
    assert report["summary"] == {
        "requested": 3,
        "selected": 2,
        "generated": 2,
        "resumed": 0,
        "failed": 0,
        "skipped": 1,
        "variation_assets": 2,
    }
    assert [r["status"] for r in report["results"]] == ["generated", "generated", "skipped"]
    with_results = bucket.read_json(f"{VA}/manifest_with_results.json")
    assert with_results["assets"][2]["generation_result"]["status"] == "skipped"
    assert bucket.read_json(f"{VA}/.progress.json")["variation_gen_completed"] == ["mug_variants", "table_variants"]
    assert not bucket.exists(f"{VA}/.variation_pipeline_complete")  # the workflow's marker, never the job's
    assert [line["action"] for line in lines] == ["plan", "asset_generated", "asset_generated", "done"]


def test_only_the_scene_prefix_is_written(bucket: LocalBucket) -> None:
    before = keys(bucket)
    assert run_job(bucket)[0] == 0
    assert all(k.startswith(VA + "/") for k in keys(bucket) - before)


def test_license_is_inherited_from_the_source(bucket: LocalBucket) -> None:
    manifest = scene_manifest(SCENE)
    manifest["objects"][2]["asset"]["license"] = "CC0"
    bucket.write_json(f"scenes/{SCENE}/assets/scene_manifest.json", manifest)
    bucket.write_json(f"scenes/{SCENE}/assets/obj_table_0/metadata.json", {"id": "table_0", "license": "CC-BY-4.0"})
    assert run_job(bucket)[0] == 0
    licenses = {o["id"]: o["asset"]["license"] for o in bucket.read_json(f"{VA}/variation_assets.json")["objects"]}
    assert licenses == {"mug_variants": "CC0", "table_variants": "CC-BY-4.0"}


def test_a_request_named_after_its_object_gets_its_own_id(bucket: LocalBucket) -> None:
    write_stage2_outputs(
        bucket, SCENE, variation_assets=[{"name": "mug_1", "category": "mug", "source_hint": "generate"}]
    )
    assert run_job(bucket)[0] == 0
    [obj] = bucket.read_json(f"{VA}/variation_assets.json")["objects"]
    assert (obj["id"], obj["name"], obj["source_object_id"]) == ("variation_mug_1", "mug_1", "mug_1")
    assert obj["asset"]["path"] == f"{VA}/obj_variation_mug_1/variants.usda" and bucket.exists(obj["asset"]["path"])


def test_priority_filter_and_max_assets(bucket: LocalBucket) -> None:
    assert run_job(bucket, PRIORITY_FILTER="required")[0] == 0
    assert [o["id"] for o in bucket.read_json(f"{VA}/variation_assets.json")["objects"]] == ["mug_variants"]
    assert run_job(bucket, MAX_ASSETS="1")[0] == 0
    assert [o["id"] for o in bucket.read_json(f"{VA}/variation_assets.json")["objects"]] == ["mug_variants"]


def test_nothing_to_generate_leaves_no_catalogue(bucket: LocalBucket) -> None:
    assert run_job(bucket)[0] == 0  # a first run leaves a catalogue behind
    write_stage2_outputs(
        bucket, SCENE, variation_assets=[{"name": "chair", "category": "chair", "source_hint": "library"}]
    )
    code, lines, _ = run_job(bucket)
    assert code == 0
    assert not bucket.exists(f"{VA}/variation_assets.json") and not bucket.exists(f"{VA}/scene_manifest.json")
    assert bucket.read_json(f"{VA}/generation_report.json")["summary"]["selected"] == 0


def test_partial_failure_is_reported_and_succeeds(bucket: LocalBucket) -> None:
    write_stage2_outputs(
        bucket,
        SCENE,
        variation_assets=[
            {"name": "mugs", "category": "mug"},
            {"name": "ghost", "category": "mug", "source_object_id": "mug_99"},
            {"name": "lamps", "category": "lamp"},
        ],
    )
    code, lines, _ = run_job(bucket)
    assert code == 0
    results = {r["id"]: r for r in bucket.read_json(f"{VA}/generation_report.json")["results"]}
    assert results["mugs"]["status"] == "generated"
    assert results["ghost"]["status"] == "failed" and "mug_99" in results["ghost"]["reason"]
    assert results["lamps"]["status"] == "failed" and "lamp" in results["lamps"]["reason"]
    assert [o["id"] for o in bucket.read_json(f"{VA}/variation_assets.json")["objects"]] == ["mugs"]


def test_no_asset_could_be_varied_fails_clearly(bucket: LocalBucket) -> None:
    write_stage2_outputs(bucket, SCENE, variation_assets=[{"name": "lamps", "category": "lamp"}])
    bucket.delete(f"scenes/{SCENE}/assets/obj_mug_0/model.usd")
    code, _, err = run_job(bucket)
    assert code == 2
    error = json.loads(err.strip().splitlines()[-1])["error"]
    assert error["code"] == "no_variation_assets" and "lamps" in error["message"] and "Traceback" not in err
    assert bucket.read_json(f"{VA}/generation_report.json")["summary"]["failed"] == 1


def test_missing_visual_is_a_per_asset_failure(bucket: LocalBucket) -> None:
    write_stage2_outputs(
        bucket, SCENE, variation_assets=[{"name": "mugs", "category": "mug", "source_object_id": "mug_1"}]
    )
    bucket.delete(f"scenes/{SCENE}/assets/obj_mug_1/model.usd")
    code, _, err = run_job(bucket)
    assert code == 2
    assert "no USD visual" in json.loads(err.strip().splitlines()[-1])["error"]["message"]


def test_resume_keeps_finished_variant_files(bucket: LocalBucket) -> None:
    assert run_job(bucket)[0] == 0
    key = f"{VA}/obj_mug_variants/variants.usda"
    generation = bucket.stat(key).generation  # type: ignore[union-attr]
    code, lines, _ = run_job(bucket, RESUME_FROM_PROGRESS="true")
    assert code == 0
    assert bucket.stat(key).generation == generation  # type: ignore[union-attr]
    assert {line["action"] for line in lines} >= {"asset_resumed"}
    assert bucket.read_json(f"{VA}/generation_report.json")["summary"]["resumed"] == 2
    assert len(bucket.read_json(f"{VA}/variation_assets.json")["objects"]) == 2
    # without resume the file is rewritten
    assert run_job(bucket)[0] == 0
    assert bucket.stat(key).generation > generation  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("env", "field"),
    [
        ({"SCENE_ID": ".."}, "SCENE_ID"),
        ({"VARIATION_ASSETS_PREFIX": "scenes/other/variation_assets"}, "VARIATION_ASSETS_PREFIX"),
        ({"REPLICATOR_PREFIX": f"scenes/{SCENE}/../other/replicator"}, "REPLICATOR_PREFIX"),
        ({"PROGRESS_MARKER_PATH": "automation/progress.json"}, "PROGRESS_MARKER_PATH"),
        ({"PRIORITY_FILTER": "urgent"}, "PRIORITY_FILTER"),
        ({"MAX_ASSETS": "-1"}, "MAX_ASSETS"),
        ({"MAX_ASSETS": "many"}, "MAX_ASSETS"),
        ({"ENABLE_3D_GENERATION": "true"}, "ENABLE_3D_GENERATION"),
        ({"REPLICATOR_PREFIX": f"scenes/{SCENE}/nowhere"}, "REPLICATOR_PREFIX"),
    ],
)
def test_bad_parameters_fail_before_writing(bucket: LocalBucket, env: dict[str, str], field: str) -> None:
    before = {k: bucket.stat(k).generation for k in keys(bucket)}  # type: ignore[union-attr]
    code, _, err = run_job(bucket, **env)
    assert code == 2 and "Traceback" not in err
    assert json.loads(err.strip().splitlines()[-1])["error"]["field"] == field
    assert {k: bucket.stat(k).generation for k in keys(bucket)} == before  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"{not json", "REPLICATOR_PREFIX"),
        (json.dumps({"assets": [{"name": "mug", "priority": "urgent"}]}).encode(), "assets[0].priority"),
    ],
)
def test_bad_replicator_manifest_names_the_field(bucket: LocalBucket, body: bytes, field: str) -> None:
    bucket.write(f"scenes/{SCENE}/replicator/variation_assets/manifest.json", body)
    code, _, err = run_job(bucket)
    assert code == 2
    assert json.loads(err.strip().splitlines()[-1])["error"]["field"] == field
    assert not keys(bucket, VA + "/")


def test_bad_scene_manifest_names_the_field(bucket: LocalBucket) -> None:
    manifest = scene_manifest(SCENE)
    manifest["objects"][0]["id"] = "bad id!"
    bucket.write_json(f"scenes/{SCENE}/assets/scene_manifest.json", manifest)
    code, _, err = run_job(bucket)
    assert code == 2
    assert json.loads(err.strip().splitlines()[-1])["error"]["field"] == "objects[0].id"
    assert not keys(bucket, VA + "/")
