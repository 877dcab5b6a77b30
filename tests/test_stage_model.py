"""The stage model (``core/stages.yaml``) against the trigger map and the seed's table, and the
rule that a stage's workflow, trigger or marker is written in that file only: the status DAG, the
orchestrator's stage list and the stage workflows' constants read it.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bpflow.core.errors import ConfigError
from bpflow.core.stages import STAGES, StageSpec, parse_stages
from bpflow.core.triggers import TriggerMap

ROOT = Path(__file__).resolve().parent.parent
SEED = Path("/work/shared/seeds/000_20305a210cb2ecd4.txt")
#: Modules whose stage facts come from the model; none may spell one out again.
DERIVED = (
    "src/bpflow/ops/dag.py",
    "src/bpflow/workflows/_orchestrator/downstream.py",
    "src/bpflow/workflows/usd_assembly.py",
    "src/bpflow/workflows/variation_assets.py",
    "src/bpflow/domain/variation/paths.py",
)
#: The seed's table as the model must honour it (a hand copy, so an edit of either file shows here).
SEED_TRIGGERS = {
    "arena-export-pipeline": {"scenes/*/usd/.usd_complete", "scenes/*/isaac_lab/.isaac_lab_complete", "scenes/*/geniesim/.geniesim_complete"},
    "episode-generation-pipeline": {"scenes/*/usd/.usd_complete"},
    "genie-sim-export-pipeline": {"scenes/*/variation_assets/.variation_pipeline_complete"},
    "source-orchestrator": {"scenes/*/prompts/scene_request.json"},
    "usd-assembly-pipeline": {"scenes/*/assets/.regen3d_complete"},
    "variation-assets-pipeline": {"scenes/*/replicator/.replicator_complete"},
}
#: Stages beyond the seed's table (issue 13, the learning loop), with the trigger the map gives them.
BEYOND_SEED = {"policy-evaluation-pipeline": {"scenes/*/training/.training_complete"}}


def _seed_rows() -> dict[str, set[str]]:
    """``workflow -> backticked keys`` of the seed's "Workflow trigger map" table."""
    text = SEED.read_text(encoding="utf-8")
    table = text.split("## Workflow trigger map", 1)[1].split("\n## ", 1)[0]
    rows: dict[str, set[str]] = {}
    for line in table.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0].startswith("`") and cells[0].endswith(".yaml`"):
            rows[cells[0].strip("`").removesuffix(".yaml")] = set(re.findall(r"`([^`]+)`", cells[2]))
    return rows


def _triggered() -> list[StageSpec]:
    return [s for s in STAGES.values() if s.triggers]


@pytest.mark.parametrize("spec", _triggered(), ids=lambda s: s.name)
def test_triggers_are_the_trigger_maps(spec: StageSpec) -> None:
    row = TriggerMap.load().get(spec.workflow)
    assert row.kind == "object"
    assert {f"scenes/*/{t}" for t in spec.triggers} == set(row.patterns)


@pytest.mark.parametrize("spec", _triggered(), ids=lambda s: s.name)
def test_triggers_are_the_seeds(spec: StageSpec) -> None:
    if spec.workflow in BEYOND_SEED:
        assert {f"scenes/*/{t}" for t in spec.triggers} == BEYOND_SEED[spec.workflow]
        assert spec.workflow not in _seed_rows()
        return
    assert {f"scenes/*/{t}" for t in spec.triggers} == SEED_TRIGGERS[spec.workflow]
    if SEED.exists():
        assert _seed_rows()[spec.workflow] == SEED_TRIGGERS[spec.workflow]


def test_every_stage_workflow_is_a_trigger_map_row() -> None:
    tmap = TriggerMap.load()
    assert {s.workflow for s in STAGES.values()} <= set(tmap.names())


def test_each_trigger_is_an_upstream_stages_completion() -> None:
    """The chain holds: the object that starts a stage is written by a stage it waits for."""
    for spec in _triggered():
        if not spec.upstream:
            continue
        written = {m for up in spec.upstream for m in STAGES[up].complete + STAGES[up].also_complete}
        assert spec.trigger in written, spec.name


def test_a_completion_marker_belongs_to_one_stage() -> None:
    seen: dict[str, str] = {}
    for spec in STAGES.values():
        for key in spec.complete + spec.also_complete + spec.failed:
            assert key not in seen, f"{key} is a marker of {seen[key]} and {spec.name}"
            seen[key] = spec.name


def test_upstream_is_listed_first() -> None:
    order = list(STAGES)
    for spec in STAGES.values():
        assert all(order.index(u) < order.index(spec.name) for u in spec.upstream), spec.name


def test_the_consumers_derive_from_the_model() -> None:
    from bpflow.ops.dag import TEXT_DAG_LEARNING
    from bpflow.workflows import usd_assembly, variation_assets
    from bpflow.workflows._orchestrator import downstream

    assert [s.name for s in TEXT_DAG_LEARNING.stages] == list(STAGES)
    for node in TEXT_DAG_LEARNING.stages:
        spec = STAGES[node.name]
        assert (node.workflow, node.trigger, node.complete, node.failed, node.upstream) == (spec.workflow, spec.trigger, spec.complete, spec.failed, spec.upstream)
    assert [(s.name, s.workflow, s.trigger) for s in downstream.STAGES] == [
        ("usd_assembly", "usd-assembly-pipeline", "assets/.regen3d_complete"),
        ("variation_assets", "variation-assets-pipeline", "replicator/.replicator_complete"),
        ("geniesim_export", "genie-sim-export-pipeline", "variation_assets/.variation_pipeline_complete"),
        ("arena_export", "arena-export-pipeline", "geniesim/.geniesim_complete"),
    ]
    assert usd_assembly.NAME == "usd-assembly-pipeline" and usd_assembly.TRIGGER.fullmatch("scenes/s1/assets/.regen3d_complete")
    assert not usd_assembly.TRIGGER.fullmatch("scenes/a/b/assets/.regen3d_complete")
    assert variation_assets.NAME == "variation-assets-pipeline"


@pytest.mark.parametrize("path", DERIVED)
def test_no_stage_fact_is_written_twice(path: str) -> None:
    """No derived module spells a stage's workflow, trigger or marker (quoted) again."""
    source = (ROOT / path).read_text(encoding="utf-8")
    facts = {s.workflow for s in STAGES.values()} | {k for s in STAGES.values() for k in s.triggers + s.complete + s.also_complete + s.failed}
    repeated = sorted(f for f in facts if f'"{f}"' in source or f"'{f}'" in source)
    assert not repeated, f"{path} spells out {repeated}: read them from bpflow.core.stages"


def test_a_bad_model_is_refused_with_the_field() -> None:
    with pytest.raises(ConfigError, match="defined twice"):
        parse_stages("stages: [{name: a, workflow: w}, {name: a, workflow: w}]", "t.yaml")
    with pytest.raises(ConfigError) as err:
        parse_stages("stages: [{name: a, workflow: w, complete: [/abs]}]", "t.yaml")
    assert err.value.field == "complete"
