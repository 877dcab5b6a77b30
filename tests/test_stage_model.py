"""The stage model (``core/stages.yaml``) against the trigger map and the seed's table, and the
rule that a stage's workflow, trigger or marker is written in that file only, once: the trigger
map's stage rows, the status DAG, the orchestrator's stage list and the workflow modules' constants
read it.
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path

import pytest
import yaml

from bpflow.core.errors import ConfigError
from bpflow.core.stages import STAGES, STAGES_FILE, StageSpec, parse_stages
from bpflow.core.triggers import TriggerMap

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src" / "bpflow"
SEED = Path("/work/shared/seeds/000_20305a210cb2ecd4.txt")
TRIGGERS_FILE = SRC / "core" / "triggers.yaml"
#: Code whose stage facts come from the model; none may spell one out again (docstrings aside:
#: prose may name a marker). Every workflow module, the blocks they use, the status DAG, the
#: Stage 3 key helper, and every module that writes or reads a scene's request.
DERIVED = sorted(
    str(p.relative_to(ROOT))
    for p in [
        *(SRC / "workflows").rglob("*.py"),
        *(SRC / "blocks").rglob("*.py"),
        SRC / "ops" / "dag.py",
        SRC / "domain" / "variation" / "paths.py",
        SRC / "domain" / "automation" / "daily.py",
        SRC / "domain" / "automation" / "batch.py",
        SRC / "domain" / "automation" / "emitter.py",
        SRC / "jobs" / "text_scene_gen.py",
        SRC / "jobs" / "text_scene_adapter.py",
        SRC / "ops" / "lineage.py",
        SRC / "api" / "submit.py",
        SRC / "cli" / "submit_cmd.py",
        SRC / "cli" / "demo_cmd.py",
        SRC / "cli" / "validate_cmd.py",
        SRC / "jobs" / "arena_export.py",
        SRC / "jobs" / "retention_cleanup.py",
        SRC / "api" / "learning.py",
        SRC / "api" / "scene_views.py",
    ]
)
#: Fields of a stage in stages.yaml that hold its facts (its name is the key others refer to).
FACT_FIELDS = ("workflow", "triggers", "complete", "also_complete", "failed")
#: The seed's table as the model must honour it (a hand copy, so an edit of either file shows here).
SEED_TRIGGERS = {
    "arena-export-pipeline": {
        "scenes/*/usd/.usd_complete",
        "scenes/*/isaac_lab/.isaac_lab_complete",
        "scenes/*/geniesim/.geniesim_complete",
    },
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
        assert (node.workflow, node.trigger, node.complete, node.failed, node.upstream) == (
            spec.workflow,
            spec.trigger,
            spec.complete,
            spec.failed,
            spec.upstream,
        )
    assert [(s.name, s.workflow, s.trigger) for s in downstream.STAGES] == [
        ("usd_assembly", "usd-assembly-pipeline", "assets/.regen3d_complete"),
        ("variation_assets", "variation-assets-pipeline", "replicator/.replicator_complete"),
        ("geniesim_export", "genie-sim-export-pipeline", "variation_assets/.variation_pipeline_complete"),
        ("arena_export", "arena-export-pipeline", "geniesim/.geniesim_complete"),
    ]
    assert usd_assembly.NAME == "usd-assembly-pipeline" and usd_assembly.TRIGGER.fullmatch(
        "scenes/s1/assets/.regen3d_complete"
    )
    assert not usd_assembly.TRIGGER.fullmatch("scenes/a/b/assets/.regen3d_complete")
    assert variation_assets.NAME == "variation-assets-pipeline"


def _facts() -> set[str]:
    """Every stage's workflow name, trigger objects and markers (scene-relative keys)."""
    return {s.workflow for s in STAGES.values()} | {
        k for s in STAGES.values() for k in s.triggers + s.complete + s.also_complete + s.failed
    }


def _spells(text: str, facts: set[str]) -> list[str]:
    """The facts ``text`` spells out: as the whole text, a word of it, or a key under a scene
    (``scenes/*/``, ``scenes/{}/`` of an f-string, ``scenes/{scene_id}/`` of a format template,
    ``scenes/[^/]+/`` or ``scenes/([^/]+)/`` of a regex, whose ``\\.`` counts as ``.``). A key
    under another folder (``{prefix}/simready/.failed``) is another object."""
    text = text.replace("\\.", ".")
    before = (
        r"(?:^|(?<=[\s\"'(\[])|(?<=scenes/\*/)|(?<=scenes/\{\}/)|(?<=scenes/\[\^/\]\+/)"
        r"|(?<=scenes/\(\[\^/\]\+\)/)|(?<=scenes/\{scene_id\}/))"
    )
    return sorted(f for f in facts if re.search(before + re.escape(f) + r"(?![\w.-])", text))


def _strings(source: str) -> list[tuple[int, str]]:
    """Every string literal of a module but its docstrings and stage names looked up
    (``STAGES["source-orchestrator"]``: a reference, though that stage's workflow has its name); an
    f-string as one text with ``{}`` for each placeholder (``f"scenes/{sid}/usd/.usd_complete"`` →
    ``scenes/{}/usd/.usd_complete``)."""
    tree = ast.parse(source)
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant) and node.slice.value in STAGES:
            skip.add(id(node.slice))
        body = getattr(node, "body", None)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and body:
            if isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                skip.add(id(body[0].value))
        if isinstance(node, ast.JoinedStr):
            skip.update(id(v) for v in ast.walk(node) if v is not node)
    out: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip:
            out.append((node.lineno, node.value))
        elif isinstance(node, ast.JoinedStr) and id(node) not in skip:
            out.append((node.lineno, "".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values)))
    return out


