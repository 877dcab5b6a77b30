"""A still picture of the assembled scene for the scenes list, drawn on the CPU (no GPU, no GL).

A small painter's-algorithm rasteriser: the visible triangles are projected orthographically from
an elevated three-quarter view, sorted far to near and filled with flat Lambert shading by Pillow,
at twice the size and then downsampled (anti-aliasing). The room is drawn before the objects, as it
encloses them (its large triangles would sort wrongly by their centres). The room's walls between the camera and
the scene are left out so the objects are seen, as in a dollhouse cut-away. Good enough for a
thumbnail; the 3D viewer is the accurate view.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageDraw

from bpflow.domain.viewer.scene_parts import ViewerScene

BACKGROUND = (241, 245, 249)
_VIEW = np.array([1.0, 1.15, 1.35])  # from the scene towards the camera (Y up)
_LIGHT = np.array([0.35, 1.0, 0.55])


def _unit(v: np.ndarray) -> np.ndarray:
    unit: np.ndarray = v / np.linalg.norm(v)
    return unit


def render_thumbnail(scene: ViewerScene, width: int = 320, height: int = 200, *, supersample: int = 2) -> bytes:
    """The scene as PNG bytes (``width``×``height``)."""
    view, light = _unit(_VIEW), _unit(_LIGHT)
    right = _unit(np.cross(np.array([0.0, 1.0, 0.0]), view))
    up = np.cross(view, right)
    lo, hi = scene.bounds("visual")
    centre = (lo + hi) / 2
    horizontal = _unit(np.array([view[0], 0.0, view[2]]))
    tris: list[np.ndarray] = []
    colors: list[np.ndarray] = []
    obj_mask: list[np.ndarray] = []
    room_mask: list[np.ndarray] = []
    for group in scene.groups:
        for part in group.parts:
            if part.role != "visual" or not len(part.triangles):
                continue
            if group.kind == "room":
                plo, phi = part.positions.min(axis=0), part.positions.max(axis=0)
                is_floor = (phi[1] - plo[1]) < 0.5 * (hi[1] - lo[1])
                if not is_floor and float(np.dot((plo + phi) / 2 - centre, horizontal)) > 0:
                    continue  # a near wall would hide the room
            tris.append(part.positions[part.triangles].astype(np.float64))
            obj_mask.append(np.full(len(part.triangles), group.kind == "object"))
            room_mask.append(np.full(len(part.triangles), group.kind == "room"))
            colors.append(np.repeat(np.asarray(part.color, dtype=np.float64)[None, :], len(part.triangles), axis=0))
    W, H = width * supersample, height * supersample
    img = Image.new("RGB", (W, H), BACKGROUND)
    if not tris:
        return _png(img.resize((width, height), Image.Resampling.LANCZOS))
    t = np.concatenate(tris)  # T×3×3
    c = np.concatenate(colors)
    normals = np.cross(t[:, 1] - t[:, 0], t[:, 2] - t[:, 0])
    lengths = np.linalg.norm(normals, axis=1)
    keep = lengths > 1e-12
    t, c, normals = t[keep], c[keep], normals[keep] / lengths[keep][:, None]
    room = np.concatenate(room_mask)[keep]
    normals[np.einsum("ij,j->i", normals, view) < 0] *= -1  # double-sided: face the camera
    shade = 0.38 + 0.62 * np.clip(normals @ light, 0.0, 1.0)
    rgb = np.clip(c * shade[:, None] * 255.0, 0, 255).astype(np.uint8)
    rel = t - centre
    sx, sy, depth = rel @ right, rel @ up, (rel @ view).mean(axis=1)
    # frame the objects (the room around them may be cropped); the whole picture when there are none
    framed = np.concatenate(obj_mask)[keep] if any(m.any() for m in obj_mask) else np.ones(len(t), dtype=bool)
    fx, fy = sx[framed], sy[framed]
    span = max(float(fx.max() - fx.min()), 1e-6), max(float(fy.max() - fy.min()), 1e-6)
    scale = 0.86 * min(W / span[0], H / span[1])
    ox = W / 2 - scale * (fx.max() + fx.min()) / 2
    oy = H / 2 + scale * (fy.max() + fy.min()) / 2
    px, py = ox + scale * sx, oy - scale * sy
    draw = ImageDraw.Draw(img)
    # the room first (its big triangles would sort wrongly against the objects), then far to near
    order = np.lexsort((depth, ~room))
    for i in order:
        color = tuple(int(v) for v in rgb[i])
        draw.polygon([(px[i, 0], py[i, 0]), (px[i, 1], py[i, 1]), (px[i, 2], py[i, 2])], fill=color, outline=color)
    return _png(img.resize((width, height), Image.Resampling.LANCZOS))


def placeholder_png(width: int = 320, height: int = 200) -> bytes:
    """The picture of a scene not assembled yet: the background alone."""
    return _png(Image.new("RGB", (width, height), BACKGROUND))


def _png(img: Image.Image) -> bytes:
    out = io.BytesIO()
    img.save(out, format="PNG", optimize=True)
    return out.getvalue()
