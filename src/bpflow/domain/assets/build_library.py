"""Build the packaged asset library: ``python -m bpflow.domain.assets.build_library [OUT_DIR]``.

Why a generator instead of downloaded models: the library ships inside the wheel under a
licence we can grant (CC0), must stay small, and must be reproducible, so every asset is
written from the recipes below by plain arithmetic. Running the module twice gives identical
bytes (a test pins this), and the shipped files are exactly what it writes.

Conventions every asset follows, because retrieval scales and places them blindly:
metres, y up, the asset's bounding box standing on y = 0 and centred on x = z = 0, one root
Xform (the default prim, no transform of its own) holding one closed Mesh per part.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from bpflow.domain.assets.mesh_parts import (
    Color,
    Part,
    arc_handle,
    box_from_bottom,
    cylinder,
    lathe,
    lathe_wall_pieces,
    sphere,
)

LICENSE_ID = "CC0-1.0"
AUTHOR = "bpflow contributors (procedural)"
DEFAULT_OUT = Path(__file__).resolve().parent / "library"

WOOD: Color = (0.55, 0.38, 0.22)
DARK_WOOD: Color = (0.36, 0.24, 0.15)
WHITE: Color = (0.92, 0.92, 0.9)
STEEL: Color = (0.7, 0.72, 0.74)
BLACK: Color = (0.08, 0.08, 0.09)
GREY: Color = (0.45, 0.46, 0.48)
FABRIC: Color = (0.3, 0.36, 0.5)
CERAMIC: Color = (0.85, 0.82, 0.76)
GLASS: Color = (0.55, 0.75, 0.7)
CARDBOARD: Color = (0.66, 0.5, 0.32)
GREEN: Color = (0.2, 0.5, 0.22)
TERRACOTTA: Color = (0.72, 0.36, 0.22)
STONE: Color = (0.62, 0.6, 0.57)
RED: Color = (0.7, 0.15, 0.12)


@dataclass(frozen=True)
class Recipe:
    """What retrieval needs to know about an asset, plus the function that builds its parts."""

    asset_id: str
    category: str
    tags: tuple[str, ...]
    description: str
    material: str
    sim_roles: tuple[str, ...]
    build: Callable[[], list[Part]]


# -- recipes -----------------------------------------------------------------------------------


# -- articulated assets ------------------------------------------------------------------------
# A body with moving parts is authored as a hollow carcass of panels plus one group per moving part
# (meshes tagged ``bp:moving_part = "<part>"``: its panel(s) and handle) and a joint in ``Articulation/<part>`` saying how it moves. The
# interactive stage turns these groups into links: the inside stays open, neighbouring doors keep
# the gap they are modelled with, and a 3-drawer cabinet has the 3 drawers it shows.

PANEL = 0.018


@dataclass(frozen=True)
class Joint:
    """How one moving group moves, in the recipe's own coordinates (before centring)."""

    kind: str
    """``revolute`` (limits in degrees) or ``prismatic`` (metres)."""
    axis: str
    anchor: tuple[float, float, float]
    lower: float
    upper: float


def grouped(group: str, *parts: Part) -> list[Part]:
    for part in parts:
        part.group = group
    return list(parts)


def carcass(
    color: Color, w: float, h: float, d: float, y0: float = 0.0, z_back: float | None = None, t: float = PANEL
) -> list[Part]:
    """An open-fronted box of panels: sides, top, bottom and back; the front is at z = +d/2."""
    zb = -d / 2 if z_back is None else z_back
    depth = d / 2 - zb
    zc = zb + depth / 2
    return [
        box_from_bottom("SideL", color, -w / 2 + t / 2, y0, zc, (t, h, depth)),
        box_from_bottom("SideR", color, w / 2 - t / 2, y0, zc, (t, h, depth)),
        box_from_bottom("Bottom", color, 0, y0, zc + t / 2, (w - 2 * t, t, depth - t)),
        box_from_bottom("Top", color, 0, y0 + h - t, zc + t / 2, (w - 2 * t, t, depth - t)),
        box_from_bottom("Back", color, 0, y0 + t, zb + t / 2, (w - 2 * t, h - 2 * t, t)),
    ]


def drawer(
    name: str,
    color: Color,
    pull: Color,
    x: float,
    y0: float,
    z_front: float,
    w: float,
    h: float,
    depth: float,
    t: float = 0.012,
) -> list[Part]:
    """A drawer: a front with a pull and an open-topped box behind it."""
    zc = z_front - 0.02 - depth / 2
    return grouped(
        name,
        box_from_bottom(f"{name}_Front", color, x, y0, z_front - 0.01, (w, h, 0.02)),
        box_from_bottom(f"{name}_Pull", pull, x, y0 + h * 0.6, z_front + 0.01, (min(0.2, w * 0.5), 0.02, 0.02)),
        box_from_bottom(f"{name}_Floor", color, x, y0 + 0.01, zc, (w - 0.04, t, depth)),
        box_from_bottom(f"{name}_SideL", color, x - w / 2 + 0.02 + t / 2, y0 + 0.01, zc, (t, h * 0.7, depth)),
        box_from_bottom(f"{name}_SideR", color, x + w / 2 - 0.02 - t / 2, y0 + 0.01, zc, (t, h * 0.7, depth)),
        box_from_bottom(f"{name}_Back", color, x, y0 + 0.01, zc - depth / 2 + t / 2, (w - 0.04 - 2 * t, h * 0.7, t)),
    )


def _legs(color: Color, half_x: float, half_z: float, height: float, side: float, y0: float = 0.0) -> list[Part]:
    return [
        box_from_bottom(f"Leg{i}", color, sx * half_x, y0, sz * half_z, (side, height, side))
        for i, (sx, sz) in enumerate(((-1, -1), (1, -1), (-1, 1), (1, 1)))
    ]


def dining_table() -> list[Part]:
    return [box_from_bottom("Top", WOOD, 0, 0.71, 0, (1.2, 0.04, 0.7)), *_legs(DARK_WOOD, 0.54, 0.29, 0.71, 0.06)]


def coffee_table() -> list[Part]:
    return [
        box_from_bottom("Top", WOOD, 0, 0.4, 0, (1.0, 0.05, 0.55)),
        box_from_bottom("Shelf", WOOD, 0, 0.1, 0, (0.9, 0.02, 0.45)),
        *_legs(DARK_WOOD, 0.46, 0.235, 0.4, 0.05),
    ]


def dining_chair() -> list[Part]:
    return [
        box_from_bottom("Seat", WOOD, 0, 0.43, 0, (0.45, 0.04, 0.45)),
        *_legs(DARK_WOOD, 0.2, 0.2, 0.43, 0.04),
        box_from_bottom("PostL", DARK_WOOD, -0.2, 0.47, -0.2, (0.04, 0.45, 0.04)),
        box_from_bottom("PostR", DARK_WOOD, 0.2, 0.47, -0.2, (0.04, 0.45, 0.04)),
        box_from_bottom("Back", WOOD, 0, 0.68, -0.2, (0.36, 0.22, 0.03)),
    ]


def office_chair() -> list[Part]:
    spokes = [
        box_from_bottom(f"Spoke{i}", BLACK, x, 0.02, z, (sx, 0.04, sz))
        for i, (x, z, sx, sz) in enumerate(
            ((0.15, 0, 0.3, 0.05), (-0.15, 0, 0.3, 0.05), (0, 0.15, 0.05, 0.3), (0, -0.15, 0.05, 0.3))
        )
    ]
    wheels = [
        cylinder(f"Wheel{i}", BLACK, (x, 0.0, z), 0.025, 0.02, 10)
        for i, (x, z) in enumerate(((0.29, 0), (-0.29, 0), (0, 0.29), (0, -0.29)))
    ]
    return [
        *spokes,
        *wheels,
        cylinder("Column", STEEL, (0, 0.06, 0), 0.025, 0.38, 12),
        box_from_bottom("Seat", FABRIC, 0, 0.44, 0, (0.5, 0.08, 0.48)),
        box_from_bottom("Back", FABRIC, 0, 0.6, -0.22, (0.46, 0.5, 0.06)),
        box_from_bottom("Spine", BLACK, 0, 0.48, -0.2, (0.05, 0.14, 0.04)),
    ]


