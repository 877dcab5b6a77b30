#!/usr/bin/env python3
"""Issue 10's layout by product: the one table of where every moved module went, and the rewrite.

Run it from the repository root after merging the branch that moved the packages:

    python tools/relayout.py            # rewrite references to old module paths (idempotent)
    python tools/relayout.py --check    # list files that still refer to an old path, change nothing
    python tools/relayout.py --move     # (done once, on the moving branch) ``git mv`` then rewrite

It rewrites, in ``src/``, ``tests/``, ``bench/``, ``docs/``, ``tools/``, ``scripts/``, ``README.md``,
``Makefile``, ``pyproject.toml`` and the repository's YAML files: ``import`` and ``from … import``
statements (a ``from pkg import a, b`` whose names now live in different packages is split), every
dotted module string (mock/patch targets, ``importlib`` strings, ``python -m`` lines, docstrings),
``bpflow/<path>`` file paths, bare ``<package>/<module>.py`` paths in Markdown, and the package-data
globs. Nothing already under a new path matches an old one (checked at start), so a second run
changes nothing. Logger names (``getLogger("bpflow.x")``) are left alone: they are not imports.
"""

from __future__ import annotations

import argparse
import ast
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PKG = ROOT / "src" / "bpflow"

#: Old path → new path, relative to ``src/bpflow``. A directory moves whole (its modules keep their
#: names unless a file row below renames one); a file row moves one module (or data file).
MOVES: list[tuple[str, str]] = [
    # --- core/: infrastructure, imports nothing of bpflow's own but itself
    ("config.py", "core/config.py"),
    ("errors.py", "core/errors.py"),
    ("ids.py", "core/ids.py"),
    ("observe.py", "core/observe.py"),
    ("job_entry.py", "core/job_entry.py"),
    ("triggers.py", "core/triggers.py"),
    ("triggers.yaml", "core/triggers.yaml"),
    ("storage", "core/storage"),
    ("events", "core/events"),
    ("runners", "core/runners"),
    ("policy", "core/policy"),
    ("engine", "core/engine"),
    ("contracts", "core/contracts"),
    ("jobs/_env.py", "core/jobkit.py"),
    ("jobs/classes.py", "core/job_classes.py"),
    ("blocks/timeouts.py", "core/policy/timeouts.py"),
    ("blocks/version.py", "core/engine/version.py"),
    ("status/scrub.py", "core/scrub.py"),
    ("status/secret_env.py", "core/secret_env.py"),
    # --- state/: bucket-state primitives
    ("blocks/clock.py", "state/cas_json.py"),
    ("blocks/circuit_breaker.py", "state/circuit_breaker.py"),
    ("blocks/idempotency.py", "state/idempotency.py"),
    ("blocks/canary.py", "state/canary.py"),
    ("blocks/routing.py", "state/routing.py"),
    # --- domain/scene/: the scene model (manifest, layout, boxes, physics tables)
    ("stage2/manifest.py", "domain/scene/manifest.py"),
    ("stage2/layout.py", "domain/scene/layout.py"),
    ("stage2/fields.py", "domain/scene/fields.py"),
    ("stage2/obb.py", "domain/scene/obb.py"),
    ("domain/textgen/geometry.py", "domain/scene/obb.py"),  # one oriented-box module (issue 10)
    ("stage2/placement.py", "domain/scene/pose.py"),
    ("stage2/articulation.py", "domain/scene/articulation.py"),
    ("stage2/density.py", "domain/scene/density.py"),
    ("stage2/collision.py", "domain/scene/collision.py"),
    ("stage2/surface.py", "domain/scene/contact.py"),
    # --- domain/usd/: convert, simready, interactive, assembly, their USD plumbing
    ("stage2/__init__.py", "domain/usd/__init__.py"),
    ("stage2/assemble.py", "domain/usd/assemble.py"),
    ("stage2/convert.py", "domain/usd/convert.py"),
    ("stage2/simready.py", "domain/usd/simready.py"),
    ("stage2/interactive.py", "domain/usd/interactive.py"),
    ("stage2/asset_parts.py", "domain/usd/asset_parts.py"),
    ("stage2/assets.py", "domain/usd/object_files.py"),
    ("stage2/checks.py", "domain/usd/checks.py"),
    ("stage2/meshes.py", "domain/usd/meshes.py"),
    ("stage2/room.py", "domain/usd/room_shell.py"),
    ("stage2/scene_read.py", "domain/usd/scene_read.py"),
    ("stage2/usd_util.py", "domain/usd/usd_util.py"),
    ("stage2/workspace.py", "domain/usd/workspace.py"),
    ("stage2/env.py", "domain/usd/prefixes.py"),
    ("stage2/inputs.py", "domain/usd/inputs.py"),
    ("stage2/gate.py", "domain/usd/interactive_gate.py"),
    ("stage2/physics_gate.py", "domain/usd/physics_gate.py"),
    ("stage2/swing.py", "domain/usd/swing.py"),
    # --- domain/replicator/, domain/isaaclab/
    ("stage2/replicator.py", "domain/replicator/bundle.py"),
    ("stage2/replicator_code.py", "domain/replicator/scripts.py"),
    ("stage2/isaac_code.py", "domain/isaaclab/code.py"),
    ("stage2/isaac_package.py", "domain/isaaclab/package.py"),
    ("stage2/isaac_task.py", "domain/isaaclab/tasks.py"),
    ("stage2/spawn.py", "domain/isaaclab/spawn.py"),
    # --- domain/variation/ (Stage 3)
    ("stage3", "domain/variation"),
    ("stage3/catalog.py", "domain/variation/documents.py"),
    ("stage3/state.py", "domain/variation/workflow_state.py"),
    # --- domain/textgen/ (Stage 1 text planning)
    ("textgen", "domain/textgen"),
    ("textgen/catalog.py", "domain/textgen/room_catalog.py"),
    ("textgen/core.py", "domain/textgen/generate.py"),
    ("textgen/physics.py", "domain/textgen/layout_check.py"),
    ("textgen/placement.py", "domain/textgen/packing.py"),
    # --- domain/retrieval/ (Stage 1 text adapter: retrieval, materialization, outputs)
    ("adapter", "domain/retrieval"),
    ("adapter/catalog.py", "domain/retrieval/asset_catalog.py"),
    ("adapter/package.py", "domain/retrieval/planned_package.py"),
    # --- domain/assets/ (the packaged asset library)
    ("assets", "domain/assets"),
    ("assets/geometry.py", "domain/assets/mesh_parts.py"),
    # --- domain/request/: the public scene_request.json contract
    ("source/__init__.py", "domain/request/__init__.py"),
    ("source/request.py", "domain/request/contract.py"),
    ("source/decode.py", "domain/request/body.py"),
    # --- workflows/_orchestrator/: the source and image orchestrators' private modules
    ("source/compat.py", "workflows/_orchestrator/compat.py"),
    ("source/errors.py", "workflows/_orchestrator/errors.py"),
    ("source/fanout.py", "workflows/_orchestrator/fanout.py"),
    ("source/image.py", "workflows/_orchestrator/image.py"),
    ("source/image_runs.py", "workflows/_orchestrator/image_runs.py"),
    ("source/image_vision.py", "workflows/_orchestrator/image_vision.py"),
    ("source/intake.py", "workflows/_orchestrator/intake.py"),
    ("source/markers.py", "workflows/_orchestrator/markers.py"),
    ("source/options.py", "workflows/_orchestrator/options.py"),
    ("source/progress.py", "workflows/_orchestrator/progress.py"),
    ("source/runtime.py", "workflows/_orchestrator/stage1_runtime.py"),
    ("source/stages.py", "workflows/_orchestrator/downstream.py"),
    ("source/textpath.py", "workflows/_orchestrator/textpath.py"),
    ("source/verify.py", "workflows/_orchestrator/verify.py"),
    # --- ops/: read models for operators (today's status/)
    ("status", "ops"),
    ("status/ops.py", "ops/coordination.py"),
]

