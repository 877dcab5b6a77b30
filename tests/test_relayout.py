"""tools/relayout.py: the issue-10 move table rewrites old module paths, once, and nothing is left over."""

from __future__ import annotations

import importlib.util
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("relayout", REPO / "tools" / "relayout.py")
assert _spec is not None and _spec.loader is not None
relayout = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(relayout)

OLD = """from bpflow import observe, __version__
from bpflow.blocks import canary, idempotency, markers  # noqa: X
from bpflow.stage2 import gate, manifest
from bpflow.source import build_request
import bpflow.textgen.catalog as cat


def f():
    from bpflow.textgen import (
        catalog,
        generate_scene,
    )
    monkeypatch.setattr("bpflow.jobs._env.read_env", x)
    run([sys.executable, "-m", "bpflow.assets.build_library"])
    log = logging.getLogger("bpflow.source")
    return REPO / "src/bpflow/triggers.yaml"
"""

NEW = """from bpflow.core import observe
from bpflow import __version__
from bpflow.state import canary, idempotency
from bpflow.blocks import markers  # noqa: X
from bpflow.domain.usd import interactive_gate as gate
from bpflow.domain.scene import manifest
from bpflow.domain.request import build_request
import bpflow.domain.textgen.room_catalog as cat


def f():
    from bpflow.domain.textgen import room_catalog as catalog, generate_scene
    monkeypatch.setattr("bpflow.core.jobkit.read_env", x)
    run([sys.executable, "-m", "bpflow.domain.assets.build_library"])
    log = logging.getLogger("bpflow.source")
    return REPO / "src/bpflow/core/triggers.yaml"
"""


def test_old_imports_are_split_renamed_and_rewritten_once() -> None:
    out = relayout.rewrite(Path("x.py"), OLD)
    assert out == NEW
    assert relayout.rewrite(Path("x.py"), out) == out  # idempotent: new paths never match old ones


def test_markdown_paths_and_package_data_globs() -> None:
    md = "`stage2/obb.py`, `source/stages.py`, `jobs/_env.py`, `tests/storage/test_local.py`, bpflow/status/"
    assert relayout.rewrite(Path("x.md"), md) == (
        "`domain/scene/obb.py`, `workflows/_orchestrator/downstream.py`, `core/jobkit.py`, "
        "`tests/storage/test_local.py`, bpflow/ops/"
    )
    assert relayout.rewrite(Path("pyproject.toml"), '  "policy/*.yaml",\n') == '  "core/policy/*.yaml",\n'


def test_every_new_module_exists_and_no_old_one_does() -> None:
    src = REPO / "src"
    for old, new in relayout.MODULES.items():
        parts = Path(*new.split("."))
        assert (src / parts).with_suffix(".py").is_file() or (src / parts / "__init__.py").is_file(), new
        old_parts = Path(*old.split("."))
        assert not (src / old_parts).with_suffix(".py").is_file() and not (src / old_parts / "__init__.py").is_file(), (
            old
        )


def test_no_reference_to_an_old_path_is_left() -> None:
    """A branch that still imports old paths fails here: run ``python tools/relayout.py``."""
    stale = [
        str(p.relative_to(REPO))
        for p in relayout.targets()
        if relayout.rewrite(p, p.read_text(encoding="utf-8")) != p.read_text(encoding="utf-8")
    ]
    assert stale == [], f"old module paths in {stale}: run python tools/relayout.py"


def test_a_module_that_left_a_package_that_stayed() -> None:
    """``blocks/`` stayed, ``blocks/clock.py`` left: the import is found even with nothing else old in the file."""
    old = "from bpflow.blocks import (\n    markers,\n    clock,\n)\n"
    assert (
        relayout.rewrite(Path("a.py"), old)
        == "from bpflow.blocks import markers\nfrom bpflow.state import cas_json as clock\n"
    )
    assert (
        relayout.rewrite(Path("a.py"), "from bpflow.blocks import markers\n") == "from bpflow.blocks import markers\n"
    )