def bar_stool() -> list[Part]:
    return [
        cylinder("Base", STEEL, (0, 0, 0), 0.19, 0.03, 20),
        cylinder("Pole", STEEL, (0, 0.03, 0), 0.025, 0.64, 12),
        cylinder("Seat", DARK_WOOD, (0, 0.67, 0), 0.18, 0.06, 20),
    ]


def kitchen_counter() -> list[Part]:
    return [
        box_from_bottom("Plinth", BLACK, 0, 0, 0.02, (1.56, 0.1, 0.54)),
        box_from_bottom("Body", WHITE, 0, 0.1, 0, (1.6, 0.76, 0.58)),
        box_from_bottom("Top", STONE, 0, 0.86, 0.01, (1.64, 0.04, 0.62)),
        box_from_bottom("HandleL", STEEL, -0.4, 0.72, 0.3, (0.2, 0.02, 0.02)),
        box_from_bottom("HandleR", STEEL, 0.4, 0.72, 0.3, (0.2, 0.02, 0.02)),
    ]


def tall_cabinet() -> list[Part]:
    w, h, d = 0.8, 1.8, 0.46  # the carcass; the doors hang 2 cm in front of it
    parts = carcass(WOOD, w, h, d)
    parts += [
        box_from_bottom(f"Shelf{i}", WOOD, 0, 0.6 * (i + 1), 0.0, (w - 2 * PANEL, PANEL, d - 2 * PANEL))
        for i in range(2)
    ]
    door_w, gap = 0.39, 0.01
    for i, sign in enumerate((-1, 1)):
        x = sign * (gap / 2 + door_w / 2)
        parts += grouped(
            f"door_{i}",
            box_from_bottom(f"Door{i}", WOOD, x, 0.02, d / 2 + 0.01, (door_w, 1.76, 0.02)),
            box_from_bottom(f"Handle{i}", STEEL, sign * 0.04, 0.85, d / 2 + 0.03, (0.02, 0.16, 0.02)),
        )
    return parts


def drawer_cabinet() -> list[Part]:
    w, h, d = 0.6, 0.9, 0.46
    parts = carcass(WHITE, w, h, d)
    for i in range(3):
        parts += drawer(f"drawer_{i}", WHITE, STEEL, 0, 0.03 + i * 0.29, d / 2 + 0.02, 0.56, 0.26, 0.38)
    return parts


def refrigerator() -> list[Part]:
    w, h, d = 0.9, 1.8, 0.7
    parts = carcass(WHITE, w, h, d, t=0.04)
    parts.append(box_from_bottom("Divider", WHITE, 0, 1.19, 0.0, (w - 0.08, 0.04, d - 0.04)))
    parts += grouped(
        "door_0",
        box_from_bottom("FreezerDoor", WHITE, 0, 1.22, d / 2 + 0.02, (0.88, 0.57, 0.04)),
        box_from_bottom("FreezerHandle", STEEL, -0.38, 1.3, d / 2 + 0.055, (0.03, 0.3, 0.03)),
    )
    parts += grouped(
        "door_1",
        box_from_bottom("FridgeDoor", WHITE, 0, 0.02, d / 2 + 0.02, (0.88, 1.18, 0.04)),
        box_from_bottom("FridgeHandle", STEEL, -0.38, 0.75, d / 2 + 0.055, (0.03, 0.4, 0.03)),
    )
    return parts


def oven() -> list[Part]:
    w, d = 0.76, 0.6
    parts = [
        box_from_bottom("Plinth", STEEL, 0, 0, 0.0, (w, 0.1, d)),
        box_from_bottom("SideL", STEEL, -w / 2 + 0.02, 0.1, 0.0, (0.04, 0.76, d)),
        box_from_bottom("SideR", STEEL, w / 2 - 0.02, 0.1, 0.0, (0.04, 0.76, d)),
        box_from_bottom("Back", STEEL, 0, 0.1, -d / 2 + 0.02, (w - 0.08, 0.76, 0.04)),
        box_from_bottom("Top", STEEL, 0, 0.86, 0.0, (w, 0.04, d)),
        box_from_bottom("Panel", BLACK, 0, 0.9, -0.25, (w, 0.1, 0.08)),
    ]
    parts += grouped(
        "door_0",
        box_from_bottom("Door", BLACK, 0, 0.1, d / 2 + 0.01, (0.7, 0.55, 0.02)),
        box_from_bottom("Handle", STEEL, 0, 0.6, d / 2 + 0.035, (0.6, 0.025, 0.03)),
    )
    for i, (x, z) in enumerate(((-0.18, -0.1), (0.18, -0.1), (-0.18, 0.14), (0.18, 0.14))):
        parts.append(cylinder(f"Burner{i}", BLACK, (x, 0.9, z), 0.09, 0.015, 16))
    return parts


def microwave() -> list[Part]:
    w, h, d = 0.5, 0.3, 0.34
    parts = carcass(GREY, w, h, d, t=0.02)
    parts.append(box_from_bottom("Wall", GREY, 0.12, 0.02, 0.0, (0.02, h - 0.04, d - 0.02)))
    parts.append(box_from_bottom("Controls", GREY, 0.185, 0.02, d / 2 + 0.01, (0.11, 0.26, 0.02)))
    parts += grouped(
        "door_0",
        box_from_bottom("Door", BLACK, -0.06, 0.02, d / 2 + 0.01, (0.36, 0.26, 0.02)),
        box_from_bottom("Handle", STEEL, 0.1, 0.05, d / 2 + 0.03, (0.02, 0.2, 0.02)),
    )
    return parts


def dishwasher() -> list[Part]:
    w, h, d = 0.6, 0.85, 0.56
    parts = carcass(STEEL, w, h - 0.08, d, y0=0.08, t=0.02)
    parts.append(box_from_bottom("Plinth", BLACK, 0, 0, 0.0, (w, 0.08, d)))
    parts += grouped(
        "door_0",
        box_from_bottom("Door", STEEL, 0, 0.08, d / 2 + 0.01, (0.58, 0.7, 0.02)),
        box_from_bottom("Handle", BLACK, 0, 0.7, d / 2 + 0.03, (0.4, 0.025, 0.02)),
    )
    return parts


def kitchen_sink() -> list[Part]:
    top_y = 0.86
    return [
        box_from_bottom("Cabinet", WHITE, 0, 0, 0, (0.8, top_y, 0.6)),
        box_from_bottom("TopBack", STONE, 0, top_y, -0.25, (0.8, 0.04, 0.1)),
        box_from_bottom("TopFront", STONE, 0, top_y, 0.26, (0.8, 0.04, 0.08)),
        box_from_bottom("TopLeft", STONE, -0.33, top_y, 0.01, (0.14, 0.04, 0.42)),
        box_from_bottom("TopRight", STONE, 0.33, top_y, 0.01, (0.14, 0.04, 0.42)),
        box_from_bottom("Basin", STEEL, 0, top_y - 0.16, 0.01, (0.52, 0.02, 0.42)),
        cylinder("Faucet", STEEL, (0, top_y + 0.04, -0.25), 0.02, 0.28, 12),
        box_from_bottom("Spout", STEEL, 0, top_y + 0.29, -0.17, (0.03, 0.03, 0.16)),
    ]


def bookshelf() -> list[Part]:
    parts = [
        box_from_bottom("SideL", WOOD, -0.39, 0, 0, (0.02, 1.8, 0.3)),
        box_from_bottom("SideR", WOOD, 0.39, 0, 0, (0.02, 1.8, 0.3)),
        box_from_bottom("Back", DARK_WOOD, 0, 0, -0.14, (0.76, 1.8, 0.02)),
    ]
    for i in range(5):
        parts.append(box_from_bottom(f"Shelf{i}", WOOD, 0, i * 0.445, 0.01, (0.76, 0.02, 0.28)))
    return parts


