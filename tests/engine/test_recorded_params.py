"""Flags are read in a recorded step (``blocks.params.recorded_params``), never in a workflow
body: the env is the worker's, and a replay on a worker with other env vars must take the branch
the first execution took. Three guards: no source calls ``.param(`` except that block; ``Run.param``
records a read in a body as a step of its own; a replayed canary run keeps its recorded flags."""

from __future__ import annotations

import ast
import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dbos import DBOS

from bpflow.core.engine import context
from bpflow.core.ids import manual_run_id
from bpflow.core.storage.local import LocalBucket
from tests.conftest import CHAIN_TRIGGERS, REPO
from tests.stage2.helpers import outcome

SRC = REPO / "src" / "bpflow"
ALLOWED = {SRC / "blocks" / "params.py"}  # the one place that calls Run.param, inside its step


def _param_calls(path: Path) -> list[int]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "param"
    ]


def test_no_module_reads_a_flag_outside_recorded_params() -> None:
    found = {
        str(path.relative_to(REPO)): lines
        for path in sorted(SRC.rglob("*.py"))
        if path not in ALLOWED and (lines := _param_calls(path))
    }
    assert found == {}, f"read these with blocks.params.recorded_params (one recorded step): {found}"
    assert _param_calls(SRC / "blocks" / "params.py")  # the scan does see a call where there is one


def test_a_flag_read_in_a_plugin_workflow_body_is_recorded_as_its_own_step(
    make_runtime: Callable[..., Any],
) -> None:
    rt = make_runtime(
        BPFLOW_TRIGGER_FILES=f"{CHAIN_TRIGGERS},{REPO / 'tests/fixtures/param_probe_triggers.yaml'}",
        BPFLOW_WORKFLOW_MODULES="tests.fixtures.chain,tests.fixtures.param_probe",
        PROBE_FLAG="set",
    )
    run_id = manual_run_id("test-param-in-body")
    rt.dispatcher.start_run("test-param-in-body", run_id, {})
    assert outcome(run_id)["value"] == "set"
    steps = [s for s in DBOS.list_workflow_steps(run_id) if s["function_name"] == "read parameter probe_flag"]
    assert len(steps) == 1 and steps[0]["output"] == "set"
    # re-executed after that step on a worker whose PROBE_FLAG differs: the recorded value holds
    installed = context.installed()
    context.install(dataclasses.replace(installed, env={**installed.env, "PROBE_FLAG": "changed"}))
    try:
        fork = DBOS.fork_workflow(run_id, steps[0]["function_id"] + 1).get_workflow_id()
        assert outcome(fork)["value"] == "set"
    finally:
        context.install(installed)


def test_a_replayed_canary_run_on_a_worker_with_other_env_keeps_its_recorded_flags(runtime: Any) -> None:
    """The first execution reads no ``CANARY_SCENE_IDS`` and skips the scene. Re-executed from the
    step after its flags (a DBOS fork replays every step before it) on a worker whose
    ``CANARY_SCENE_IDS`` allowlists the scene, it still skips it and starts no export."""
    scene, export = "pr-canary", "genie-sim-export-pipeline"
    key = f"scenes/{scene}/variation_assets/.variation_pipeline_complete"
    # a second handle: the runtime's own would start the export from this object
    info = LocalBucket(runtime.bucket.root).write_json(key, {"scene_id": scene})
    payload = {"data": {"bucket": "local", "name": key, "generation": str(info.generation)}}
    first = manual_run_id("canary-pipeline")
    runtime.dispatcher.start_run("canary-pipeline", first, payload)
    skipped = outcome(first)
    assert skipped["status"] == "SKIPPED" and "not tagged/allowlisted" in skipped["message"]
    steps = DBOS.list_workflow_steps(first)
    recorded = next(s for s in steps if s["function_name"] == "read parameters")
    assert recorded["output"]["canary_scene_ids"] == ""
    config_step = next(s for s in steps if s["function_name"] == "read scene config")
    assert recorded["function_id"] < config_step["function_id"]

    installed = context.installed()
    context.install(dataclasses.replace(installed, env={**installed.env, "CANARY_SCENE_IDS": scene}))
    try:
        fork = DBOS.fork_workflow(first, config_step["function_id"]).get_workflow_id()
        replayed = outcome(fork)
    finally:
        context.install(installed)
    assert replayed["status"] == "SKIPPED" and replayed["message"] == skipped["message"]
    assert [s["function_name"] for s in DBOS.list_workflow_steps(fork)] == [s["function_name"] for s in steps]
    assert not DBOS.list_workflows(name=export)
