"""Shared inputs of the adapter tests: the Appendix-shaped text package and a scene in a real bucket."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from bpflow.core.storage import Bucket
from bpflow.core.storage.local import LocalBucket

FIXTURES = Path(__file__).resolve().parent / "fixtures"
SCENE = "scene_k"


def load_fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / name).read_text())


@pytest.fixture
def package() -> dict[str, Any]:
    return copy.deepcopy(load_fixture("package.json"))


@pytest.fixture
def request_doc() -> dict[str, Any]:
    return copy.deepcopy(load_fixture("scene_request.json"))


def seed_scene(
    bucket: Bucket, scene_id: str = SCENE, package: dict[str, Any] | None = None, request: dict[str, Any] | None = None
) -> None:
    """Write what text-scene-gen leaves behind: the request and ``textgen/package.json``."""
    pkg = copy.deepcopy(package or load_fixture("package.json"))
    req = copy.deepcopy(request or load_fixture("scene_request.json"))
    pkg["scene_id"] = req["scene_id"] = scene_id
    bucket.write_json(f"scenes/{scene_id}/prompts/scene_request.json", req)
    bucket.write_json(f"scenes/{scene_id}/textgen/package.json", pkg)


@pytest.fixture
def bucket(tmp_path: Path) -> LocalBucket:
    return LocalBucket(tmp_path / "bucket")