def sofa() -> list[Part]:
    return [
        box_from_bottom("Base", FABRIC, 0, 0.1, 0.05, (1.6, 0.32, 0.8)),
        box_from_bottom("Back", FABRIC, 0, 0.1, -0.35, (1.6, 0.72, 0.2)),
        box_from_bottom("ArmL", FABRIC, -0.9, 0.1, 0, (0.2, 0.52, 0.9)),
        box_from_bottom("ArmR", FABRIC, 0.9, 0.1, 0, (0.2, 0.52, 0.9)),
        box_from_bottom("CushionL", FABRIC, -0.4, 0.42, 0.08, (0.78, 0.12, 0.66)),
        box_from_bottom("CushionR", FABRIC, 0.4, 0.42, 0.08, (0.78, 0.12, 0.66)),
        *_legs(DARK_WOOD, 0.9, 0.38, 0.1, 0.06),
    ]


def double_bed() -> list[Part]:
    return [
        box_from_bottom("Frame", DARK_WOOD, 0, 0.05, 0.03, (1.6, 0.25, 2.04)),
        box_from_bottom("Mattress", WHITE, 0, 0.3, 0.04, (1.5, 0.22, 1.96)),
        box_from_bottom("Headboard", DARK_WOOD, 0, 0, -1.02, (1.6, 1.0, 0.06)),
        box_from_bottom("PillowL", WHITE, -0.38, 0.52, -0.8, (0.6, 0.1, 0.35)),
        box_from_bottom("PillowR", WHITE, 0.38, 0.52, -0.8, (0.6, 0.1, 0.35)),
        *_legs(DARK_WOOD, 0.77, 0.98, 0.05, 0.06),
    ]


def nightstand() -> list[Part]:
    w, h, d = 0.45, 0.45, 0.36
    parts = carcass(WOOD, w, h, d, y0=0.08)
    parts += drawer("drawer_0", WOOD, STEEL, 0, 0.3, d / 2 + 0.02, 0.41, 0.17, 0.28)
    return [*parts, *_legs(DARK_WOOD, 0.19, 0.15, 0.08, 0.04)]


def office_desk() -> list[Part]:
    return [
        box_from_bottom("Top", WOOD, 0, 0.71, 0, (1.4, 0.04, 0.7)),
        box_from_bottom("SideL", WHITE, -0.68, 0, 0, (0.04, 0.71, 0.66)),
        box_from_bottom("SideR", WHITE, 0.68, 0, 0, (0.04, 0.71, 0.66)),
        box_from_bottom("Modesty", WHITE, 0, 0.3, -0.3, (1.32, 0.41, 0.02)),
        box_from_bottom("DrawerUnit", WHITE, 0.45, 0.45, 0.0, (0.4, 0.26, 0.6)),
        box_from_bottom("Pull", STEEL, 0.45, 0.56, 0.31, (0.16, 0.02, 0.02)),
    ]


def floor_lamp() -> list[Part]:
    return [
        cylinder("Base", BLACK, (0, 0, 0), 0.16, 0.03, 20),
        cylinder("Pole", STEEL, (0, 0.03, 0), 0.012, 1.3, 10),
        lathe("Shade", WHITE, [(0.0, 0.0), (0.22, 0.0), (0.15, 0.28), (0.0, 0.28)], 20, (0, 1.33, 0)),
    ]


def desk_lamp() -> list[Part]:
    return [
        cylinder("Base", BLACK, (0, 0, 0), 0.08, 0.02, 16),
        box_from_bottom("Arm", STEEL, 0, 0.02, 0, (0.02, 0.34, 0.02)),
        lathe("Shade", BLACK, [(0.0, 0.0), (0.08, 0.0), (0.04, 0.1), (0.0, 0.1)], 16, (0.0, 0.32, 0.0)),
    ]


def _mug(handle_radius: float, height: float, radius: float) -> list[Part]:
    wall, floor = 0.005, 0.008
    body = lathe(
        "Body",
        CERAMIC,
        [(0.0, 0.0), (radius, 0.0), (radius, height), (radius - wall, height), (radius - wall, floor), (0.0, floor)],
        24,
    )
    handle = arc_handle("Handle", CERAMIC, (radius + 0.003, height * 0.52, 0.0), handle_radius, 0.01)
    pieces = lathe_wall_pieces(
        "Collide", CERAMIC, [(floor, radius, radius - wall), (height, radius, radius - wall)], (floor, radius)
    )
    return [body, handle, *pieces]


def mug() -> list[Part]:
    return _mug(0.028, 0.1, 0.04)


def tall_mug() -> list[Part]:
    return _mug(0.035, 0.12, 0.036)


def bowl() -> list[Part]:
    profile = [
        (0.0, 0.0),
        (0.045, 0.0),
        (0.07, 0.03),
        (0.09, 0.075),
        (0.09, 0.08),
        (0.084, 0.08),
        (0.065, 0.035),
        (0.04, 0.007),
        (0.0, 0.007),
    ]
    pieces = lathe_wall_pieces(
        "Collide", CERAMIC, [(0.007, 0.0467, 0.04), (0.035, 0.0722, 0.065), (0.08, 0.09, 0.084)], (0.007, 0.045)
    )
    return [lathe("Body", CERAMIC, profile, 28), *pieces]


def plate() -> list[Part]:
    profile = [(0.0, 0.0), (0.08, 0.0), (0.13, 0.025), (0.13, 0.03), (0.124, 0.03), (0.085, 0.008), (0.0, 0.008)]
    return [lathe("Body", WHITE, profile, 32)]


def bottle() -> list[Part]:
    profile = [(0.0, 0.0), (0.045, 0.0), (0.045, 0.19), (0.035, 0.23), (0.015, 0.25), (0.015, 0.28), (0.0, 0.28)]
    return [lathe("Body", GLASS, profile, 20), cylinder("Cap", RED, (0, 0.28, 0), 0.016, 0.02, 12)]


def jar() -> list[Part]:
    profile = [(0.0, 0.0), (0.05, 0.0), (0.055, 0.1), (0.045, 0.12), (0.0, 0.12)]
    return [lathe("Body", GLASS, profile, 20), cylinder("Lid", STEEL, (0, 0.12, 0), 0.047, 0.02, 20)]


def book() -> list[Part]:
    return [
        box_from_bottom("Cover", RED, 0, 0, 0, (0.18, 0.03, 0.24)),
        box_from_bottom("Pages", WHITE, 0.004, 0.003, 0.0, (0.174, 0.024, 0.236)),
    ]


def cardboard_box() -> list[Part]:
    return [
        box_from_bottom("Box", CARDBOARD, 0, 0, 0, (0.4, 0.3, 0.3)),
        box_from_bottom("Tape", STONE, 0, 0.3, 0, (0.06, 0.002, 0.3)),
    ]


def monitor() -> list[Part]:
    return [
        box_from_bottom("Foot", BLACK, 0, 0, 0, (0.24, 0.02, 0.18)),
        box_from_bottom("Neck", BLACK, 0, 0.02, -0.02, (0.05, 0.12, 0.03)),
        box_from_bottom("Screen", BLACK, 0, 0.1, 0.0, (0.55, 0.33, 0.03)),
    ]


def keyboard() -> list[Part]:
    parts = [box_from_bottom("Base", GREY, 0, 0, 0, (0.44, 0.02, 0.14))]
    for i in range(4):
        parts.append(box_from_bottom(f"KeyRow{i}", BLACK, 0, 0.02, -0.045 + i * 0.03, (0.4, 0.01, 0.022)))
    return parts


def potted_plant() -> list[Part]:
    pot = lathe("Pot", TERRACOTTA, [(0.0, 0.0), (0.1, 0.0), (0.13, 0.25), (0.0, 0.25)], 20)
    return [
        pot,
        sphere("Foliage0", GREEN, (0.0, 0.45, 0.0), 0.2),
        sphere("Foliage1", GREEN, (0.08, 0.55, 0.05), 0.13),
        sphere("Foliage2", GREEN, (-0.07, 0.58, -0.04), 0.12),
    ]


def trash_bin() -> list[Part]:
    profile = [(0.0, 0.0), (0.14, 0.0), (0.16, 0.45), (0.15, 0.45), (0.133, 0.01), (0.0, 0.01)]
    pieces = lathe_wall_pieces(
        "Collide", GREY, [(0.01, 0.1404, 0.133), (0.45, 0.16, 0.15)], (0.01, 0.14), collision_for="Bin"
    )
    return [lathe("Bin", GREY, profile, 24), *pieces]


