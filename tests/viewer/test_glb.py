"""USD → GLB for the 3D viewer: every gprim of the composed scene becomes one glTF node, with
its world transform (nested transforms, references, orient, scale), the stage's unit and up axis
applied; objects are grouped by ``bp:object_id``; guide-purpose collision proxies are marked
colliders. The thumbnail draws the scene; the cache converts once per USD generation."""

from __future__ import annotations

import io
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from pxr import Gf, Sdf, Usd, UsdGeom, UsdPhysics

import bpflow.domain.viewer.cache as cache_mod
from bpflow.core.storage.local import LocalBucket
from bpflow.domain.assets import LIBRARY_DIR
from bpflow.domain.viewer.cache import SceneUsdMissing, ViewerCache
from bpflow.domain.viewer.glb import accessor_array, read_glb, to_glb
from bpflow.domain.viewer.scene_parts import SceneUnreadable, read_scene
from bpflow.domain.viewer.thumbnail import BACKGROUND, placeholder_png, render_thumbnail

MUG = LIBRARY_DIR / "mug_01" / "mug_01.usda"


def write_scene(path: Path, *, up: str = "Y", mpu: float = 1.0) -> Path:
    """A small assembled-like scene: a library mug referenced and placed, a nested custom mesh,
    a room floor Cube with a collider."""
    path.parent.mkdir(parents=True, exist_ok=True)
    stage = Usd.Stage.CreateNew(str(path))
    UsdGeom.SetStageUpAxis(stage, UsdGeom.Tokens.y if up == "Y" else UsdGeom.Tokens.z)
    UsdGeom.SetStageMetersPerUnit(stage, mpu)
    world = UsdGeom.Xform.Define(stage, "/World")
    stage.SetDefaultPrim(world.GetPrim())
    UsdGeom.Scope.Define(stage, "/World/Objects")
    mug = stage.DefinePrim("/World/Objects/obj_mug")
    mug.GetReferences().AddReference(str(MUG))
    mug.CreateAttribute("bp:object_id", Sdf.ValueTypeNames.String).Set("mug")
    mug.CreateAttribute("bp:category", Sdf.ValueTypeNames.String).Set("mug")
    xf = UsdGeom.Xformable(mug)
    xf.AddTranslateOp(UsdGeom.XformOp.PrecisionDouble).Set(Gf.Vec3d(1.5, 0.8, -0.4))
    xf.AddOrientOp(UsdGeom.XformOp.PrecisionDouble).Set(Gf.Quatd(0.8660254, Gf.Vec3d(0, 0.5, 0)))
    xf.AddScaleOp(UsdGeom.XformOp.PrecisionDouble).Set(Gf.Vec3d(2, 2, 2))
    box = UsdGeom.Xform.Define(stage, "/World/Objects/obj_box")
    box.GetPrim().CreateAttribute("bp:object_id", Sdf.ValueTypeNames.String).Set("box")
    box.AddTranslateOp().Set(Gf.Vec3d(-1, 0, 2))
    inner = UsdGeom.Xform.Define(stage, "/World/Objects/obj_box/Geom")
    inner.AddRotateZOp().Set(90.0)
    quad = UsdGeom.Mesh.Define(stage, "/World/Objects/obj_box/Geom/Quad")
    quad.CreatePointsAttr(
        [Gf.Vec3f(0, 0, 0), Gf.Vec3f(1, 0, 0), Gf.Vec3f(1, 0, 1), Gf.Vec3f(0, 0, 1), Gf.Vec3f(0.5, 1, 0.5)]
    )
    quad.CreateFaceVertexCountsAttr([4, 3, 3])
    quad.CreateFaceVertexIndicesAttr([0, 1, 2, 3, 0, 1, 4, 2, 3, 4])
    quad.CreateDisplayColorAttr([Gf.Vec3f(0.9, 0.1, 0.1)])
    floor = UsdGeom.Cube.Define(stage, "/World/Room/Floor")
    floor.CreateSizeAttr(1.0)
    floor.AddTranslateOp().Set(Gf.Vec3d(0, -0.05, 0))
    floor.AddScaleOp().Set(Gf.Vec3f(6, 0.1, 5))
    UsdPhysics.CollisionAPI.Apply(floor.GetPrim())
    stage.GetRootLayer().Save()
    return path


def _to_gltf(points: np.ndarray, up: str, mpu: float) -> np.ndarray:
    p = points * mpu
    return p if up == "Y" else np.stack([p[:, 0], p[:, 2], -p[:, 1]], axis=1)


