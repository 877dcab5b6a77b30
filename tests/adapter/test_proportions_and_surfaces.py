"""Retrieved assets keep their proportions, and objects on supports rest on the real surface."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from bpflow.core.storage.local import LocalBucket
from bpflow.domain.retrieval.library import package_entries
from bpflow.domain.retrieval.materialize import Materializer
from bpflow.domain.retrieval.planned_package import parse_object
from bpflow.domain.retrieval.select import RetrievalSettings, select_asset
from bpflow.domain.retrieval.settle import settle_on_supports, yaw_quat
from bpflow.domain.retrieval.usd_models import MAX_ANISOTROPY, measure_model

ASSETS = "scenes/s1/assets"


def planned(
    oid: str,
    name: str,
    category: str,
    dims: tuple[float, float, float],
    role: str = "manipulable_object",
    position: tuple[float, float, float] = (0.0, 0.0, 0.0),
    yaw: float = 0.0,
    parent: str | None = None,
):  # type: ignore[no-untyped-def]
    w, h, d = dims
    q = yaw_quat(yaw)
    return parse_object(
        {
            "id": oid,
            "name": name,
            "category": category,
            "sim_role": role,
            "parent_support_id": parent,
            "dimensions_est": {"width": w, "height": h, "depth": d},
            "transform": {"position": dict(zip("xyz", position)), "rotation_quaternion": dict(zip("wxyz", q))},
        },
        0,
    )


@pytest.fixture
def materializer(tmp_path: Path) -> Materializer:
    return Materializer(LocalBucket(tmp_path / "bucket"), ASSETS, "kitchen", tmp_path / "work", max_height=2.7)


def retrieve(m: Materializer, o):  # type: ignore[no-untyped-def]
    decision = select_asset(
        o, "kitchen", package_entries(), None, RetrievalSettings(mode="lexical_primary"), set(), lambda p: True
    )
    assert decision.selected is not None
    return m.retrieved(o, decision, decision.selected)


def scale_of(m: Materializer, item) -> tuple[float, ...]:  # type: ignore[no-untyped-def]
    assert item.fit is not None
    return tuple(item.fit["scale"])


def test_open_laptop_is_not_squashed_into_a_closed_one(materializer: Materializer) -> None:
    item = retrieve(materializer, planned("o1", "laptop", "laptop", (0.35, 0.02, 0.25)))
    sx, sy, sz = scale_of(materializer, item)
    assert item.fit["mode"] == "uniform" and sx == sy == sz  # type: ignore[index]
    size, centre, _ = measure_model(materializer.bucket.path_for(item.model_key))  # type: ignore[attr-defined]
    assert size == pytest.approx(item.obj.dimensions, abs=1e-4)
    w, h, d = item.obj.dimensions
    assert w <= 0.35 + 1e-6 and d <= 0.25 + 1e-6 and h > 0.15  # the lid stays up, the footprint in its slot


def test_spoon_planned_lengthwise_is_turned_not_stretched(materializer: Materializer) -> None:
    item = retrieve(materializer, planned("o2", "spoon", "utensil", (0.04, 0.015, 0.17)))
    assert item.fit["turn_deg"] == 90.0  # type: ignore[index]
    scale = scale_of(materializer, item)
    assert max(scale) / min(scale) <= MAX_ANISOTROPY + 1e-9


def test_close_fit_is_stretched_exactly_to_the_plan(materializer: Materializer) -> None:
    item = retrieve(materializer, planned("o3", "fridge", "refrigerator", (0.9, 1.8, 0.8), "articulated_appliance"))
    assert item.fit["mode"] == "stretch" and item.obj.dimensions == (0.9, 1.8, 0.8)  # type: ignore[index]


def test_bowl_planned_on_the_oven_panel_drops_to_the_cooktop(materializer: Materializer, tmp_path: Path) -> None:
    oven = retrieve(
        materializer,
        planned(
            "oven",
            "oven",
            "oven",
            (0.76, 0.9, 0.65),
            "articulated_appliance",
            position=(1.0, 0.0, 2.0),
            yaw=math.pi / 2,
        ),
    )
    # Planning put the bowl on the box top, over the back panel (local z = -0.27).
    bx, bz = 1.0 - 0.27, 2.0  # local (0, -0.27) with the oven turned a quarter: local z -> world x
    bowl = retrieve(
        materializer, planned("bowl", "bowl", "bowl", (0.18, 0.08, 0.18), position=(bx, 0.9, bz), parent="oven")
    )
    bowl2 = retrieve(
        materializer, planned("mug", "mug", "mug", (0.12, 0.1, 0.08), position=(1.1, 0.9, 2.1), parent="oven")
    )
    done = settle_on_supports([oven, bowl, bowl2], lambda item: tmp_path / "work" / f"obj_{item.obj.id}" / "model.usd")
    moved = done.moved
    assert done.dropped == []
    assert {m.object_id for m in moved} == {"bowl", "mug"} and all(m.stable for m in moved)
    cooktop = 0.9 * 0.9  # the asset's 0.9 m body top, scaled by 0.9 to the planned 0.9 m total height
    for item in (bowl, bowl2):
        assert cooktop - 1e-3 <= item.obj.position[1] <= cooktop + 0.02  # on the cooktop (or a burner), not 0.9
        assert item.obj.surface_local_se2 is not None
    assert moved[0].moved_m > 0.05  # off the back panel


def test_furniture_reuses_the_right_kind_rather_than_another_kind() -> None:
    lib = "package://bpflow/assets/library"
    chairs = {
        f"{lib}/chair_dining_01/chair_dining_01.usda",
        f"{lib}/chair_office_01/chair_office_01.usda",
        f"{lib}/armchair_01/armchair_01.usda",
    }
    o = planned("c4", "chair_004", "chair", (0.45, 0.9, 0.5), role="static")
    d = select_asset(
        o, "dining_room", package_entries(), None, RetrievalSettings(mode="lexical_primary"), chairs, lambda p: True
    )
    assert d.selected is not None and d.selected.path in chairs and d.duplicate_reused  # not the bar stool
    washer = planned("w2", "washer", "washer", (0.6, 0.85, 0.6), role="articulated_appliance")
    used = {f"{lib}/washing_machine_01/washing_machine_01.usda"}
    d = select_asset(
        washer, "laundry", package_entries(), None, RetrievalSettings(mode="lexical_primary"), used, lambda p: True
    )
    assert d.selected is not None and "washing_machine_01" in d.selected.path  # not the dishwasher
