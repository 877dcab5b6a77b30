"""Copy the dashboard's front-end parts from the npm registry into the package (``make vendor``).

The versions are pinned in ``frontend/package.json`` and locked (with integrity hashes) in
``frontend/package-lock.json``; ``npm ci`` installs exactly those, and this script copies the few
files the dashboard serves into ``src/bpflow/api/static/vendor/`` with each package's licence and
writes ``MANIFEST.json`` (package, version, file → sha256). The copies are committed, so
``make install`` and a plain ``pip install`` need neither node nor the network; the test
``tests/api/test_vendor_assets.py`` checks that the copies still match the lock and the manifest.

One rewrite happens: three.js's add-ons import the bare specifier ``'three'``, which a browser
resolves only through an import map (an inline script the dashboard's CSP forbids), so it is
replaced by the relative path of the vendored ``three.module.js``.

Usage: ``python tools/vendor_frontend.py [--no-install]`` (``--no-install`` reuses an existing
``frontend/node_modules``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import posixpath
import re
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FRONTEND = REPO / "frontend"
VENDOR = REPO / "src" / "bpflow" / "api" / "static" / "vendor"

#: package → [(file inside the npm package, where it goes under vendor/<folder>/)]
FILES: dict[str, tuple[str, list[tuple[str, str]]]] = {
    "three": (
        "three",
        [
            ("build/three.core.js", "three.core.js"),
            ("build/three.module.js", "three.module.js"),
            ("examples/jsm/controls/OrbitControls.js", "addons/controls/OrbitControls.js"),
            ("examples/jsm/loaders/GLTFLoader.js", "addons/loaders/GLTFLoader.js"),
            ("examples/jsm/utils/BufferGeometryUtils.js", "addons/utils/BufferGeometryUtils.js"),
            ("examples/jsm/utils/SkeletonUtils.js", "addons/utils/SkeletonUtils.js"),
            ("LICENSE", "LICENSE"),
        ],
    ),
    "htmx.org": ("htmx", [("dist/htmx.min.js", "htmx.min.js"), ("LICENSE", "LICENSE")]),
    "uplot": (
        "uplot",
        [
            ("dist/uPlot.iife.min.js", "uPlot.iife.min.js"),
            ("dist/uPlot.min.css", "uPlot.min.css"),
            ("LICENSE", "LICENSE"),
        ],
    ),
}

_BARE_THREE = re.compile(r"""from\s+(['"])three\1""")


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def locked_versions(lock: Path = FRONTEND / "package-lock.json") -> dict[str, str]:
    """package → version, as ``package-lock.json`` pins it."""
    packages = json.loads(lock.read_text())["packages"]
    return {name: packages[f"node_modules/{name}"]["version"] for name in FILES}


def _copy(src: Path, dest: Path, folder: str) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    if folder == "three" and dest.suffix == ".js" and dest.name not in ("three.core.js", "three.module.js"):
        rel = posixpath.relpath("three.module.js", posixpath.dirname(dest.relative_to(VENDOR / folder).as_posix()))
        text = _BARE_THREE.sub(
            lambda m: f"from {m.group(1)}{rel if rel.startswith('.') else './' + rel}{m.group(1)}", src.read_text()
        )
        dest.write_text(text)
    else:
        shutil.copyfile(src, dest)


def vendor(install: bool = True) -> dict[str, dict[str, object]]:
    if install:
        subprocess.run(["npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund"], cwd=FRONTEND, check=True)
    versions = locked_versions()
    if VENDOR.exists():
        shutil.rmtree(VENDOR)
    manifest: dict[str, dict[str, object]] = {}
    for package, (folder, files) in FILES.items():
        root = FRONTEND / "node_modules" / package
        installed = json.loads((root / "package.json").read_text())["version"]
        if installed != versions[package]:
            raise SystemExit(
                f"{package}: node_modules has {installed}, the lock pins {versions[package]}: run without --no-install"
            )
        out: dict[str, str] = {}
        for src_rel, dest_rel in files:
            dest = VENDOR / folder / dest_rel
            _copy(root / src_rel, dest, folder)
            out[dest_rel] = sha256(dest)
        manifest[package] = {"version": installed, "folder": folder, "files": out}
    (VENDOR / "MANIFEST.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return manifest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--no-install", action="store_true", help="reuse frontend/node_modules")
    args = parser.parse_args(argv)
    os.chdir(REPO)
    for package, info in vendor(install=not args.no_install).items():
        print(f"{package} {info['version']}: {len(info['files'])} files → {VENDOR.relative_to(REPO)}/{info['folder']}/")  # type: ignore[arg-type]
    return 0


if __name__ == "__main__":
    sys.exit(main())