def _expected_world_points(prim: Usd.Prim, up: str, mpu: float) -> np.ndarray:
    """The prim's points through its world matrix (computed here with Gf, not the converter)."""
    m = UsdGeom.Xformable(prim).ComputeLocalToWorldTransform(Usd.TimeCode.Default())
    if prim.IsA(UsdGeom.Mesh):
        mesh = UsdGeom.Mesh(prim)
        used = sorted(set(mesh.GetFaceVertexIndicesAttr().Get()))
        local = [mesh.GetPointsAttr().Get()[i] for i in used]
    else:  # Cube: its 8 corners
        h = UsdGeom.Cube(prim).GetSizeAttr().Get() / 2
        local = [Gf.Vec3f(x, y, z) for x in (-h, h) for y in (-h, h) for z in (-h, h)]
    world = np.array([list(m.Transform(Gf.Vec3d(*p))) for p in local])
    return _to_gltf(world, up, mpu)


def _same_points(a: np.ndarray, b: np.ndarray, tol: float = 1e-5) -> bool:
    """Each point of either set has a point of the other within ``tol`` (order and repeats aside)."""
    d = np.linalg.norm(np.asarray(a, dtype=float)[:, None, :] - np.asarray(b, dtype=float)[None, :, :], axis=2)
    return bool(d.min(axis=1).max() < tol and d.min(axis=0).max() < tol)


@pytest.mark.parametrize("up,mpu", [("Y", 1.0), ("Z", 0.01)])
def test_every_gprim_becomes_a_node_with_its_world_transform_applied(tmp_path: Path, up: str, mpu: float) -> None:
    usd = write_scene(tmp_path / "scene.usda", up=up, mpu=mpu)
    doc, blob = read_glb(to_glb(read_scene(usd)))
    stage = Usd.Stage.Open(str(usd))
    gprims = {
        str(p.GetPath()): p for p in Usd.PrimRange.Stage(stage, Usd.TraverseInstanceProxies()) if p.IsA(UsdGeom.Gprim)
    }
    assert len(gprims) > 5  # the mug's body, handle and collision proxies, the quad, the floor
    nodes = {n["extras"]["prim_path"]: n for n in doc["nodes"] if "mesh" in n}
    assert set(nodes) == set(gprims), "every gprim exactly once, nothing else"
    for path, prim in gprims.items():
        node = nodes[path]
        prims = doc["meshes"][node["mesh"]]["primitives"]
        got = accessor_array(doc, blob, prims[0]["attributes"]["POSITION"])
        tri = accessor_array(doc, blob, prims[0]["indices"])
        assert len(tri) % 3 == 0 and tri.max() < len(got)
        expected = _expected_world_points(prim, up, mpu)
        assert _same_points(got, expected, tol=1e-5 * max(1.0, float(np.abs(expected).max()))), path
        acc = doc["accessors"][prims[0]["attributes"]["POSITION"]]
        assert np.allclose(acc["min"], got.min(axis=0)) and np.allclose(acc["max"], got.max(axis=0))
        assert "matrix" not in node and "translation" not in node, "transforms are baked into the vertices"
        guide = UsdGeom.Imageable(prim).ComputePurpose() == UsdGeom.Tokens.guide
        assert node["extras"]["role"] == ("collider" if guide else "visual")
        assert node["extras"]["collides"] == prim.HasAPI(UsdPhysics.CollisionAPI)


def test_nodes_are_grouped_by_object_with_their_categories_and_colours(tmp_path: Path) -> None:
    doc, _ = read_glb(to_glb(read_scene(write_scene(tmp_path / "scene.usda"))))
    root = doc["nodes"][doc["scenes"][0]["nodes"][0]]
    groups = {doc["nodes"][i]["name"]: doc["nodes"][i] for i in root["children"]}
    assert set(groups) == {"Room", "mug", "box"}
    assert groups["mug"]["extras"] == {
        "object_id": "mug",
        "prim_path": "/World/Objects/obj_mug",
        "category": "mug",
        "kind": "object",
    }
    assert groups["Room"]["extras"]["kind"] == "room"
    mug_parts = [doc["nodes"][i] for i in groups["mug"]["children"]]
    assert {n["name"] for n in mug_parts} >= {"Body", "Handle"} and any(
        n["extras"]["role"] == "collider" for n in mug_parts
    )
    (quad,) = [doc["nodes"][i] for i in groups["box"]["children"]]
    material = doc["materials"][doc["meshes"][quad["mesh"]]["primitives"][0]["material"]]
    assert material["pbrMetallicRoughness"]["baseColorFactor"] == pytest.approx([0.9, 0.1, 0.1, 1.0])


