"""Objects planned on a support whose retrieved asset is smaller than its planned box.

The README tour's bedroom (``a bedroom with a bed and a lamp``, seed 2 of request ``269e0d``)
failed the usd-assembly physics gate: planning put a blanket and a lamp on a 1.2 m dresser, the
library's only dresser-like asset (a 0.6 m drawer cabinet) kept its proportions, and the settle
step left the lamp where the planned top had been, in mid-air beside the real one: it fell 0.9 m
in the simulation. This is that room's layout (the dresser, what stands on it, the other
supports and the floor furniture), run through real retrieval, fitting and settling.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from bpflow.core.storage.local import LocalBucket
from bpflow.domain.retrieval.library import package_entries
from bpflow.domain.retrieval.materialize import Materialized, Materializer
from bpflow.domain.retrieval.planned_package import PackageObject, parse_object
from bpflow.domain.retrieval.select import RetrievalSettings, select_asset
from bpflow.domain.retrieval.settle import FLOOR_ID, model_triangles, settle_on_supports, yaw_of, yaw_quat
from bpflow.domain.scene.obb import Footprint, contains, footprints_clear
from bpflow.domain.scene.surfaces import HeightField

ASSETS = "scenes/s1/assets"
ROOM_BOX = {"min": [-2.9971, 0.0, -2.6489], "max": [2.9971, 3.0, 2.6489]}

#: (id, name/category, sim_role, parent, base position, yaw°, planned (w, h, d)) as text-scene-gen wrote them
LAYOUT = (
    ("obj_001", "nightstand", "articulated_furniture", None, (-2.766, 0.0, -0.7169), 90.0, (0.5, 0.55, 0.4)),
    ("obj_002", "desk", "static", None, (-2.366, 0.0, 2.3179), 180.0, (1.2, 0.75, 0.6)),
    ("obj_003", "blanket", "deformable_object", "obj_012", (2.7063, 0.8, -1.8728), -90.0, (0.5, 0.08, 0.4)),
    ("obj_005", "glass", "manipulable_object", "obj_001", (-2.6517, 0.55, -0.7354), -105.0, (0.07, 0.12, 0.07)),
    ("obj_006", "bed", "static", None, (-1.9161, 0.0, -1.8179), 90.0, (1.6, 0.55, 2.1)),
    ("obj_008", "chair", "static", None, (-2.4021, 0.0, 1.6879), 0.0, (0.45, 0.9, 0.5)),
    ("obj_009", "lamp", "static", "obj_012", (2.724, 0.8, -2.3976), -90.0, (0.25, 0.45, 0.25)),
    ("obj_012", "dresser", "articulated_furniture", None, (2.7161, 0.0, -2.0179), -90.0, (1.2, 0.8, 0.5)),
)


def planned(
    oid: str,
    name: str,
    role: str,
    parent: str | None,
    pos: tuple[float, float, float],
    yaw_deg: float,
    dims: tuple[float, float, float],
) -> PackageObject:
    w, h, d = dims
    return parse_object(
        {
            "id": oid,
            "name": name,
            "category": name,
            "sim_role": role,
            "parent_support_id": parent or "room_floor",
            "dimensions_est": {"width": w, "height": h, "depth": d},
            "transform": {
                "position": dict(zip("xyz", pos)),
                "rotation_quaternion": dict(zip("wxyz", yaw_quat(math.radians(yaw_deg)))),
            },
        },
        0,
    )


def materialize(tmp_path: Path) -> list[Materialized]:
    m = Materializer(LocalBucket(tmp_path / "bucket"), ASSETS, "bedroom", tmp_path / "work", max_height=2.95)
    items = []
    for row in LAYOUT:
        obj = planned(*row)
        decision = select_asset(
            obj, "bedroom", package_entries(), None, RetrievalSettings(mode="lexical_primary"), set(), lambda p: True
        )
        items.append(
            m.retrieved(obj, decision, decision.selected)
            if decision.selected is not None
            else m.placeholder(obj, decision)
        )
    return items


def footprint(obj: PackageObject) -> Footprint:
    return Footprint(
        obj.position[0], obj.position[2], obj.dimensions[0] / 2, obj.dimensions[2] / 2, yaw_of(obj.rotation)
    )


def resting_problem(item: Materialized, by_id: dict[str, Materialized], model_of) -> str | None:  # type: ignore[no-untyped-def]
    """Why ``item`` would not stay put (None: it rests on a real surface at its height)."""
    obj = item.obj
    if obj.parent_support_id in (None, "", FLOOR_ID):
        if abs(obj.position[1] - ROOM_BOX["min"][1]) > 1e-6:
            return f"on the floor at y={obj.position[1]}"
        return None
    sup = by_id[obj.parent_support_id].obj
    field = HeightField(model_triangles(model_of(by_id[sup.id])))
    frame = Footprint(sup.position[0], sup.position[2], 0.0, 0.0, yaw_of(sup.rotation))
    u, v = frame.to_local(obj.position[0], obj.position[2])
    rest = field.rest(u, v, obj.dimensions[0] / 2, obj.dimensions[2] / 2, yaw_of(obj.rotation) - yaw_of(sup.rotation))
    if not (rest.covered and rest.stable):
        return f"not over {sup.id}'s real top (covered={rest.covered}, stable={rest.stable})"
    surface_y = sup.position[1] + sup.dimensions[1] / 2 + rest.height
    if abs(obj.position[1] - surface_y) > 1e-3:
        return f"at y={obj.position[1]:.3f}, {sup.id}'s surface there is at {surface_y:.3f}"
    return None


def test_objects_the_real_dresser_has_no_room_for_rest_on_a_real_surface(tmp_path: Path) -> None:
    items = materialize(tmp_path)
    by_id = {i.obj.id: i for i in items}
    dresser = by_id["obj_012"]
    # the cause: the drawer cabinet keeps its proportions, half the planned dresser's width
    assert dresser.fit is not None and dresser.fit["mode"] == "uniform"
    assert dresser.obj.dimensions[0] < 0.7

    def model_of(item: Materialized) -> Path:
        return tmp_path / "work" / f"obj_{item.obj.id}" / "model.usd"

    moved = settle_on_supports(items, model_of, ROOM_BOX)

    problems = {i.obj.id: p for i in items if (p := resting_problem(i, by_id, model_of))}
    assert problems == {}
    lamp = by_id["obj_009"].obj
    assert lamp.parent_support_id != "obj_012"  # the blanket fills the real top
    assert next(s for s in moved if s.object_id == "obj_009").planned_support_id == "obj_012"
    # nothing on one surface overlaps another thing there, nothing on the floor overlaps furniture
    groups: dict[str, list[PackageObject]] = {}
    for i in items:
        groups.setdefault(i.obj.parent_support_id or FLOOR_ID, []).append(i.obj)
    room = Footprint(0.0, 0.0, ROOM_BOX["max"][0], ROOM_BOX["max"][2])
    for sid, objs in groups.items():
        for k, a in enumerate(objs):
            if sid == FLOOR_ID:
                assert contains(room, footprint(a)), a.id
            for b in objs[k + 1 :]:
                assert footprints_clear(footprint(a), footprint(b), 0.0), (a.id, b.id)


@pytest.mark.parametrize("walls_known", [True, False])
def test_an_object_no_support_has_room_for_goes_to_the_floor(tmp_path: Path, walls_known: bool) -> None:
    """Only the dresser holds anything here (the bed is bare, so no support): what the dresser
    cannot hold stands on the floor beside it, with or without the room's walls known."""
    items = [i for i in materialize(tmp_path) if i.obj.id in ("obj_012", "obj_003", "obj_009", "obj_006")]

    def model_of(item: Materialized) -> Path:
        return tmp_path / "work" / f"obj_{item.obj.id}" / "model.usd"

    moved = settle_on_supports(items, model_of, ROOM_BOX if walls_known else None)
    by_id = {i.obj.id: i for i in items}
    lamp = by_id["obj_009"].obj
    assert lamp.parent_support_id == FLOOR_ID and lamp.position[1] == 0.0
    assert next(s for s in moved if s.object_id == "obj_009").stable
    floor = [footprint(by_id[k].obj) for k in ("obj_012", "obj_006")]
    assert all(footprints_clear(footprint(lamp), fp, 0.05 - 1e-9) for fp in floor)
    assert math.dist(lamp.position[::2], by_id["obj_012"].obj.position[::2]) < 1.0  # beside the dresser
    assert {i.obj.id: p for i in items if (p := resting_problem(i, by_id, model_of))} == {}
