"""The packaged asset library: real, closed meshes of the stated size, CC0, reproducible, small."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import trimesh

from bpflow.domain.assets import LIBRARY_DIR, library_assets, resolve_package_ref
from bpflow.domain.assets.build_library import RECIPES, build

INDOOR_CATEGORIES = {
    "table",
    "chair",
    "counter",
    "cabinet",
    "refrigerator",
    "oven",
    "microwave",
    "sink",
    "shelf",
    "sofa",
    "bed",
    "desk",
    "lamp",
    "mug",
    "bowl",
    "plate",
    "bottle",
    "book",
    "box",
    "monitor",
    "plant",
}


def test_library_covers_the_common_indoor_categories() -> None:
    assets = library_assets()
    assert len(assets) == len(RECIPES) >= 25
    assert INDOOR_CATEGORIES <= {a.category for a in assets}


def test_library_is_small() -> None:
    total = sum(p.stat().st_size for p in LIBRARY_DIR.rglob("*") if p.is_file())
    assert total < 2 * 1024 * 1024


def test_metadata_declares_licence_units_and_author() -> None:
    for asset in library_assets():
        meta = json.loads((asset.folder / "metadata.json").read_text())
        assert meta["license"] == "CC0-1.0" and meta["author"] == "bpflow contributors (procedural)"
        assert meta["up_axis"] == "y" and meta["meters_per_unit"] == 1
        assert set(meta["dimensions"]) == {"width", "height", "depth"}
        assert meta["tags"] and meta["description"] and meta["material"] and meta["sim_roles"]
        assert (asset.folder / "LICENSE").read_text().count("CC0") >= 1
        assert resolve_package_ref(asset.ref) == asset.usd_path
    assert (LIBRARY_DIR / "LICENSE").is_file()


def _triangles(mesh) -> trimesh.Trimesh:  # type: ignore[no-untyped-def]
    points = np.array(mesh.GetPointsAttr().Get(), dtype=float)
    counts = mesh.GetFaceVertexCountsAttr().Get()
    indices = list(mesh.GetFaceVertexIndicesAttr().Get())
    faces, at = [], 0
    for n in counts:
        ring = indices[at : at + n]
        at += n
        faces += [[ring[0], ring[k], ring[k + 1]] for k in range(1, n - 1)]
    return trimesh.Trimesh(points, np.array(faces), process=True)


@pytest.mark.parametrize("asset", library_assets(), ids=lambda a: a.asset_id)
def test_asset_is_real_closed_geometry_of_its_stated_size(asset) -> None:  # type: ignore[no-untyped-def]
    from pxr import Usd, UsdGeom

    stage = Usd.Stage.Open(str(asset.usd_path))
    assert UsdGeom.GetStageUpAxis(stage) == UsdGeom.Tokens.y
    assert UsdGeom.GetStageMetersPerUnit(stage) == 1.0
    root = stage.GetDefaultPrim()
    assert root and root.GetName() == asset.asset_id
    meshes = [UsdGeom.Mesh(p) for p in stage.Traverse() if p.IsA(UsdGeom.Mesh)]
    assert meshes
    for mesh in meshes:
        tri = _triangles(mesh)
        assert tri.is_watertight and tri.is_winding_consistent and tri.volume > 0, mesh.GetPath()
    box = UsdGeom.BBoxCache(Usd.TimeCode.Default(), ["default"]).ComputeWorldBound(root).ComputeAlignedRange()
    size, low, mid = box.GetSize(), box.GetMin(), box.GetMidpoint()
    assert np.allclose(list(size), asset.dimensions, atol=2e-4)
    assert abs(low[1]) < 1e-6 and abs(mid[0]) < 2e-4 and abs(mid[2]) < 2e-4  # stands on y=0, centred


def test_generator_reproduces_the_shipped_files(tmp_path: Path) -> None:
    build(tmp_path)
    shipped = sorted(p.relative_to(LIBRARY_DIR) for p in LIBRARY_DIR.rglob("*") if p.is_file())
    built = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    assert built == shipped
    for rel in shipped:
        assert (tmp_path / rel).read_bytes() == (LIBRARY_DIR / rel).read_bytes(), rel