def pallet() -> list[Part]:
    parts = [
        box_from_bottom(f"Block{i}", WOOD, x, 0, z, (0.1, 0.1, 0.1))
        for i, (x, z) in enumerate((x, z) for x in (-0.55, 0, 0.55) for z in (-0.45, 0, 0.45))
    ]
    parts += [
        box_from_bottom(f"Stringer{i}", WOOD, 0, 0.1, z, (1.2, 0.02, 0.1)) for i, z in enumerate((-0.45, 0, 0.45))
    ]
    parts += [box_from_bottom(f"Slat{i}", WOOD, -0.55 + i * 0.1375, 0.12, 0, (0.1, 0.024, 1.0)) for i in range(9)]
    return parts


def cutting_board() -> list[Part]:
    return [box_from_bottom("Board", WOOD, 0, 0, 0, (0.4, 0.025, 0.28))]


def laptop() -> list[Part]:
    return [
        box_from_bottom("Base", GREY, 0, 0, 0.0, (0.33, 0.018, 0.23)),
        box_from_bottom("Lid", GREY, 0, 0.018, -0.11, (0.33, 0.22, 0.01)),
        box_from_bottom("Screen", BLACK, 0, 0.03, -0.104, (0.3, 0.19, 0.002)),
    ]


def chef_knife() -> list[Part]:
    return [
        box_from_bottom("Handle", BLACK, -0.1, 0, 0, (0.12, 0.02, 0.025)),
        box_from_bottom("Bolster", STEEL, -0.035, 0, 0, (0.01, 0.03, 0.02)),
        box_from_bottom("Blade", STEEL, 0.075, 0.005, 0, (0.21, 0.04, 0.003)),
    ]


def knife_block() -> list[Part]:
    parts = [box_from_bottom("Block", WOOD, 0, 0, 0, (0.12, 0.22, 0.2))]
    parts += [box_from_bottom(f"Handle{i}", BLACK, -0.03 + i * 0.03, 0.22, 0.02, (0.02, 0.09, 0.025)) for i in range(3)]
    return parts


def spoon() -> list[Part]:
    return [
        box_from_bottom("Handle", STEEL, -0.045, 0.0, 0, (0.13, 0.006, 0.012)),
        lathe("Bowl", STEEL, [(0.0, 0.0), (0.02, 0.004), (0.022, 0.012), (0.0, 0.012)], 16, (0.04, 0.0, 0.0)),
    ]


def serving_tray() -> list[Part]:
    return [
        box_from_bottom("Base", DARK_WOOD, 0, 0, 0, (0.45, 0.01, 0.32)),
        box_from_bottom("RimN", DARK_WOOD, 0, 0.01, -0.155, (0.45, 0.03, 0.01)),
        box_from_bottom("RimS", DARK_WOOD, 0, 0.01, 0.155, (0.45, 0.03, 0.01)),
        box_from_bottom("RimW", DARK_WOOD, -0.22, 0.01, 0, (0.01, 0.03, 0.3)),
        box_from_bottom("RimE", DARK_WOOD, 0.22, 0.01, 0, (0.01, 0.03, 0.3)),
    ]


def drinking_glass() -> list[Part]:
    pieces = lathe_wall_pieces("Collide", GLASS, [(0.006, 0.0323, 0.029), (0.12, 0.037, 0.034)], (0.006, 0.032))
    return [
        lathe(
            "Body", GLASS, [(0.0, 0.0), (0.032, 0.0), (0.037, 0.12), (0.034, 0.12), (0.029, 0.006), (0.0, 0.006)], 20
        ),
        *pieces,
    ]


def armchair() -> list[Part]:
    return [
        box_from_bottom("Base", FABRIC, 0, 0.1, 0.04, (0.62, 0.3, 0.74)),
        box_from_bottom("Back", FABRIC, 0, 0.1, -0.35, (0.62, 0.72, 0.16)),
        box_from_bottom("ArmL", FABRIC, -0.38, 0.1, 0, (0.16, 0.5, 0.86)),
        box_from_bottom("ArmR", FABRIC, 0.38, 0.1, 0, (0.16, 0.5, 0.86)),
        box_from_bottom("Cushion", FABRIC, 0, 0.4, 0.06, (0.6, 0.12, 0.62)),
        *_legs(DARK_WOOD, 0.38, 0.36, 0.1, 0.05),
    ]


def television() -> list[Part]:
    return [
        box_from_bottom("Foot", BLACK, 0, 0, 0, (0.4, 0.02, 0.22)),
        box_from_bottom("Neck", BLACK, 0, 0.02, -0.02, (0.08, 0.08, 0.04)),
        box_from_bottom("Panel", BLACK, 0, 0.08, 0.0, (1.1, 0.64, 0.05)),
    ]


def tv_stand() -> list[Part]:
    return [
        box_from_bottom("Body", DARK_WOOD, 0, 0.06, 0, (1.4, 0.4, 0.42)),
        box_from_bottom("Top", DARK_WOOD, 0, 0.46, 0, (1.44, 0.03, 0.44)),
        *_legs(BLACK, 0.66, 0.18, 0.06, 0.04),
    ]


def wicker_basket() -> list[Part]:
    profile = [(0.0, 0.0), (0.16, 0.0), (0.2, 0.3), (0.19, 0.3), (0.152, 0.01), (0.0, 0.01)]
    pieces = lathe_wall_pieces("Collide", CARDBOARD, [(0.01, 0.1613, 0.152), (0.3, 0.2, 0.19)], (0.01, 0.16))
    return [lathe("Body", CARDBOARD, profile, 20), *pieces]


def bucket() -> list[Part]:
    profile = [(0.0, 0.0), (0.11, 0.0), (0.14, 0.28), (0.133, 0.28), (0.104, 0.008), (0.0, 0.008)]
    pieces = lathe_wall_pieces("Collide", GREY, [(0.008, 0.1108, 0.104), (0.28, 0.14, 0.133)], (0.008, 0.11))
    return [lathe("Body", GREY, profile, 24), arc_handle("Bail", STEEL, (0.0, 0.28, 0.0), 0.13, 0.006, 10), *pieces]


def toolbox() -> list[Part]:
    w, h, d, t = 0.45, 0.2, 0.22, 0.01
    parts = [
        box_from_bottom("Bottom", RED, 0, 0, 0, (w, t, d)),
        box_from_bottom("SideL", RED, -w / 2 + t / 2, t, 0, (t, h - t, d)),
        box_from_bottom("SideR", RED, w / 2 - t / 2, t, 0, (t, h - t, d)),
        box_from_bottom("Front", RED, 0, t, d / 2 - t / 2, (w - 2 * t, h - t, t)),
        box_from_bottom("Back", RED, 0, t, -d / 2 + t / 2, (w - 2 * t, h - t, t)),
    ]
    parts += grouped(
        "lid",
        box_from_bottom("Lid", RED, 0, h, 0, (w + 0.01, 0.03, d + 0.01)),
        box_from_bottom("Handle", BLACK, 0, h + 0.03, 0, (0.2, 0.03, 0.03)),
    )
    return parts


def wrench() -> list[Part]:
    return [
        box_from_bottom("Shaft", STEEL, 0, 0, 0, (0.18, 0.008, 0.02)),
        box_from_bottom("JawA", STEEL, 0.1, 0, -0.012, (0.03, 0.008, 0.012)),
        box_from_bottom("JawB", STEEL, 0.1, 0, 0.012, (0.03, 0.008, 0.012)),
        box_from_bottom("Ring", STEEL, -0.1, 0, 0, (0.035, 0.008, 0.035)),
    ]


def vase() -> list[Part]:
    profile = [
        (0.0, 0.0),
        (0.05, 0.0),
        (0.07, 0.1),
        (0.05, 0.2),
        (0.035, 0.26),
        (0.045, 0.3),
        (0.04, 0.3),
        (0.03, 0.26),
        (0.044, 0.2),
        (0.064, 0.1),
        (0.045, 0.01),
        (0.0, 0.01),
    ]
    return [lathe("Body", CERAMIC, profile, 24)]


