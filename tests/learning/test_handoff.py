"""Stage 4 → training: with ``TRIGGER_TRAINING`` the episode-generation-pipeline hands its fresh
dataset to training-pipeline with the ``blueprintpipeline.episodes.imported`` event (as the Genie
Sim import does); off by default, nothing is emitted. The training here is made to fail fast
(an unsupported TRAINING_MODE) to see the hand-off without paying for a training run."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from dbos import DBOS

from bpflow.core.ids import event_run_id
from bpflow.ops.dag import load_dag
from tests.learning.helpers import record_episodes
from tests.stage2.helpers import finished, settle

EVENT = "blueprintpipeline.episodes.imported"


def _training_runs() -> list[str]:
    return [w.workflow_id for w in DBOS.list_workflows() if w.workflow_id.startswith(f"training-pipeline:{EVENT}:")]


def test_episodes_are_handed_to_training_when_asked(make_runtime: Callable[..., Any], tmp_path: Path) -> None:
    rt = make_runtime(
        EPISODES_PER_VARIATION="1",
        BPFLOW_SIM_WORKERS="1",
        EPISODE_IMAGE_SIZE="32",
        TRIGGER_TRAINING="true",
        TRAINING_MODE="bogus",
    )
    b = rt.bucket
    record_episodes(b, tmp_path, "hand")
    generation = b.stat("scenes/hand/episodes/.episodes_complete").generation
    job_id = f"episodes-hand-{generation}"
    st = finished(event_run_id("training-pipeline", EVENT, job_id), timeout=300)
    assert st.status == "ERROR" and f"Training failed for job {job_id}" in str(st.error)
    body = b.read_json(
        "scenes/hand/episodes/lerobot/.failed"
    )  # {output_path}/.failed: the dataset's, not the episodes stage's
    assert (
        body["error"]["code"] == "training_failed"
        and body["context"]["config_context"]["job_error"]["code"] == "training_mode_unsupported"
    )
    assert not b.exists("scenes/hand/episodes/.failed") and b.exists("scenes/hand/episodes/.episodes_complete")
    assert [s.name for s in load_dag({"TRIGGER_TRAINING": "true"}).stages][-2:] == ["training", "policy-evaluation"]
    settle()


def test_no_handoff_by_default(make_runtime: Callable[..., Any], tmp_path: Path) -> None:
    rt = make_runtime(EPISODES_PER_VARIATION="1", BPFLOW_SIM_WORKERS="1", EPISODE_IMAGE_SIZE="32")
    record_episodes(rt.bucket, tmp_path, "nohand")
    settle()
    assert _training_runs() == []
    assert "training" not in [s.name for s in load_dag({}).stages]