#: Package-data globs in pyproject.toml (relative to src/bpflow), old → new, as quoted strings.
GLOBS: dict[str, str] = {
    '"*.yaml"': '"core/*.yaml"',
    '"policy/*.yaml"': '"core/policy/*.yaml"',
    '"contracts/schemas/*.json"': '"core/contracts/schemas/*.json"',
    '"contracts/schemas/geniesim/*.json"': '"core/contracts/schemas/geniesim/*.json"',
    '"assets/library/LICENSE"': '"domain/assets/library/LICENSE"',
    '"assets/library/**/*.usda"': '"domain/assets/library/**/*.usda"',
    '"assets/library/**/*.json"': '"domain/assets/library/**/*.json"',
    '"assets/library/**/LICENSE"': '"domain/assets/library/**/LICENSE"',
}

#: What the rewrite walks.
TARGET_DIRS = ("src", "tests", "bench", "docs", "tools", "scripts")
TARGET_FILES = ("README.md", "Makefile", "pyproject.toml")
SUFFIXES = {".py", ".md", ".yaml", ".yml", ".toml", ".json", ".html", ".js", ".sh", ".txt", ".cfg", ".ini"}
#: Files that hold old paths on purpose (the tool's own test cases).
#: docs/decisions.md records the moves themselves (old path → new path): history, never rewritten.
EXCLUDE = {"tests/test_relayout.py", "docs/decisions.md"}
NAMES = {"LICENSE"}  # the asset library's licence files name the module that generated them
SKIP_PARTS = {".venv", ".venv-train", "__pycache__", ".git", "node_modules", "bpflow.egg-info"}


