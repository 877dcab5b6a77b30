"""Reading a Stage-2 job's inputs from the bucket, and stamping its outputs.

Outputs carry the run and execution that wrote them (``written_by``), which is how the workflow
tells this run's outputs from a previous run's before it writes a completion marker.
"""

from __future__ import annotations

import json
from typing import Any

from bpflow.core.errors import ObjectNotFound, ValidationFailed
from bpflow.core.jobkit import env_str
from bpflow.core.storage import Bucket
from bpflow.domain.scene.layout import LAYOUT_FILES, Layout, parse_layout
from bpflow.domain.scene.manifest import Manifest, parse_manifest
from bpflow.domain.usd.prefixes import Stage2Env
from bpflow.state.cas_json import iso_z, utc_now

MANIFEST_NAME = "scene_manifest.json"
#: Stage 3 runs simready on variation assets, whose object list is this file instead.
VARIATION_OBJECTS_NAME = "variation_assets.json"


def load_manifest(bucket: Bucket, env: Stage2Env, *, allow_variation_list: bool = False) -> tuple[Manifest, str]:
    """The manifest under ASSETS_PREFIX (and its key); a clear error when there is none."""
    names = (MANIFEST_NAME, VARIATION_OBJECTS_NAME) if allow_variation_list else (MANIFEST_NAME,)
    for name in names:
        key = f"{env.assets}/{name}"
        raw = _read(bucket, key)
        if raw is not None:
            expected = env.scene_id if name == MANIFEST_NAME else None
            return parse_manifest(raw, document=key, expected_scene=expected), key
    raise ValidationFailed(
        f"{env.assets}/{MANIFEST_NAME} does not exist", code="manifest_missing", field="ASSETS_PREFIX"
    )


def load_layout(bucket: Bucket, env: Stage2Env, manifest: Manifest) -> tuple[Layout, str]:
    """The layout, in metres (it shares the manifest's units)."""
    for name in LAYOUT_FILES:
        key = f"{env.layout}/{name}"
        raw = _read(bucket, key)
        if raw is not None:
            return parse_layout(raw, document=key, unit=manifest.meters_per_unit), key
    raise ValidationFailed(
        f"no layout under {env.layout}/ (looked for {', '.join(LAYOUT_FILES)})",
        code="layout_missing",
        field="LAYOUT_PREFIX",
    )


def read_json_optional(bucket: Bucket, key: str) -> Any:
    """A JSON input that may be absent (None) but, when present, must parse."""
    raw = _read(bucket, key)
    if raw is None:
        return None
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise ValidationFailed(f"{key} is not valid JSON", code="invalid_input", field=key) from None


def _read(bucket: Bucket, key: str) -> bytes | None:
    try:
        return bucket.read(key)
    except ObjectNotFound:
        return None


def stamp() -> dict[str, Any]:
    """Who wrote an output: the workflow run, the job and its execution, and when."""
    return {
        "run_id": env_str("BPFLOW_RUN_ID", ""),
        "job": env_str("BPFLOW_JOB_NAME", ""),
        "execution_id": env_str("BPFLOW_EXECUTION_ID", ""),
        "written_at": iso_z(utc_now()),
    }
