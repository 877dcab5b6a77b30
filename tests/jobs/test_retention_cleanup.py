"""retention-cleanup-job on a real local bucket, with objects aged through their mtime."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bpflow.core.errors import StorageError
from bpflow.core.runners import JobSpec, SubprocessRunner
from bpflow.core.storage import ObjectInfo
from bpflow.core.storage.local import LocalBucket
from bpflow.jobs import retention_cleanup as rc

NOW = datetime(2024, 1, 10, tzinfo=UTC)
RETENTION_VARS = (
    "PIPELINE_RETENTION_DAYS",
    "PIPELINE_INPUT_RETENTION_DAYS",
    "PIPELINE_INTERMEDIATE_RETENTION_DAYS",
    "PIPELINE_OUTPUT_RETENTION_DAYS",
    "PIPELINE_LOG_RETENTION_DAYS",
    "PIPELINE_MARKER_RETENTION_DAYS",
)


@pytest.fixture
def bucket(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> LocalBucket:
    for name in (*RETENTION_VARS, "PIPELINE_RETENTION_DRY_RUN"):
        monkeypatch.delenv(name, raising=False)
    b = LocalBucket(tmp_path / "bucket")
    monkeypatch.setenv("BPFLOW_BUCKET_URL", b.url)
    monkeypatch.setenv("BPFLOW_NOW", NOW.isoformat())
    return b


def put(bucket: LocalBucket, key: str, age_days: float, body: Any = b"x") -> str:
    """Write an object and age it: the local backend's ``updated`` is the file's mtime."""
    if isinstance(body, (dict, list)):
        bucket.write_json(key, body)
    else:
        bucket.write(key, body)
    ns = int((NOW - timedelta(days=age_days)).timestamp()) * 1_000_000_000
    os.utime(bucket.path_for(key), ns=(ns, ns))
    return key


def all_windows(monkeypatch: pytest.MonkeyPatch, days: int) -> None:
    for name in RETENTION_VARS:
        monkeypatch.setenv(name, str(days))


def run(capsys: pytest.CaptureFixture[str]) -> tuple[int, list[dict[str, Any]], str]:
    code = rc.main()
    captured = capsys.readouterr()
    lines = [json.loads(line) for line in captured.out.splitlines() if line.strip()]
    return code, lines, captured.err


def summary(lines: list[dict[str, Any]]) -> dict[str, Any]:
    (found,) = [line for line in lines if line["action"] == "summary"]
    return found


# --- the reference tests -----------------------------------------------------------------


def test_reference_windows_of_five_days(
    bucket: LocalBucket, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    all_windows(monkeypatch, 5)
    put(bucket, "scenes/s1/input/photo.png", 10)
    put(bucket, "scenes/s1/logs/run.log", 10)
    put(bucket, "scenes/s1/assets/obj.glb", 1)
    put(bucket, "scenes/s1/.checkpoints/stage.json", 1, {"output_paths": ["assets/obj.glb"]})

    code, lines, _ = run(capsys)

    assert code == 0
    assert not bucket.exists("scenes/s1/input/photo.png")
    assert not bucket.exists("scenes/s1/logs/run.log")
    assert bucket.exists("scenes/s1/assets/obj.glb")  # listed by a checkpoint, but young
    s = summary(lines)
    assert s["deleted"] == 2 and s["considered"] >= 3 and s["dry_run"] is False
    deleted = {line["path"]: line for line in lines if line["action"] == "deleted"}
    assert set(deleted) == {"scenes/s1/input/photo.png", "scenes/s1/logs/run.log"}
    line = deleted["scenes/s1/input/photo.png"]
    assert line == {
        "action": "deleted",
        "class": "inputs",
        "path": "scenes/s1/input/photo.png",
        "retention_days": 5,
        "last_modified": (NOW - timedelta(days=10)).isoformat(),
        "scene": "s1",
        "deleted_at": NOW.isoformat(),
    }


def test_dry_run_deletes_nothing(
    bucket: LocalBucket, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    all_windows(monkeypatch, 5)
    monkeypatch.setenv("PIPELINE_RETENTION_DRY_RUN", "true")
    put(bucket, "scenes/s1/input/old.png", 20)

    code, lines, _ = run(capsys)

    assert code == 0 and bucket.exists("scenes/s1/input/old.png")
    s = summary(lines)
    assert (s["considered"], s["deleted"], s["dry_run"]) == (1, 0, True)
    assert [line["action"] for line in lines] == ["dry_run", "summary"]


def test_cutoff_boundary_is_kept(bucket: LocalBucket, capsys: pytest.CaptureFixture[str]) -> None:
    put(bucket, "scenes/s1/layout/at_cutoff.json", 30)
    put(bucket, "scenes/s1/layout/past_cutoff.json", 31)

    code, lines, _ = run(capsys)

    assert code == 0
    assert bucket.exists("scenes/s1/layout/at_cutoff.json")  # exactly now - 30 days: kept
    assert not bucket.exists("scenes/s1/layout/past_cutoff.json")
    assert summary(lines)["retention"]["intermediate_days"] == 30  # defaults to the pipeline days


def test_marker_class_overrides_folder_class(bucket: LocalBucket, capsys: pytest.CaptureFixture[str]) -> None:
    put(bucket, "scenes/s1/assets/.failed", 31)
    put(bucket, "scenes/s1/assets/mesh.glb", 31)

    code, lines, _ = run(capsys)

    assert code == 0
    assert not bucket.exists("scenes/s1/assets/.failed")  # marker: 30 days
    assert bucket.exists("scenes/s1/assets/mesh.glb")  # output: 365 days
    (line,) = [line for line in lines if line["action"] == "deleted"]
    assert (line["class"], line["retention_days"]) == ("markers", 30)
    s = summary(lines)
    assert (s["markers_deleted"], s["markers_considered"], s["considered"]) == (1, 1, 2)


# --- classes -----------------------------------------------------------------------------


def test_every_class_and_what_is_never_touched(bucket: LocalBucket, capsys: pytest.CaptureFixture[str]) -> None:
    old = 1000
    expired = [
        put(bucket, "scenes/s1/input/a.png", old),
        put(bucket, "scenes/s1/seg/mask.png", old),
        put(bucket, "scenes/s1/usd/scene.usda", old),
        put(bucket, "scenes/s1/episodes/ep0.parquet", old),
        put(bucket, "scenes/s1/log/job.txt", old),
        put(bucket, "scenes/s1/.circuit_breaker.json", old),
        put(bucket, "scenes/s1/.geniesim_complete", old),
        put(bucket, "scenes/s1/geniesim/.geniesim_complete", old),
        put(bucket, "scenes/s1/geniesim/.circuit_breaker.json", old),
        put(bucket, "scenes/s1/geniesim/idempotency/abc.json", old),
        put(bucket, "scenes/s1/deep/er/.failed_usd", old),
        put(bucket, "scenes/s2/variation_assets/v.glb", old),
    ]
    kept = [
        put(bucket, "scenes/s1/prompts/scene_request.json", old),
        put(bucket, "scenes/s1/textgen/plan.json", old),
        put(bucket, "scenes/s1/internal/state.json", old),
        put(bucket, "scenes/s1/locks/usd.lock", old),
        put(bucket, "scenes/s1/geniesim/export.json", old),
        put(bucket, "scenes/s1/geniesim/idempotency/import/x.json", old),
        put(bucket, "scenes/s1/.source_orchestrator_complete", old),
        put(bucket, "scenes/loose-object", old),  # not a scene folder
        put(bucket, "automation/state.json", old),
        put(bucket, "asset-library/chair.glb", old),
    ]

    code, lines, _ = run(capsys)

    assert code == 0
    assert [k for k in expired if bucket.exists(k)] == []
    assert [k for k in kept if not bucket.exists(k)] == []
    s = summary(lines)
    assert (s["deleted"], s["considered"], s["scenes"]) == (len(expired), len(expired), 2)
    assert (s["markers_deleted"], s["markers_considered"]) == (6, 6)


@pytest.mark.parametrize(
    ("rel", "klass"),
    [
        ("input/x", "inputs"),
        (".checkpoints/a.json", "intermediate"),
        ("replicator/r.json", "outputs"),
        ("isaac_lab/t.py", "outputs"),
        ("logs/l", "logs"),
        ("assets/.failed", "markers"),
        (".failed", "markers"),
        ("geniesim/idempotency/k.json", "markers"),
        ("geniesim/idempotency/k.txt", None),
        ("geniesim/idempotency/import/k.json", None),
        ("input", None),
        ("prompts/p.json", None),
    ],
)
def test_classify(rel: str, klass: str | None) -> None:
    assert rc.classify(rel) == klass


def test_checkpoint_output_paths(bucket: LocalBucket, capsys: pytest.CaptureFixture[str]) -> None:
    put(bucket, "scenes/s1/textgen/listed.json", 40)  # not a class folder: aged as intermediate
    put(bucket, "scenes/s1/prompts/abs.json", 40)
    put(bucket, "scenes/s1/textgen/unlisted.json", 40)
    put(bucket, "scenes/s2/prompts/other-scene.json", 40)
    put(
        bucket,
        "scenes/s1/.checkpoints/stage.json",
        1,
        {
            "output_paths": [
                "textgen/listed.json",
                "/mnt/gcs/scenes/s1/prompts/abs.json",
                "../s2/prompts/other-scene.json",  # outside this scene: ignored
                "gs://b/scenes/s2/prompts/other-scene.json",
                "missing/file.json",
                42,
            ]
        },
    )
    put(bucket, "scenes/s1/.checkpoints/broken.json", 1, b"{not json")

    code, lines, _ = run(capsys)

    assert code == 0
    assert not bucket.exists("scenes/s1/textgen/listed.json")
    assert not bucket.exists("scenes/s1/prompts/abs.json")
    assert bucket.exists("scenes/s1/textgen/unlisted.json")
    assert bucket.exists("scenes/s2/prompts/other-scene.json")
    classes = {line["path"]: line["class"] for line in lines if line["action"] == "deleted"}
    assert classes == {"scenes/s1/textgen/listed.json": "intermediate", "scenes/s1/prompts/abs.json": "intermediate"}


# --- parameters and edge cases -------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["PIPELINE_RETENTION_DAYS", "PIPELINE_MARKER_RETENTION_DAYS", "PIPELINE_LOG_RETENTION_DAYS"]
)
def test_bad_day_value_exits_2(
    bucket: LocalBucket, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    put(bucket, "scenes/s1/input/a.png", 1000)
    monkeypatch.setenv(name, "ten")
    code, lines, err = run(capsys)
    assert code == 2 and lines == []
    assert json.loads(err)["error"]["message"] == f"Invalid value for {name}: ten"
    assert bucket.exists("scenes/s1/input/a.png")


def test_negative_days_rejected(
    bucket: LocalBucket, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PIPELINE_INPUT_RETENTION_DAYS", "-1")
    code, _, err = run(capsys)
    assert code == 2 and "Invalid value for PIPELINE_INPUT_RETENTION_DAYS: -1" in err


def test_empty_day_value_means_default(bucket: LocalBucket, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIPELINE_OUTPUT_RETENTION_DAYS", "")
    monkeypatch.setenv("PIPELINE_RETENTION_DAYS", "12")
    policy = rc.RetentionPolicy.from_env()
    assert (policy.output_days, policy.intermediate_days, policy.pipeline_days) == (365, 12, 12)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1", True),
        ("json", True),
        ("Y", True),
        ("off", False),
        ("plain", False),
        ("text", False),
        ("maybe", False),
        ("", False),
    ],
)
def test_dry_run_parsing(monkeypatch: pytest.MonkeyPatch, raw: str, expected: bool) -> None:
    monkeypatch.setenv("PIPELINE_RETENTION_DRY_RUN", raw)
    assert rc.dry_run_from_env() is expected


def test_bad_now_is_bad_params(
    bucket: LocalBucket, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("BPFLOW_NOW", "yesterday")
    code, _, err = run(capsys)
    assert code == 2 and "BPFLOW_NOW" in err


def test_no_scenes_logs_root_missing(bucket: LocalBucket, capsys: pytest.CaptureFixture[str]) -> None:
    put(bucket, "automation/state.json", 1000)
    code, lines, _ = run(capsys)
    assert code == 0
    (line,) = lines
    assert line["action"] == "skip" and line["reason"] == "root_missing" and line["root"] == f"{bucket.url}/scenes"
    assert line["retention"]["marker_days"] == 30 and line["checked_at"] == NOW.isoformat()


class _FailingDeletes(LocalBucket):
    def _delete(self, key: str, if_generation_match: int | None) -> bool:
        raise StorageError(f"permission denied: {key}")


def test_failed_deletes_are_logged_and_do_not_fail_the_job(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bucket = _FailingDeletes(tmp_path / "b")
    put(bucket, "scenes/s1/input/a.png", 1000)
    counts = rc.cleanup(bucket, rc.RetentionPolicy(), NOW, dry_run=False)
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert (counts.deleted, counts.considered, counts.delete_failed) == (0, 1, 1)
    assert lines[0]["action"] == "delete_failed" and "permission denied" in lines[0]["error"]
    assert summary(lines)["delete_failed"] == 1 and bucket.exists("scenes/s1/input/a.png")


def test_object_rewritten_since_listing_is_not_deleted(bucket: LocalBucket, capsys: pytest.CaptureFixture[str]) -> None:
    put(bucket, "scenes/s1/input/a.png", 1000)
    listed: dict[str, ObjectInfo] = {i.key: i for i in bucket.list("scenes/s1/")}
    bucket.write("scenes/s1/input/a.png", b"fresh")  # a new version lands between list and delete
    counts = rc.cleanup_scene(bucket, "s1", listed, rc.RetentionPolicy(), NOW, dry_run=False)
    assert counts.deleted == 0 and bucket.read("scenes/s1/input/a.png") == b"fresh"
    (line,) = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert (line["action"], line["reason"]) == ("skip", "changed_since_listed")


# --- end to end ------------------------------------------------------------------------------


def test_end_to_end_through_the_subprocess_runner(tmp_path: Path) -> None:
    bucket = LocalBucket(tmp_path / "bucket")
    put(bucket, "scenes/s1/input/old.png", 100)
    put(bucket, "scenes/s1/input/new.png", 10)
    put(bucket, "scenes/s1/.failed", 45)
    env = {
        "BPFLOW_BUCKET_URL": bucket.url,
        "BUCKET": "blueprint-scenes",
        "BPFLOW_RUN_ID": "retention-cleanup:0 3 * * *@2024-01-10T03:00:00Z",
        "BPFLOW_NOW": NOW.isoformat(),
        "PIPELINE_RETENTION_DAYS": "30",
        "PIPELINE_MARKER_RETENTION_DAYS": "30",
        "PIPELINE_RETENTION_DRY_RUN": "false",
    }
    result = SubprocessRunner().run(JobSpec(name="retention-cleanup-job", env=env, timeout_seconds=120))
    assert result.succeeded, result.stderr_tail
    lines = [json.loads(x) for x in result.stdout_tail.splitlines()]
    s = summary(lines)
    assert (s["deleted"], s["considered"], s["markers_deleted"]) == (2, 3, 1)
    assert bucket.exists("scenes/s1/input/new.png")
    assert not bucket.exists("scenes/s1/input/old.png") and not bucket.exists("scenes/s1/.failed")
