"""Genie Sim submission / import idempotency markers against a real local bucket."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bpflow.core.config import load_settings
from bpflow.core.errors import InvalidSceneId, ValidationFailed
from bpflow.core.storage.local import LocalBucket
from bpflow.state import idempotency as idem

NOW = datetime(2024, 1, 1, 0, 0, 0, tzinfo=UTC)

# The seed README's example: scene_001, empty task config, one franka, default episodes, no thresholds.
SEED_INPUTS = {
    "scene_id": "scene_001",
    "task_config": {},
    "robot_types": ["franka"],
    "episodes_per_task": "10",
    "quality_thresholds": {},
}
SEED_CANONICAL = '{"episodes_per_task":"10","quality_thresholds":{},"robot_types":["franka"],"scene_id":"scene_001","task_config":{}}'
# The seed's own "hash" (4b825dc6…) is a placeholder (the prefix of git's empty-tree id), not the
# MD5 of anything here; this literal is what bpflow (and the reference's algorithm) computes.
SEED_HASH = "b3df18125dc692791cf19c8f3e3081f7"


@pytest.fixture
def bucket(tmp_path: Path) -> LocalBucket:
    return LocalBucket(tmp_path / "bucket")


# -- inputs and hash -------------------------------------------------------------------------
def test_seed_example_hash_is_stable() -> None:
    inputs = idem.build_inputs("scene_001", {}, ["franka"])
    assert inputs == SEED_INPUTS
    assert idem.canonical_json(inputs) == SEED_CANONICAL
    assert idem.inputs_hash(inputs) == SEED_HASH


def test_inputs_have_exactly_five_keys_and_default_episodes() -> None:
    inputs = idem.build_inputs("s1", None, ("franka", "ur5e"), None, None)
    assert sorted(inputs) == ["episodes_per_task", "quality_thresholds", "robot_types", "scene_id", "task_config"]
    assert inputs["episodes_per_task"] == "10"
    assert inputs["robot_types"] == ["franka", "ur5e"]


def test_episode_count_type_is_not_coerced() -> None:
    as_string = idem.build_inputs("s1", {}, ["franka"], "10")
    as_int = idem.build_inputs("s1", {}, ["franka"], 10)
    assert as_int["episodes_per_task"] == 10
    assert idem.inputs_hash(as_string) != idem.inputs_hash(as_int)


def test_inputs_are_copies() -> None:
    task_config = {"suggested_tasks": [{"task_type": "pick"}]}
    robots = ["franka"]
    inputs = idem.build_inputs("s1", task_config, robots)
    before = idem.inputs_hash(inputs)
    task_config["suggested_tasks"][0]["task_type"] = "place"
    robots.append("ur10")
    assert idem.inputs_hash(inputs) == before


def test_quality_thresholds_shape() -> None:
    assert idem.build_quality_thresholds(0.85, True) == {"min_quality_score": 0.85, "filter_low_quality": True}
    assert idem.build_quality_thresholds(0.85, True, {}) == {"min_quality_score": 0.85, "filter_low_quality": True}
    assert idem.build_quality_thresholds(0.5, False, {"grasp": 0.9}) == {
        "min_quality_score": 0.5,
        "filter_low_quality": False,
        "dimension_thresholds": {"grasp": 0.9},
    }


def test_local_builder_matches_the_workflow_shaped_object() -> None:
    """The reference's local/cloud equivalence check: same canonical string either way."""
    task_config = {"scene_id": "s1", "suggested_tasks": [{"task_id": "pick::mug"}]}
    built = idem.build_inputs("s1", task_config, ["franka"], "10", idem.build_quality_thresholds(0.7, True))
    workflow_shaped = {
        "quality_thresholds": {"filter_low_quality": True, "min_quality_score": 0.7},
        "episodes_per_task": "10",
        "task_config": task_config,
        "robot_types": ["franka"],
        "scene_id": "s1",
    }
    assert idem.canonical_json(built) == idem.canonical_json(workflow_shaped)


def test_canonical_json_keeps_unicode_as_utf8() -> None:
    text = idem.canonical_json({"name": "tasse à café", "b": [1, 2]})
    assert text == '{"b":[1,2],"name":"tasse à café"}'
    assert re.fullmatch(r"[0-9a-f]{32}", idem.inputs_hash({"name": "tasse à café"}))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4),
    max_leaves=12,
)


def _reorder(value: Any) -> Any:
    """The same value with every mapping's keys inserted in reverse order."""
    if isinstance(value, dict):
        return {k: _reorder(value[k]) for k in reversed(list(value))}
    if isinstance(value, list):
        return [_reorder(v) for v in value]
    return value


@given(st.dictionaries(st.text(max_size=6), json_values, max_size=6))
def test_canonical_json_ignores_key_order(obj: dict[str, Any]) -> None:
    reordered = _reorder(obj)
    assert idem.canonical_json(reordered) == idem.canonical_json(obj)
    assert idem.inputs_hash(reordered) == idem.inputs_hash(obj)
    assert json.loads(idem.canonical_json(obj)) == obj


