"""The seed's cameras: ``front`` (over the arm's shoulder), ``left`` and ``right`` (flanking the
work surface), all aimed at the work centre, and ``wrist`` on the hand (added with the robot)."""

from __future__ import annotations

import threading
from typing import Any

import mujoco
import numpy as np

from bpflow.domain.sim.robot import PREFIX, WRIST_CAMERA

GL_LOCK = threading.RLock()
"""Held around every offscreen GL use in this process (creating, rendering with and closing a
``mujoco.Renderer``): jobs on the in-process runner are threads of one worker, and two of them
rendering at once through EGL/llvmpipe crashed the worker (a segfault in ``Renderer.render``)."""

FIXED = ("front", "left", "right")
ALL = (*FIXED, "wrist")


def look_at_quat(pos: np.ndarray, target: np.ndarray) -> list[float]:
    """MuJoCo camera orientation (looks along its −z, +y up) from ``pos`` towards ``target``."""
    f = target - pos
    f = f / (np.linalg.norm(f) or 1.0)
    z = -f
    up = np.array([0.0, 0.0, 1.0])
    x = np.cross(up, z)
    if np.linalg.norm(x) < 1e-6:
        x = np.array([1.0, 0.0, 0.0])
    x = x / np.linalg.norm(x)
    y = np.cross(z, x)
    q = np.zeros(4)
    mujoco.mju_mat2Quat(q, np.column_stack([x, y, z]).reshape(9))
    return [float(v) for v in q]


def add_cameras(spec: mujoco.MjSpec, mount: dict[str, Any]) -> tuple[str, ...]:
    """Fixed cameras around the work centre; returns every camera name the model will have."""
    centre = np.asarray(mount["work_center"], dtype=float)
    base = np.asarray(mount["base"], dtype=float)
    toward = centre[:2] - base[:2]
    toward = toward / (np.linalg.norm(toward) or 1.0)
    side = np.array([-toward[1], toward[0]])
    # "front" looks over the arm's shoulder (the side the arm stands on is open floor by
    # construction; the far side of a surface is often a wall); left/right flank the surface
    places = {
        "front": np.r_[base[:2] - toward * 0.45, centre[2] + 0.85],
        "left": np.r_[centre[:2] + side * 0.7 - toward * 0.2, centre[2] + 0.6],
        "right": np.r_[centre[:2] - side * 0.7 - toward * 0.2, centre[2] + 0.6],
    }
    for name, pos in places.items():
        spec.worldbody.add_camera(name=name, pos=[float(v) for v in pos], quat=look_at_quat(pos, centre), fovy=60)
    return (*FIXED, PREFIX + WRIST_CAMERA)
