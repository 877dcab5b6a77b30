"""The placement solver and the independent physical check it is judged by."""

from __future__ import annotations

import math
import random
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from bpflow.domain.scene.obb import (
    Footprint,
    UprightBox,
    footprint_overlap,
    quaternion_yaw,
    upright_penetration,
    yaw_quaternion,
)
from bpflow.domain.textgen.layout_check import check_layout
from bpflow.domain.textgen.packing import WALL_CLEARANCE, place_objects
from bpflow.domain.textgen.records import build_records
from bpflow.domain.textgen.room import RoomLayout
from bpflow.domain.textgen.room_catalog import CATEGORY_SPECS, SIM_ROLES
from bpflow.domain.textgen.template_planner import make_object, unique_names


def layout(w: float = 6.0, d: float = 5.0, h: float = 3.0, room: str = "kitchen") -> RoomLayout:
    return RoomLayout(room, {"room_width_m": w, "room_depth_m": d, "room_height_m": h}, random.Random(0))


def place(
    names: list[tuple[str, str]], lay: RoomLayout | None = None, seed: int = 1
) -> tuple[list[dict[str, Any]], Any]:
    lay = lay or layout()
    objects = unique_names([make_object(n, c) for n, c in names])
    result = place_objects(lay, objects, random.Random(seed))
    records, _ = build_records(result.placed)
    return records, result


# --- geometry -------------------------------------------------------------------------------


def test_sat_detects_rotated_overlap_that_aabbs_would_miss_and_vice_versa() -> None:
    a = Footprint(0, 0, 1.0, 0.05, math.radians(45))  # a thin bar along the world (1, -1) diagonal
    b = Footprint(0.6, 0.6, 0.1, 0.1)  # inside a's AABB, clear of the bar itself
    assert footprint_overlap(a, b) < 0
    c = Footprint(0.3, -0.3, 0.1, 0.1)
    assert footprint_overlap(a, c) > 0


def test_touching_is_not_interpenetration() -> None:
    table = UprightBox(Footprint(0, 0, 0.6, 0.35), 0.0, 0.75)
    mug = UprightBox(Footprint(0.1, 0.1, 0.04, 0.04, 1.0), 0.75, 0.85)
    assert upright_penetration(table, mug) <= 0
    sunk = UprightBox(Footprint(0.1, 0.1, 0.04, 0.04), 0.74, 0.84)
    assert upright_penetration(table, sunk) > 0


def test_quaternion_round_trip() -> None:
    for deg in (-179, -90, 0, 37, 90, 180):
        yaw = math.radians(deg)
        assert math.isclose(math.cos(quaternion_yaw(yaw_quaternion(yaw))), math.cos(yaw), abs_tol=1e-9)
        assert math.isclose(math.sin(quaternion_yaw(yaw_quaternion(yaw))), math.sin(yaw), abs_tol=1e-9)


# --- the solver -----------------------------------------------------------------------------


def test_mug_stands_on_the_table_top() -> None:
    records, result = place([("table", "table"), ("mug", "mug"), ("mug", "mug")])
    by_name = {r["name"]: r for r in records}
    table, mug = by_name["table"], by_name["mug"]
    assert mug["parent_support_id"] == table["id"]
    assert mug["transform"]["position"]["y"] == table["dimensions_est"]["height"]
    assert by_name["mug_002"]["parent_support_id"] == table["id"]
    assert mug["surface_local_se2"] is not None and table["parent_support_id"] == "room_floor"
    assert check_layout(records, layout().plan()["room_box"]).ok
    assert not result.dropped


def test_wall_furniture_backs_onto_a_wall_and_keeps_clearance() -> None:
    lay = layout()
    records, result = place([("fridge", "refrigerator"), ("wardrobe", "wardrobe"), ("bookshelf", "bookshelf")], lay)
    b = lay.box
    for placed in result.placed:
        assert placed.anchor_wall in ("north", "south", "east", "west")
    for r in records:
        lo, hi = r["bounds"]["min"], r["bounds"]["max"]
        gaps = [lo[0] - b.min_x, b.max_x - hi[0], lo[2] - b.min_z, b.max_z - hi[2]]
        assert min(gaps) >= WALL_CLEARANCE - 1e-3
        assert min(gaps) < 0.05  # against a wall, not floating in the middle of the room