def test_the_spelling_check_sees_every_form() -> None:
    """Guards the checks below against passing because they look for nothing."""
    facts = _facts()
    source = """
\"\"\"Docstrings may name usd/.usd_complete.\"\"\"
import re
A = "usd/.usd_complete"
B = f"scenes/{scene}/geniesim/.geniesim_complete"
C = re.compile(r"scenes/[^/]+/training/\\.training_complete")
D = "usd-assembly-pipeline"
STAGES["source-orchestrator"]
E = f"{prefix}/simready/.failed"
F = "usd/.usd_complete.tmp"
G = "write failure geniesim/.failed"
H = "scenes/{scene_id}/prompts/scene_request.json"
I = re.compile(r"(?:^|/)scenes/([^/]+)/prompts/scene_request\\.json$")
"""
    found = {line: _spells(text, facts) for line, text in _strings(source)}
    assert found == {
        4: ["usd/.usd_complete"],
        5: ["geniesim/.geniesim_complete"],
        6: ["training/.training_complete"],
        7: ["usd-assembly-pipeline"],
        9: [],
        10: [],
        11: ["geniesim/.failed"],
        12: ["prompts/scene_request.json"],
        13: ["prompts/scene_request.json"],
    }


@pytest.mark.parametrize("path", DERIVED)
def test_no_stage_fact_is_written_twice(path: str) -> None:
    """No module spells a stage's workflow, trigger or marker again: it reads bpflow.core.stages."""
    facts = _facts()
    repeated = [
        f"line {line}: {f}"
        for line, text in _strings((ROOT / path).read_text(encoding="utf-8"))
        for f in _spells(text, facts)
    ]
    assert not repeated, f"{path} spells out {repeated}: read them from bpflow.core.stages"


def test_stages_yaml_writes_each_fact_once() -> None:
    """A marker that starts another stage is that stage's trigger too: written once with an
    anchor, referred to by alias (one YAML node however often it is used)."""
    doc = yaml.compose(STAGES_FILE.read_text(encoding="utf-8"))
    nodes: dict[str, set[int]] = defaultdict(set)
    stages = next(v for k, v in doc.value if k.value == "stages")
    for stage in stages.value:
        for key, value in stage.value:
            if key.value in FACT_FIELDS:
                for node in value.value if isinstance(value, yaml.SequenceNode) else [value]:
                    nodes[node.value].add(id(node))
    assert nodes.keys() >= _facts() - {""}
    twice = sorted(value for value, ids in nodes.items() if len(ids) > 1)
    assert not twice, f"stages.yaml writes {twice} more than once: anchor the first (&name), alias the rest (*name)"


def test_trigger_files_leave_stage_facts_to_the_model() -> None:
    """triggers.yaml names a stage (``stage:``, ``same_trigger_as:``) and never spells its
    workflow, trigger patterns or markers."""
    facts = _facts()
    doc = yaml.compose(TRIGGERS_FILE.read_text(encoding="utf-8"))
    spelled: list[str] = []
    todo = [doc]
    while todo:
        node = todo.pop()
        if isinstance(node, yaml.ScalarNode):
            spelled += [f"line {node.start_mark.line + 1}: {f}" for f in _spells(node.value, facts)]
        elif isinstance(node, yaml.SequenceNode):
            todo += node.value
        elif isinstance(node, yaml.MappingNode):  # a stage named by its key is a reference, not a spelling
            todo += [
                n for key, value in node.value for n in (key, value) if key.value not in ("stage", "same_trigger_as")
            ]
    assert not spelled, f"core/triggers.yaml spells out {spelled}: name the stage instead (stage: / same_trigger_as:)"


def test_stage_rows_refer_to_real_stages() -> None:
    with pytest.raises(ConfigError, match="no stage named 'usd-asembly'") as err:
        TriggerMap(_rows("- {stage: usd-asembly, kind: object}"))
    assert err.value.field == "stage"
    with pytest.raises(ConfigError, match="come from stage") as err:
        _rows("- {stage: usd-assembly, kind: object, patterns: ['scenes/*/assets/.regen3d_complete']}")
    assert err.value.field == "patterns"
    with pytest.raises(ConfigError, match="has no trigger objects"):
        _rows("- {workflow: w, kind: object, same_trigger_as: training}")
    (row,) = _rows("- {workflow: w, kind: object, same_trigger_as: episode-generation}")
    assert row.patterns == ("scenes/*/usd/.usd_complete",)


def _rows(text: str) -> list:
    from bpflow.core.triggers import _read_rows

    return _read_rows(text, "t.yaml")


def test_a_bad_model_is_refused_with_the_field() -> None:
    with pytest.raises(ConfigError, match="defined twice"):
        parse_stages("stages: [{name: a, workflow: w}, {name: a, workflow: w}]", "t.yaml")
    with pytest.raises(ConfigError) as err:
        parse_stages("stages: [{name: a, workflow: w, complete: [/abs]}]", "t.yaml")
    assert err.value.field == "complete"


def test_a_trigger_key_is_the_trigger_under_one_scene() -> None:
    """What the request writers and readers use (``submit``, the batch, the emitter, the jobs)."""
    assert STAGES["source-orchestrator"].trigger_key("s1") == "scenes/s1/prompts/scene_request.json"
    assert STAGES["source-orchestrator"].trigger_re.fullmatch(STAGES["source-orchestrator"].trigger_key("s1"))
    with pytest.raises(ConfigError, match="text-scene-gen has no trigger object") as err:
        STAGES["text-scene-gen"].trigger_key("s1")
    assert err.value.field == "triggers"
