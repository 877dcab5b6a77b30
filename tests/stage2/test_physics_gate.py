"""The usd-assembly physics gate on real jobs: a scene that a simulator user would accept gets
``usd/physics_report.json`` with every verdict; a mug planned 12 cm above its table falls, the
stage fails with a clear error naming it (strict), or records it and goes on (warn)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from bpflow.core.storage.local import LocalBucket
from tests.stage2.jobrun import CHAIN, job_error, run
from tests.stage2.stage1_fixture import KITCHEN, write_stage1_scene


def _through_interactive(bucket: LocalBucket, scene: str, objects=KITCHEN) -> None:  # type: ignore[no-untyped-def]
    write_stage1_scene(bucket, scene, objects)
    for job, env in CHAIN[:3]:
        assert run(bucket, scene, job, **env).exit_code == 0


def test_accepted_scene_has_a_complete_report(tmp_path: Path) -> None:
    bucket = LocalBucket(tmp_path / "bucket")
    _through_interactive(bucket, "ok1")
    assert run(bucket, "ok1", "usd-assembly-job").exit_code == 0
    report = bucket.read_json("scenes/ok1/usd/physics_report.json")
    assert report["passed"] and report["failures"] == [] and report["policy"] == "strict"
    assert report["summary"]["stable_fraction"] == 1.0 and report["summary"]["max_initial_penetration_m"] <= 0.005
    mugs = [o for o in report["objects"] if o["category"] == "mug"]
    assert mugs and all(o["stable"] and o["displacement_m"] < 0.02 and o["rotation_deg"] < 5 for o in mugs)
    assert report["joints"] and all(
        j["fraction"] >= 0.9 and j["penetration_at_limit_m"] <= 0.005 for j in report["joints"]
    )
    manifest = bucket.read_json("scenes/ok1/usd/usd_assembly_manifest.json")
    assert manifest["physics_acceptance"]["passed"] and manifest["status"] == "completed"


@pytest.mark.parametrize("policy", ["strict", "warn"])
def test_floating_mug_fails_the_gate(tmp_path: Path, policy: str) -> None:
    bucket = LocalBucket(tmp_path / "bucket")
    floating = tuple(
        dataclasses.replace(o, base=(o.base[0], o.base[1] + 0.12, o.base[2])) if o.id == "mug_0" else o for o in KITCHEN
    )
    _through_interactive(bucket, "float1", floating)
    result = run(bucket, "float1", "usd-assembly-job", PHYSICS_ACCEPTANCE=policy)
    report = bucket.read_json("scenes/float1/usd/physics_report.json")
    assert not report["passed"] and any(f.startswith("mug_0 not stable") for f in report["failures"])
    mug = next(o for o in report["objects"] if o["id"] == "mug_0")
    assert mug["displacement_m"] > 0.1
    if policy == "strict":
        assert result.exit_code != 0
        error = job_error(result)
        assert error["code"] == "physics_acceptance_failed" and "mug_0" in error["message"]
        assert bucket.read_json("scenes/float1/usd/usd_assembly_manifest.json")["status"] == "failed"
    else:
        assert result.exit_code == 0


def test_unknown_policy_is_a_clear_error(tmp_path: Path) -> None:
    bucket = LocalBucket(tmp_path / "bucket")
    _through_interactive(bucket, "pol1")
    result = run(bucket, "pol1", "usd-assembly-job", PHYSICS_ACCEPTANCE="maybe")
    assert result.exit_code == 2 and job_error(result)["field"] == "PHYSICS_ACCEPTANCE"
