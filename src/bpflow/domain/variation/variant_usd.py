"""One asset's ``variants.usda``: the source geometry plus USD variant sets scale/color/material.

Layout of the file (a single self-contained layer, so copying it anywhere keeps it whole):

    class "SourceAsset"          the source asset, flattened (abstract: never rendered itself)
    def Xform "Root"             default prim, kind=component, variant sets scale/color/material
        def "Asset"              internally references </SourceAsset>
        def "Looks"/<material>   one UsdPreviewSurface material per material variant

The geometry comes in through a reference so that every variant opinion is stronger than the
source's own (LIVRPS: variants beat references). Otherwise a displayColor authored by the
source would silently win over the colour variant. Each variant is a real opinion:

- ``scale``: ``xformOp:scale`` on /Root (uniform factor);
- ``color``: constant ``primvars:displayColor`` on every gprim of the asset;
- ``material``: a ``material:binding`` (strongerThanDescendants) on /Root/Asset to its look.
"""

from __future__ import annotations

from pathlib import Path

from pxr import Gf, Kind, Sdf, Usd, UsdGeom, UsdShade

from bpflow.domain.variation.palette import COLOR_SET, MATERIAL_SET, SCALE_SET, VARIANT_SETS, Look, VariantPlan
from bpflow.domain.variation.sources import SourceMissing

ROOT = Sdf.Path("/Root")
ASSET = ROOT.AppendChild("Asset")
LOOKS = ROOT.AppendChild("Looks")
SOURCE = Sdf.Path("/SourceAsset")


def _open_source(path: Path) -> tuple[Usd.Stage, Usd.Prim]:
    try:
        stage = Usd.Stage.Open(str(path))
    except Exception as exc:  # noqa: BLE001 - pxr raises its own Tf.ErrorException for bad files
        raise SourceMissing(f"cannot open {path.name} as USD: {str(exc).strip()[:300]}") from None
    prim = stage.GetDefaultPrim()
    if not prim:
        roots = [p for p in stage.GetPseudoRoot().GetChildren() if p.IsDefined() and not p.IsAbstract()]
        if not roots:
            raise SourceMissing(f"{path.name} has no root prim")
        prim = roots[0]
    if not any(p.IsA(UsdGeom.Gprim) for p in Usd.PrimRange(prim)):
        raise SourceMissing(f"{path.name} has no geometry under {prim.GetPath()}")
    return stage, prim


def _define_look(stage: Usd.Stage, name: str, look: Look) -> UsdShade.Material:
    material = UsdShade.Material.Define(stage, LOOKS.AppendChild(name))
    shader = UsdShade.Shader.Define(stage, material.GetPath().AppendChild("PreviewSurface"))
    shader.CreateIdAttr("UsdPreviewSurface")
    shader.CreateInput("diffuseColor", Sdf.ValueTypeNames.Color3f).Set(Gf.Vec3f(*look.diffuse))
    shader.CreateInput("roughness", Sdf.ValueTypeNames.Float).Set(look.roughness)
    shader.CreateInput("metallic", Sdf.ValueTypeNames.Float).Set(look.metallic)
    shader.CreateInput("opacity", Sdf.ValueTypeNames.Float).Set(look.opacity)
    shader.CreateInput("ior", Sdf.ValueTypeNames.Float).Set(look.ior)
    material.CreateSurfaceOutput().ConnectToSource(shader.ConnectableAPI(), "surface")
    return material


def _author_scale(root: Usd.Prim, plan: VariantPlan) -> None:
    vset = root.GetVariantSets().AddVariantSet(SCALE_SET)
    for name, factor in plan.scales:
        vset.AddVariant(name)
        vset.SetVariantSelection(name)
        with vset.GetVariantEditContext():
            UsdGeom.Xformable(root).AddScaleOp().Set(Gf.Vec3f(factor, factor, factor))


def _author_color(root: Usd.Prim, gprims: list[Usd.Prim], plan: VariantPlan) -> None:
    vset = root.GetVariantSets().AddVariantSet(COLOR_SET)
    for name, rgb in plan.colors:
        vset.AddVariant(name)
        vset.SetVariantSelection(name)
        with vset.GetVariantEditContext():
            for prim in gprims:
                primvar = UsdGeom.PrimvarsAPI(prim).CreatePrimvar(
                    "displayColor", Sdf.ValueTypeNames.Color3fArray, UsdGeom.Tokens.constant
                )
                primvar.Set([Gf.Vec3f(*rgb)])
                if primvar.IsIndexed():  # the source's indices would index past our one colour
                    primvar.BlockIndices()


def _author_material(root: Usd.Prim, asset: Usd.Prim, looks: dict[str, UsdShade.Material], plan: VariantPlan) -> None:
    vset = root.GetVariantSets().AddVariantSet(MATERIAL_SET)
    for name, _ in plan.materials:
        vset.AddVariant(name)
        vset.SetVariantSelection(name)
        with vset.GetVariantEditContext():
            UsdShade.MaterialBindingAPI.Apply(asset).Bind(looks[name], UsdShade.Tokens.strongerThanDescendants)


def build_variants(source_path: Path, plan: VariantPlan, *, asset_id: str, category: str, source_key: str) -> str:
    """The ``variants.usda`` text for one asset; raises SourceMissing when the source is unusable."""
    src_stage, src_prim = _open_source(source_path)
    flat = src_stage.Flatten()
    layer = Sdf.Layer.CreateAnonymous(f"{asset_id}.usda")
    Sdf.CreatePrimInLayer(layer, SOURCE)
    if not Sdf.CopySpec(flat, src_prim.GetPath(), layer, SOURCE):
        raise SourceMissing(f"could not copy {src_prim.GetPath()} out of {source_path.name}")
    layer.GetPrimAtPath(SOURCE).specifier = Sdf.SpecifierClass

    stage = Usd.Stage.Open(layer)
    UsdGeom.SetStageUpAxis(stage, UsdGeom.GetStageUpAxis(src_stage))
    UsdGeom.SetStageMetersPerUnit(stage, UsdGeom.GetStageMetersPerUnit(src_stage))
    root = UsdGeom.Xform.Define(stage, ROOT).GetPrim()
    stage.SetDefaultPrim(root)
    Usd.ModelAPI(root).SetKind(Kind.Tokens.component)
    Usd.ModelAPI(root).SetAssetName(asset_id)
    root.SetCustomDataByKey("bpflow:source_asset", source_key)
    root.SetCustomDataByKey("bpflow:category", category)

    asset = stage.DefinePrim(ASSET)
    asset.GetReferences().AddInternalReference(SOURCE)
    gprims = [p for p in Usd.PrimRange(asset) if p.IsA(UsdGeom.Gprim)]
    looks = {name: _define_look(stage, name, look) for name, look in plan.materials}

    _author_scale(root, plan)
    _author_color(root, gprims, plan)
    _author_material(root, asset, looks, plan)
    vsets = root.GetVariantSets()
    for set_name, selection in plan.defaults().items():
        vsets.SetSelection(set_name, selection)
    if tuple(vsets.GetNames()) != VARIANT_SETS:
        raise AssertionError(f"variant sets came out as {vsets.GetNames()}")  # a bug here, not bad input
    text: str = layer.ExportToString()
    return text
