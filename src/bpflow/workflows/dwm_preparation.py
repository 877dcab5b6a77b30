"""dwm-preparation-pipeline — experimental, off unless ENABLE_DWM (or ENABLE_EXPERIMENTAL) is
"true". Trigger: ``scenes/*/assets/.regen3d_complete``.

Hand-object interaction bundles (camera trajectory + wrist path to a target object, rendered in
the simulation core at 720x480, 49 frames, 24 fps) under ``dwm/``, then world-model inference on
them; the sequence and its failure rules are ``blocks.preparation`` (the enable flag is checked
before the lock, unlike the reference's DWM, so a disabled path does no I/O at all).
"""

from __future__ import annotations

from bpflow.blocks.preparation import Prep, run_preparation
from bpflow.core.engine.registry import Outcome, Run, workflow

PREP = Prep(
    kind="dwm", title="DWM", enable_env="ENABLE_DWM", prefix_env="DWM_PREFIX", count_env="NUM_TRAJECTORIES", robot=False
)


@workflow("dwm-preparation-pipeline")
def dwm_preparation(run: Run) -> Outcome:
    return run_preparation(run, PREP)
