"""The USD files the adapter writes per object, and the checks it runs on them with pxr.

Every ``model.usd`` has the same outside, whatever is inside: ``defaultPrim = "Root"``, metres,
y up, and geometry whose bounding box is exactly the object's planned size centred on the
origin. Stage 2 then places an object by putting ``Root`` at the layout's ``obb.center``
without knowing where the geometry came from.

- a retrieved asset is referenced (``@./retrieved_asset/<file>@``) under ``Root/Geom``, with a
  per-axis scale to the planned size, a translation that centres it, and a quarter turn for
  z-up assets; the asset's own root transform is replaced by that, so its bound is measured
  without it;
- a placeholder is a real closed box mesh of the planned size;
- a thin covering (rug, poster, ...) is a 5 mm slab on the bottom face of the planned box.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bpflow.domain.retrieval.errors import AssetUnusable

Dims = tuple[float, float, float]

THIN_THICKNESS = 0.005
PLACEHOLDER_COLOR = (0.6, 0.6, 0.62)
#: How far a written model's bound may stray from the planned size (float32 points, rounding).
SIZE_TOLERANCE = 1e-3


@dataclass(frozen=True)
class AssetInfo:
    """What referencing needs to know about a USD asset file."""

    prim_path: str
    default_prim: bool
    z_up: bool
    low: tuple[float, float, float]
    high: tuple[float, float, float]

    @property
    def size(self) -> Dims:
        return (self.high[0] - self.low[0], self.high[1] - self.low[1], self.high[2] - self.low[2])


def inspect_asset(path: Path) -> AssetInfo:
    """Open an asset and measure the prim a reference would bring in (raises AssetUnusable)."""
    from pxr import Usd, UsdGeom

    stage = Usd.Stage.Open(str(path))
    if stage is None:
        raise AssetUnusable(f"cannot open {path.name}", field="path")
    prim = stage.GetDefaultPrim()
    has_default = bool(prim and prim.IsValid())
    if not has_default:
        roots = [p for p in stage.GetPseudoRoot().GetChildren() if p.IsDefined()]
        if not roots:
            raise AssetUnusable(f"{path.name} has no root prim", field="path")
        prim = roots[0]
    cache = UsdGeom.BBoxCache(Usd.TimeCode.Default(), [UsdGeom.Tokens.default_, UsdGeom.Tokens.render])
    box = cache.ComputeUntransformedBound(prim).ComputeAlignedRange()
    if box.IsEmpty():
        raise AssetUnusable(f"{path.name} has no geometry", field="path")
    low, high = box.GetMin(), box.GetMax()
    size = [high[i] - low[i] for i in range(3)]
    if min(size) <= 0 and max(size) <= 0:
        raise AssetUnusable(f"{path.name} has no extent", field="path")
    return AssetInfo(
        prim_path=str(prim.GetPath()),
        default_prim=has_default,
        z_up=UsdGeom.GetStageUpAxis(stage) == UsdGeom.Tokens.z,
        low=(low[0], low[1], low[2]),
        high=(high[0], high[1], high[2]),
    )


def _new_layer() -> Any:
    """An anonymous layer with ``Root`` as default prim. Authored with Sdf, not a stage: nothing
    is composed while writing, so a relative reference that only resolves next to the final
    file raises no warnings here."""
    from pxr import Sdf

    layer = Sdf.Layer.CreateAnonymous(".usda")
    layer.pseudoRoot.SetInfo("metersPerUnit", 1.0)
    layer.pseudoRoot.SetInfo("upAxis", "Y")
    root = Sdf.CreatePrimInLayer(layer, "/Root")
    root.specifier = Sdf.SpecifierDef
    root.typeName = "Xform"
    layer.defaultPrim = "Root"
    return layer


def _attr(prim: Any, name: str, type_name: Any, value: Any, *, uniform: bool = False) -> None:
    from pxr import Sdf

    spec = Sdf.AttributeSpec(prim, name, type_name, Sdf.VariabilityUniform if uniform else Sdf.VariabilityVarying)
    spec.default = value


def _export(layer: Any, materialization: str) -> str:
    layer.GetPrimAtPath("/Root").customData = {"bpflow": {"materialization": materialization}}
    text = str(layer.ExportToString())
    if " = [\n" in text or "= \n" in text:
        # The symptom of usearch loaded before pxr (see bpflow.domain.retrieval.ann): refuse to write it.
        raise RuntimeError("pxr wrote a malformed USD layer (integer values missing): import pxr before usearch")
    return text


def _box_mesh(
    layer: Any,
    path: str,
    low: tuple[float, float, float],
    high: tuple[float, float, float],
    color: tuple[float, float, float],
) -> None:
    from pxr import Gf, Sdf, Vt

    x0, y0, z0 = low
    x1, y1, z1 = high
    points = [(x, y, z) for y in (y0, y1) for z in (z0, z1) for x in (x0, x1)]
    faces = [(0, 1, 3, 2), (4, 6, 7, 5), (0, 4, 5, 1), (2, 3, 7, 6), (0, 2, 6, 4), (1, 5, 7, 3)]
    mesh = Sdf.CreatePrimInLayer(layer, path)
    mesh.specifier = Sdf.SpecifierDef
    mesh.typeName = "Mesh"
    names = Sdf.ValueTypeNames
    _attr(mesh, "points", names.Point3fArray, Vt.Vec3fArray([Gf.Vec3f(*p) for p in points]))
    _attr(mesh, "faceVertexCounts", names.IntArray, Vt.IntArray([4] * len(faces)))
    _attr(mesh, "faceVertexIndices", names.IntArray, Vt.IntArray([i for f in faces for i in f]))
    _attr(mesh, "extent", names.Float3Array, Vt.Vec3fArray([Gf.Vec3f(*low), Gf.Vec3f(*high)]))
    _attr(mesh, "subdivisionScheme", names.Token, "none", uniform=True)
    _attr(mesh, "primvars:displayColor", names.Color3fArray, Vt.Vec3fArray([Gf.Vec3f(*color)]))


def placeholder_usd(dims: Dims) -> str:
    """A closed box mesh of the planned size, centred on the origin."""
    layer = _new_layer()
    half = tuple(d / 2.0 for d in dims)
    _box_mesh(layer, "/Root/Geom", (-half[0], -half[1], -half[2]), (half[0], half[1], half[2]), PLACEHOLDER_COLOR)
    return _export(layer, "placeholder_usd")


def thin_covering_usd(dims: Dims) -> str:
    """A 5 mm slab lying on the bottom face of the planned box (rugs rest on the floor)."""
    layer = _new_layer()
    w, h, d = dims
    thickness = min(THIN_THICKNESS, h)
    _box_mesh(layer, "/Root/Geom", (-w / 2, -h / 2, -d / 2), (w / 2, -h / 2 + thickness, d / 2), PLACEHOLDER_COLOR)
    return _export(layer, "thin_covering_usd")


#: Largest per-axis stretch allowed when fitting an asset to its planned box: beyond it the
#: asset keeps its own proportions (one uniform scale) instead of being distorted.
MAX_ANISOTROPY = 1.25
#: A uniformly scaled asset whose longest side comes out under this fraction of the planned
#: longest side is the wrong shape for the slot: it is not used.
MIN_MAIN_EXTENT = 0.4
#: Library assets are modelled at real size: one that keeps its own proportions is never blown
#: up past it (a generic slot bigger than the thing just leaves room around it).
MAX_UNIFORM_SCALE = 1.0


@dataclass(frozen=True)
class Fit:
    """How an asset is mapped onto its slot: a quarter turn about up (or none), then a scale
    (per axis when the stretch is at most MAX_ANISOTROPY, else uniform), giving ``dims``."""

    turn_deg: float
    scale: tuple[float, float, float]
    dims: Dims
    anisotropy: float
    """max/min of the per-axis ratios planned ÷ asset (1 = same proportions)."""
    mode: str
    """``stretch`` (the planned box exactly) or ``uniform`` (the asset's own proportions)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "turn_deg": self.turn_deg,
            "scale": [round(v, 6) for v in self.scale],
            "dims": [round(v, 6) for v in self.dims],
            "anisotropy": round(self.anisotropy, 4),
            "mode": self.mode,
        }


