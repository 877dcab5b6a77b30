"""Explicit wiring (issue 10): ``core/engine/runtime.py`` is the composition root. The modules it
wires (engine, events) import each other without a cycle, deferred and ``TYPE_CHECKING`` imports
included, and nothing under ``core/`` or ``blocks/`` imports the runtime: a run gets what it needs
from the :class:`RunContext` it is given.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "bpflow"
RUNTIME = "bpflow.core.engine.runtime"
#: Still reaching for the runtime: a job-env helper without a run, and the scrubber's settings.
#: This list only shrinks.
KNOWN = {"bpflow.blocks.preparation", "bpflow.core.scrub"}


def _name(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
            out.update(f"{node.module}.{a.name}" for a in node.names)
    return {m for m in out if m.startswith("bpflow.")}


def _graph(*packages: str) -> dict[str, set[str]]:
    files = [p for pkg in packages for p in (SRC / pkg).rglob("*.py")]
    names = {_name(p) for p in files}
    return {_name(p): {m for m in _imports(p) if m in names and m != _name(p)} for p in files}


def test_engine_and_events_have_no_import_cycle() -> None:
    graph = _graph("core/engine", "core/events")
    state: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                pytest.fail("import cycle: " + " -> ".join(path[path.index(nxt) :] + [nxt]) if nxt in path else nxt)
            if nxt not in state:
                visit(nxt, path + [nxt])
        state[node] = 2

    for start in sorted(graph):
        if start not in state:
            visit(start, [start])


def test_nothing_below_the_composition_root_imports_it() -> None:
    users = {_name(p) for pkg in ("core", "blocks") for p in (SRC / pkg).rglob("*.py") if RUNTIME in _imports(p)} - {
        RUNTIME
    }
    assert users == KNOWN


def test_a_run_reads_the_context_it_is_given(tmp_path: Path) -> None:
    """No runtime launched, no env patched: the run's bucket, settings and env are the ones passed."""
    from bpflow.core.config import load_settings
    from bpflow.core.engine.context import RunContext
    from bpflow.core.engine.registry import Run
    from bpflow.core.storage.local import LocalBucket

    started: list[tuple[str, str]] = []
    bucket = LocalBucket(tmp_path / "bucket")
    ctx = RunContext(
        bucket=bucket,
        settings=load_settings({"BPFLOW_HOME": str(tmp_path)}),
        env={"REQUIRE_ISAAC": "false"},
        start_run=lambda wf, run_id, payload: started.append((wf, run_id)),
        dispatch_custom=lambda e: None,
        triggered_by=lambda key: set(),
    )
    run = Run(run_id="r1", workflow="w", payload={"scene_id": "s1", "require_replicator": "true"}, ctx=ctx)
    assert run.bucket is bucket and run.settings.home == ctx.settings.home
    assert run.param("require_isaac", "REQUIRE_ISAAC", "true") == "false"
    assert run.param("require_replicator", "REQUIRE_REPLICATOR") == "true"
    run.start_run("other", "other:1", {})
    assert started == [("other", "other:1")]
