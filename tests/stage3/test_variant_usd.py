"""variants.usda opens in pxr and every variant selection changes the composed stage as claimed."""

from __future__ import annotations

from pathlib import Path

import pytest
from pxr import Gf, Sdf, Usd, UsdGeom, UsdShade

from bpflow.domain.variation.documents import variant_list
from bpflow.domain.variation.palette import COLOR_SET, MATERIAL_SET, SCALE_SET, VARIANT_SETS, plan_variants
from bpflow.domain.variation.sources import SourceMissing
from bpflow.domain.variation.variant_usd import build_variants
from tests.stage3.stage2_fixture import model_usd


def _source(tmp_path: Path, text: str, name: str = "model.usda") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _size(stage: Usd.Stage, path: str = "/Root") -> Gf.Vec3d:
    cache = UsdGeom.BBoxCache(Usd.TimeCode.Default(), [UsdGeom.Tokens.default_])
    return cache.ComputeWorldBound(stage.GetPrimAtPath(path)).ComputeAlignedRange().GetSize()


def _gprims(stage: Usd.Stage) -> list[Usd.Prim]:
    return [p for p in Usd.PrimRange(stage.GetPrimAtPath("/Root/Asset")) if p.IsA(UsdGeom.Gprim)]


def _variant_file(
    tmp_path: Path, category: str = "mug", hints: tuple[str, ...] = ("red", "ceramic")
) -> tuple[Usd.Stage, object]:
    src = _source(tmp_path, model_usd(category, (0.08, 0.1, 0.08), (0.9, 0.9, 0.9)))
    plan = plan_variants("mug_variants", category, list(hints))
    out = tmp_path / "variants.usda"
    out.write_text(
        build_variants(
            src, plan, asset_id="mug_variants", category=category, source_key="scenes/s/assets/obj_mug_0/model.usd"
        )
    )
    return Usd.Stage.Open(str(out)), plan


def test_variant_sets_and_defaults(tmp_path: Path) -> None:
    stage, plan = _variant_file(tmp_path)
    root = stage.GetDefaultPrim()
    assert root.GetPath() == Sdf.Path("/Root")
    vsets = root.GetVariantSets()
    assert tuple(vsets.GetNames()) == VARIANT_SETS
    for name, variants in plan.names().items():  # type: ignore[attr-defined]
        assert vsets.GetVariantSet(name).GetVariantNames() == sorted(variants)
        assert len(variants) == 3
    assert vsets.GetVariantSelection(SCALE_SET) == "medium"
    assert vsets.GetVariantSelection(COLOR_SET) == "red"  # the hinted colour comes first
    assert vsets.GetVariantSelection(MATERIAL_SET) == "ceramic"
    assert UsdGeom.GetStageUpAxis(stage) == UsdGeom.Tokens.y and UsdGeom.GetStageMetersPerUnit(stage) == 1.0
    assert Usd.ModelAPI(root).GetKind() == "component"
    # the source geometry is only a class: traversal sees it once, under /Root/Asset
    assert [str(p.GetPath()) for p in stage.Traverse() if p.IsA(UsdGeom.Gprim)] == ["/Root/Asset/Geom"]


def test_each_scale_variant_scales_the_composed_bounds(tmp_path: Path) -> None:
    stage, plan = _variant_file(tmp_path)
    vset = stage.GetDefaultPrim().GetVariantSets().GetVariantSet(SCALE_SET)
    vset.SetVariantSelection("medium")
    base = _size(stage)
    assert base[0] == pytest.approx(0.08, rel=1e-3) and base[1] == pytest.approx(0.1, rel=1e-6)
    for name, factor in plan.scales:  # type: ignore[attr-defined]
        vset.SetVariantSelection(name)
        size = _size(stage)
        for axis in range(3):
            assert size[axis] == pytest.approx(base[axis] * factor, rel=1e-6)
        scale = stage.GetDefaultPrim().GetAttribute("xformOp:scale").Get()
        assert tuple(scale) == pytest.approx((factor, factor, factor))


def test_each_color_variant_overrides_the_source_display_color(tmp_path: Path) -> None:
    stage, plan = _variant_file(tmp_path)
    vset = stage.GetDefaultPrim().GetVariantSets().GetVariantSet(COLOR_SET)
    gprims = _gprims(stage)
    assert gprims
    seen = set()
    for name, rgb in plan.colors:  # type: ignore[attr-defined]
        vset.SetVariantSelection(name)
        for prim in gprims:
            pv = UsdGeom.PrimvarsAPI(prim).GetPrimvar("displayColor")
            assert pv.GetInterpolation() == UsdGeom.Tokens.constant
            assert tuple(pv.ComputeFlattened()[0]) == pytest.approx(rgb, abs=1e-6)  # beats the source's grey
        seen.add(tuple(round(c, 4) for c in rgb))
    assert len(seen) == 3