def computer_mouse() -> list[Part]:
    return [
        box_from_bottom("Body", GREY, 0, 0, 0, (0.06, 0.025, 0.1)),
        box_from_bottom("Buttons", BLACK, 0, 0.025, -0.025, (0.056, 0.008, 0.045)),
    ]


def phone() -> list[Part]:
    return [
        box_from_bottom("Body", BLACK, 0, 0, 0, (0.075, 0.008, 0.155)),
        box_from_bottom("Screen", GREY, 0, 0.008, 0, (0.068, 0.001, 0.145)),
    ]


def workbench() -> list[Part]:
    return [
        box_from_bottom("Top", WOOD, 0, 0.86, 0, (1.8, 0.05, 0.75)),
        box_from_bottom("Shelf", WOOD, 0, 0.15, 0, (1.7, 0.03, 0.65)),
        *_legs(STEEL, 0.85, 0.33, 0.86, 0.06),
    ]


def washing_machine() -> list[Part]:
    door = _door_disc()
    door.group = "door_0"
    return [
        box_from_bottom("Body", WHITE, 0, 0, -0.01, (0.6, 0.85, 0.58)),
        door,
        box_from_bottom("Panel", GREY, 0, 0.75, 0.285, (0.6, 0.1, 0.02)),
    ]


def _door_disc() -> Part:
    """A porthole door: a disc facing +z on the machine's front."""
    disc = cylinder("Door", GLASS, (0.0, 0.0, 0.0), 0.17, 0.03, 24)
    turned = Part("Door", GLASS, counts=disc.counts, indices=disc.indices, group="door_0")
    for x, y, z in disc.points:  # a quarter turn about x stands the disc up, axis along +z
        turned.add_point(x, 0.4 - z, 0.28 + y)
    return turned


def toilet() -> list[Part]:
    return [
        lathe("Bowl", WHITE, [(0.0, 0.0), (0.13, 0.0), (0.19, 0.4), (0.0, 0.4)], 20, (0, 0, 0.08)),
        box_from_bottom("Tank", WHITE, 0, 0.35, -0.2, (0.4, 0.4, 0.18)),
        box_from_bottom("Seat", WHITE, 0, 0.4, 0.08, (0.38, 0.03, 0.42)),
    ]


def bathtub() -> list[Part]:
    return [
        box_from_bottom("Floor", WHITE, 0, 0, 0, (1.7, 0.1, 0.75)),
        box_from_bottom("SideN", WHITE, 0, 0.1, -0.345, (1.7, 0.45, 0.06)),
        box_from_bottom("SideS", WHITE, 0, 0.1, 0.345, (1.7, 0.45, 0.06)),
        box_from_bottom("EndW", WHITE, -0.82, 0.1, 0, (0.06, 0.45, 0.63)),
        box_from_bottom("EndE", WHITE, 0.82, 0.1, 0, (0.06, 0.45, 0.63)),
    ]


def barrel() -> list[Part]:
    profile = [(0.0, 0.0), (0.27, 0.0), (0.3, 0.45), (0.27, 0.88), (0.0, 0.88)]
    return [lathe("Body", RED, profile, 24)]


def safety_cone() -> list[Part]:
    return [
        box_from_bottom("Base", BLACK, 0, 0, 0, (0.36, 0.03, 0.36)),
        cylinder("Cone", RED, (0, 0.03, 0), 0.15, 0.67, 20, top_radius=0.025),
    ]


def apple() -> list[Part]:
    # a sphere with its bottom flattened (a real apple sits on its base, it does not roll away)
    profile = [
        (0.0, 0.0),
        (0.016, 0.0),
        (0.028, 0.008),
        (0.037, 0.022),
        (0.04, 0.04),
        (0.037, 0.058),
        (0.028, 0.072),
        (0.015, 0.079),
        (0.0, 0.08),
    ]
    return [lathe("Fruit", RED, profile, 14), cylinder("Stem", DARK_WOOD, (0, 0.078, 0), 0.004, 0.015, 6)]


def tv_remote() -> list[Part]:
    return [box_from_bottom("Body", BLACK, 0, 0, 0, (0.05, 0.02, 0.18))]


def alarm_clock() -> list[Part]:
    return [
        box_from_bottom("Body", WHITE, 0, 0, 0, (0.14, 0.08, 0.07)),
        box_from_bottom("Face", BLACK, 0, 0.01, 0.035, (0.11, 0.06, 0.004)),
    ]


