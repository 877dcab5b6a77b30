"""The legacy chain's geometry: polygons lifted with depth, the metric scale, the 3D-RE-GEN
adapter's manifest/layout/inventory (checked against their contracts)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bpflow.core.contracts import validate
from bpflow.core.errors import ValidationFailed
from bpflow.domain.imagegen.objects3d import lift_objects, load_frame, parse_label_line
from bpflow.domain.imagegen.regen3d import ReconObject, adapt, quaternion_wxyz
from bpflow.domain.imagegen.scale import apply_scale, prior_for, scale_samples
from tests.source.legacy_fixture import LABELS, npz_frame


def test_polygons_are_lifted_onto_the_depth_plane() -> None:
    objs = lift_objects(load_frame(npz_frame(3.0)), LABELS.splitlines(), ["table", "chair"])
    assert [o["class_name"] for o in objs] == ["table", "chair"]  # the bad line is skipped
    for o in objs:
        assert o["center3d"][2] == pytest.approx(3.0) and o["obb"]["R"][0] == [1.0, 0.0, 0.0]
    # table polygon spans x in [0.1, 0.4] of 64 px at f=50 and 3 m: left of centre
    assert objs[0]["center3d"][0] < 0 < objs[1]["center3d"][0]
    assert objs[0]["bbox2d"] == pytest.approx([0.25, 0.3, 0.3, 0.4])


def test_no_depth_means_no_box_and_bad_npz_is_typed() -> None:
    frame = load_frame(npz_frame(0.0))
    assert lift_objects(frame, ["0 0.1 0.1 0.4 0.1 0.4 0.5"], [])[0]["obb"] is None
    with pytest.raises(ValidationFailed):
        load_frame(b"not an npz")


@given(st.text(max_size=80))
def test_label_lines_never_crash(line: str) -> None:
    parsed = parse_label_line(line)
    assert parsed is None or (parsed[1] >= 0).all()


def test_scale_median_of_priors_references_and_room() -> None:
    layout = {
        "room_box": {"min": [0, 0, 0], "max": [2, 1, 2]},
        "objects": [
            {"id": 0, "class_name": "door", "obb": {"center": [0, 0.5, 0], "extents": [0.4, 0.5, 0.05], "R": []}},
            {
                "id": 1,
                "class_name": "coffee_table",
                "obb": {"center": [1, 0.1, 1], "extents": [0.3, 0.1, 0.3], "R": []},
            },
        ],
    }
    assert scale_samples(layout, {})["source"] == "class_priors" and scale_samples(layout, {})[
        "factor"
    ] == pytest.approx((2.0 + 2.25) / 2)
    meta = {"scene_metrics": {"room_height_m": 2.5}, "known_heights": [{"id": 0, "height": 2.1}]}
    s = scale_samples(layout, meta)
    assert s["source"] == "blend" and s["n_samples"] == 4
    assert prior_for("coffee table") == 0.45 and prior_for("office_chair") == 1.0 and prior_for("lamp") is None
    scaled = apply_scale(layout, {"factor": 2.0})
    assert scaled["room_box"]["max"] == [4.0, 2.0, 4.0] and scaled["objects"][0]["obb"]["extents"] == [0.8, 1.0, 0.1]
    assert scale_samples({"objects": []}, {}) == {
        "factor": 1.0,
        "n_samples": 0,
        "priors_used": [],
        "reference_samples": [],
        "source": "none",
        "up_axis": "y",
    }


def test_quaternion_of_a_yaw() -> None:
    a = math.radians(90)
    r = np.array([[math.cos(a), 0, math.sin(a)], [0, 1, 0], [-math.sin(a), 0, math.cos(a)]])
    w, x, y, z = quaternion_wxyz(r)
    assert (w, x, y, z) == pytest.approx((math.cos(a / 2), 0, math.sin(a / 2), 0))


def test_adapter_output_meets_the_stage1_contracts() -> None:
    def pose(x: float, y: float) -> list[list[float]]:
        m = np.eye(4)
        m[:3, 3] = [x, y, 0]
        return m.tolist()

    objects = [
        ReconObject("obj_0", "glb", pose(0, 0.375), {"min": [-0.6, -0.375, -0.4], "max": [0.6, 0.375, 0.4]}, "Table"),
        ReconObject("obj_1", "glb", pose(2, 0.5), {"center": [0, 0, 0], "size": [0.5, 1.0, 0.5]}, "chair"),
        ReconObject("obj_bad", "glb", pose(0, 0), {"min": [0, 0, 0], "max": [0, 1, float("nan")]}, "lamp"),
        ReconObject("obj_2", "glb", [[1, 0], [0, 1]], None, "mug"),
    ]
    out = adapt("sc1", objects, {}, environment_type="kitchen", scale_factor=1.0)
    assert validate("scene_manifest", out["manifest"]) == []
    assert validate("scene_layout_scaled", out["layout"]) == []
    assert validate("inventory", out["inventory"]) == []
    assert [o["id"] for o in out["manifest"]["objects"]] == ["obj_0", "obj_1"]
    assert {d["id"]: d["reason"] for d in out["report"]["dropped"]} == {
        "obj_bad": "invalid_bounds",
        "obj_2": "invalid_pose",
    }
    assert out["manifest"]["objects"][0]["asset"]["path"] == "scenes/sc1/assets/obj_obj_0/asset.glb"
    assert out["report"]["scale_source"] == "class_priors" and out["report"]["scale_factor"] == pytest.approx(1.0)
    table = out["layout"]["objects"][0]
    assert table["center3d"] == pytest.approx([0, 0.375, 0]) and table["obb"]["extents"] == pytest.approx(
        [0.6, 0.375, 0.4]
    )
