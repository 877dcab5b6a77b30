"""DESIGN.md's layering rule, read from the source with ``ast`` (no import side effects).

Each top-level package of ``src/bpflow`` imports only the packages listed before it in ``LAYERS``;
``core/`` imports nothing of bpflow's own but itself. Imports inside functions and under
``TYPE_CHECKING`` count too: a deferred import is still a dependency. ``from bpflow import
__version__`` (the root package) is allowed everywhere.
"""

from __future__ import annotations

import pytest

from tests.support.imports import SRC, edges

#: Lowest first: a package may import itself and anything before it.
LAYERS = ("core", "state", "domain", "blocks", "jobs", "workflows", "ops", "api", "cli")

#: Known violations of today's code (importer module, imported module). This list only shrinks:
#: fixing one means deleting its row (the test fails on a row that no longer applies).
KNOWN_VIOLATIONS: set[tuple[str, str]] = {
    # The runners find a job's module and its declared env through the job registry in jobs/.
    ("bpflow.core.runners.base", "bpflow.jobs"),
    ("bpflow.core.runners.job_env", "bpflow.jobs.env_needs"),
    # The preparation pipelines read the source orchestrator's recorded options.
    ("bpflow.blocks.preparation", "bpflow.workflows._orchestrator.options"),
    # The asset queues are drained by durable code that lives in domain/ today (belongs in blocks/ or workflows/).
    ("bpflow.domain.assets_queue.pipeline", "bpflow.blocks.jobs"),
    ("bpflow.domain.assets_queue.queue", "bpflow.blocks.lock"),
}


def _layer(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in LAYERS else None


def _violates(importer: str, imported: str) -> bool:
    low, high = _layer(imported), _layer(importer)
    if imported == "bpflow" or high is None:
        return False
    if low is None:
        return True  # bpflow code outside every layer (a new top-level package): name its layer first
    if high == "core":
        return low != "core"
    return LAYERS.index(low) > LAYERS.index(high)


def test_every_top_level_package_has_a_layer() -> None:
    """A new top-level package or module must be placed in LAYERS, so the rule covers it."""
    stray = sorted(
        p.name for p in SRC.iterdir() if p.name not in LAYERS and p.name not in {"__init__.py", "__pycache__"}
    )
    assert stray == [], f"top-level entries outside the layers: {stray}"


def test_each_package_imports_only_the_layers_below_it() -> None:
    violations = {(a, b) for a, b in edges() if _violates(a, b)}
    new = sorted(violations - KNOWN_VIOLATIONS)
    assert new == [], "imports of a higher layer (see DESIGN.md 'Layout'):\n" + "\n".join(
        f"  {a} -> {b}" for a, b in new
    )


def test_known_violations_still_exist() -> None:
    """The allowlist shrinks: a fixed violation must leave it, so it cannot come back unnoticed."""
    violations = {(a, b) for a, b in edges() if _violates(a, b)}
    gone = sorted(KNOWN_VIOLATIONS - violations)
    assert gone == [], f"fixed: remove from KNOWN_VIOLATIONS: {gone}"


@pytest.mark.parametrize(
    ("importer", "imported", "bad"),
    [
        ("bpflow.core.engine.registry", "bpflow.blocks.markers", True),
        ("bpflow.core.engine.registry", "bpflow.core.storage", False),
        ("bpflow.state.canary", "bpflow.core.config", False),
        ("bpflow.domain.usd.assemble", "bpflow.workflows.usd_assembly", True),
        ("bpflow.cli.demo_cmd", "bpflow.api.app", False),
        ("bpflow.api.app", "bpflow.cli", True),
        ("bpflow.jobs.noop", "bpflow", False),
        ("bpflow.ops.runs", "bpflow.somewhere_new", True),
    ],
)
def test_the_rule_itself(importer: str, imported: str, bad: bool) -> None:
    assert _violates(importer, imported) is bad
