"""Finding an object's files: the reference's lookup orders, tolerant of both Stage-1 paths.

An object's folder is ``<ASSETS_PREFIX>/obj_<id>/`` (the consumer convention of spec text §4C);
the text adapter at the reference commit wrote ``<ASSETS_PREFIX>/<id>/`` and points
``asset.path`` at it (spec text §6.2), so that folder and the manifest's own path are tried too.
Paths outside the scene are never followed.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass

from bpflow.core.errors import ValidationFailed
from bpflow.core.storage import Bucket
from bpflow.domain.scene.manifest import SceneObject

USD_EXTENSIONS = (".usd", ".usda", ".usdc", ".usdz")
MESH_EXTENSIONS = (".glb", ".gltf", ".obj", ".ply", ".stl", ".off")
"""Mesh files convert reads with trimesh."""
#: USD visuals in preference order: converted first (spec §9.2 / text §3.2 lookup orders).
VISUAL_NAMES = ("asset.usdz", "model.usdz", "mesh.usdz", "model.usd", "model.usdc", "model.usda", "variants.usda")
#: Non-USD meshes convert looks for (spec §9.1: asset/model/mesh.glb, then any mesh file).
MESH_NAMES = (
    "asset.glb",
    "model.glb",
    "mesh.glb",
    "asset.gltf",
    "model.gltf",
    "model.obj",
    "mesh.obj",
    "model.ply",
    "mesh.ply",
    "model.stl",
)
CONVERTED_NAME = "asset.usdz"


def scene_key(scene_root: str, path: str | None) -> str | None:
    """A manifest path as a bucket key inside the scene, or None (absent, or outside the scene)."""
    if not path:
        return None
    p = path.strip()
    for prefix in ("gs://", "s3://", "/mnt/gcs/"):
        if p.startswith(prefix):
            p = p[len(prefix) :].split("/", 1)[-1] if prefix != "/mnt/gcs/" else p[len(prefix) :]
    key = posixpath.normpath(p if p.startswith("scenes/") else posixpath.join(scene_root, p))
    return key if key.startswith(scene_root.rstrip("/") + "/") else None


def object_dirs(assets_prefix: str, scene_root: str, obj: SceneObject) -> list[str]:
    dirs = [f"{assets_prefix}/obj_{obj.id}", f"{assets_prefix}/{obj.id}"]
    own = scene_key(scene_root, obj.asset_path)
    if own:
        dirs.append(posixpath.dirname(own))
    return list(dict.fromkeys(dirs))


@dataclass(frozen=True)
class ObjectFiles:
    """What exists for one object: its folder and the file names directly in it."""

    folder: str | None
    names: frozenset[str]
    manifest_key: str | None

    def has(self, name: str) -> bool:
        return name in self.names

    def key(self, name: str) -> str:
        assert self.folder is not None
        return f"{self.folder}/{name}"


def list_object_files(bucket: Bucket, assets_prefix: str, scene_root: str, obj: SceneObject) -> ObjectFiles:
    """The first candidate folder that holds anything, with its direct file names."""
    manifest_key = scene_key(scene_root, obj.asset_path)
    for folder in object_dirs(assets_prefix, scene_root, obj):
        names = {info.key[len(folder) + 1 :] for info in bucket.list(folder + "/")}
        direct = frozenset(n for n in names if "/" not in n)
        if direct:
            return ObjectFiles(folder, direct, manifest_key if manifest_key and bucket.exists(manifest_key) else None)
    return ObjectFiles(None, frozenset(), manifest_key if manifest_key and bucket.exists(manifest_key) else None)


def mesh_source(files: ObjectFiles) -> str | None:
    """The non-USD mesh to convert, if the object's visual is one."""
    if files.manifest_key and files.manifest_key.lower().endswith(MESH_EXTENSIONS):
        return files.manifest_key
    for name in MESH_NAMES:
        if files.has(name):
            return files.key(name)
    others = sorted(n for n in files.names if n.lower().endswith(MESH_EXTENSIONS))
    return files.key(others[0]) if others else None


def converted_key(source_key: str) -> str:
    """Where convert writes a mesh's USD: ``asset.usdz`` beside it."""
    return f"{posixpath.dirname(source_key)}/{CONVERTED_NAME}"


def usd_visual(files: ObjectFiles) -> str | None:
    """The object's USD visual: a converted or given USD in its folder, else the manifest's USD."""
    for name in VISUAL_NAMES:
        if files.has(name):
            return files.key(name)
    if files.manifest_key and files.manifest_key.lower().endswith(USD_EXTENSIONS):
        return files.manifest_key
    return None


def no_visual(obj: SceneObject, hint: str) -> ValidationFailed:
    """The error for an object that has nothing to show (``hint`` says what to do about it)."""
    return ValidationFailed(
        f"object {obj.id!r} has no visual asset: {hint}", code="asset_missing", field=f"objects[{obj.index}].asset.path"
    )
