"""Which objects have moving parts, and how those parts move.

Rules by category (after ``density.canonical_category``):

* refrigerators, freezers, wardrobes, cabinets: doors on vertical hinges at the front edges,
  opening outwards up to 110° (a cabinet whose name or description mentions drawers gets
  drawers instead; a cabinet or wardrobe wider than 0.6 m gets two doors);
* ovens, stoves and dishwashers: one door hinged at the bottom front edge, opening 90°;
* microwaves: one door hinged on the left front edge, 110°;
* drawer units, dressers and nightstands: drawers (about one per 0.3 m of height) that slide
  out along the front axis by up to 60% of the depth.

Parts are expressed in the object's own centred frame (see ``placement``: x = width, the up
axis = height, the front side per ``Axes.front``) so the same rule works for y-up and z-up scenes. The sign of a
revolute limit is chosen so that positive motion swings the door *out of* the front face.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from bpflow.stage2.density import canonical_category
from bpflow.stage2.placement import Axes, Vec3

DOOR_LIMIT_DEG = 110.0
FLAP_LIMIT_DEG = 90.0
DRAWER_TRAVEL = 0.6
DOOR_MASS_FRACTION = 0.15
DRAWER_MASS_FRACTION = 0.06

SIDE_HINGED = frozenset({"refrigerator", "fridge", "freezer", "wardrobe", "cabinet"})
BOTTOM_HINGED = frozenset({"oven", "stove", "dishwasher"})
LEFT_HINGED = frozenset({"microwave"})
DRAWER_UNITS = frozenset({"drawer", "dresser", "nightstand"})
ARTICULATED_CATEGORIES = SIDE_HINGED | BOTTOM_HINGED | LEFT_HINGED | DRAWER_UNITS

_DRAWER_WORD = re.compile(r"drawer", re.IGNORECASE)


@dataclass(frozen=True)
class PartSpec:
    name: str
    joint: str
    """``revolute`` or ``prismatic``."""
    axis: str
    """The joint axis as a USD token ("X", "Y" or "Z") in the object's frame."""
    lower: float
    upper: float
    """Degrees for revolute joints, metres for prismatic ones."""
    center: Vec3
    size: Vec3
    pivot: Vec3
    """The joint anchor in the object's frame (a hinge line point, or the drawer's centre)."""
    mass_fraction: float


def _vec(axes: Axes, width: float, up: float, depth: float) -> Vec3:
    """An offset (right, up, towards the front) in the object's frame."""
    return axes.to_scene(width, up, depth)


def _size(axes: Axes, width: float, up: float, depth: float) -> Vec3:
    return axes.size(width, up, depth)


def _letter(index: int) -> str:
    return "XYZ"[index]


def _unit(index: int) -> np.ndarray:
    v = np.zeros(3)
    v[index] = 1.0
    return v


def _swing_limits(axis_index: int, extend: Vec3, front: np.ndarray, limit: float) -> tuple[float, float]:
    """Limits so that positive rotation about +axis moves the door's free edge toward the front."""
    toward = np.cross(_unit(axis_index), np.asarray(extend))
    return (0.0, limit) if float(toward @ front) > 0 else (-limit, 0.0)


def _side_doors(axes: Axes, w: float, h: float, d: float, count: int, limit: float) -> list[PartSpec]:
    t = min(0.04, 0.1 * d)
    front = np.asarray(axes.to_scene(0.0, 0.0, 1.0))
    parts = []
    door_w = w / count
    for i in range(count):
        left_edge = -w / 2 + i * door_w
        hinge_on_right = count == 1 or i == count - 1
        hinge_x = left_edge + door_w if hinge_on_right else left_edge
        center_x = left_edge + door_w / 2
        extend = _vec(axes, center_x - hinge_x, 0.0, 0.0)
        lower, upper = _swing_limits(axes.up, extend, front, limit)
        parts.append(
            PartSpec(
                name="door" if count == 1 else f"door_{i}",
                joint="revolute",
                axis=_letter(axes.up),
                lower=lower,
                upper=upper,
                center=_vec(axes, center_x, 0.0, d / 2 - t / 2),
                size=_size(axes, door_w, h, t),
                pivot=_vec(axes, hinge_x, 0.0, d / 2),
                mass_fraction=DOOR_MASS_FRACTION / count,
            )
        )
    return parts


