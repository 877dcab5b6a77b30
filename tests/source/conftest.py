"""Helpers for the source-orchestrator end-to-end tests: a runtime set up for Stage 1 on this
machine (no network: template planner, lexical retrieval, no generation providers), and
readers for the markers those tests assert on."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from dbos import DBOS

from bpflow.jobs import register_job
from tests.conftest import THROUGH_STAGE3, runtime_env, wait_until

#: Stage 1 without any network service, as spec-text-stage1-and-artifacts §4C recommends.
OFFLINE_STAGE1 = {
    "TEXT_GEN_USE_LLM": "false",
    "TEXT_ASSET_RETRIEVAL_MODE": "lexical_primary",
    "TEXT_ASSET_GENERATION_ENABLED": "false",
    "TEXT_ASSET_REPLICATION_ENABLED": "false",
    "TEXT_BACKEND_DEFAULT": "internal",
}
REQUEST = "scenes/{}/prompts/scene_request.json"


def request_body(scene_id: str, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "schema_version": "v1",
        "scene_id": scene_id,
        "source_mode": "text",
        "text_backend": "internal",
        "prompt": "a kitchen with a fridge, a table and two mugs",
        "quality_tier": "standard",
        "seed_count": 1,
    }
    body.update(fields)
    return {k: v for k, v in body.items() if v is not None}


def runs_of(workflow: str, scene_id: str | None = None) -> list[Any]:
    rows = DBOS.list_workflows(name=workflow)
    return [r for r in rows if scene_id is None or f"scenes/{scene_id}/" in r.workflow_id]


def finished(workflow: str, scene_id: str | None = None, count: int = 1) -> Callable[[], list[Any]]:
    """A predicate: at least ``count`` runs of ``workflow`` (for the scene) have ended."""

    def check() -> list[Any]:
        rows = [r for r in runs_of(workflow, scene_id) if r.status not in ("PENDING", "ENQUEUED")]
        return rows if len(rows) >= count else []

    check.__name__ = f"{count} finished {workflow} run(s) for {scene_id}"
    return check


def result_of(run_id: str) -> dict[str, Any]:
    return DBOS.retrieve_workflow(run_id).get_result(polling_interval_sec=0.02)


def read_json(rt: Any, key: str) -> Any:
    return json.loads(rt.bucket.read(key))


@pytest.fixture
def runtime_defaults() -> dict[str, str]:
    """The source and image paths are tested through Stage 3 at most: Stages 4-5 are not requested."""
    return dict(THROUGH_STAGE3)


@pytest.fixture
def source_runtime(make_runtime: Callable[..., Any]) -> Callable[..., Any]:
    """``source_runtime(**env)``: a launched runtime with offline Stage 1 settings."""

    def make(**env: str) -> Any:
        return make_runtime(**{**OFFLINE_STAGE1, **env})

    return make


def wait_for_run(workflow: str, scene_id: str, timeout: float = 240.0) -> dict[str, Any]:
    rows = wait_until(finished(workflow, scene_id), timeout=timeout)
    return result_of(rows[0].workflow_id)


REPO_BUNDLE = str(Path(__file__).resolve().parents[1] / "fixtures" / "reconstruction_bundle" / "kitchen")
#: Workflows after Stage 1. Hiding them simulates a build that stops after Stage 1, so these
#: tests do not depend on whether the Stage 2+ teams' workflows are present yet.
DOWNSTREAM = (
    "usd-assembly-pipeline",
    "variation-assets-pipeline",
    "genie-sim-export-pipeline",
    "genie-sim-import-pipeline",
    "arena-export-pipeline",
)


@pytest.fixture
def stage1_only(monkeypatch: pytest.MonkeyPatch) -> None:
    from bpflow.core.engine import registry

    registry.import_workflow_modules()  # register first, so a later launch cannot re-add them
    for name in DOWNSTREAM:
        monkeypatch.delitem(registry._WORKFLOWS, name, raising=False)


def tiny_png(width: int = 4, height: int = 3) -> bytes:
    """A real (tiny) PNG: signature, IHDR, one IDAT of grey pixels, IEND."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    rows = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


#: Registered once for every test here (see jobs_fixture.py).
GATED_GEN_JOB = "gated-text-scene-gen-job"
register_job(GATED_GEN_JOB, "tests.source.jobs_fixture")


@contextmanager
def launched_runtime(home: Path, **env: str) -> Iterator[Any]:
    """One runtime for a whole test module (make_runtime is per test): the tests of a module
    that need the same settings share it, each on its own scenes."""
    from bpflow.core.config import reset_settings_cache
    from bpflow.core.engine.runtime import Runtime

    full = runtime_env(home, **env)
    saved = dict(os.environ)
    os.environ.update(full)
    reset_settings_cache()
    rt = Runtime(env=full)
    try:
        rt.launch(watch=False)
        yield rt
    finally:
        rt.shutdown()
        os.environ.clear()
        os.environ.update(saved)
        reset_settings_cache()
