"""Pictures of a scene's physics: closed at t = 0, and with every joint at its open limit.

A reviewer looks at these to see what the numbers say (doors that open into the room, drawers
that slide out of hollow carcasses, things standing on real surfaces). Rendered offscreen by
MuJoCo (``MUJOCO_GL=egl`` or ``osmesa`` must be set before MuJoCo is imported: run this in its
own process), from a free camera looking down into the room; written as plain PNG files.
"""

from __future__ import annotations

import struct
import sys
import zlib
from pathlib import Path
from typing import Any

import numpy as np


def write_png(path: Path, rgb: np.ndarray) -> None:
    """An 8-bit RGB PNG, with no imaging library."""
    h, w, _ = rgb.shape
    raw = b"".join(b"\x00" + rgb[row].astype(np.uint8).tobytes() for row in range(h))

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw, 6))
        + chunk(b"IEND", b"")
    )


def render_states(
    usd_path: Path, manifest: dict[str, Any] | None, out_dir: Path, stem: str, size: tuple[int, int] = (480, 640)
) -> list[Path]:
    """``<stem>_t0.png`` (as assembled) and ``<stem>_open.png`` (every joint at its opening limit)."""
    import mujoco

    from bpflow.domain.sim.acceptance import _opening
    from bpflow.domain.sim.cameras import GL_LOCK
    from bpflow.domain.sim.scene import load_scene

    sim = load_scene(usd_path, manifest)
    model, data = sim.model, sim.data
    lo, hi = np.min(model.geom_aabb[:, :3], axis=0), np.max(model.geom_aabb[:, :3], axis=0)
    boxes = [data.geom_xpos[i] for i in range(model.ngeom)]
    centre = np.mean(boxes, axis=0) if boxes else (lo + hi) / 2
    spread = float(np.ptp(np.asarray(boxes)[:, :2], axis=0).max()) if boxes else 4.0
    camera = mujoco.MjvCamera()
    camera.type = mujoco.mjtCamera.mjCAMERA_FREE
    camera.lookat[:] = [float(centre[0]), float(centre[1]), 0.6]
    camera.distance = max(3.0, 1.2 * spread)
    camera.elevation = -50.0
    camera.azimuth = 120.0
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    height, width = size
    model.vis.global_.offwidth = max(model.vis.global_.offwidth, width)
    model.vis.global_.offheight = max(model.vis.global_.offheight, height)
    with GL_LOCK, mujoco.Renderer(model, height, width) as renderer:
        for name in ("t0", "open"):
            if name == "open":
                for obj in sim.objects.values():
                    for j in obj.joints:
                        data.qpos[j.qpos_adr] = _opening(j)
            mujoco.mj_forward(model, data)
            renderer.update_scene(data, camera)
            path = out_dir / f"{stem}_{name}.png"
            write_png(path, renderer.render())
            written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    """``python -m bpflow.domain.sim.snapshots SCENE_USDA MANIFEST_JSON OUT_DIR STEM``."""
    import json

    args = sys.argv[1:] if argv is None else argv
    usd, manifest, out, stem = args
    for path in render_states(Path(usd), json.loads(Path(manifest).read_text()), Path(out), stem):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