RECIPES: tuple[Recipe, ...] = (
    Recipe(
        "table_dining_01",
        "table",
        ("table", "dining_table", "kitchen_table"),
        "wooden dining table with four legs",
        "wood",
        ("static",),
        dining_table,
    ),
    Recipe(
        "table_coffee_01",
        "coffee_table",
        ("coffee_table", "table", "side_table", "low_table"),
        "low wooden coffee table with a lower shelf",
        "wood",
        ("static",),
        coffee_table,
    ),
    Recipe(
        "chair_dining_01",
        "chair",
        ("chair", "dining_chair", "seat"),
        "wooden dining chair with a slatted back",
        "wood",
        ("static",),
        dining_chair,
    ),
    Recipe(
        "chair_office_01",
        "chair",
        ("chair", "office_chair", "swivel_chair", "seat"),
        "upholstered swivel office chair on a five-spoke base",
        "fabric",
        ("static",),
        office_chair,
    ),
    Recipe(
        "stool_bar_01",
        "stool",
        ("stool", "bar_stool", "seat"),
        "round bar stool on a steel pole",
        "metal",
        ("static",),
        bar_stool,
    ),
    Recipe(
        "counter_kitchen_01",
        "counter",
        ("counter", "countertop", "kitchen_counter", "island", "worktop"),
        "kitchen base counter with a stone worktop",
        "wood",
        ("static",),
        kitchen_counter,
    ),
    Recipe(
        "cabinet_tall_01",
        "cabinet",
        ("cabinet", "cupboard", "pantry", "wardrobe", "closet"),
        "tall two-door storage cabinet",
        "wood",
        ("articulated_furniture",),
        tall_cabinet,
    ),
    Recipe(
        "cabinet_drawers_01",
        "cabinet",
        ("cabinet", "drawer", "dresser", "chest_of_drawers"),
        "three-drawer storage cabinet",
        "wood",
        ("articulated_furniture",),
        drawer_cabinet,
    ),
    Recipe(
        "fridge_01",
        "refrigerator",
        ("refrigerator", "fridge", "freezer", "appliance"),
        "two-door refrigerator with a top freezer",
        "metal",
        ("articulated_appliance",),
        refrigerator,
    ),
    Recipe(
        "oven_01",
        "oven",
        ("oven", "stove", "range", "cooker", "appliance"),
        "freestanding oven with a four-burner cooktop",
        "metal",
        ("articulated_appliance",),
        oven,
    ),
    Recipe(
        "microwave_01",
        "microwave",
        ("microwave", "microwave_oven", "appliance"),
        "countertop microwave oven with a side-hinged door",
        "metal",
        ("articulated_appliance",),
        microwave,
    ),
    Recipe(
        "dishwasher_01",
        "dishwasher",
        ("dishwasher", "appliance"),
        "built-in dishwasher with a drop-down door",
        "metal",
        ("articulated_appliance",),
        dishwasher,
    ),
    Recipe(
        "sink_kitchen_01",
        "sink",
        ("sink", "basin", "kitchen_sink", "faucet"),
        "kitchen sink cabinet with a steel basin and faucet",
        "metal",
        ("static",),
        kitchen_sink,
    ),
    Recipe(
        "shelf_book_01",
        "shelf",
        ("shelf", "bookshelf", "bookcase", "rack", "shelving"),
        "five-level wooden bookshelf",
        "wood",
        ("static",),
        bookshelf,
    ),
    Recipe(
        "sofa_01",
        "sofa",
        ("sofa", "couch", "settee"),
        "three-seat fabric sofa with armrests",
        "fabric",
        ("static",),
        sofa,
    ),
    Recipe(
        "bed_double_01",
        "bed",
        ("bed", "double_bed", "mattress"),
        "double bed with headboard, mattress and pillows",
        "wood",
        ("static",),
        double_bed,
    ),
    Recipe(
        "nightstand_01",
        "nightstand",
        ("nightstand", "bedside_table", "night_table"),
        "bedside nightstand with one drawer",
        "wood",
        ("articulated_furniture",),
        nightstand,
    ),
    Recipe(
        "desk_office_01",
        "desk",
        ("desk", "office_desk", "writing_desk"),
        "office desk with a drawer unit",
        "wood",
        ("static",),
        office_desk,
    ),
    Recipe(
        "lamp_floor_01",
        "lamp",
        ("lamp", "floor_lamp", "light"),
        "floor lamp with a fabric shade",
        "metal",
        ("static",),
        floor_lamp,
    ),
    Recipe(
        "lamp_desk_01",
        "lamp",
        ("lamp", "desk_lamp", "light"),
        "small desk lamp with a metal shade",
        "metal",
        ("manipulable_object",),
        desk_lamp,
    ),
    Recipe(
        "mug_01",
        "mug",
        ("mug", "cup", "coffee_mug"),
        "ceramic coffee mug with a handle",
        "ceramic",
        ("manipulable_object",),
        mug,
    ),
    Recipe(
        "mug_02",
        "mug",
        ("mug", "cup", "tea_mug"),
        "tall ceramic tea mug with a handle",
        "ceramic",
        ("manipulable_object",),
        tall_mug,
    ),
    Recipe("bowl_01", "bowl", ("bowl", "dish", "salad_bowl"), "ceramic bowl", "ceramic", ("manipulable_object",), bowl),
    Recipe(
        "plate_01",
        "plate",
        ("plate", "dish", "dinner_plate"),
        "round dinner plate",
        "ceramic",
        ("manipulable_object",),
        plate,
    ),
    Recipe(
        "bottle_01",
        "bottle",
        ("bottle", "water_bottle", "flask"),
        "glass bottle with a screw cap",
        "glass",
        ("manipulable_object",),
        bottle,
    ),
    Recipe(
        "jar_01",
        "jar",
        ("jar", "container", "canister"),
        "glass storage jar with a metal lid",
        "glass",
        ("manipulable_object",),
        jar,
    ),
    Recipe(
        "book_01",
        "book",
        ("book", "hardcover", "magazine", "manual"),
        "hardcover book lying flat",
        "paper",
        ("manipulable_object",),
        book,
    ),
    Recipe(
        "box_cardboard_01",
        "box",
        ("box", "carton", "cardboard_box", "package", "crate"),
        "taped cardboard box",
        "cardboard",
        ("manipulable_object",),
        cardboard_box,
    ),
    Recipe(
        "monitor_01",
        "monitor",
        ("monitor", "screen", "display", "computer_monitor"),
        "flat computer monitor on a stand",
        "plastic",
        ("static",),
        monitor,
    ),
    Recipe(
        "keyboard_01",
        "keyboard",
        ("keyboard", "computer_keyboard"),
        "computer keyboard",
        "plastic",
        ("manipulable_object",),
        keyboard,
    ),
    Recipe(
        "laptop_01",
        "laptop",
        ("laptop", "notebook_computer", "computer"),
        "open laptop computer",
        "plastic",
        ("manipulable_object",),
        laptop,
    ),
    Recipe(
        "plant_potted_01",
        "plant",
        ("plant", "potted_plant", "houseplant", "pot"),
        "leafy plant in a terracotta pot",
        "terracotta",
        ("static",),
        potted_plant,
    ),
    Recipe(
        "bin_trash_01",
        "bin",
        ("bin", "trash_can", "wastebasket", "garbage_bin"),
        "round waste bin",
        "plastic",
        ("static",),
        trash_bin,
    ),
    Recipe(
        "pallet_wood_01",
        "pallet",
        ("pallet", "wooden_pallet", "skid"),
        "wooden shipping pallet",
        "wood",
        ("static",),
        pallet,
    ),
    Recipe(
        "cutting_board_01",
        "board",
        ("cutting_board", "chopping_board", "board"),
        "wooden cutting board",
        "wood",
        ("manipulable_object",),
        cutting_board,
    ),
    Recipe(
        "knife_chef_01",
        "knife",
        ("knife", "chef_knife", "paring_knife", "kitchen_knife"),
        "steel kitchen knife with a black handle",
        "metal",
        ("manipulable_object",),
        chef_knife,
    ),
    Recipe(
        "knife_block_01",
        "block",
        ("knife_block", "block"),
        "wooden knife block holding three knives",
        "wood",
        ("static",),
        knife_block,
    ),
    Recipe(
        "spoon_01",
        "utensil",
        ("utensil", "spoon", "cutlery", "fork", "ladle"),
        "steel spoon",
        "metal",
        ("manipulable_object",),
        spoon,
    ),
    Recipe(
        "tray_serving_01",
        "tray",
        ("tray", "serving_tray", "dish_rack", "spice_rack"),
        "wooden serving tray with a rim",
        "wood",
        ("manipulable_object",),
        serving_tray,
    ),
    Recipe(
        "glass_tumbler_01",
        "glass",
        ("glass", "tumbler", "drinking_glass"),
        "clear drinking glass",
        "glass",
        ("manipulable_object",),
        drinking_glass,
    ),
    Recipe(
        "armchair_01",
        "armchair",
        ("armchair", "lounge_chair", "chair", "seat"),
        "upholstered armchair",
        "fabric",
        ("static",),
        armchair,
    ),
    Recipe(
        "television_01",
        "television",
        ("television", "tv", "screen", "display"),
        "flat-panel television on a stand",
        "plastic",
        ("static",),
        television,
    ),
    Recipe(
        "tv_stand_01",
        "tv_stand",
        ("tv_stand", "media_console", "sideboard"),
        "low media console",
        "wood",
        ("static",),
        tv_stand,
    ),
    Recipe(
        "basket_01",
        "basket",
        ("basket", "laundry_basket", "hamper"),
        "woven round basket",
        "wicker",
        ("manipulable_object",),
        wicker_basket,
    ),
    Recipe(
        "bucket_01",
        "bucket",
        ("bucket", "pail"),
        "plastic bucket with a steel handle",
        "plastic",
        ("manipulable_object",),
        bucket,
    ),
    Recipe(
        "toolbox_01",
        "toolbox",
        ("toolbox", "tool_box", "tool_case"),
        "red metal toolbox",
        "metal",
        ("manipulable_object",),
        toolbox,
    ),
    Recipe(
        "wrench_01",
        "tool",
        ("tool", "wrench", "spanner", "screwdriver", "pliers"),
        "steel combination wrench",
        "metal",
        ("manipulable_object",),
        wrench,
    ),
    Recipe("vase_01", "vase", ("vase", "flower_vase"), "ceramic flower vase", "ceramic", ("manipulable_object",), vase),
    Recipe(
        "mouse_computer_01",
        "mouse",
        ("mouse", "computer_mouse", "trackball", "controller"),
        "computer mouse",
        "plastic",
        ("manipulable_object",),
        computer_mouse,
    ),
    Recipe(
        "phone_01",
        "phone",
        ("phone", "smartphone", "cellphone", "mobile_phone"),
        "smartphone",
        "plastic",
        ("manipulable_object",),
        phone,
    ),
    Recipe(
        "workbench_01",
        "workbench",
        ("workbench", "lab_bench", "bench"),
        "heavy wooden workbench on steel legs",
        "wood",
        ("static",),
        workbench,
    ),
    Recipe(
        "washing_machine_01",
        "washer",
        ("washer", "washing_machine", "dryer", "laundry_machine", "appliance"),
        "front-loading washing machine",
        "metal",
        ("articulated_appliance",),
        washing_machine,
    ),
    Recipe("toilet_01", "toilet", ("toilet", "wc"), "ceramic toilet with a cistern", "ceramic", ("static",), toilet),
    Recipe("bathtub_01", "bathtub", ("bathtub", "bath", "tub"), "built-in bathtub", "ceramic", ("static",), bathtub),
    Recipe("barrel_01", "barrel", ("barrel", "drum", "keg"), "steel drum barrel", "metal", ("static",), barrel),
    Recipe(
        "cone_safety_01",
        "safety_cone",
        ("safety_cone", "traffic_cone", "cone"),
        "orange traffic cone",
        "plastic",
        ("manipulable_object",),
        safety_cone,
    ),
    Recipe(
        "apple_01",
        "fruit",
        ("fruit", "apple", "orange", "banana"),
        "red apple",
        "organic",
        ("manipulable_object",),
        apple,
    ),
    Recipe(
        "remote_tv_01",
        "remote",
        ("remote", "remote_control", "tv_remote"),
        "television remote control",
        "plastic",
        ("manipulable_object",),
        tv_remote,
    ),
    Recipe(
        "clock_alarm_01",
        "alarm_clock",
        ("alarm_clock", "clock"),
        "bedside alarm clock",
        "plastic",
        ("manipulable_object",),
        alarm_clock,
    ),
)


