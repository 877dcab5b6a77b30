"""Per-object models: they open with pxr, resolve their reference, and have the planned size."""

from __future__ import annotations

from pathlib import Path

import pytest

from bpflow.core.storage.local import LocalBucket
from bpflow.domain.retrieval.errors import AssetUnusable
from bpflow.domain.retrieval.library import bucket_entries, package_entries
from bpflow.domain.retrieval.materialize import Materializer
from bpflow.domain.retrieval.planned_package import parse_object
from bpflow.domain.retrieval.select import RetrievalSettings, select_asset
from bpflow.domain.retrieval.usd_models import measure_model

ASSETS = "scenes/s1/assets"


def obj(oid: str, name: str, category: str, dims: tuple[float, float, float], role: str = "manipulable_object"):  # type: ignore[no-untyped-def]
    w, h, d = dims
    return parse_object(
        {
            "id": oid,
            "name": name,
            "category": category,
            "sim_role": role,
            "dimensions_est": {"width": w, "height": h, "depth": d},
        },
        0,
    )


@pytest.fixture
def materializer(tmp_path: Path) -> Materializer:
    return Materializer(LocalBucket(tmp_path / "bucket"), ASSETS, "kitchen", tmp_path / "work")


def model_path(m: Materializer, oid: str) -> Path:
    assert isinstance(m.bucket, LocalBucket)
    return m.bucket.path_for(f"{ASSETS}/obj_{oid}/model.usd")


def retrieve(m: Materializer, o, entries=None):  # type: ignore[no-untyped-def]
    decision = select_asset(
        o,
        "kitchen",
        entries or package_entries(),
        None,
        RetrievalSettings(mode="lexical_primary"),
        set(),
        lambda p: True,
    )
    assert decision.selected is not None
    return m.retrieved(o, decision, decision.selected)


def test_retrieved_asset_is_copied_referenced_and_fitted(materializer: Materializer) -> None:
    from pxr import Usd

    o = obj("obj_002", "fridge", "refrigerator", (0.9, 1.8, 0.8), "articulated_appliance")
    item = retrieve(materializer, o)
    assert item.materialization == "retrieved_asset_bundle" and item.library_asset_id == "library::fridge_01"
    assert item.license == "CC0-1.0"
    assert sorted(k.rsplit("/obj_obj_002/", 1)[1] for k in item.files) == [
        "metadata.json",
        "model.usd",
        "retrieved_asset/LICENSE",
        "retrieved_asset/fridge_01.usda",
        "retrieved_asset/metadata.json",
    ]
    path = model_path(materializer, "obj_002")
    text = path.read_text()
    assert text.startswith("#usda 1.0") and 'defaultPrim = "Root"' in text
    assert "prepend references = @./retrieved_asset/fridge_01.usda@" in text
    size, centre, meshes = measure_model(path)
    assert size == pytest.approx((0.9, 1.8, 0.8), abs=1e-5) and centre == pytest.approx((0, 0, 0), abs=1e-5)
    assert meshes >= 3  # the fridge's parts came through the reference
    stage = Usd.Stage.Open(str(path))
    assert stage.GetPrimAtPath("/Root/Geom/FridgeDoor").IsValid()


def test_placeholder_is_a_real_box_of_the_planned_size(materializer: Materializer) -> None:
    from pxr import Usd, UsdGeom

    o = obj("obj_009", "warp_core", "spaceship_part", (0.4, 0.7, 0.3))
    decision = select_asset(
        o, "kitchen", package_entries(), None, RetrievalSettings(mode="lexical_primary"), set(), lambda p: True
    )
    assert decision.selected is None
    item = materializer.placeholder(o, decision)
    assert item.materialization == "placeholder_usd" and item.fallback_reason == "retrieval_miss_placeholder"
    assert item.validation is not None and item.validation["score"] == 0.7425 and item.validation["passed"]
    path = model_path(materializer, "obj_009")
    size, centre, _ = measure_model(path)
    assert size == pytest.approx((0.4, 0.7, 0.3), abs=1e-6) and centre == pytest.approx((0, 0, 0))
    stage = Usd.Stage.Open(str(path))
    mesh = UsdGeom.Mesh(stage.GetPrimAtPath("/Root/Geom"))
    assert len(mesh.GetPointsAttr().Get()) == 8 and list(mesh.GetFaceVertexCountsAttr().Get()) == [4] * 6


