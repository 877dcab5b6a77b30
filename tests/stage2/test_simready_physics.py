"""Simready on the packaged assets: authored masses in their category's range, centre of mass
and inertia written, containers collide through their convex pieces, light furniture is free."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from pxr import Usd, UsdGeom, UsdPhysics

from bpflow.domain.assets import LIBRARY_DIR
from bpflow.domain.scene.manifest import SceneObject
from bpflow.domain.usd.simready import build_simready


def simready(tmp_path: Path, asset_id: str, category: str, name: str, role: str = "static"):  # type: ignore[no-untyped-def]
    folder = tmp_path / "assets" / f"obj_{name}"
    shutil.copytree(LIBRARY_DIR / asset_id, folder / "asset")
    obj = SceneObject(name, name, category, "", role, None, None, None, None)
    out = folder / "simready.usda"
    record = build_simready(
        obj,
        visual_key=f"assets/obj_{name}/asset/{asset_id}.usda",
        visual_local=folder / "asset" / f"{asset_id}.usda",
        out_key=f"assets/obj_{name}/simready.usda",
        out_local=out,
        up_axis="Y",
    )
    return record, Usd.Stage.Open(str(out))


@pytest.mark.parametrize(
    ("asset_id", "category", "lo", "hi"),
    [
        ("bed_double_01", "bed", 40, 150),
        ("lamp_desk_01", "lamp", 0.5, 5),
        ("plant_potted_01", "plant", 2, 30),
        ("book_01", "book", 0.1, 2.5),
        ("chair_dining_01", "chair", 3, 16),
    ],
)
def test_authored_mass_is_in_the_category_range(
    tmp_path: Path, asset_id: str, category: str, lo: float, hi: float
) -> None:
    record, stage = simready(tmp_path, asset_id, category, category)
    assert record.density_basis == "authored" and record.mass_check == "ok" and lo <= record.mass_kg <= hi
    mass = UsdPhysics.MassAPI(stage.GetDefaultPrim())
    assert mass.GetCenterOfMassAttr().HasAuthoredValue() and min(mass.GetDiagonalInertiaAttr().Get()) > 0


def test_book_pages_inside_the_cover_count_once(tmp_path: Path) -> None:
    record, _ = simready(tmp_path, "book_01", "book", "book")
    w, h, d = record.size_m
    assert record.volume_m3 <= w * h * d + 1e-9  # never more than its own box (pages overlap the cover)


def test_bed_centre_of_mass_is_low_and_toward_the_headboard(tmp_path: Path) -> None:
    record, _ = simready(tmp_path, "bed_double_01", "bed", "bed")
    assert record.center_of_mass[1] < 0 and record.center_of_mass[2] < 0  # below the box centre, headboard side


def test_trash_bin_collides_through_its_pieces_not_one_hull(tmp_path: Path) -> None:
    record, stage = simready(tmp_path, "bin_trash_01", "trash_bin", "trash_bin")
    assert record.collision_approximation == "convexDecomposition" and record.dynamic
    colliders = [p for p in stage.Traverse() if p.HasAPI(UsdPhysics.CollisionAPI)]
    assert len(colliders) == 13 and all(UsdGeom.Imageable(p).ComputePurpose() == "guide" for p in colliders)
    assert {UsdPhysics.MeshCollisionAPI(p).GetApproximationAttr().Get() for p in colliders} == {"convexHull"}
    visual = [p for p in stage.Traverse() if p.GetName() == "Bin"]
    assert visual and not visual[0].HasAPI(UsdPhysics.CollisionAPI)


def test_chairs_are_free_bodies_counters_are_not(tmp_path: Path) -> None:
    chair, _ = simready(tmp_path, "chair_dining_01", "chair", "chair")
    counter, _ = simready(tmp_path, "counter_kitchen_01", "counter", "counter")
    assert chair.dynamic and not chair.kinematic and counter.kinematic
