"""The scene's tasks, in one place for episodes, evaluation and the Arena export.

Stage 4 records its derived tasks (``domain.sim.tasks.derive_tasks``: object, place spot,
description) in ``episodes/episodes_summary.json``; when that exists, those exact tasks are the
scene's tasks — the policy is evaluated, and Arena exports, what the data was recorded for.
Without it (no episodes yet) they are derived the same way, with Stage 4's default seed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bpflow.core.errors import ObjectNotFound, ValidationFailed
from bpflow.core.storage import Bucket
from bpflow.domain.sim.tasks import Task, derive_tasks


def summary_tasks(summary: Any) -> list[Task] | None:
    rows = summary.get("tasks") if isinstance(summary, dict) else None
    if not isinstance(rows, list) or not rows:
        return None
    out = []
    for r in rows:
        place = r.get("place_xy")
        out.append(
            Task(
                str(r["task_id"]),
                str(r["kind"]),
                str(r["object_id"]),
                str(r["description"]),
                (float(place[0]), float(place[1])) if place else None,
            )
        )
    return out


def read_summary(bucket: Bucket, scene: str) -> dict[str, Any] | None:
    try:
        body = json.loads(bucket.read(f"scenes/{scene}/episodes/episodes_summary.json"))
    except (ObjectNotFound, ValueError):
        return None
    return body if isinstance(body, dict) else None


def read_manifest(bucket: Bucket, scene: str) -> dict[str, Any]:
    key = f"scenes/{scene}/assets/scene_manifest.json"
    try:
        body = json.loads(bucket.read(key))
    except ObjectNotFound:
        raise ValidationFailed(f"{key} is missing", code="manifest_missing", field="ASSETS_PREFIX") from None
    except ValueError as exc:
        raise ValidationFailed(f"{key} is not JSON: {exc}", code="manifest_invalid", field="ASSETS_PREFIX") from None
    if not isinstance(body, dict) or not isinstance(body.get("objects"), list):
        raise ValidationFailed(f"{key} has no 'objects' list", code="manifest_invalid", field="objects")
    return body


def load_scene_with_tasks(
    bucket: Bucket, scene: str, usd_path: Path, manifest: dict[str, Any]
) -> tuple[Any, list[Task], str]:
    """(sim with the robot mounted, tasks, where the tasks came from)."""
    from bpflow.domain.sim import load_scene

    summary = read_summary(bucket, scene)
    tasks = summary_tasks(summary)
    mount = summary.get("mount") if isinstance(summary, dict) else None
    target_ids = (
        list(mount["target_ids"]) if isinstance(mount, dict) and isinstance(mount.get("target_ids"), list) else None
    )
    sim = load_scene(usd_path, manifest, robot=True, target_ids=target_ids)
    if tasks is not None:
        known = set(sim.dynamic_ids())
        missing = [t.object_id for t in tasks if t.object_id not in known]
        if missing:
            raise ValidationFailed(
                f"episodes_summary.json names objects the scene does not have: {missing}",
                code="tasks_mismatch",
                field="tasks",
            )
        return sim, tasks, f"scenes/{scene}/episodes/episodes_summary.json"
    derived, _ = derive_tasks(sim, seed=0)
    return sim, derived, "derived from the scene (domain.sim.tasks)"