#: asset id -> {moving group: joint} (recipe coordinates; centring shifts the anchors with the parts).
JOINTS: dict[str, dict[str, Joint]] = {
    "cabinet_tall_01": {
        "door_0": Joint("revolute", "Y", (-0.4, 0.9, 0.25), -110.0, 0.0),
        "door_1": Joint("revolute", "Y", (0.4, 0.9, 0.25), 0.0, 110.0),
    },
    "cabinet_drawers_01": {
        f"drawer_{i}": Joint("prismatic", "Z", (0.0, 0.16 + i * 0.29, 0.25), 0.0, 0.3) for i in range(3)
    },
    "nightstand_01": {"drawer_0": Joint("prismatic", "Z", (0.0, 0.38, 0.2), 0.0, 0.22)},
    "fridge_01": {
        "door_0": Joint("revolute", "Y", (0.45, 1.5, 0.39), 0.0, 110.0),
        "door_1": Joint("revolute", "Y", (0.45, 0.6, 0.39), 0.0, 110.0),
    },
    "oven_01": {"door_0": Joint("revolute", "X", (0.0, 0.1, 0.32), 0.0, 90.0)},
    "microwave_01": {"door_0": Joint("revolute", "Y", (-0.24, 0.15, 0.19), -110.0, 0.0)},
    "dishwasher_01": {"door_0": Joint("revolute", "X", (0.0, 0.08, 0.3), 0.0, 90.0)},
    "washing_machine_01": {"door_0": Joint("revolute", "Y", (-0.17, 0.4, 0.31), -110.0, 0.0)},
    "toolbox_01": {"lid": Joint("revolute", "X", (0.0, 0.2, -0.115), -80.0, 0.0)},
}


# -- physics authoring -----------------------------------------------------------------------------
# Every part is solid in its recipe's material unless listed here. A closed box standing for a
# hollow carcass (a cabinet body, a bed frame) is a ``shell`` of panels of the given thickness; a
# part made of several materials and air (an appliance body, upholstery, a filled bottle) has a
# ``bulk`` density: its typical mass over its closed volume. Simready reads these attributes
# instead of guessing from how much of its box a mesh fills.

PartPhysics = tuple[str, str, float]
"""(construction, material, value): ("solid", m, 0), ("shell", m, thickness m), ("bulk", "", kg/m³)."""


def _shell(material: str, thickness: float) -> PartPhysics:
    return ("shell", material, thickness)


def _bulk(density: float) -> PartPhysics:
    return ("bulk", "", density)


def _solid(material: str) -> PartPhysics:
    return ("solid", material, 0.0)


#: asset id -> {part name prefix: physics}; the longest matching prefix wins.
PART_PHYSICS: dict[str, dict[str, PartPhysics]] = {
    "chair_office_01": {
        "Column": _shell("steel", 0.003),
        "Spoke": _solid("plastic"),
        "Wheel": _solid("plastic"),
        "Spine": _solid("plastic"),
        "Seat": _bulk(120),
        "Back": _bulk(120),
    },
    "stool_bar_01": {"Base": _shell("steel", 0.003), "Pole": _shell("steel", 0.002), "Seat": _solid("wood")},
    "counter_kitchen_01": {
        "Body": _shell("mdf", 0.018),
        "Plinth": _shell("mdf", 0.018),
        "Handle": _shell("steel", 0.002),
        "Top": _solid("stone"),
    },
    "cabinet_tall_01": {"": _solid("mdf"), "Back": _solid("plywood"), "Handle": _shell("steel", 0.002)},
    "cabinet_drawers_01": {"": _solid("mdf"), "Pull": _shell("steel", 0.002)},
    "nightstand_01": {"": _solid("wood"), "Pull": _shell("steel", 0.002)},
    "fridge_01": {
        "": _bulk(400),
        "Fridge": _bulk(250),
        "Freezer": _bulk(250),
        "FreezerHandle": _shell("steel", 0.002),
        "FridgeHandle": _shell("steel", 0.002),
    },
    "oven_01": {
        "": _bulk(450),
        "Door": _bulk(650),
        "Handle": _shell("steel", 0.002),
        "Panel": _bulk(300),
        "Burner": _bulk(2000),
    },
    "microwave_01": {"": _bulk(700), "Door": _bulk(800), "Controls": _bulk(500), "Handle": _solid("plastic")},
    "dishwasher_01": {"": _bulk(500), "Plinth": _bulk(300), "Door": _bulk(400), "Handle": _solid("plastic")},
    "washing_machine_01": {"Body": _bulk(250), "Door": _bulk(1000), "Panel": _bulk(300)},
    "sink_kitchen_01": {
        "Cabinet": _shell("mdf", 0.018),
        "Top": _solid("stone"),
        "Basin": _shell("stainless_steel", 0.0012),
        "Faucet": _shell("steel", 0.002),
        "Spout": _shell("steel", 0.002),
    },
    "sofa_01": {"": _bulk(45), "Leg": _solid("wood")},
    "armchair_01": {"": _bulk(45), "Leg": _solid("wood")},
    "bed_double_01": {
        "Frame": _shell("softwood", 0.012),
        "Mattress": _bulk(50),
        "Headboard": _shell("softwood", 0.012),
        "Pillow": _bulk(30),
        "Leg": _solid("wood"),
    },
    "desk_office_01": {
        "Side": _solid("mdf"),
        "Modesty": _solid("mdf"),
        "DrawerUnit": _shell("mdf", 0.015),
        "Pull": _shell("steel", 0.002),
    },
    "lamp_floor_01": {
        "Base": _shell("steel", 0.004),
        "Pole": _shell("steel", 0.0015),
        "Shade": _shell("fabric", 0.002),
    },
    "lamp_desk_01": {"Base": _solid("steel"), "Arm": _shell("steel", 0.0015), "Shade": _shell("steel", 0.001)},
    "bottle_01": {"Body": _bulk(900), "Cap": _solid("plastic")},
    "jar_01": {"Body": _bulk(700), "Lid": _shell("steel", 0.001)},
    "box_cardboard_01": {"Box": _shell("cardboard", 0.004)},
    "keyboard_01": {"Base": _bulk(600)},
    "plant_potted_01": {"Pot": _bulk(700), "Foliage": _bulk(40)},
    "knife_chef_01": {"Handle": _solid("plastic")},
    "knife_block_01": {"Block": _bulk(500), "Handle": _solid("plastic")},
    "television_01": {"Panel": _bulk(250)},
    "tv_stand_01": {"Body": _shell("wood", 0.018), "Leg": _solid("steel")},
    "toolbox_01": {"": _shell("steel", 0.001), "Handle": _solid("plastic")},
    "workbench_01": {"Leg": _shell("steel", 0.003)},
    "toilet_01": {"Bowl": _shell("ceramic", 0.01), "Tank": _shell("ceramic", 0.008), "Seat": _bulk(300)},
    "bathtub_01": {"": _shell("ceramic", 0.006)},
    "barrel_01": {"Body": _shell("steel", 0.0012)},
    "cone_safety_01": {"Base": _bulk(500), "Cone": _shell("plastic", 0.003)},
    "clock_alarm_01": {"": _bulk(400)},
    "phone_01": {"": _solid("glass")},
}

#: Recipe materials as the density table spells them.
MATERIAL_NAMES = {"metal": "steel", "organic": "food"}