def test_thin_covering_is_a_slab_on_the_floor(materializer: Materializer) -> None:
    o = obj("obj_010", "rug", "rug", (2.0, 0.02, 1.5))
    item = materializer.thin_covering(o)
    assert item.retrieval_method == "thin_covering" and item.files
    size, centre, _ = measure_model(model_path(materializer, "obj_010"))
    assert size == pytest.approx((2.0, 0.005, 1.5), abs=1e-6)
    assert centre[1] == pytest.approx(-0.01 + 0.0025, abs=1e-6)


def test_bucket_asset_in_centimetres_and_z_up_is_fitted(tmp_path: Path) -> None:
    """A library asset authored z-up in centimetres, off-centre, with its own root transform."""
    bucket = LocalBucket(tmp_path / "bucket")
    bucket.write(
        "asset-library/custom/crate/wooden_crate.usda",
        """#usda 1.0
(
    defaultPrim = "Crate"
    metersPerUnit = 0.01
    upAxis = "Z"
)
def Xform "Crate"
{
    double3 xformOp:translate = (500, 0, 0)
    uniform token[] xformOpOrder = ["xformOp:translate"]
    def Cube "Box"
    {
        double size = 1
        double3 xformOp:translate = (10, 20, 15)
        float3 xformOp:scale = (60, 40, 30)
        uniform token[] xformOpOrder = ["xformOp:translate", "xformOp:scale"]
    }
}
""",
    )
    bucket.write("asset-library/custom/crate/textures/wood.png", b"\x89PNG fake")
    m = Materializer(bucket, ASSETS, "warehouse", tmp_path / "work")
    o = obj("obj_001", "crate", "crate", (0.6, 0.3, 0.4))
    item = retrieve(m, o, bucket_entries(bucket, ["asset-library"], 10))
    assert f"{ASSETS}/obj_obj_001/retrieved_asset/textures/wood.png" in item.files
    size, centre, _ = measure_model(m.bucket.path_for(item.model_key))  # type: ignore[attr-defined]
    assert size == pytest.approx((0.6, 0.3, 0.4), abs=1e-5) and centre == pytest.approx((0, 0, 0), abs=1e-5)


def test_dangling_reference_is_unusable(tmp_path: Path) -> None:
    bucket = LocalBucket(tmp_path / "bucket")
    bucket.write(
        "asset-library/custom/lamp/broken_lamp.usda",
        '#usda 1.0\n(\n    defaultPrim = "L"\n)\ndef Xform "L" (prepend references = @../elsewhere/lamp_geo.usda@) {}\n',
    )
    m = Materializer(bucket, ASSETS, "office", tmp_path / "work")
    with pytest.raises(AssetUnusable):
        retrieve(m, obj("obj_001", "lamp", "lamp", (0.3, 1.2, 0.3)), bucket_entries(bucket, ["asset-library"], 10))


def test_a_rerun_leaves_no_stale_files(materializer: Materializer) -> None:
    o = obj("obj_004", "bowl", "bowl", (0.18, 0.08, 0.18))
    retrieve(materializer, o)
    item = materializer.placeholder(o, None, "retrieval_disabled")
    listed = sorted(i.key for i in materializer.bucket.list(f"{ASSETS}/obj_obj_004/"))
    assert listed == sorted(item.files) == [f"{ASSETS}/obj_obj_004/metadata.json", f"{ASSETS}/obj_obj_004/model.usd"]
