"""dream2flow-preparation-pipeline — experimental, off unless ENABLE_DREAM2FLOW (or
ENABLE_EXPERIMENTAL) is "true". Trigger: ``scenes/*/assets/.regen3d_complete``.

Task bundles (camera trajectory + Franka Panda motion, rendered in the simulation core at
720x480, 49 frames, 24 fps) under ``dream2flow/``, then video-model inference on them; the
sequence and its failure rules are ``blocks.preparation``.
"""

from __future__ import annotations

from bpflow.blocks.preparation import Prep, run_preparation
from bpflow.core.engine.registry import Outcome, Run, workflow

PREP = Prep(
    kind="dream2flow",
    title="Dream2Flow",
    enable_env="ENABLE_DREAM2FLOW",
    prefix_env="DREAM2FLOW_PREFIX",
    count_env="NUM_TASKS",
    robot=True,
)


@workflow("dream2flow-preparation-pipeline")
def dream2flow_preparation(run: Run) -> Outcome:
    return run_preparation(run, PREP)