# -- keys and markers ------------------------------------------------------------------------
def test_marker_keys() -> None:
    assert idem.marker_key("scene_001", SEED_HASH) == f"scenes/scene_001/geniesim/idempotency/{SEED_HASH}.json"
    assert (
        idem.import_marker_key("scene_001", "job_abc123")
        == "scenes/scene_001/geniesim/idempotency/import/job_abc123.json"
    )


@pytest.mark.parametrize("bad", ["..", "a/b", "", "-x", "x" * 129])
def test_bad_scene_ids_are_rejected(bad: str) -> None:
    with pytest.raises(InvalidSceneId):
        idem.marker_key(bad, SEED_HASH)


def test_submission_marker_round_trip(bucket: LocalBucket) -> None:
    inputs = idem.build_inputs("scene_001", {}, ["franka"])
    assert idem.read_marker(bucket, "scene_001", inputs) is None
    body = idem.write_marker(bucket, "scene_001", inputs, "job_abc123", "submitted", NOW)
    assert body == {
        "scene_id": "scene_001",
        "status": "submitted",
        "job_id": "job_abc123",
        "timestamp": "2024-01-01T00:00:00.000000Z",
        "hash": SEED_HASH,
        "inputs": SEED_INPUTS,
    }
    assert bucket.read_json(f"scenes/scene_001/geniesim/idempotency/{SEED_HASH}.json") == body
    assert idem.read_marker(bucket, "scene_001", inputs) == body
    # Re-written unconditionally with the job's final status.
    idem.write_marker(bucket, "scene_001", inputs, "job_abc123", "completed", NOW)
    assert idem.read_marker(bucket, "scene_001", inputs)["status"] == "completed"


def test_different_inputs_do_not_see_each_others_marker(bucket: LocalBucket) -> None:
    one = idem.build_inputs("scene_001", {}, ["franka"])
    two = idem.build_inputs("scene_001", {}, ["franka", "ur10"])
    idem.write_marker(bucket, "scene_001", one, "job_1", "completed", NOW)
    assert idem.read_marker(bucket, "scene_001", two) is None


def test_import_marker_round_trip(bucket: LocalBucket) -> None:
    assert idem.read_import_marker(bucket, "scene_001", "job_abc123") is None
    assert not idem.import_done(None)
    body = idem.write_import_marker(bucket, "scene_001", "job_abc123", NOW)
    stamp = "2024-01-01T00:00:00.000000Z"
    assert body == {"scene_id": "scene_001", "job_id": "job_abc123", "status": "completed", "timestamp": stamp}
    assert idem.import_done(idem.read_import_marker(bucket, "scene_001", "job_abc123"))
    assert not idem.import_done({"status": "running"})


@pytest.mark.parametrize("body", [b"{oops", b'["completed"]'])
def test_damaged_marker_raises_instead_of_resubmitting(bucket: LocalBucket, body: bytes) -> None:
    inputs = idem.build_inputs("scene_001", {}, ["franka"])
    bucket.write(idem.marker_key("scene_001", idem.inputs_hash(inputs)), body)
    with pytest.raises(ValidationFailed):
        idem.read_marker(bucket, "scene_001", inputs)


# -- decisions -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("marker", "allow_retry", "action"),
    [
        (None, False, "submit"),
        ({}, False, "submit"),
        ({"status": "completed"}, False, "skip"),
        ({"status": "completed"}, True, "skip"),
        ({"status": "failed"}, False, "raise"),
        ({"status": "partial"}, False, "raise"),
        ({"status": "failed"}, True, "submit"),
        ({"status": "partial"}, True, "submit"),
        ({"status": "submitted"}, False, "submit"),
        ({"status": "unknown"}, False, "submit"),
    ],
)
def test_decide(marker: dict[str, Any] | None, allow_retry: bool, action: str) -> None:
    assert idem.decide(marker, allow_retry) == action


@pytest.mark.parametrize(("value", "action"), [(None, "raise"), ("", "raise"), ("1", "submit"), ("false", "submit")])
def test_any_non_empty_allow_idempotent_retry_opts_in(value: str | None, action: str) -> None:
    env = {} if value is None else {"ALLOW_IDEMPOTENT_RETRY": value}
    assert idem.decide({"status": "failed"}, load_settings(env).allow_idempotent_retry_any) == action


def test_messages() -> None:
    marker = {"status": "completed", "job_id": "job_abc123"}
    assert idem.skip_message("scene_001", marker) == (
        "Idempotency marker present for scene scene_001 (job: job_abc123, status: completed). Skipping submit."
    )
    err = idem.blocked_error("scene_001", {"status": "failed", "job_id": "job_abc123"})
    assert str(err) == (
        "Idempotency marker status failed for scene scene_001 (job: job_abc123). Set ALLOW_IDEMPOTENT_RETRY to retry."
    )
    assert err.code == "idempotency_marker_blocked" and not err.retryable
