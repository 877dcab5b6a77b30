"""A reconstructed room for the legacy layout chain, made here: a depth frame looking at a
flat wall 3 m away, two segmentation polygons, and a 3D-RE-GEN output of three box meshes
(table, chair, mug) standing apart on the floor."""

from __future__ import annotations

import io
import json
from typing import Any

import numpy as np

from bpflow.core.storage import Bucket

H, W = 48, 64
#: (dir, label, extents, position of the box centre)
OBJECTS = (
    ("obj_0", "table", (1.2, 0.75, 0.8), (0.0, 0.375, 0.0)),
    ("obj_1", "chair", (0.5, 1.0, 0.5), (1.6, 0.5, 0.0)),
    ("obj_2", "mug", (0.09, 0.1, 0.09), (-1.6, 0.05, 0.0)),
)
LABELS = "0 0.1 0.1 0.4 0.1 0.4 0.5 0.1 0.5\n1 0.6 0.5 0.9 0.5 0.9 0.9 0.6 0.9\nnot a label line\n"


def npz_frame(depth_m: float = 3.0) -> bytes:
    k = np.array([[50.0, 0, W / 2], [0, 50.0, H / 2], [0, 0, 1]])
    e = np.hstack([np.eye(3), np.zeros((3, 1))])
    out = io.BytesIO()
    np.savez(
        out,
        depth=np.full((1, H, W), depth_m),
        conf=np.ones((1, H, W)),
        intrinsics=k[None],
        extrinsics=e[None],
        image_paths=np.array(["frame0.png"]),
    )
    return out.getvalue()


def box_glb(extents: tuple[float, float, float]) -> bytes:
    import trimesh

    return bytes(trimesh.creation.box(extents=extents).export(file_type="glb"))


def write_reconstruction(bucket: Bucket, scene: str, objects: tuple[Any, ...] = OBJECTS) -> None:
    base = f"scenes/{scene}/regen3d"
    bucket.write_json(
        f"{base}/scene_info.json", {"scene_id": scene, "coordinate_frame": "y_up", "meters_per_unit": 1.0}
    )
    for d, label, ext, pos in objects:
        bucket.write(f"{base}/objects/{d}/mesh.glb", box_glb(ext))
        m = np.eye(4)
        m[:3, 3] = pos
        bucket.write_json(f"{base}/objects/{d}/pose.json", {"transform_matrix": m.tolist(), "is_floor_contact": True})
        bucket.write_json(f"{base}/objects/{d}/label.json", {"label": label})
    bucket.write(f"{base}/objects/empty_dir/notes.txt", b"no mesh here")


def write_inputs(bucket: Bucket, scene: str) -> None:
    """Everything the chain reads except the trigger (``layout/scene_layout.json``)."""
    root = f"scenes/{scene}"
    bucket.write(f"{root}/da3/da3_geom.npz", npz_frame())
    bucket.write(f"{root}/seg/dataset/data.yaml", b"names: [table, chair]\n")
    bucket.write(f"{root}/seg/dataset/valid/labels/room.txt", LABELS.encode())
    write_reconstruction(bucket, scene)


def layout_body(scene: str) -> bytes:
    return json.dumps(
        {"scene_id": scene, "objects": [], "room_box": {"min": [-2.5, 0, -2.0], "max": [2.5, 2.5, 2.0]}}
    ).encode()