def _turned_bounds(info: AssetInfo, turn_deg: float) -> tuple[tuple[float, float, float], tuple[float, float, float]]:
    lo, hi = info.low, info.high
    if info.z_up:  # rotateX(-90): (x, y, z) -> (x, z, -y)
        lo, hi = (lo[0], lo[2], -hi[1]), (hi[0], hi[2], -lo[1])
    if turn_deg:  # rotateY(90): (x, y, z) -> (z, y, -x)
        lo, hi = (lo[2], lo[1], -hi[0]), (hi[2], hi[1], -lo[0])
    return lo, hi


def choose_fit(info: AssetInfo, dims: Dims, max_height: float | None = None) -> Fit:
    """The mapping of ``info`` onto the planned ``dims`` that distorts it least; AssetUnusable
    when even that is the wrong shape for the slot (proportions are kept, never faked)."""
    fits: list[Fit] = []
    for turn in (0.0, 90.0):
        lo, hi = _turned_bounds(info, turn)
        size = [max(hi[a] - lo[a], 1e-9) for a in range(3)]
        ratios = [dims[a] / size[a] for a in range(3)]
        aniso = max(ratios) / min(ratios)
        if aniso <= MAX_ANISOTROPY:
            fits.append(Fit(turn, (ratios[0], ratios[1], ratios[2]), dims, aniso, "stretch"))
            continue
        s = min(ratios[0], ratios[2], MAX_UNIFORM_SCALE)  # the footprint stays inside the planned one
        if max_height is not None and s * size[1] > max_height:
            s = max_height / size[1]
        fits.append(Fit(turn, (s, s, s), (s * size[0], s * size[1], s * size[2]), aniso, "uniform"))
    # The least stretched exact fit; else the uniform fit that fills the planned footprint best.
    best = min(
        fits, key=lambda f: (f.mode != "stretch", f.anisotropy if f.mode == "stretch" else -f.dims[0] * f.dims[2])
    )
    if best.mode == "uniform" and max(best.dims[0], best.dims[2]) < MIN_MAIN_EXTENT * max(dims[0], dims[2]):
        raise AssetUnusable(
            f"asset proportions {best.dims} do not fit the planned {dims} (anisotropy {best.anisotropy:.2f})",
            field="dimensions_est",
        )
    return best


