"""The one oriented-box module: the planner's upright test and the general separating-axis test
give the same verdict on the same two boxes, so the text planner's layout check and Stage 2's
world-box check cannot disagree about whether they interpenetrate."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bpflow.domain.scene.obb import Footprint, UprightBox, penetration, upright_penetration

_pos = st.floats(-2.0, 2.0, allow_nan=False)
_half = st.floats(0.01, 1.5, allow_nan=False)
_yaw = st.floats(-math.pi, math.pi, allow_nan=False)
_base = st.floats(0.0, 2.0, allow_nan=False)
_height = st.floats(0.01, 2.0, allow_nan=False)


@st.composite
def upright_boxes(draw: st.DrawFn) -> UprightBox:
    y0 = draw(_base)
    return UprightBox(Footprint(draw(_pos), draw(_pos), draw(_half), draw(_half), draw(_yaw)), y0, y0 + draw(_height))


@settings(max_examples=300, deadline=None)
@given(upright_boxes(), upright_boxes())
def test_upright_and_general_tests_agree(a: UprightBox, b: UprightBox) -> None:
    shared = upright_penetration(a, b)
    push_apart = penetration(a.oriented(), b.oriented())
    tolerance = 2e-4  # the layout check's; every drawn box is thicker than twice it
    assert (shared > tolerance) == (push_apart > tolerance)
    if shared > 1e-9:  # sharing is never more than what it takes to push the boxes apart
        assert push_apart >= shared - 1e-9


def test_oriented_box_keeps_the_upright_frame() -> None:
    """Local +x (width) of a yaw θ lies along world (cos θ, 0, -sin θ); the base stays the base."""
    box = UprightBox(Footprint(1.0, 2.0, 0.5, 0.25, math.pi / 2), 0.5, 1.5).oriented()
    assert box.center.tolist() == pytest.approx([1.0, 1.0, 2.0])
    assert box.axes[0].tolist() == pytest.approx([0.0, 0.0, -1.0], abs=1e-12)
    assert box.half.tolist() == pytest.approx([0.5, 0.5, 0.25])
    lows = box.corners().min(axis=0)
    assert lows.tolist() == pytest.approx([0.75, 0.5, 1.5])
