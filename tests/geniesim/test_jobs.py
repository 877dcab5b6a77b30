"""The Genie Sim jobs run for real (in-process runner, real local bucket, MuJoCo): the export
bundle and its validator, the local runtime's job.json and idempotency, the import's LeRobot
conversion and its create-only delivery marker."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bpflow.core.runners.base import JobResult
from bpflow.core.storage.local import LocalBucket
from bpflow.domain.geniesim.contracts import BundleInvalid, bundle_problems, load_bundle_dir, schema_problems
from tests.geniesim.scenes import SMALL, read, upload_scene
from tests.stage2.jobrun import job_error, run

G = "scenes/{s}/geniesim"


@pytest.fixture
def bucket(tmp_path: Path) -> LocalBucket:
    return LocalBucket(tmp_path / "bucket")


def _ok(result: JobResult) -> JobResult:
    assert result.exit_code == 0, result.stderr_tail[-3000:] + result.stdout_tail[-1000:]
    return result


def _export(bucket: LocalBucket, scene: str, **env: str) -> JobResult:
    return run(bucket, scene, "genie-sim-export-job", **env)


def test_export_bundle_is_complete_valid_and_checksummed(bucket: LocalBucket, tmp_path: Path) -> None:
    upload_scene(
        bucket, tmp_path, "gx", cubes=[{"id": "a", "xy": (0.1, 0.05)}, {"id": "b", "xy": (-0.12, -0.08)}], tags=["fast"]
    )
    _ok(_export(bucket, "gx"))
    g = G.format(s="gx")
    keys = {i.key[len(g) + 1 :] for i in bucket.list(g + "/")}
    assert {
        "scene_graph.json",
        "asset_index.json",
        "task_config.json",
        "scene_config.yaml",
        "merged_scene_manifest.json",
        "legal/asset_provenance.json",
        "export_manifest.json",
        "_GENIESIM_EXPORT_COMPLETE",
        "usd/usd/scene.usda",
    } <= keys
    tc = read(bucket, f"{g}/task_config.json")
    assert {t["target_object"] for t in tc["suggested_tasks"]} == {"gx_obj_a", "gx_obj_b"}
    assert tc["robot_config"]["type"] == "franka"
    lo, hi = tc["robot_config"]["workspace_bounds"]
    for t in tc["suggested_tasks"]:
        for p in (t["target_position"], t["place_position"]):
            assert all(lo[k] <= p[k] <= hi[k] for k in range(3))
        assert t["goal_region"] == "gx_obj_table"
    manifest = read(bucket, f"{g}/export_manifest.json")
    assert not schema_problems("export_manifest", manifest)
    import hashlib

    for rel, entry in manifest["checksums"]["files"].items():
        if rel != "export_manifest.json":
            assert hashlib.sha256(bucket.read(f"{g}/{rel}")).hexdigest() == entry["sha256"], rel
    assert {e["path"] for e in manifest["file_inventory"]} == keys - {"export_manifest.json"}
    prov = read(bucket, f"{g}/legal/asset_provenance.json")
    assert prov["license"]["commercial_ok"] is True and prov["robot"]["model_license"] == "Apache-2.0"
    assert {a["license"] for a in prov["assets"]} == {"CC0-1.0"}
    assert read(bucket, f"{g}/merged_scene_manifest.json")["metadata"]["tags"] == ["fast"]


def test_export_bad_inputs_end_in_typed_errors_and_write_nothing(bucket: LocalBucket, tmp_path: Path) -> None:
    upload_scene(bucket, tmp_path, "gx-noman", manifest=False)
    r = _export(bucket, "gx-noman")
    assert r.exit_code == 2 and job_error(r)["code"] == "manifest_missing"
    upload_scene(bucket, tmp_path, "gx-nopick", cubes=[{"id": "crate", "xy": (0.0, 0.0), "size": 0.2}])
    r = _export(bucket, "gx-nopick")
    assert r.exit_code == 2 and job_error(r)["code"] == "no_tasks"
    for s in ("gx-noman", "gx-nopick"):
        assert not list(bucket.list(f"scenes/{s}/geniesim/"))
    r = _export(bucket, "gx-nopick", GENIESIM_PREFIX="scenes/other/geniesim")
    assert r.exit_code == 2 and job_error(r)["field"] == "GENIESIM_PREFIX"
    assert not list(bucket.list("scenes/other/"))


def test_validator_names_the_broken_cross_file_reference(bucket: LocalBucket, tmp_path: Path) -> None:
    upload_scene(bucket, tmp_path, "gv")
    _ok(_export(bucket, "gv"))
    folder = bucket.root / "scenes/gv/geniesim"
    assert bundle_problems(load_bundle_dir(folder)) == []
    tc = json.loads((folder / "task_config.json").read_text())
    tc["suggested_tasks"][0]["target_object"] = "gv_obj_ghost"
    tc["suggested_tasks"][0]["place_position"] = [9.0, 9.0, 9.0]
    (folder / "task_config.json").write_text(json.dumps(tc))
    problems = bundle_problems(load_bundle_dir(folder))
    fields = {p.field for p in problems}
    assert "task_config.json:suggested_tasks[0].target_object" in fields
    assert "task_config.json:suggested_tasks[0].place_position" in fields
    assert any("gv_obj_ghost" in p.message for p in problems)
    (folder / "asset_index.json").write_text("{not json")
    with pytest.raises(BundleInvalid) as exc:
        load_bundle_dir(folder)
    assert exc.value.problems[0].field == "asset_index.json"


def test_local_runtime_records_episodes_job_json_and_dedupes(bucket: LocalBucket, tmp_path: Path) -> None:
    upload_scene(bucket, tmp_path, "gr")
    _ok(_export(bucket, "gr"))
    _ok(run(bucket, "gr", "genie-sim-gpu-job", **SMALL))
    g = G.format(s="gr")
    job = read(bucket, f"{g}/job.json")
    assert not schema_problems("job_output", job)
    assert job["status"] == "completed" and job["job_id"].startswith("local-")
    m = job["job_metrics"]
    assert m["episodes_collected"] == 1 and m["quality_pass_rate"] == 1.0 and m["duration_seconds"] > 0
    assert job["canary"]["is_canary"] is False and job["provenance_gate"]["status"] == "passed"
    out = f"scenes/gr/episodes/geniesim_{job['job_id']}"
    assert job["artifacts"]["episodes_path"] == out
    assert bucket.exists(f"{out}/raw/lerobot/meta/info.json") and bucket.exists(f"{out}/config/task_config.json")
    rec = read(bucket, f"{g}/job_idempotency.json")
    assert not schema_problems("job_idempotency", rec) and rec["key"] == job["idempotency"]["key"]
    # a re-export of the unchanged scene keeps the bundle, so the runtime's key is unchanged and
    # a duplicate GPU job does nothing
    manifest_before = bucket.stat(f"{g}/export_manifest.json")
    r = _ok(_export(bucket, "gr"))
    assert (
        '"action": "bundle_unchanged"' in r.stdout_tail and bucket.stat(f"{g}/export_manifest.json") == manifest_before
    )
    before = bucket.stat(f"{g}/job.json")
    r = _ok(run(bucket, "gr", "genie-sim-gpu-job", **SMALL))
    assert '"action": "duplicate_job"' in r.stdout_tail and '"status": "SKIPPED"' in r.stdout_tail
    assert bucket.stat(f"{g}/job.json") == before
    # import: filtered LeRobot dataset, manifest with checksums, create-only delivery marker
    env = {"GENIE_SIM_JOB_ID": job["job_id"]}
    _ok(run(bucket, "gr", "genie-sim-import-job", **env))
    manifest = read(bucket, f"{out}/import_manifest.json")
    assert manifest["episodes"]["downloaded"] == 1 and manifest["episodes"]["passed_validation"] == 1
    assert manifest["quality"]["average_score"] >= 0.85 and manifest["lerobot"]["total_episodes"] == 1
    import hashlib

    for rel, e in manifest["checksums"]["files"].items():
        assert hashlib.sha256(bucket.read(f"{out}/lerobot/{rel}")).hexdigest() == e["sha256"]
    marker = read(bucket, f"scenes/gr/geniesim/delivery/{job['job_id']}.json")
    assert marker["job_id"] == job["job_id"] and manifest["delivery"]["marker_exists"] is False
    assert read(bucket, f"{out}/lerobot/meta/info.json")["codebase_version"] == "v3.0"
    # duplicate delivery: skipped, nothing rewritten; ALLOW_IDEMPOTENT_RETRY=true re-imports
    stamp = bucket.stat(f"{out}/import_manifest.json")
    r = _ok(run(bucket, "gr", "genie-sim-import-job", **env))
    assert '"status": "SKIPPED"' in r.stdout_tail and bucket.stat(f"{out}/import_manifest.json") == stamp
    _ok(run(bucket, "gr", "genie-sim-import-job", ALLOW_IDEMPOTENT_RETRY="true", **env))
    again = read(bucket, f"{out}/import_manifest.json")
    assert again["delivery"]["marker_exists"] is True and again["delivery"]["marker"] == marker
    # an import that died after the marker but before its manifest is finished, not skipped
    bucket.delete(f"{out}/import_manifest.json")
    _ok(run(bucket, "gr", "genie-sim-import-job", **env))
    assert read(bucket, f"{out}/import_manifest.json")["delivery"]["marker"] == marker
    # bad parameters: a typed error naming the variable, nothing written elsewhere
    r = run(bucket, "gr", "genie-sim-import-job")
    assert r.exit_code == 2 and job_error(r)["field"] == "GENIE_SIM_JOB_ID"
    r = run(bucket, "gr", "genie-sim-import-job", LOCAL_EPISODES_PREFIX="gs://b/scenes/other/episodes/x", **env)
    assert r.exit_code == 2 and job_error(r)["field"] == "LOCAL_EPISODES_PREFIX"
    r = run(bucket, "gr", "genie-sim-import-job", MIN_QUALITY_SCORE="high", ALLOW_IDEMPOTENT_RETRY="true", **env)
    assert r.exit_code == 2 and job_error(r)["field"] == "MIN_QUALITY_SCORE"
    r = run(bucket, "gr", "genie-sim-import-job", GENIE_SIM_JOB_ID="local-nope")
    assert r.exit_code == 2 and job_error(r)["code"] in ("job_id_mismatch", "episodes_missing")
    assert not list(bucket.list("scenes/other/"))


def test_runtime_refuses_a_bundle_with_an_unknown_asset(bucket: LocalBucket, tmp_path: Path) -> None:
    upload_scene(bucket, tmp_path, "gb")
    _ok(_export(bucket, "gb"))
    g = G.format(s="gb")
    tc = read(bucket, f"{g}/task_config.json")
    tc["suggested_tasks"][0]["target_object"] = "gb_obj_ghost"
    bucket.write_json(f"{g}/task_config.json", tc)
    r = run(bucket, "gb", "genie-sim-gpu-job", **SMALL)
    assert r.exit_code == 2
    failed = read(bucket, f"{g}/.failed")
    assert failed["error"]["field"] == "task_config.json:suggested_tasks[0].target_object"
    assert "gb_obj_ghost" in failed["reason"] and not bucket.exists(f"{g}/job.json")
    assert not list(bucket.list("scenes/gb/episodes/"))


def test_bpflow_validate_checks_a_bundle_folder(bucket: LocalBucket, tmp_path: Path) -> None:
    import subprocess
    import sys

    upload_scene(bucket, tmp_path, "gc")
    _ok(_export(bucket, "gc"))
    folder = bucket.root / "scenes/gc/geniesim"
    ok = subprocess.run(
        [sys.executable, "-m", "bpflow.cli", "validate", str(folder), "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert ok.returncode == 0 and json.loads(ok.stdout)["status"] == "passed", ok.stderr
    ai = json.loads((folder / "asset_index.json").read_text())
    ai["assets"] = [a for a in ai["assets"] if a["asset_id"] != "gc_obj_a"]
    (folder / "asset_index.json").write_text(json.dumps(ai))
    bad = subprocess.run(
        [sys.executable, "-m", "bpflow.cli", "validate", str(folder), "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode == 1
    fields = {p["field"] for p in json.loads(bad.stdout)["problems"]}
    assert {"scene_graph.json:nodes[].asset_id", "task_config.json:suggested_tasks[0].target_object"} <= fields
    assert "Traceback" not in bad.stderr


def test_provenance_gate_fails_the_job_without_a_report_unless_allowed(bucket: LocalBucket, tmp_path: Path) -> None:
    upload_scene(bucket, tmp_path, "gp")
    _ok(_export(bucket, "gp"))
    bucket.delete("scenes/gp/geniesim/legal/asset_provenance.json")
    # BUCKET as the workflow passes it for a local bucket: its URL (run.bucket_name)
    r = run(bucket, "gp", "genie-sim-gpu-job", **{**SMALL, "BUCKET": bucket.url})
    assert r.exit_code == 1
    job = read(bucket, "scenes/gp/geniesim/job.json")
    assert job["status"] == "failed" and job["failure_reason"] == "Asset provenance missing"
    failed = read(bucket, "scenes/gp/geniesim/.failed")
    assert failed["reason"] == "Asset provenance missing"
    # the report's address is the bucket's own, never gs://file:///…
    assert failed["job_metadata_path"] == f"{bucket.url}/scenes/gp/geniesim/job.json"
    assert job["artifacts"]["episodes_prefix"].startswith(f"{bucket.url}/scenes/gp/episodes/")
    assert not bucket.exists("scenes/gp/geniesim/.canary_rollback")  # not a canary
    # the same failed bundle is retried (a failed job never dedupes), here with the override
    _ok(run(bucket, "gp", "genie-sim-gpu-job", ALLOW_MISSING_ASSET_PROVENANCE="true", **SMALL))
    job = read(bucket, "scenes/gp/geniesim/job.json")
    assert job["status"] == "completed" and job["provenance_gate"]["status"] == "missing_allowed"