def part_physics(recipe: Recipe, part_name: str, group: str = "") -> PartPhysics:
    table = PART_PHYSICS.get(recipe.asset_id, {})
    if group and part_name.startswith(group + "_"):
        part_name = part_name[len(group) + 1 :]
    prefixes = sorted((p for p in table if part_name.startswith(p)), key=len, reverse=True)
    if prefixes:
        return table[prefixes[0]]
    return _solid(MATERIAL_NAMES.get(recipe.material, recipe.material))


# -- writing -----------------------------------------------------------------------------------


def asset_bounds(parts: list[Part]) -> tuple[tuple[float, float, float], tuple[float, float, float]]:
    """The bound of the visible parts (collision pieces are guides, inside the visual)."""
    lows, highs = zip(*(p.bounds() for p in parts if not p.collision_for), strict=True)
    x0, y0, z0 = (min(v[i] for v in lows) for i in range(3))
    x1, y1, z1 = (max(v[i] for v in highs) for i in range(3))
    return (x0, y0, z0), (x1, y1, z1)


def centring_shift(parts: list[Part]) -> tuple[float, float, float]:
    """The translation that stands the asset on y = 0 centred on x = z = 0 (the library convention)."""
    (x0, y0, z0), (x1, _, z1) = asset_bounds(parts)
    return -(x0 + x1) / 2.0, -y0, -(z0 + z1) / 2.0


def _centred(parts: list[Part]) -> list[Part]:
    dx, dy, dz = centring_shift(parts)
    y0 = -dy
    out = []
    for part in parts:
        moved = replace(part, points=[])
        for x, y, z in part.points:
            moved.add_point(x + dx, y - y0, z + dz)
        out.append(moved)
    return out


def usda_text(recipe: Recipe, parts: list[Part], shift: tuple[float, float, float] = (0.0, 0.0, 0.0)) -> str:
    from pxr import Gf, Sdf, Usd, UsdGeom, Vt

    stage = Usd.Stage.CreateInMemory(f"{recipe.asset_id}.usda")
    UsdGeom.SetStageUpAxis(stage, UsdGeom.Tokens.y)
    UsdGeom.SetStageMetersPerUnit(stage, 1.0)
    root = UsdGeom.Xform.Define(stage, f"/{recipe.asset_id}")
    stage.SetDefaultPrim(root.GetPrim())
    Usd.ModelAPI(root.GetPrim()).SetKind("component")
    Usd.ModelAPI(root.GetPrim()).SetAssetName(recipe.asset_id)
    root.GetPrim().SetCustomDataByKey("bpflow:license", LICENSE_ID)
    root.GetPrim().SetCustomDataByKey("bpflow:category", recipe.category)
    for group, joint in JOINTS.get(recipe.asset_id, {}).items():
        if not any(p.group == group for p in parts):
            continue
        if not stage.GetPrimAtPath(f"/{recipe.asset_id}/Articulation"):
            UsdGeom.Scope.Define(stage, f"/{recipe.asset_id}/Articulation")
        spec = UsdGeom.Scope.Define(stage, f"/{recipe.asset_id}/Articulation/{group}").GetPrim()
        anchor = tuple(round(a + d, 4) + 0.0 for a, d in zip(joint.anchor, shift, strict=True))
        spec.CreateAttribute("bp:joint", Sdf.ValueTypeNames.Token, custom=True).Set(joint.kind)
        spec.CreateAttribute("bp:axis", Sdf.ValueTypeNames.Token, custom=True).Set(joint.axis)
        spec.CreateAttribute("bp:anchor", Sdf.ValueTypeNames.Double3, custom=True).Set(Gf.Vec3d(*anchor))
        spec.CreateAttribute("bp:lower", Sdf.ValueTypeNames.Double, custom=True).Set(joint.lower)
        spec.CreateAttribute("bp:upper", Sdf.ValueTypeNames.Double, custom=True).Set(joint.upper)
    for part in parts:
        parent = f"/{recipe.asset_id}/Collision" if part.collision_for else f"/{recipe.asset_id}"
        if part.collision_for and not stage.GetPrimAtPath(parent):
            UsdGeom.Xform.Define(stage, parent)
        mesh = UsdGeom.Mesh.Define(stage, f"{parent}/{part.name}")
        mesh.CreatePointsAttr(Vt.Vec3fArray([Gf.Vec3f(*p) for p in part.points]))
        mesh.CreateFaceVertexCountsAttr(Vt.IntArray(part.counts))
        mesh.CreateFaceVertexIndicesAttr(Vt.IntArray(part.indices))
        mesh.CreateSubdivisionSchemeAttr(UsdGeom.Tokens.none)
        low, high = part.bounds()
        mesh.CreateExtentAttr(Vt.Vec3fArray([Gf.Vec3f(*low), Gf.Vec3f(*high)]))
        mesh.CreateDisplayColorAttr(Vt.Vec3fArray([Gf.Vec3f(*part.color)]))
        prim = mesh.GetPrim()
        if part.group:
            prim.CreateAttribute("bp:moving_part", Sdf.ValueTypeNames.Token, custom=True).Set(part.group)
        if part.collision_for:
            mesh.CreatePurposeAttr(UsdGeom.Tokens.guide)
            prim.CreateAttribute("bp:collision_for", Sdf.ValueTypeNames.String, custom=True).Set(part.collision_for)
            continue
        construction, material, value = part_physics(recipe, part.name, part.group)
        prim.CreateAttribute("bp:construction", Sdf.ValueTypeNames.Token, custom=True).Set(construction)
        if material:
            prim.CreateAttribute("bp:material", Sdf.ValueTypeNames.Token, custom=True).Set(material)
        if construction == "shell":
            prim.CreateAttribute("bp:shell_thickness", Sdf.ValueTypeNames.Float, custom=True).Set(value)
        elif construction == "bulk":
            prim.CreateAttribute("bp:bulk_density", Sdf.ValueTypeNames.Float, custom=True).Set(value)
    layer = stage.GetRootLayer()
    assert isinstance(layer, Sdf.Layer)
    return str(layer.ExportToString())


def metadata(recipe: Recipe, parts: list[Part]) -> dict[str, object]:
    (x0, y0, z0), (x1, y1, z1) = asset_bounds(parts)
    return {
        "asset_id": recipe.asset_id,
        "category": recipe.category,
        "tags": list(recipe.tags),
        "description": recipe.description,
        "sim_roles": list(recipe.sim_roles),
        "dimensions": {"width": round(x1 - x0, 4), "height": round(y1 - y0, 4), "depth": round(z1 - z0, 4)},
        "up_axis": "y",
        "meters_per_unit": 1,
        "origin": "bottom_center",
        "material": recipe.material,
        "license": LICENSE_ID,
        "author": AUTHOR,
        "file": f"{recipe.asset_id}.usda",
        "generator": "bpflow.domain.assets.build_library",
    }


LICENSE_NOTE = (
    "This asset was generated procedurally by bpflow.domain.assets.build_library.\n"
    f"Author: {AUTHOR}.\n"
    "License: CC0-1.0 (Creative Commons Zero v1.0 Universal): no rights reserved; you may copy,\n"
    "modify and distribute it, even commercially, without asking permission.\n"
    "https://creativecommons.org/publicdomain/zero/1.0/\n"
)


def build(out_dir: Path = DEFAULT_OUT) -> list[Path]:
    """Write every recipe to ``out_dir/<asset_id>/``; returns the written USD files."""
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "LICENSE").write_text(LICENSE_NOTE.replace("This asset was", "Every asset in this folder was"))
    written = []
    for recipe in RECIPES:
        raw = recipe.build()
        shift = centring_shift(raw)
        parts = _centred(raw)
        folder = out_dir / recipe.asset_id
        folder.mkdir(exist_ok=True)
        usd_path = folder / f"{recipe.asset_id}.usda"
        usd_path.write_text(usda_text(recipe, parts, shift))
        (folder / "metadata.json").write_text(json.dumps(metadata(recipe, parts), indent=2, sort_keys=True) + "\n")
        (folder / "LICENSE").write_text(LICENSE_NOTE)
        written.append(usd_path)
    return written


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    out = Path(args[0]) if args else DEFAULT_OUT
    for path in build(out):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