def _dotted(rel: str) -> str:
    """``stage2/obb.py`` → ``bpflow.stage2.obb``; ``source/__init__.py`` → ``bpflow.source``."""
    parts = rel.removesuffix(".py").split("/")
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(["bpflow", *parts])


def _module_map() -> dict[str, str]:
    """Old dotted module (or package) → new, for every row that names Python code."""
    out: dict[str, str] = {}
    for old, new in MOVES:
        if old.endswith(".py") or "." not in old.rsplit("/", 1)[-1]:
            out[_dotted(old)] = _dotted(new)
    # A package split across several places (its __init__ moved by a file row) keeps that row.
    return out


MODULES = _module_map()
PATHS: dict[str, str] = dict(MOVES)


def _check_idempotent() -> None:
    """No new path may start with an old one, or a second run would move it again."""
    for new in MODULES.values():
        for old in MODULES:
            if new == old or new.startswith(old + "."):
                raise SystemExit(f"mapping is not idempotent: {new} starts with old {old}")
    for new in PATHS.values():
        for old in PATHS:
            if new == old or new.startswith(old + "/"):
                raise SystemExit(f"path mapping is not idempotent: {new} starts with old {old}")


def map_module(name: str) -> str:
    """The new dotted name of ``name`` (a module, or an attribute under one); unchanged if not moved."""
    parts = name.split(".")
    for i in range(len(parts), 1, -1):
        head = ".".join(parts[:i])
        if head in MODULES:
            return ".".join([MODULES[head], *parts[i:]])
    return name


def map_path(rel: str) -> str:
    """The new path (relative to src/bpflow) of ``rel``; unchanged if not moved."""
    parts = rel.split("/")
    for i in range(len(parts), 0, -1):
        head = "/".join(parts[:i])
        if head in PATHS:
            return "/".join([PATHS[head], *parts[i:]])
        if i == len(parts) and head + ".py" in PATHS:  # a module named without .py
            return PATHS[head + ".py"].removesuffix(".py")
    return rel


# ---------------------------------------------------------------- from-import statements (split/rename)


def _format_from(indent: str, module: str, names: list[str], tail: str) -> str:
    one = f"{indent}from {module} import {', '.join(names)}{tail}"
    if len(one) <= 110:
        return one
    inner = "".join(f"{indent}    {n},\n" for n in names)
    return f"{indent}from {module} import (\n{inner}{indent}){tail}"


def _rewrite_from(node: ast.ImportFrom, indent: str, tail: str) -> str | None:
    """The replacement text of one absolute ``from bpflow… import`` statement, or None to keep it."""
    module = node.module or ""
    new_module = map_module(module)
    groups: dict[str, list[str]] = {}
    split = False
    for alias in node.names:
        if alias.name == "*":
            groups.setdefault(new_module, []).append("*")
            continue
        target = map_module(f"{module}.{alias.name}")
        parent, _, last = target.rpartition(".")
        bound = alias.asname or alias.name
        text = last if last == bound else f"{last} as {bound}"
        if parent != new_module or last != alias.name:
            split = True
        groups.setdefault(parent, []).append(text)
    if not split:
        return None  # only the module path changed: the dotted rewrite handles it, keeping the layout
    lines = [
        _format_from(indent, mod, names, tail if i == len(groups) - 1 else "")
        for i, (mod, names) in enumerate(groups.items())
    ]
    return "\n".join(lines)


def rewrite_imports(text: str) -> str:
    """Split/rename ``from`` imports whose names moved apart; leave everything else to the dotted pass."""
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return text
    lines = text.splitlines(keepends=True)
    edits: list[tuple[int, int, str]] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.ImportFrom) or node.level or not (node.module or "").startswith("bpflow"):
            continue
        if node.module != "bpflow" and not node.module.startswith("bpflow."):
            continue
        first, last = node.lineno - 1, (node.end_lineno or node.lineno) - 1
        head = lines[first]
        indent = head[: len(head) - len(head.lstrip())]
        if head[len(indent) :].split(None, 1)[0] != "from":
            continue  # a statement sharing its line (``x; from …``): leave it to a human
        end_line = lines[last]
        tail = end_line[node.end_col_offset :].rstrip("\n")
        if tail.strip() and not tail.strip().startswith("#"):
            continue
        new = _rewrite_from(node, indent, tail)
        if new is not None:
            edits.append((first, last, new + "\n"))
    for first, last, new in sorted(edits, reverse=True):
        lines[first : last + 1] = [new]
    return "".join(lines)


