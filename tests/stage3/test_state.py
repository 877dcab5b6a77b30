"""The workflow's own state reads/writes on a bare bucket: resume detection, the asset count,
the pre-marker output check and the plain-text completion marker."""

from __future__ import annotations

from pathlib import Path

import pytest

from bpflow.core.storage.local import LocalBucket
from bpflow.domain.variation import workflow_state as state
from bpflow.domain.variation.paths import Stage3Paths

P = Stage3Paths("st1")


@pytest.fixture
def bucket(tmp_path: Path) -> LocalBucket:
    return LocalBucket(tmp_path / "b")


def test_resume_means_any_earlier_output(bucket: LocalBucket) -> None:
    assert not state.has_earlier_output(bucket, P)
    bucket.write("scenes/st1/variation_assets_other/x", "not ours")  # a sibling prefix does not count
    assert not state.has_earlier_output(bucket, P)
    bucket.write(f"{P.variation_assets}/.variation_pipeline_complete", "Completed at x")
    assert state.has_earlier_output(bucket, P)
    bucket.delete(f"{P.variation_assets}/.variation_pipeline_complete")
    state.write_progress(bucket, P, report_missing=True, variation_gen=None)
    assert state.has_earlier_output(bucket, P)
    doc = bucket.read_json(P.progress)
    assert (
        doc["scene_id"] == "st1"
        and doc["variation_assets_prefix"] == P.variation_assets
        and doc["report_missing"] is True
    )


@pytest.mark.parametrize(
    ("body", "count"),
    [
        (None, 0),
        (b"{broken", 0),
        (b"[]", 0),
        (b'{"objects": null}', 0),
        (b'{"objects": [{"id": "a"}, {"id": "b"}]}', 2),
    ],
)
def test_asset_count(bucket: LocalBucket, body: bytes | None, count: int) -> None:
    if body is not None:
        bucket.write(P.assets_json, body)
    assert state.variation_asset_count(bucket, P) == count


def test_missing_outputs_lists_what_the_catalogue_promises(bucket: LocalBucket) -> None:
    assert state.missing_outputs(bucket, P) == [P.assets_json]
    ok = f"{P.variation_assets}/obj_a/variants.usda"
    bucket.write(ok, "#usda 1.0\n")
    bucket.write_json(
        P.assets_json,
        {
            "objects": [
                {"id": "a", "asset": {"path": ok}},
                {"id": "b", "asset": {"path": f"{P.variation_assets}/obj_b/variants.usda"}},
                {"id": "c", "asset": {"path": "scenes/other/variation_assets/obj_c/variants.usda"}},
                {"id": "d"},
            ]
        },
    )
    assert state.missing_outputs(bucket, P) == [
        f"{P.variation_assets}/obj_b/variants.usda",
        "scenes/other/variation_assets/obj_c/variants.usda",
        "None",
    ]


def test_completion_marker_is_plain_text(bucket: LocalBucket) -> None:
    text = state.write_complete_marker(bucket, P, "SUCCESS_NO_ASSETS", 0, "run-9")
    assert bucket.read_text(P.complete_marker) == text
    lines = text.splitlines()
    assert lines[0].startswith("Completed at ") and lines[0].endswith("Z")
    assert lines[1:] == ["status: SUCCESS_NO_ASSETS", "variation_assets: 0", "run_id: run-9"]
