"""Convert: every object's visual becomes a USD file (usd-assembly-job, ``CONVERT_ONLY``).

A mesh file (GLB/glTF/OBJ/PLY/STL) is read with trimesh and written as ``UsdGeom.Mesh`` prims
into a self-contained ``asset.usdz`` beside it, in the scene's up axis and metres; it is
skipped when that usdz is already at least as new as its source (spec §9.1). An object whose
visual is already USD is opened and checked to have geometry. An object with no visual at all
is an error: Stage 2 cannot simulate what it cannot see.
"""

from __future__ import annotations

import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

from pxr import Sdf, Usd, UsdUtils

from bpflow.core.errors import ValidationFailed
from bpflow.domain.scene.manifest import SceneObject
from bpflow.domain.usd.meshes import file_parts
from bpflow.domain.usd.object_files import (
    ObjectFiles,
    converted_key,
    list_object_files,
    mesh_source,
    no_visual,
    usd_visual,
)
from bpflow.domain.usd.prefixes import Stage2Env
from bpflow.domain.usd.usd_util import add_mesh, local_range, new_stage, set_custom
from bpflow.domain.usd.workspace import Workspace


@dataclass(frozen=True)
class Conversion:
    id: str
    source: str
    usd: str
    outcome: str
    """``converted``, ``up_to_date`` or ``usd_given``."""

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


def _main_color(part: object) -> tuple[float, float, float] | None:
    visual = getattr(part, "visual", None)
    color = getattr(getattr(visual, "material", None), "main_color", None)
    if color is None:
        color = getattr(visual, "main_color", None)
    if color is None or len(color) < 3:
        return None
    return (color[0] / 255.0, color[1] / 255.0, color[2] / 255.0)


def write_mesh_usdz(source: Path, dest: Path, up_axis: str) -> int:
    """Write ``source``'s meshes to a usdz at ``dest``; returns the number of mesh prims."""
    parts = file_parts(source, up_axis)
    with tempfile.TemporaryDirectory(prefix="bpflow-convert-") as tmp:
        layer = Path(tmp) / "asset.usdc"
        stage, root = new_stage(layer, up_axis)
        for i, part in enumerate(parts):
            add_mesh(stage, f"/Root/Geom/part_{i:03d}", part.vertices, part.faces, color=_main_color(part))
        set_custom(root, "bp:converted_from", source.name, Sdf.ValueTypeNames.String)
        stage.GetRootLayer().Save()
        dest.parent.mkdir(parents=True, exist_ok=True)
        if dest.exists():
            dest.unlink()
        if not UsdUtils.CreateNewUsdzPackage(Sdf.AssetPath(str(layer)), str(dest)):
            raise ValidationFailed(f"could not package {dest.name}", code="convert_failed", field=source.name)
    return len(parts)


def check_usd_visual(ws: Workspace, files: ObjectFiles, key: str, obj: SceneObject) -> None:
    """The object's USD opens and has geometry (its folder is fetched so references resolve)."""
    if files.folder:
        ws.fetch_prefix(files.folder)
    path = ws.fetch(key) if not ws.path(key).exists() else ws.path(key)
    stage = Usd.Stage.Open(str(path)) if path is not None else None
    if stage is None:
        raise ValidationFailed(
            f"object {obj.id!r}: {key} does not open as USD",
            code="asset_invalid",
            field=f"objects[{obj.index}].asset.path",
        )
    prim = stage.GetDefaultPrim() or stage.GetPseudoRoot()
    if local_range(prim) is None:
        raise ValidationFailed(
            f"object {obj.id!r}: {key} has no geometry", code="asset_invalid", field=f"objects[{obj.index}].asset.path"
        )


def convert_object(ws: Workspace, env: Stage2Env, obj: SceneObject, up_axis: str) -> Conversion:
    files = list_object_files(ws.bucket, env.assets, env.root, obj)
    source = mesh_source(files)
    if source is not None:
        dest = converted_key(source)
        src_info, dst_info = ws.bucket.stat(source), ws.bucket.stat(dest)
        if src_info is not None and dst_info is not None and dst_info.updated >= src_info.updated:
            return Conversion(obj.id, source, dest, "up_to_date")
        local = ws.fetch(source)
        assert local is not None
        write_mesh_usdz(local, ws.path(dest), up_axis)
        ws.publish(dest, content_type="model/vnd.usdz+zip")
        return Conversion(obj.id, source, dest, "converted")
    visual = usd_visual(files)
    if visual is None:
        raise no_visual(obj, f"looked in obj_{obj.id}/, {obj.id}/ and the manifest asset.path")
    check_usd_visual(ws, files, visual, obj)
    return Conversion(obj.id, visual, visual, "usd_given")