# ---------------------------------------------------------------- dotted names and paths

_DOTTED = re.compile(r"(?<![\w.])bpflow(?:\.[A-Za-z_]\w*)+")
_LOGGER = re.compile(r"getLogger\(\s*[\"']$")
_SLASHED = re.compile(r"(?<![\w./-])(src/)?bpflow/((?:[\w.*-]+/)*[\w.*-]+/?)")
_FROM = re.compile(r"from\s+(bpflow(?:\.\w+)*)\s+import\s+(\([^)]*\)|[^\n]*)")
_BARE = re.compile(r"(?<![\w./-])((?:[a-z_0-9]+/)+[a-z_0-9]+\.(?:py|yaml))\b")


def rewrite_dotted(text: str) -> str:
    def sub(m: re.Match[str]) -> str:
        if _LOGGER.search(text[max(0, m.start() - 20) : m.start()]):
            return m.group(0)
        return map_module(m.group(0))

    return _DOTTED.sub(sub, text)


def rewrite_paths(text: str, markdown: bool) -> str:
    def slashed(m: re.Match[str]) -> str:
        rel = m.group(2)
        trail = "/" if rel.endswith("/") else ""
        new = map_path(rel.rstrip("/"))
        return f"{m.group(1) or ''}bpflow/{new}{trail}"

    text = _SLASHED.sub(slashed, text)
    if markdown:
        text = _BARE.sub(lambda m: map_path(m.group(1)), text)
    return text


def rewrite_globs(text: str) -> str:
    for old, new in GLOBS.items():
        text = re.sub(rf"(?<![\w/]){re.escape(old)}", new, text)
    return text


def _stale(text: str) -> bool:
    """Cheap test first: does ``text`` name any old module or path at all?"""
    if any(map_module(m) != m for m in _DOTTED.findall(text)):
        return True
    for m in _FROM.finditer(text):  # ``from bpflow.blocks import clock``: the package stayed, the module moved
        if any(map_module(f"{m.group(1)}.{w}") != f"{m.group(1)}.{w}" for w in re.findall(r"\w+", m.group(2))):
            return True
    return any(map_path(m.group(2).rstrip("/")) != m.group(2).rstrip("/") for m in _SLASHED.finditer(text))


def rewrite(path: Path, text: str) -> str:
    if path.suffix not in {".md", ".toml"} and not _stale(text):
        return text
    if path.suffix == ".py":
        text = rewrite_imports(text)
    text = rewrite_dotted(text)
    text = rewrite_paths(text, markdown=path.suffix == ".md")
    if path.name == "pyproject.toml":
        text = rewrite_globs(text)
    return text


def targets() -> list[Path]:
    me = Path(__file__).resolve()
    out: list[Path] = []
    for d in TARGET_DIRS:
        for p in sorted((ROOT / d).rglob("*")):
            if (
                p.is_file()
                and (p.suffix in SUFFIXES or p.name in NAMES)
                and not SKIP_PARTS & set(p.parts)
                and p.resolve() != me
                and p.relative_to(ROOT).as_posix() not in EXCLUDE
            ):
                out.append(p)
    out += [ROOT / f for f in TARGET_FILES if (ROOT / f).is_file()]
    out += sorted(p for p in ROOT.glob("*.y*ml") if p.is_file())
    return out


def move() -> None:
    """``git mv`` every row whose old path still exists (directories first, then renames inside)."""
    for old, new in MOVES:
        src, dst = PKG / old, PKG / new
        if src.is_dir() and not dst.exists():
            dst.parent.mkdir(parents=True, exist_ok=True)
            subprocess.run(["git", "mv", str(src), str(dst)], check=True, cwd=ROOT)
    for old, new in MOVES:
        dst = PKG / new
        src = PKG / old
        if not src.exists() and "/" in old:  # a file renamed inside a directory that moved whole
            folder, name = old.rsplit("/", 1)
            src = PKG / map_path(folder) / name
        if src.is_file() and src != dst and not dst.exists():
            dst.parent.mkdir(parents=True, exist_ok=True)
            subprocess.run(["git", "mv", str(src), str(dst)], check=True, cwd=ROOT)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--check", action="store_true", help="list files that would change; change nothing")
    parser.add_argument("--move", action="store_true", help="git mv the old paths first (the moving branch)")
    args = parser.parse_args(argv)
    _check_idempotent()
    if args.move:
        move()
    changed = []
    for path in targets():
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        new = rewrite(path, text)
        if new != text:
            changed.append(path.relative_to(ROOT))
            if not args.check:
                path.write_text(new, encoding="utf-8")
    for p in changed:
        print(("would rewrite " if args.check else "rewrote ") + str(p))
    return 1 if args.check and changed else 0


if __name__ == "__main__":
    sys.exit(main())