def test_each_material_variant_binds_its_own_preview_surface(tmp_path: Path) -> None:
    stage, plan = _variant_file(tmp_path)
    vset = stage.GetDefaultPrim().GetVariantSets().GetVariantSet(MATERIAL_SET)
    for name, look in plan.materials:  # type: ignore[attr-defined]
        vset.SetVariantSelection(name)
        for prim in _gprims(stage):
            material, _ = UsdShade.MaterialBindingAPI(prim).ComputeBoundMaterial()
            assert material.GetPath() == Sdf.Path(f"/Root/Looks/{name}")
            shader = material.ComputeSurfaceSource()[0]
            assert shader.GetIdAttr().Get() == "UsdPreviewSurface"
            assert tuple(shader.GetInput("diffuseColor").Get()) == pytest.approx(look.diffuse, abs=1e-6)
            assert shader.GetInput("metallic").Get() == pytest.approx(look.metallic)
            assert shader.GetInput("roughness").Get() == pytest.approx(look.roughness)


def test_variant_sets_are_independent(tmp_path: Path) -> None:
    stage, plan = _variant_file(tmp_path)
    vsets = stage.GetDefaultPrim().GetVariantSets()
    vsets.SetSelection(SCALE_SET, "large")
    size = _size(stage)
    geom = _gprims(stage)[0]
    for color, rgb in plan.colors:  # type: ignore[attr-defined]
        vsets.SetSelection(COLOR_SET, color)
        for material, _ in plan.materials:  # type: ignore[attr-defined]
            vsets.SetSelection(MATERIAL_SET, material)
            assert _size(stage) == size
            assert tuple(UsdGeom.Gprim(geom).GetDisplayColorAttr().Get()[0]) == pytest.approx(rgb, abs=1e-6)
            assert UsdShade.MaterialBindingAPI(geom).ComputeBoundMaterial()[0].GetPath().name == material


def test_catalog_variant_list_matches_the_file(tmp_path: Path) -> None:
    stage, plan = _variant_file(tmp_path)
    listed = variant_list(plan)  # type: ignore[arg-type]
    vsets = stage.GetDefaultPrim().GetVariantSets()
    assert {(v["variant_set"], v["name"]) for v in listed} == {
        (s, n) for s in VARIANT_SETS for n in vsets.GetVariantSet(s).GetVariantNames()
    }


def test_indexed_source_colors_are_blocked_not_misindexed(tmp_path: Path) -> None:
    stage = Usd.Stage.CreateInMemory()
    root = UsdGeom.Xform.Define(stage, "/Root")
    stage.SetDefaultPrim(root.GetPrim())
    cube = UsdGeom.Cube.Define(stage, "/Root/Box")
    pv = UsdGeom.PrimvarsAPI(cube).CreatePrimvar(
        "displayColor", Sdf.ValueTypeNames.Color3fArray, UsdGeom.Tokens.uniform
    )
    pv.Set([Gf.Vec3f(1, 1, 1), Gf.Vec3f(0, 0, 0)])
    pv.SetIndices([0, 1, 0, 1, 0, 1])
    src = _source(tmp_path, stage.GetRootLayer().ExportToString())
    plan = plan_variants("box", "box", [])
    out = tmp_path / "v.usda"
    out.write_text(build_variants(src, plan, asset_id="box", category="box", source_key="k"))
    composed = Usd.Stage.Open(str(out))
    got = UsdGeom.PrimvarsAPI(composed.GetPrimAtPath("/Root/Asset/Box")).GetPrimvar("displayColor")
    assert not got.IsIndexed()
    assert list(got.ComputeFlattened()) == [Gf.Vec3f(*plan.colors[0][1])]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("this is not usd", "cannot open"),
        ('#usda 1.0\n(\n defaultPrim = "Root"\n)\ndef Xform "Root" {}\n', "no geometry"),
        ("#usda 1.0\n", "no root prim"),
    ],
)
def test_unusable_sources_are_reported(tmp_path: Path, text: str, reason: str) -> None:
    src = _source(tmp_path, text)
    with pytest.raises(SourceMissing, match=reason):
        build_variants(src, plan_variants("x", "mug", []), asset_id="x", category="mug", source_key="k")


def test_palette_is_deterministic_and_hint_driven() -> None:
    a = plan_variants("mug_a", "mug", ["blue", "glass", "mug"])
    assert a == plan_variants("mug_a", "mug", ["blue", "glass", "mug"])
    assert a.colors[0][0] == "blue" and a.materials[0][0] == "glass"
    assert [m for m, _ in plan_variants("t", "dining_table", []).materials] == ["wood", "metal", "stone"]
    assert [m for m, _ in plan_variants("t", "gizmo", ["grey", "aluminium"]).materials][0] == "aluminum"
    assert plan_variants("t", "gizmo", ["grey"]).colors[0][0] == "gray"
    for ident in ("a", "b", "mug_1", "zzz"):
        plan = plan_variants(ident, "gizmo", ["red"])
        assert len({c for c, _ in plan.colors}) == 3 and plan.colors[0][0] == "red"
