"""Operator views over the pipeline: the stage DAG, each scene's stage table, runs, logs, reruns.

Everything here reads what the pipeline already records (markers in the bucket, runs in the
engine's database), so the CLI, the dashboard, the API and the demo show the same truth.
"""

from bpflow.ops.dag import TEXT_DAG, Dag, Stage, load_dag
from bpflow.ops.scene_status import SceneNotFound, SceneStatus, StageStatus, scene_status, scene_summaries

__all__ = [
    "TEXT_DAG",
    "Dag",
    "SceneNotFound",
    "SceneStatus",
    "Stage",
    "StageStatus",
    "load_dag",
    "scene_status",
    "scene_summaries",
]
