"""A :class:`~bpflow.domain.viewer.scene_parts.ViewerScene` as a binary glTF 2.0 (GLB).

Written by hand rather than through a mesh library's exporter because the viewer needs what those
drop: a node per scene object named by its object id, a child node per gprim, and ``extras``
(prim path, object id, visual or collider, collides) that three.js's loader turns into
``userData`` — the page names objects on hover and toggles colliders from them. No normals are
written: three.js then shades the triangles flat, which suits hard-surface furniture.
"""

from __future__ import annotations

import json
import struct
from typing import Any

import numpy as np

from bpflow.domain.viewer.scene_parts import ViewerScene

_FLOAT, _UINT32 = 5126, 5125
_ARRAY_BUFFER, _ELEMENT_ARRAY_BUFFER = 34962, 34963
COLLIDER_COLOR = (0.1, 0.85, 0.35)


def _pad(data: bytes, fill: bytes) -> bytes:
    return data + fill * (-len(data) % 4)


def to_glb(scene: ViewerScene, *, generator: str = "bpflow") -> bytes:
    doc: dict[str, Any] = {
        "asset": {"version": "2.0", "generator": generator},
        "scene": 0,
        "scenes": [{"name": "scene", "nodes": [0]}],
        "nodes": [{"name": "scene", "children": []}],
        "meshes": [],
        "materials": [],
        "accessors": [],
        "bufferViews": [],
        "buffers": [],
    }
    blob = bytearray()
    materials: dict[tuple[tuple[float, float, float], str], int] = {}

    def view(data: bytes, target: int) -> int:
        blob.extend(b"\0" * (-len(blob) % 4))
        doc["bufferViews"].append({"buffer": 0, "byteOffset": len(blob), "byteLength": len(data), "target": target})
        blob.extend(data)
        return len(doc["bufferViews"]) - 1

    def material(color: tuple[float, float, float], role: str) -> int:
        key = (COLLIDER_COLOR if role == "collider" else color, role)
        if key not in materials:
            r, g, b = key[0]
            doc["materials"].append(
                {
                    "name": role if role == "collider" else f"display_{r:.2f}_{g:.2f}_{b:.2f}",
                    "pbrMetallicRoughness": {
                        "baseColorFactor": [r, g, b, 1.0],
                        "metallicFactor": 0.0,
                        "roughnessFactor": 0.85,
                    },
                    "doubleSided": True,
                    "extras": {"role": role},
                }
            )
            materials[key] = len(doc["materials"]) - 1
        return materials[key]

    for group in scene.groups:
        gnode: dict[str, Any] = {
            "name": group.name,
            "children": [],
            "extras": {
                "object_id": group.name,
                "prim_path": group.prim_path,
                "category": group.category,
                "kind": group.kind,
            },
        }
        doc["nodes"].append(gnode)
        doc["nodes"][0]["children"].append(len(doc["nodes"]) - 1)
        for part in group.parts:
            pos = np.ascontiguousarray(part.positions, dtype="<f4")
            tri = np.ascontiguousarray(part.triangles, dtype="<u4")
            if not len(pos) or not len(tri):
                continue
            doc["accessors"].append(
                {
                    "bufferView": view(pos.tobytes(), _ARRAY_BUFFER),
                    "componentType": _FLOAT,
                    "count": int(len(pos)),
                    "type": "VEC3",
                    "min": [float(v) for v in pos.min(axis=0)],
                    "max": [float(v) for v in pos.max(axis=0)],
                }
            )
            pos_acc = len(doc["accessors"]) - 1
            doc["accessors"].append(
                {
                    "bufferView": view(tri.tobytes(), _ELEMENT_ARRAY_BUFFER),
                    "componentType": _UINT32,
                    "count": int(tri.size),
                    "type": "SCALAR",
                }
            )
            doc["meshes"].append(
                {
                    "name": part.name,
                    "primitives": [
                        {
                            "attributes": {"POSITION": pos_acc},
                            "indices": len(doc["accessors"]) - 1,
                            "material": material(part.color, part.role),
                        }
                    ],
                }
            )
            doc["nodes"].append(
                {
                    "name": part.name,
                    "mesh": len(doc["meshes"]) - 1,
                    "extras": {
                        "prim_path": part.prim_path,
                        "object_id": group.name,
                        "role": part.role,
                        "collides": part.collides,
                    },
                }
            )
            gnode["children"].append(len(doc["nodes"]) - 1)
    doc["buffers"].append({"byteLength": len(blob)})
    json_chunk = _pad(json.dumps(doc, separators=(",", ":")).encode(), b" ")
    bin_chunk = _pad(bytes(blob), b"\0")
    total = 12 + 8 + len(json_chunk) + 8 + len(bin_chunk)
    return b"".join(
        [
            struct.pack("<4sII", b"glTF", 2, total),
            struct.pack("<I4s", len(json_chunk), b"JSON"),
            json_chunk,
            struct.pack("<I4s", len(bin_chunk), b"BIN\0"),
            bin_chunk,
        ]
    )


def read_glb(data: bytes) -> tuple[dict[str, Any], bytes]:
    """(glTF JSON, binary chunk) of a GLB — for tests and checks, not a general loader."""
    magic, version, length = struct.unpack_from("<4sII", data, 0)
    if magic != b"glTF" or version != 2 or length != len(data):
        raise ValueError("not a glTF 2.0 binary")
    jlen, jtype = struct.unpack_from("<I4s", data, 12)
    doc = json.loads(data[20 : 20 + jlen])
    blen, btype = struct.unpack_from("<I4s", data, 20 + jlen)
    if jtype != b"JSON" or btype != b"BIN\0":
        raise ValueError("GLB chunks out of order")
    return doc, data[28 + jlen : 28 + jlen + blen]


def accessor_array(doc: dict[str, Any], blob: bytes, index: int) -> np.ndarray:
    acc = doc["accessors"][index]
    bv = doc["bufferViews"][acc["bufferView"]]
    dtype = {_FLOAT: "<f4", _UINT32: "<u4"}[acc["componentType"]]
    width = {"VEC3": 3, "SCALAR": 1}[acc["type"]]
    arr = np.frombuffer(blob, dtype=dtype, count=acc["count"] * width, offset=bv["byteOffset"])
    return arr.reshape(-1, 3) if width == 3 else arr
