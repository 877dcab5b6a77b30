"""Height fields of support meshes: where a footprint really rests, and whether it stands."""

from __future__ import annotations

import math

import numpy as np
import trimesh
from hypothesis import given, settings
from hypothesis import strategies as st

from bpflow.domain.scene.surfaces import HeightField


def boxes(*specs: tuple[tuple[float, float, float], tuple[float, float, float]]) -> np.ndarray:
    """Triangles of axis-aligned boxes given as (centre, size)."""
    parts = []
    for centre, size in specs:
        box = trimesh.creation.box(extents=size)
        box.apply_translation(centre)
        parts.append(box.triangles)
    return np.vstack(parts)


def oven() -> HeightField:
    # a 0.76 x 0.9 x 0.62 body (top at y = 0.9) with a 10 cm back panel at the rear 8 cm
    return HeightField(boxes(((0, 0.45, 0), (0.76, 0.9, 0.62)), ((0, 0.95, -0.27), (0.76, 0.1, 0.08))))


def test_cooktop_not_back_panel() -> None:
    rest = oven().rest(0.0, 0.1, 0.09, 0.09, 0.0)
    assert math.isclose(rest.height, 0.9) and rest.spread < 1e-9 and rest.covered and rest.stable


def test_footprint_over_the_panel_edge_is_not_a_stable_seat() -> None:
    rest = oven().rest(0.0, -0.2, 0.09, 0.09, 0.0)  # half on the cooktop, half on the panel
    assert math.isclose(rest.height, 1.0) and rest.spread > 0.09 and not rest.stable


def test_overhang_is_not_covered() -> None:
    rest = oven().rest(0.35, 0.1, 0.09, 0.09, 0.0)
    assert not rest.covered


def test_mattress_below_headboard() -> None:
    bed = HeightField(boxes(((0, 0.2, 0), (1.6, 0.4, 2.0)), ((0, 0.5, -1.0), (1.6, 1.0, 0.06))))
    assert math.isclose(bed.rest(0.3, 0.2, 0.3, 0.2, 0.4).height, 0.4)


@settings(max_examples=25, deadline=None)
@given(x=st.floats(-0.3, 0.3), z=st.floats(-0.2, 0.2), yaw=st.floats(-math.pi, math.pi), top=st.floats(0.1, 1.5))
def test_flat_top_anywhere_inside_rests_at_its_height(x: float, z: float, yaw: float, top: float) -> None:
    field = HeightField(boxes(((0, top / 2, 0), (1.0, top, 0.8))))
    rest = field.rest(x, z, 0.05, 0.05, yaw)
    assert math.isclose(rest.height, top, abs_tol=1e-6) and rest.covered and rest.stable
