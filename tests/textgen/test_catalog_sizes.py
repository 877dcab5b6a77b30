"""Catalog sizes of hand-held things match the real objects, so the arm meets what it would meet.

The Panda grips across at most ``GRIPPER_SPAN`` (7.6 cm of its 8 cm opening). A catalog that
makes a toothbrush tumbler 8 cm and a shampoo bottle 9 cm wide hands Genie Sim a bathroom with
nothing to hold (load12 of ``make bench-episodes`` ended in ``no_tasks``), while the real ones
are 6-7 cm. Widths are the narrowest horizontal size (what the fingers close across).
"""

from __future__ import annotations

import pytest

from bpflow.domain.sim.placement import GRIPPER_SPAN
from bpflow.domain.sim.tasks import MIN_HEIGHT
from bpflow.domain.textgen.room_catalog import MANIPULABLE, ROOM_CATALOGS, is_soft_body, spec_for

#: (name, category) → (narrowest width min, max; height min, max) in metres, from common retail
#: product dimensions: a ceramic toothbrush tumbler is 6-7.5 cm across and 10-12 cm tall, a
#: 250-500 ml shampoo/lotion bottle 4.5-7.5 cm across and 15-25 cm tall, a bar of soap
#: 5.5-7 cm wide and 2.5-3.5 cm thick, a drinking glass 6.5-8 cm, a 330 ml can 6.6 cm.
REAL_SIZES: dict[tuple[str, str], tuple[float, float, float, float]] = {
    ("toothbrush_holder", "toothbrush_holder"): (0.06, 0.075, 0.10, 0.12),
    ("shampoo", "bottle"): (0.045, 0.075, 0.15, 0.25),
    ("soap", "soap"): (0.055, 0.07, 0.025, 0.035),
    ("glass", "glass"): (0.065, 0.08, 0.09, 0.15),
    ("can", "can"): (0.06, 0.07, 0.10, 0.13),
}


@pytest.mark.parametrize(("name", "category"), sorted(REAL_SIZES))
def test_hand_held_sizes_are_the_real_objects(name: str, category: str) -> None:
    spec, source = spec_for(name, category, MANIPULABLE)
    lo_w, hi_w, lo_h, hi_h = REAL_SIZES[(name, category)]
    across = min(spec.width, spec.depth)
    assert source == "catalog"
    assert lo_w <= across <= hi_w, f"{name}: {across:.3f} m across, a real one is {lo_w}-{hi_w} m"
    assert lo_h <= spec.height <= hi_h, f"{name}: {spec.height:.3f} m tall, a real one is {lo_h}-{hi_h} m"


def test_bathroom_small_items_fit_the_panda_grip() -> None:
    """Every rigid item a bathroom lists (soap, tumbler, bottle) is one a hand holds: across its
    narrowest side within the gripper's span and tall enough for the finger pads."""
    rigid = [(n, c) for n, c, role in ROOM_CATALOGS["bathroom"] if role == MANIPULABLE and not is_soft_body(c)]
    assert len(rigid) >= 3
    for name, category in rigid:
        spec, _ = spec_for(name, category, MANIPULABLE)
        assert min(spec.width, spec.depth) <= GRIPPER_SPAN, f"{name} is {min(spec.width, spec.depth):.3f} m across"
        assert spec.height >= MIN_HEIGHT, f"{name} is {spec.height:.3f} m tall"