def _left_door(axes: Axes, w: float, h: float, d: float) -> list[PartSpec]:
    t = min(0.03, 0.1 * d)
    front = np.asarray(axes.to_scene(0.0, 0.0, 1.0))
    door_w = 0.75 * w  # the control panel takes the right quarter
    hinge_x = -w / 2
    center_x = hinge_x + door_w / 2
    lower, upper = _swing_limits(axes.up, _vec(axes, door_w / 2, 0.0, 0.0), front, DOOR_LIMIT_DEG)
    return [
        PartSpec("door", "revolute", _letter(axes.up), lower, upper, _vec(axes, center_x, 0.0, d / 2 - t / 2), _size(axes, door_w, h, t), _vec(axes, hinge_x, 0.0, d / 2), DOOR_MASS_FRACTION)
    ]


def _flap(axes: Axes, w: float, h: float, d: float) -> list[PartSpec]:
    t = min(0.05, 0.1 * d)
    front = np.asarray(axes.to_scene(0.0, 0.0, 1.0))
    door_h = 0.8 * h  # a kick plate / control strip stays fixed
    hinge_up = -h / 2 + 0.1 * h
    lower, upper = _swing_limits(axes.width, _vec(axes, 0.0, door_h / 2, 0.0), front, FLAP_LIMIT_DEG)
    return [
        PartSpec("door", "revolute", _letter(axes.width), lower, upper, _vec(axes, 0.0, hinge_up + door_h / 2, d / 2 - t / 2), _size(axes, w, door_h, t), _vec(axes, 0.0, hinge_up, d / 2), DOOR_MASS_FRACTION)
    ]


def _drawers(axes: Axes, w: float, h: float, d: float) -> list[PartSpec]:
    count = int(min(4, max(1, round(h / 0.3))))
    slot = h / count
    body_d = 0.8 * d
    parts = []
    for i in range(count):
        up = -h / 2 + (i + 0.5) * slot
        center = _vec(axes, 0.0, up, d / 2 - body_d / 2)
        parts.append(
            PartSpec(
                name=f"drawer_{i}",
                joint="prismatic",
                axis=_letter(axes.depth),
                lower=0.0 if axes.front > 0 else -round(DRAWER_TRAVEL * body_d, 6),
                upper=round(DRAWER_TRAVEL * body_d, 6) if axes.front > 0 else 0.0,
                center=center,
                size=_size(axes, 0.9 * w, 0.8 * slot, body_d),
                pivot=center,
                mass_fraction=DRAWER_MASS_FRACTION,
            )
        )
    return parts


def articulates(category: str) -> bool:
    return canonical_category(category) in ARTICULATED_CATEGORIES


def plan_parts(category: str, name: str, description: str, size: Vec3, axes: Axes) -> list[PartSpec]:
    """The moving parts of an object of ``size`` (scene axes); empty when it has none."""
    cat = canonical_category(category)
    w, h, d = size[axes.width], size[axes.up], size[axes.depth]
    mentions_drawers = bool(_DRAWER_WORD.search(f"{name} {description}"))
    if cat in DRAWER_UNITS or (cat == "cabinet" and mentions_drawers):
        return _drawers(axes, w, h, d)
    if cat in SIDE_HINGED:
        doors = 2 if cat in ("cabinet", "wardrobe") and w > 0.6 else 1
        return _side_doors(axes, w, h, d, doors, DOOR_LIMIT_DEG)
    if cat in BOTTOM_HINGED:
        return _flap(axes, w, h, d)
    if cat in LEFT_HINGED:
        return _left_door(axes, w, h, d)
    return []