def fit(
    info: AssetInfo, dims: Dims, turn_deg: float = 0.0, scale: tuple[float, float, float] | None = None
) -> tuple[tuple[float, float, float], tuple[float, float, float]]:
    """(translate, scale) that map the asset's (turned) bound onto a box of ``dims`` at the
    origin: per axis, or with the given ``scale``."""
    lo, hi = _turned_bounds(info, turn_deg)
    out_scale = []
    translate = []
    for axis in range(3):
        size = hi[axis] - lo[axis]
        s = scale[axis] if scale is not None else (dims[axis] / size if size > 1e-9 else 1.0)
        out_scale.append(s)
        translate.append(-s * (lo[axis] + hi[axis]) / 2.0 + 0.0)  # + 0.0 turns -0.0 into 0.0
    return (translate[0], translate[1], translate[2]), (out_scale[0], out_scale[1], out_scale[2])


def reference_usd(asset_rel: str, info: AssetInfo, dims: Dims, how: Fit | None = None) -> str:
    """``Root/Geom`` referencing ``asset_rel`` (relative to model.usd), fitted to ``dims``
    (or as ``how`` says: its turn and scale)."""
    from pxr import Gf, Sdf, Vt

    layer = _new_layer()
    geom = Sdf.CreatePrimInLayer(layer, "/Root/Geom")
    geom.specifier = Sdf.SpecifierDef
    geom.typeName = "Xform"
    prim_path = Sdf.Path() if info.default_prim else Sdf.Path(info.prim_path)
    geom.referenceList.Prepend(Sdf.Reference(f"./{asset_rel}", prim_path))
    turn = how.turn_deg if how else 0.0
    translate, scale = fit(info, how.dims if how else dims, turn, how.scale if how else None)
    names = Sdf.ValueTypeNames
    _attr(geom, "xformOp:translate", names.Double3, Gf.Vec3d(*translate))
    _attr(geom, "xformOp:scale", names.Float3, Gf.Vec3f(*scale))
    order = ["xformOp:translate", "xformOp:scale"]
    if turn:
        _attr(geom, "xformOp:rotateY", names.Float, float(turn))
        order.append("xformOp:rotateY")
    if info.z_up:
        _attr(geom, "xformOp:rotateX", names.Float, -90.0)
        order.append("xformOp:rotateX")
    _attr(geom, "xformOpOrder", names.TokenArray, Vt.TokenArray(order), uniform=True)
    return _export(layer, "retrieved_asset_bundle")


def measure_model(path: Path) -> tuple[Dims, tuple[float, float, float], int]:
    """(size, centre, number of meshes) of a written ``model.usd``, as pxr composes it."""
    from pxr import Usd, UsdGeom

    stage = Usd.Stage.Open(str(path))
    if stage is None or not stage.GetDefaultPrim():
        raise AssetUnusable(f"{path.name} does not open with a default prim", field="path")
    cache = UsdGeom.BBoxCache(Usd.TimeCode.Default(), [UsdGeom.Tokens.default_, UsdGeom.Tokens.render])
    box = cache.ComputeWorldBound(stage.GetDefaultPrim()).ComputeAlignedRange()
    meshes = sum(1 for p in stage.Traverse() if p.IsA(UsdGeom.Gprim))
    if box.IsEmpty() or meshes == 0:
        raise AssetUnusable(f"{path.name} composes to no geometry (a dangling reference?)", field="path")
    size = box.GetSize()
    mid = box.GetMidpoint()
    return (size[0], size[1], size[2]), (mid[0], mid[1], mid[2]), meshes


def check_model(path: Path, dims: Dims, *, bottom_only: bool = False) -> None:
    """Raise AssetUnusable unless the model at ``path`` has the planned size (thin coverings:
    the planned footprint) centred on the origin."""
    size, mid, _ = measure_model(path)
    expect = (dims[0], min(THIN_THICKNESS, dims[1]), dims[2]) if bottom_only else dims
    for axis in range(3):
        if abs(size[axis] - expect[axis]) > SIZE_TOLERANCE * max(1.0, expect[axis]):
            raise AssetUnusable(f"model size {size} does not match the planned {expect}", field="dimensions_est")
    if not bottom_only and any(abs(m) > SIZE_TOLERANCE * max(1.0, max(dims)) for m in mid):
        raise AssetUnusable(f"model is not centred (centre {mid})", field="dimensions_est")
