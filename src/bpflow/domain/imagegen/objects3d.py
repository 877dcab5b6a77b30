"""Objects of a reconstructed layout: 2-D segmentation polygons lifted to 3-D boxes with depth.

Inputs are the legacy chain's (spec-stages-assets-usd §3.5): a depth frame with its camera
(``da3_geom.npz``: ``depth[N,H,W]``, optional ``conf``, ``extrinsics[N,3,4]`` world→camera,
``intrinsics[N,3,3]``; the first frame is used) and YOLO segmentation lines
(``<class_id> x1 y1 x2 y2 ...`` normalised to the image). Each polygon's pixels with a valid
depth are back-projected to world points; the object's centre is their median and its box the
5th-95th percentile span (robust to the stray pixels a mask always has). No depth → no box.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import numpy as np

from bpflow.core.errors import ValidationFailed

MIN_CONFIDENCE = 0.0
IDENTITY = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]


@dataclass(frozen=True)
class DepthFrame:
    depth: np.ndarray  # H x W metres
    conf: np.ndarray | None
    intrinsics: np.ndarray  # 3 x 3
    extrinsics: np.ndarray  # 3 x 4, world -> camera


def load_frame(data: bytes) -> DepthFrame:
    """The first frame of a ``da3_geom.npz``; a malformed file is a typed error naming the array."""
    try:
        npz = np.load(io.BytesIO(data), allow_pickle=False)
    except (ValueError, OSError) as exc:
        raise ValidationFailed(f"da3_geom.npz is not a readable .npz: {exc}", field="da3_geom.npz") from None
    for name in ("depth", "intrinsics", "extrinsics"):
        if name not in npz.files:
            raise ValidationFailed(f"da3_geom.npz has no {name} array", field=f"da3_geom.npz:{name}")
    depth, k, e = (
        np.asarray(npz["depth"], float),
        np.asarray(npz["intrinsics"], float),
        np.asarray(npz["extrinsics"], float),
    )
    if depth.ndim != 3 or k.shape[1:] != (3, 3) or e.shape[1:] != (3, 4) or len(depth) == 0:
        raise ValidationFailed(
            "da3_geom.npz arrays have the wrong shapes (depth[N,H,W], intrinsics[N,3,3], extrinsics[N,3,4])",
            field="da3_geom.npz",
        )
    conf = np.asarray(npz["conf"], float)[0] if "conf" in npz.files else None
    return DepthFrame(depth[0], conf, k[0], e[0])


def parse_label_line(line: str) -> tuple[int, np.ndarray] | None:
    """``(class_id, polygon[K,2])`` in normalised image coordinates, or None for a bad line."""
    parts = line.split()
    if len(parts) < 7 or len(parts) % 2 == 0:
        return None
    try:
        cls = int(parts[0])
        pts = np.asarray([float(p) for p in parts[1:]], float).reshape(-1, 2)
    except ValueError:
        return None
    if not np.isfinite(pts).all():
        return None
    return cls, np.clip(pts, 0.0, 1.0)


def polygon_mask(poly_px: np.ndarray, width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel coordinates (u, v) inside the polygon (even-odd rule at pixel centres)."""
    u0, v0 = np.floor(poly_px.min(axis=0)).astype(int)
    u1, v1 = np.ceil(poly_px.max(axis=0)).astype(int)
    u0, v0, u1, v1 = max(u0, 0), max(v0, 0), min(u1, width - 1), min(v1, height - 1)
    if u1 < u0 or v1 < v0:
        return np.empty(0, int), np.empty(0, int)
    uu, vv = np.meshgrid(np.arange(u0, u1 + 1), np.arange(v0, v1 + 1))
    x, y = uu.ravel() + 0.5, vv.ravel() + 0.5
    inside = np.zeros(x.shape, bool)
    xs, ys = poly_px[:, 0], poly_px[:, 1]
    for i in range(len(poly_px)):
        xa, ya, xb, yb = xs[i - 1], ys[i - 1], xs[i], ys[i]
        crosses = (ya > y) != (yb > y)
        with np.errstate(divide="ignore", invalid="ignore"):
            xint = xa + (y - ya) * (xb - xa) / (yb - ya)
        inside ^= crosses & (x < xint)
    return uu.ravel()[inside], vv.ravel()[inside]


def world_points(frame: DepthFrame, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    d = frame.depth[v, u]
    ok = np.isfinite(d) & (d > 0)
    if frame.conf is not None:
        ok &= frame.conf[v, u] > MIN_CONFIDENCE
    u, v, d = u[ok], v[ok], d[ok]
    fx, fy, cx, cy = frame.intrinsics[0, 0], frame.intrinsics[1, 1], frame.intrinsics[0, 2], frame.intrinsics[1, 2]
    cam = np.stack([(u + 0.5 - cx) * d / fx, (v + 0.5 - cy) * d / fy, d], axis=1)
    r, t = frame.extrinsics[:, :3], frame.extrinsics[:, 3]
    world: np.ndarray = (cam - t) @ r  # R^T (p - t), row-wise
    return world


def lift_objects(frame: DepthFrame, label_lines: list[str], names: list[str]) -> list[dict[str, Any]]:
    """One layout object per valid label line (id = its line index)."""
    height, width = frame.depth.shape
    out: list[dict[str, Any]] = []
    for index, line in enumerate(label_lines):
        parsed = parse_label_line(line)
        if parsed is None:
            continue
        cls, poly = parsed
        lo, hi = poly.min(axis=0), poly.max(axis=0)
        obj: dict[str, Any] = {
            "id": index,
            "class_id": cls,
            "class_name": names[cls] if 0 <= cls < len(names) else f"class_{cls}",
            "bbox2d": [
                float((lo[0] + hi[0]) / 2),
                float((lo[1] + hi[1]) / 2),
                float(hi[0] - lo[0]),
                float(hi[1] - lo[1]),
            ],
            "polygon": poly.round(6).tolist(),
            "center3d": None,
            "obb": None,
        }
        u, v = polygon_mask(poly * [width, height], width, height)
        pts = world_points(frame, u, v) if len(u) else np.empty((0, 3))
        if len(pts):
            p5, p95 = np.percentile(pts, 5, axis=0), np.percentile(pts, 95, axis=0)
            obj["center3d"] = np.median(pts, axis=0).round(6).tolist()
            obj["obb"] = {
                "center": ((p5 + p95) / 2).round(6).tolist(),
                "extents": np.maximum((p95 - p5) / 2, 1e-3).round(6).tolist(),
                "R": IDENTITY,
            }
        out.append(obj)
    return out
