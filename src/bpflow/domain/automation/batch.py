"""Scene batches: a manifest of scene requests, submitted with bounded parallelism.

Manifest (an object in the bucket): a JSON list of scene_request.json v1 documents, or
``{"scenes": [...]}``. Its raw bytes are parsed once (reference bug B8). Each entry is checked
exactly as the source orchestrator will check it; an invalid entry is reported with its
problems and never written, and the rest of the batch goes on. Everything the batch writes
about itself lives under ``batches/<batch_id>/``; the only other objects it writes are the
requests of its own scenes, create-only (a scene that already exists with another request is
reported, never overwritten).
"""

from __future__ import annotations

import json
import posixpath
import re
from dataclasses import dataclass
from typing import Any

from bpflow.core.config import Settings
from bpflow.core.errors import ValidationFailed
from bpflow.domain.request.contract import validate_request

SCHEMA_VERSION = "v1"
QUEUED, INVALID, DUPLICATE = "QUEUED", "INVALID", "DUPLICATE"
SUCCESS, FAILED, SKIPPED = "SUCCESS", "FAILED", "SKIPPED"
_ID_CHARS = re.compile(r"[^A-Za-z0-9_.-]+")


class ManifestError(ValidationFailed):
    code = "invalid_manifest"


@dataclass(frozen=True)
class BatchPaths:
    batch_id: str

    @property
    def prefix(self) -> str:
        return f"batches/{self.batch_id}"

    @property
    def lock(self) -> str:
        return f"{self.prefix}/locks/batch.lock"

    @property
    def plan(self) -> str:
        return f"{self.prefix}/plan.json"

    @property
    def report(self) -> str:
        return f"{self.prefix}/batch_report.json"

    @property
    def dlq(self) -> str:
        return f"{self.prefix}/dead_letter_queue.json"


def batch_id_for(manifest_object: str) -> str:
    """``batches/<id>/manifest.json`` → ``<id>``; any other object → its file name without extension."""
    parts = manifest_object.strip("/").split("/")
    stem = parts[1] if len(parts) >= 3 and parts[0] == "batches" else posixpath.splitext(parts[-1])[0]
    cleaned = _ID_CHARS.sub("-", stem).strip("-.") or "batch"
    return cleaned[:100]


def parse_manifest(raw: bytes) -> list[Any]:
    """The scene entries, or ManifestError naming what is wrong with the whole manifest."""
    try:
        payload = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ManifestError(f"Invalid manifest payload: {exc}", field="manifest_object") from None
    scenes = payload.get("scenes") if isinstance(payload, dict) and "scenes" in payload else payload
    if not isinstance(scenes, list):
        raise ManifestError(
            'Invalid manifest payload: expected a JSON list of scene requests or {"scenes": [...]}', field="scenes"
        )
    if not scenes:
        raise ManifestError("Manifest scene list is empty", field="scenes")
    return scenes


def plan_batch(entries: list[Any], settings: Settings) -> list[dict[str, Any]]:
    """One row per entry: QUEUED with its request, INVALID with its problems, or DUPLICATE."""
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict):
            problem = {
                "field": f"scenes[{index}]",
                "message": "each entry must be a scene_request.json object",
                "code": "invalid_scene_request",
            }
            rows.append({"index": index, "scene_id": None, "status": INVALID, "problems": [problem]})
            continue
        scene_id = entry.get("scene_id")
        raw = json.dumps(entry, ensure_ascii=False).encode("utf-8", "surrogatepass")
        problems = [
            p.to_dict()
            for p in validate_request(
                raw, scene_id_from_path=scene_id if isinstance(scene_id, str) else None, settings=settings
            )
        ]
        if not isinstance(scene_id, str) or not scene_id:
            problems = problems or [
                {"field": "scene_id", "message": "scene_id is required in a batch", "code": "invalid_scene_request"}
            ]
        if problems or not isinstance(scene_id, str):  # a scene_id that is not a string always has a problem
            rows.append(
                {
                    "index": index,
                    "scene_id": scene_id if isinstance(scene_id, str) else None,
                    "status": INVALID,
                    "problems": problems,
                }
            )
            continue
        if scene_id in seen:
            rows.append({"index": index, "scene_id": scene_id, "status": DUPLICATE})
            continue
        seen.add(scene_id)
        rows.append({"index": index, "scene_id": scene_id, "status": QUEUED, "request": entry})
    return rows


def report_body(
    batch_id: str, manifest: str, rows: list[dict[str, Any]], *, status: str, error: str | None, now: str, run_id: str
) -> dict[str, Any]:
    counts = {k: sum(1 for r in rows if r["status"] == k) for k in (SUCCESS, FAILED, INVALID, DUPLICATE, SKIPPED)}
    pending = sum(1 for r in rows if r["status"] not in counts)
    return {
        "schema_version": SCHEMA_VERSION,
        "batch_id": batch_id,
        "manifest": manifest,
        "status": status,
        "error": error,
        "updated_at": now,
        "run_id": run_id,
        "total": len(rows),
        "success": counts[SUCCESS] + counts[SKIPPED],
        "failed": counts[FAILED] + counts[INVALID],
        "invalid": counts[INVALID],
        "duplicates": counts[DUPLICATE],
        "skipped": [r["scene_id"] for r in rows if r["status"] == SKIPPED],
        "pending": pending,
        "scene_reports": [
            {
                k: r.get(k)
                for k in (
                    "index",
                    "scene_id",
                    "status",
                    "attempts",
                    "error",
                    "problems",
                    "incomplete",
                    "duration_seconds",
                )
            }
            for r in rows
        ],
    }


def dlq_body(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "scene_id": r.get("scene_id"),
            "index": r["index"],
            "status": r["status"],
            "error": r.get("error"),
            "problems": r.get("problems") or [],
            "attempts": r.get("attempts", 0),
        }
        for r in rows
        if r["status"] in (FAILED, INVALID)
    ]


def submit_scene(bucket: Any, scene_id: str, request: dict[str, Any], *, retry: bool) -> str:
    """Write the scene's request. ``submitted``: written now; ``existing``: the same request was
    already there (a resumed batch); ``conflict``: another request owns this scene id.

    A retry clears the previous verdict first, so the wait cannot read the old failure, then
    rewrites the request: a new generation, hence a new source-orchestrator run.
    """
    from bpflow.domain.automation.daily import FAILED_MARKER, ORCHESTRATOR, STATUS, publish_request

    key = ORCHESTRATOR.trigger_key(scene_id)
    if retry:
        bucket.delete(f"scenes/{scene_id}/{FAILED_MARKER}")
        bucket.delete(f"scenes/{scene_id}/{STATUS}")
        bucket.write_json(key, request)
        return "submitted"
    if publish_request(bucket, scene_id, request) == "published":
        return "submitted"
    return "existing" if bucket.read_json_or_none(key) == request else "conflict"
