"""Articulation from the asset's own parts: the moving groups become links, the carcass stays
open, drawer counts and door gaps are the asset's, joints sit at the authored hinge."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from pxr import Usd, UsdPhysics

from bpflow.domain.assets import LIBRARY_DIR
from bpflow.domain.scene.manifest import SceneObject
from bpflow.domain.usd.asset_parts import authored_parts
from bpflow.domain.usd.interactive import build_interactive_authored, opened_joint_count
from bpflow.domain.usd.simready import build_simready


def articulate(tmp_path: Path, asset_id: str, category: str, up: str = "Y"):  # type: ignore[no-untyped-def]
    folder = tmp_path / "assets" / f"obj_{asset_id}"
    shutil.copytree(LIBRARY_DIR / asset_id, folder / "asset")
    obj = SceneObject(asset_id, asset_id, category, "", "articulated_furniture", None, None, None, None)
    record = build_simready(
        obj,
        visual_key=f"assets/obj_{asset_id}/asset/{asset_id}.usda",
        visual_local=folder / "asset" / f"{asset_id}.usda",
        out_key=f"assets/obj_{asset_id}/simready.usda",
        out_local=folder / "simready.usda",
        up_axis=up,
    )
    layer = Usd.Stage.Open(str(folder / "simready.usda"))
    parts = authored_parts(layer, layer.GetDefaultPrim())
    out = tmp_path / "assets" / "interactive" / f"obj_{asset_id}" / "interactive.usda"
    out.parent.mkdir(parents=True)
    joints = build_interactive_authored(
        object_id=asset_id,
        simready_key=f"assets/obj_{asset_id}/simready.usda",
        simready_local=folder / "simready.usda",
        out_key=f"assets/interactive/obj_{asset_id}/interactive.usda",
        out_local=out,
        up_axis=up,
        parts=parts,
        total_mass=record.mass_kg,
    )
    return parts, joints, Usd.Stage.Open(str(out)), record


def colliders(stage: Usd.Stage, path: str) -> list[str]:
    return [p.GetName() for p in Usd.PrimRange(stage.GetPrimAtPath(path)) if p.HasAPI(UsdPhysics.CollisionAPI)]


def test_three_drawer_cabinet_gets_its_three_drawers_as_open_boxes(tmp_path: Path) -> None:
    parts, joints, stage, _ = articulate(tmp_path, "cabinet_drawers_01", "cabinet")
    assert [j.part for j in joints] == ["drawer_0", "drawer_1", "drawer_2"]
    assert all(j.joint == "prismatic" and j.axis == "Z" and j.lower == 0 and j.upper > 0.25 for j in joints)
    assert sorted(colliders(stage, "/Root/Base")) == ["Back", "Bottom", "SideL", "SideR", "Top"]  # no solid block
    assert len(colliders(stage, "/Root/Parts/drawer_0")) == 6  # front, pull, floor, two sides, back
    assert opened_joint_count(tmp_path / "assets/interactive/obj_cabinet_drawers_01/interactive.usda") == 3


def test_two_doors_keep_a_gap_and_hinge_at_their_outer_edges(tmp_path: Path) -> None:
    parts, joints, stage, _ = articulate(tmp_path, "cabinet_tall_01", "cabinet")
    left, right = sorted(parts, key=lambda p: p.center[0])
    gap = (right.center[0] - right.size[0] / 2) - (left.center[0] + left.size[0] / 2)
    assert gap >= 0.009
    assert left.anchor[0] < left.center[0] and right.anchor[0] > right.center[0]
    assert (left.lower, left.upper) == (-110.0, 0.0) and (right.lower, right.upper) == (0.0, 110.0)
    assert colliders(stage, "/Root/Parts/door_0") == ["Door0", "Handle0"]


def test_mass_is_split_between_carcass_and_parts(tmp_path: Path) -> None:
    _, _, stage, record = articulate(tmp_path, "cabinet_tall_01", "cabinet")
    masses = [
        UsdPhysics.MassAPI(stage.GetPrimAtPath(p)).GetMassAttr().Get()
        for p in ("/Root/Base", "/Root/Parts/door_0", "/Root/Parts/door_1")
    ]
    assert sum(masses) == pytest.approx(record.mass_kg, rel=1e-3) and 5 < masses[1] < 20


def test_z_up_scene_turns_axes_and_keeps_the_opening_direction(tmp_path: Path) -> None:
    parts, _, _, _ = articulate(tmp_path, "oven_01", "oven", up="Z")
    (door,) = parts
    assert door.joint == "revolute" and door.axis == "X" and door.upper - door.lower == 90.0