def test_seats_face_their_table() -> None:
    records, result = place([("table", "table"), ("chair", "chair"), ("chair", "chair")])
    facing = [p for p in result.placed if p.facing is not None]
    assert len(facing) == 2
    for p in facing:
        table = result.placed[p.facing]
        front = (math.sin(p.yaw), math.cos(p.yaw))
        to_table = (table.x - p.x, table.z - p.z)
        assert front[0] * to_table[0] + front[1] * to_table[1] > 0


def test_door_zone_stays_clear() -> None:
    lay = layout(4.0, 4.0)
    records, _ = place([("crate", "crate")] * 20, lay)
    (zone,) = lay.keep_clear()
    zone_fp = Footprint(
        (zone.min_x + zone.max_x) / 2,
        (zone.min_z + zone.max_z) / 2,
        (zone.max_x - zone.min_x) / 2,
        (zone.max_z - zone.min_z) / 2,
    )
    for r in records:
        fp = Footprint(
            r["transform"]["position"]["x"],
            r["transform"]["position"]["z"],
            r["dimensions_est"]["width"] / 2,
            r["dimensions_est"]["depth"] / 2,
            math.radians(r["yaw_deg"]),
        )
        assert footprint_overlap(zone_fp, fp) <= 1e-9


def test_what_does_not_fit_is_dropped_not_forced() -> None:
    lay = layout(2.2, 2.2, 2.4, room="bathroom")
    records, result = place([("bed", "bed"), ("bathtub", "bathtub"), ("sofa", "sofa"), ("wardrobe", "wardrobe")], lay)
    assert result.dropped
    assert len(records) + len(result.dropped) == 4
    assert check_layout(records, lay.plan()["room_box"]).ok


def test_too_tall_for_the_room_is_dropped() -> None:
    records, result = place([("fume_hood", "fume_hood"), ("table", "table")], layout(5, 5, 2.2))
    assert [o.name for o, _ in result.dropped] == ["fume_hood"]


def test_placement_is_deterministic_per_seed() -> None:
    names = [("table", "table"), ("counter", "counter"), ("mug", "mug"), ("bowl", "bowl"), ("stool", "stool")]
    assert place(names, seed=5)[0] == place(names, seed=5)[0]
    assert place(names, seed=5)[0] != place(names, seed=6)[0]


def test_check_layout_reports_each_kind_of_problem() -> None:
    records, _ = place([("table", "table"), ("mug", "mug"), ("chair", "chair")])
    room = layout().plan()["room_box"]
    table, mug, chair = (next(r for r in records if r["name"] == n) for n in ("table", "mug", "chair"))
    mug["transform"]["position"]["y"] += 0.1  # floating above the table
    chair["transform"]["position"] = dict(table["transform"]["position"])  # inside the table
    table["transform"]["position"]["x"] = 100.0  # through the wall
    report = check_layout(records, room)
    assert table["id"] in report.outside_room
    assert {p for p, _ in report.unsupported} >= {mug["id"]}
    assert report.interpenetrations and not report.ok


# --- property: any objects, any room, any seed ------------------------------------------------

_known = st.sampled_from(sorted(CATEGORY_SPECS)).map(lambda c: (c, c, None, None))
_unknown = st.tuples(
    st.sampled_from(["gizmo", "widget", "thing", "sculpture"]),
    st.just("unknown_category"),
    st.sampled_from(SIM_ROLES),
    st.tuples(*[st.floats(0.01, 3.0)] * 3),
)


@settings(max_examples=60, deadline=None)
@given(
    items=st.lists(_known | _unknown, min_size=1, max_size=30),
    room=st.tuples(st.floats(2.0, 12.0), st.floats(2.0, 12.0), st.floats(2.0, 5.0)),
    seed=st.integers(0, 2**32 - 1),
)
def test_any_scene_is_physically_valid(
    items: list[tuple[Any, ...]], room: tuple[float, float, float], seed: int
) -> None:
    from dataclasses import replace

    objects = []
    for name, category, role, dims in items:
        obj = make_object(name, category, role)
        if dims is not None:
            obj = replace(obj, spec=replace(obj.spec, width=dims[0], height=dims[1], depth=dims[2]))
        objects.append(obj)
    lay = RoomLayout(
        "generic_room",
        {"room_width_m": room[0], "room_depth_m": room[1], "room_height_m": room[2]},
        random.Random(seed),
    )
    result = place_objects(lay, unique_names(objects), random.Random(seed))
    records, _ = build_records(result.placed)
    report = check_layout(records, lay.plan()["room_box"])
    assert report.ok, report
    assert len(result.placed) + len(result.dropped) == len(objects)
