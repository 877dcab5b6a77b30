"""The vendored front-end parts are the locked npm versions, unchanged since ``make vendor``
copied them, carry their licences, install with the package and are served from /static."""

from __future__ import annotations

import hashlib
import json
import sys

from tests.conftest import REPO

sys.path.insert(0, str(REPO / "tools"))
import vendor_frontend  # noqa: E402

VENDOR = REPO / "src" / "bpflow" / "api" / "static" / "vendor"


def test_vendored_files_match_the_lock_and_the_manifest() -> None:
    manifest = json.loads((VENDOR / "MANIFEST.json").read_text())
    locked = vendor_frontend.locked_versions()
    assert locked == {"three": "0.187.0", "htmx.org": "2.0.11", "uplot": "1.6.32"}
    pinned = json.loads((REPO / "frontend" / "package.json").read_text())["dependencies"]
    assert pinned == locked, "package.json pins exact versions, the lock agrees"
    assert set(manifest) == set(vendor_frontend.FILES)
    for package, info in manifest.items():
        assert info["version"] == locked[package], package
        folder = VENDOR / info["folder"]
        assert "LICENSE" in info["files"], f"{package} ships without its licence"
        for rel, digest in info["files"].items():
            assert hashlib.sha256((folder / rel).read_bytes()).hexdigest() == digest, (
                f"{package}/{rel} changed since make vendor"
            )
    # no bare module specifier left: a browser without an import map cannot resolve one
    for js in (VENDOR / "three" / "addons").rglob("*.js"):
        assert "from 'three'" not in js.read_text(), js


def test_vendored_files_are_package_data() -> None:
    """Every vendored file falls under a package-data glob, so a wheel install serves it too."""
    import tomllib

    globs = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["bpflow"]
    pkg = REPO / "src" / "bpflow"
    covered = {p for g in globs for p in pkg.glob(g) if p.is_file()}
    vendored = {p for p in VENDOR.rglob("*") if p.is_file()}
    assert vendored and vendored <= covered, sorted(str(p) for p in vendored - covered)