def test_the_z_up_scene_stands_up_in_gltf(tmp_path: Path) -> None:
    """The same authored scene read as Z-up centimetres comes out Y-up metres: what was
    "up" (+Z) is glTF's +Y, every length a hundredth."""
    y_scene = read_scene(write_scene(tmp_path / "y" / "scene.usda", up="Y", mpu=1.0))
    z_scene = read_scene(write_scene(tmp_path / "z" / "scene.usda", up="Z", mpu=0.01))
    lo_y, hi_y = y_scene.bounds(None)
    lo_z, hi_z = z_scene.bounds(None)
    # the same authored numbers: (x, y, z) in a Z-up stage is (x, z, -y) in glTF, in metres
    assert np.allclose(lo_z, [lo_y[0] * 0.01, lo_y[2] * 0.01, -hi_y[1] * 0.01], atol=1e-6)
    assert np.allclose(hi_z, [hi_y[0] * 0.01, hi_y[2] * 0.01, -lo_y[1] * 0.01], atol=1e-6)


def test_a_scene_without_geometry_is_a_clear_error(tmp_path: Path) -> None:
    stage = Usd.Stage.CreateNew(str(tmp_path / "empty.usda"))
    UsdGeom.Xform.Define(stage, "/World")
    stage.GetRootLayer().Save()
    with pytest.raises(SceneUnreadable) as err:
        read_scene(tmp_path / "empty.usda")
    assert err.value.code == "scene_unreadable"
    (tmp_path / "broken.usda").write_text('#usda 1.0\n def Xform "W" {{{')
    with pytest.raises(SceneUnreadable):
        read_scene(tmp_path / "broken.usda")


def test_thumbnail_draws_the_scene(tmp_path: Path) -> None:
    png = render_thumbnail(read_scene(write_scene(tmp_path / "scene.usda")), 320, 200)
    img = Image.open(io.BytesIO(png)).convert("RGB")
    assert img.size == (320, 200)
    colours = img.getcolors(maxcolors=1 << 20) or []
    drawn = sum(n for n, c in colours if max(abs(a - b) for a, b in zip(c, BACKGROUND)) > 12)
    assert drawn > 0.2 * 320 * 200
    assert any(r > 120 and g < 60 and b < 60 for _, (r, g, b) in colours), "the red quad is in the picture"
    blank = Image.open(io.BytesIO(placeholder_png())).convert("RGB")
    assert blank.getcolors() == [(320 * 200, BACKGROUND)]


def test_cache_converts_once_per_usd_generation_even_under_concurrent_requests(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bucket = LocalBucket(tmp_path / "bucket")
    calls: list[Path] = []
    real = cache_mod.read_scene

    def counting(path: Path) -> Any:
        calls.append(path)
        return real(path)

    monkeypatch.setattr(cache_mod, "read_scene", counting)
    cache = ViewerCache(bucket, tmp_path / "cache")
    with pytest.raises(SceneUsdMissing) as err:
        cache.glb("s1")
    assert err.value.code == "scene_usd_missing"
    source = write_scene(tmp_path / "src" / "scene.usda")
    bucket.write("scenes/s1/usd/scene.usda", source.read_bytes())
    results: list[Any] = []
    threads = [threading.Thread(target=lambda: results.append(cache.glb("s1"))) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1 and len({r.path for r in results}) == 1
    first = results[0]
    assert (
        first.path.read_bytes()[:4] == b"glTF"
        and first.generation == bucket.stat("scenes/s1/usd/scene.usda").generation
    )
    assert cache.glb("s1").path == first.path and len(calls) == 1
    # a re-assembly: a new generation, a new conversion, the old file gone
    bucket.write("scenes/s1/usd/scene.usda", source.read_bytes().replace(b"0.9, 0.1, 0.1", b"0.1, 0.1, 0.9"))
    second = cache.glb("s1")
    assert second.generation != first.generation and len(calls) == 2
    assert not first.path.exists() and second.path.exists()
    assert cache.thumbnail("s1").path.suffix == ".png" and len(calls) == 3
    assert not list((tmp_path / "bucket").rglob("*.glb")), "the viewer never writes to the bucket"
