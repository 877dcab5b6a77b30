"""Preparation bundles of the two experimental world-model paths, rendered in the simulation core.

A bundle is one short clip of the assembled scene (``rgb.mp4``: H.264, the seed's 720x480 at
24 fps, 49 frames) with what produced it, frame by frame, in ``manifest.json``: the camera's
trajectory (an arc around the scene's work centre) and the actor's motion — for Dream2Flow the
Franka Panda's seven arm joints moving from its home pose towards a reach pose, for DWM a hand
(wrist point) path approaching a target object. Each bundle varies the arc and the target, so
``num`` bundles are ``num`` different tasks. The video models consume these; they are not here.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from bpflow.core.errors import ValidationFailed

REACH_Q = (0.6, 0.4, 0.0, -1.6, 0.0, 2.1, 0.785)


@dataclass(frozen=True)
class ClipSpec:
    width: int
    height: int
    frames: int
    fps: int

    def check(self) -> ClipSpec:
        if not (
            16 <= self.width <= 4096 and 16 <= self.height <= 4096 and self.width % 2 == 0 and self.height % 2 == 0
        ):
            raise ValidationFailed(
                f"resolution {self.width}x{self.height} must be even and within 16..4096", field="RESOLUTION_WIDTH"
            )
        if not 1 <= self.frames <= 1000 or not 1 <= self.fps <= 240:
            raise ValidationFailed(
                f"{self.frames} frames at {self.fps} fps is outside 1..1000 frames, 1..240 fps", field="NUM_FRAMES"
            )
        return self


def smooth(t: float) -> float:
    """Ease in and out, so motions start and stop at rest."""
    return 0.5 - 0.5 * math.cos(math.pi * min(1.0, max(0.0, t)))


def camera_arc(
    center: np.ndarray, radius: float, index: int, frames: int, facing: float = 90.0
) -> list[dict[str, Any]]:
    """Per frame: azimuth/elevation/distance around ``center`` (MuJoCo's z-up free camera): a 50°
    arc centred on ``facing`` (the direction the camera looks), shifted per bundle."""
    start = facing - 25.0 + (15.0 * index) % 40.0 - 20.0
    out = []
    for f in range(frames):
        t = f / max(1, frames - 1)
        out.append(
            {
                "frame": f,
                "lookat": [round(float(v), 4) for v in center],
                "azimuth": round(start + 50.0 * smooth(t), 3),
                "elevation": round(-25.0 - 5.0 * math.sin(math.pi * t), 3),
                "distance": round(radius, 4),
            }
        )
    return out


def encode_mp4(frames: list[np.ndarray], fps: int) -> bytes:
    import av

    buf = io.BytesIO()
    with av.open(buf, mode="w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.height, stream.width = frames[0].shape[:2]
        stream.pix_fmt = "yuv420p"
        stream.options = {"preset": "veryfast", "crf": "28"}
        for rgb in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return buf.getvalue()


def render_bundles(sim: Any, clip: ClipSpec, count: int, *, actor: str) -> list[dict[str, Any]]:
    """``count`` bundles, each ``{"manifest": {...}, "video": bytes}``. ``actor``: ``robot`` or ``hand``."""
    import mujoco

    model, data = sim.model, sim.data
    model.vis.global_.offwidth = max(int(model.vis.global_.offwidth), clip.width)
    model.vis.global_.offheight = max(int(model.vis.global_.offheight), clip.height)
    ids = sorted(sim.objects)
    robot = getattr(sim, "robot", None)
    focus = [i for i in ids if sim.objects[i].dynamic] or ids
    points = np.concatenate([sim.world_points(i) for i in focus]) if focus else np.zeros((1, 3))
    mount = getattr(sim, "mount", None) or {}
    if "work_center" in mount:
        # over the arm's shoulder, as the simulation core's "front" camera: that side is open floor
        center = np.asarray(mount["work_center"], float)
        toward = center[:2] - np.asarray(mount["base"], float)[:2]
        facing, radius = math.degrees(math.atan2(toward[1], toward[0])), 1.4
    else:
        center, facing, radius = points.mean(axis=0), 90.0, 1.2
    arm_adr = [int(a) for a in robot.arm_qpos] if robot is not None else []
    if actor == "robot" and len(arm_adr) != 7:
        raise ValidationFailed("the scene has no Franka Panda to move", code="robot_missing", field="ROBOT")
    movable = [i for i in ids if sim.objects[i].dynamic] or ids
    bundles = []
    with mujoco.Renderer(model, clip.height, clip.width) as renderer:
        for b in range(count):
            sim.reset()  # the robot (if any) at its home pose
            cams = camera_arc(center, radius, b, clip.frames, facing)
            target = movable[b % len(movable)] if movable else None
            goal = sim.world_points(target).mean(axis=0) if target else center
            home = data.qpos[arm_adr].copy() if arm_adr else np.zeros(0)
            reach = np.asarray(REACH_Q) + 0.15 * math.sin(b + 1)
            start_hand = center + np.array([0.0, 0.6, 0.0]) + 0.2 * np.array([math.cos(b), 0.0, math.sin(b)])
            joints, hand, frames = [], [], []
            cam = mujoco.MjvCamera()
            for f, c in enumerate(cams):
                t = smooth(f / max(1, clip.frames - 1))
                if actor == "robot":
                    q = home + (reach - home) * t
                    data.qpos[arm_adr] = q
                    joints.append([round(float(v), 5) for v in q])
                else:
                    hand.append(
                        [round(float(v), 5) for v in start_hand + (goal + np.array([0.0, 0.08, 0.0]) - start_hand) * t]
                    )
                mujoco.mj_forward(model, data)
                cam.lookat[:] = c["lookat"]
                cam.azimuth, cam.elevation, cam.distance = c["azimuth"], c["elevation"], c["distance"]
                renderer.update_scene(data, camera=cam)
                frames.append(renderer.render().copy())
            manifest: dict[str, Any] = {
                "bundle_id": f"bundle_{b:03d}",
                "task": f"reach_{target}" if target else "look_around",
                "target_object": target,
                "num_frames": clip.frames,
                "fps": clip.fps,
                "resolution": {"width": clip.width, "height": clip.height},
                "video": "rgb.mp4",
                "camera_trajectory": cams,
                "status": "prepared",
            }
            if actor == "robot":
                manifest["robot"] = {
                    "name": "franka_panda",
                    "joint_names": [f"panda0_joint{i}" for i in range(1, 8)],
                    "joint_trajectory": joints,
                }
            else:
                manifest["hand"] = {"model": "wrist_point", "wrist_trajectory": hand}
            bundles.append({"manifest": manifest, "video": encode_mp4(frames, clip.fps)})
    return bundles
