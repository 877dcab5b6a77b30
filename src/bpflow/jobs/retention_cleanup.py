"""retention-cleanup-job: age out scene data by class, as the seed's ``retention_cleanup.py``.

Run as ``python -m bpflow.jobs.retention_cleanup`` (daily, by the ``retention-cleanup`` workflow).
It works on the bucket named by ``BPFLOW_BUCKET_URL`` through the ``Bucket`` interface, not on a
mounted file system, so the same job cleans a local directory, S3 or GCS. (The seed's workflow
passes ``GCS_BUCKET`` and ``PIPELINE_STORAGE_ROOT``; the bucket URL replaces both.)

Each object under ``scenes/<id>/`` falls into at most one class (inputs, intermediate, outputs,
logs, markers), each with its own window; a marker name wins over its folder, so a stale
``assets/.failed`` goes after 30 days, not 365. Files a checkpoint lists in ``output_paths``
are aged too. Everything else (prompts, locks, internal state, anything outside ``scenes/``)
is never touched. An object is deleted iff its last update is strictly older than
``now - days``. Every action is one JSON log line; the job exits 0 even if deletes fail, so one
stubborn object cannot turn the nightly run red forever.

Parameters (env): ``PIPELINE_RETENTION_DAYS`` (30), ``PIPELINE_INPUT_RETENTION_DAYS`` (90),
``PIPELINE_INTERMEDIATE_RETENTION_DAYS`` (pipeline days), ``PIPELINE_OUTPUT_RETENTION_DAYS`` (365),
``PIPELINE_LOG_RETENTION_DAYS`` (180), ``PIPELINE_MARKER_RETENTION_DAYS`` (30),
``PIPELINE_RETENTION_DRY_RUN`` (false), and ``BPFLOW_NOW`` (ISO time standing in for the clock;
an operator/test override to replay a run as of a given day).
"""

from __future__ import annotations

import json
import posixpath
import sys
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from bpflow.core.errors import BpflowError, ConfigError, PreconditionFailed
from bpflow.core.jobkit import env_int, env_str, job_bucket, log_json, run_main
from bpflow.core.stages import STAGES
from bpflow.core.storage import Bucket, ObjectInfo

SCENE_PREFIX = "scenes"

INPUTS, INTERMEDIATE, OUTPUTS, LOGS, MARKERS = "inputs", "intermediate", "outputs", "logs", "markers"

FOLDER_CLASSES: dict[str, str] = {
    "input": INPUTS,
    ".checkpoints": INTERMEDIATE,
    "layout": INTERMEDIATE,
    "seg": INTERMEDIATE,
    "assets": OUTPUTS,
    "usd": OUTPUTS,
    "replicator": OUTPUTS,
    "variation_assets": OUTPUTS,
    "isaac_lab": OUTPUTS,
    "episodes": OUTPUTS,
    "logs": LOGS,
    "log": LOGS,
}

#: The Genie Sim import's completion marker (stage model), kept as a marker in its folder and, as
#: the reference's table lists it, at the scene's top level too.
GENIESIM_COMPLETE = STAGES["genie-sim-import"].complete[0]
MARKER_PATHS = frozenset(
    {
        ".circuit_breaker.json",
        posixpath.basename(GENIESIM_COMPLETE),
        GENIESIM_COMPLETE,
        "geniesim/.circuit_breaker.json",
    }
)

DRY_RUN_TRUE = frozenset({"1", "true", "yes", "y", "on", "json"})
DRY_RUN_FALSE = frozenset({"0", "false", "no", "off", "plain", "text"})


@dataclass(frozen=True)
class RetentionPolicy:
    """Days each class is kept. ``pipeline_days`` is the fallback for any other class."""

    pipeline_days: int = 30
    input_days: int = 90
    intermediate_days: int = 30
    output_days: int = 365
    log_days: int = 180
    marker_days: int = 30

    @classmethod
    def from_env(cls) -> RetentionPolicy:
        pipeline = _env_days("PIPELINE_RETENTION_DAYS", 30)
        return cls(
            pipeline_days=pipeline,
            input_days=_env_days("PIPELINE_INPUT_RETENTION_DAYS", 90),
            intermediate_days=_env_days("PIPELINE_INTERMEDIATE_RETENTION_DAYS", pipeline),
            output_days=_env_days("PIPELINE_OUTPUT_RETENTION_DAYS", 365),
            log_days=_env_days("PIPELINE_LOG_RETENTION_DAYS", 180),
            marker_days=_env_days("PIPELINE_MARKER_RETENTION_DAYS", 30),
        )

    def days_for(self, klass: str) -> int:
        return {
            INPUTS: self.input_days,
            INTERMEDIATE: self.intermediate_days,
            OUTPUTS: self.output_days,
            LOGS: self.log_days,
            MARKERS: self.marker_days,
        }.get(klass, self.pipeline_days)

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


@dataclass
class Counts:
    deleted: int = 0
    considered: int = 0
    markers_deleted: int = 0
    markers_considered: int = 0
    delete_failed: int = 0

    def add(self, other: Counts) -> None:
        for name in ("deleted", "considered", "markers_deleted", "markers_considered", "delete_failed"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


def _env_days(name: str, default: int) -> int:
    """Days must be a non-negative integer: a negative window would put the cutoff in the future
    and delete everything, so it is rejected like any other bad value."""
    value = env_int(name, default)
    if value < 0:
        raise ConfigError(f"Invalid value for {name}: {value}", field=name)
    return value


def dry_run_from_env(default: bool = False) -> bool:
    """The seed's ``parse_bool_env`` for this one flag: unknown words fall back to the default."""
    value = env_str("PIPELINE_RETENTION_DRY_RUN")
    if value is None:
        return default
    value = value.lower()
    if value in DRY_RUN_TRUE:
        return True
    if value in DRY_RUN_FALSE:
        return False
    return default


def now_from_env() -> datetime:
    """The run's clock: ``BPFLOW_NOW`` if given (naive means UTC), else the real UTC time."""
    value = env_str("BPFLOW_NOW")
    if value is None:
        return datetime.now(UTC)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ConfigError(f"Invalid value for BPFLOW_NOW: {value}", field="BPFLOW_NOW") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def classify(rel: str) -> str | None:
    """The class of a path relative to its scene folder, or None (never considered, kept)."""
    parts = rel.split("/")
    if rel in MARKER_PATHS or parts[-1].startswith(".failed"):
        return MARKERS
    if len(parts) == 3 and parts[0] == "geniesim" and parts[1] == "idempotency" and parts[2].endswith(".json"):
        return MARKERS
    if len(parts) >= 2:
        return FOLDER_CLASSES.get(parts[0])
    return None


def checkpoint_key(scene_root: str, path: str, existing: dict[str, ObjectInfo]) -> str | None:
    """Map one ``output_paths`` entry to an object key inside this scene, or None.

    Relative paths are relative to the scene folder (as in the seed); a bucket-relative
    ``scenes/<id>/...`` path, a mount path (``/mnt/gcs/scenes/<id>/...``) or a URL
    (``gs://b/scenes/<id>/...``) is accepted when it points into this scene. Anything that
    points elsewhere is ignored: cleaning one scene never deletes outside it.
    """
    path = path.strip()
    if not path:
        return None
    if "://" in path or path.startswith("/"):
        anchor = path.find("/" + scene_root)
        if anchor < 0:
            return None
        candidates = [path[anchor + 1 + len(scene_root) :]]
    else:
        candidates = [path]
        if path.startswith(scene_root):
            candidates.append(path[len(scene_root) :])
    for rel in candidates:
        norm = posixpath.normpath(rel)
        if norm in (".", "", "..") or norm.startswith(("../", "/")):
            continue
        key = scene_root + norm
        if key in existing:
            return key
    return None


def _checkpoint_outputs(bucket: Bucket, scene_root: str, objects: dict[str, ObjectInfo]) -> list[str]:
    """Keys listed in ``output_paths`` of the scene's checkpoint JSON files; unreadable ones are skipped
    (skipping only ever keeps more data)."""
    keys: list[str] = []
    for key in objects:
        if not (key.startswith(scene_root + ".checkpoints/") and key.endswith(".json")):
            continue
        try:
            doc = json.loads(bucket.read(key))
        except (BpflowError, ValueError):
            continue
        paths = doc.get("output_paths") if isinstance(doc, dict) else None
        if not isinstance(paths, list):
            continue
        for entry in paths:
            if isinstance(entry, str) and (found := checkpoint_key(scene_root, entry, objects)):
                keys.append(found)
    return keys


def scene_candidates(bucket: Bucket, scene_root: str, objects: dict[str, ObjectInfo]) -> dict[str, str]:
    """key -> class for every object of one scene that retention applies to."""
    candidates: dict[str, str] = {}
    for key in objects:
        klass = classify(key[len(scene_root) :])
        if klass is not None:
            candidates[key] = klass
    for key in _checkpoint_outputs(bucket, scene_root, objects):
        if key not in candidates:
            first = key[len(scene_root) :].split("/", 1)[0]
            candidates[key] = FOLDER_CLASSES.get(first, INTERMEDIATE)
    return candidates


def cleanup_scene(
    bucket: Bucket,
    scene_id: str,
    objects: dict[str, ObjectInfo],
    policy: RetentionPolicy,
    now: datetime,
    dry_run: bool,
    scene_prefix: str = SCENE_PREFIX,
) -> Counts:
    """Apply the policy to one scene's objects (already listed) and log every action."""
    scene_root = f"{scene_prefix}/{scene_id}/"
    counts = Counts()
    for key, klass in sorted(scene_candidates(bucket, scene_root, objects).items()):
        info = objects[key]
        days = policy.days_for(klass)
        is_marker = klass == MARKERS
        counts.considered += 1
        counts.markers_considered += is_marker
        if not info.updated < now - timedelta(days=days):
            continue
        fields: dict[str, Any] = {
            "class": klass,
            "path": key,
            "retention_days": days,
            "last_modified": info.updated.isoformat(),
            "scene": scene_id,
            "deleted_at": now.isoformat(),
        }
        if dry_run:
            log_json(action="dry_run", **fields)
            continue
        outcome = _delete(bucket, info)
        if outcome is None:
            counts.deleted += 1
            counts.markers_deleted += is_marker
            log_json(action="deleted", **fields)
        elif isinstance(outcome, PreconditionFailed):
            log_json(action="skip", reason="changed_since_listed", error=str(outcome), **fields)
        else:
            counts.delete_failed += 1
            log_json(action="delete_failed", error=f"{type(outcome).__name__}: {outcome}", **fields)
    return counts


def _delete(bucket: Bucket, info: ObjectInfo) -> Exception | None:
    """Delete exactly the version that was judged old: a rewrite since listing makes it fresh.
    Returns the error instead of raising, because a failed delete must not stop the run."""
    try:
        if not bucket.delete(info.key, if_generation_match=info.generation):
            return FileNotFoundError(f"object no longer exists: {info.key}")
    except Exception as exc:  # noqa: BLE001 - any backend/network error: logged, counted, run continues
        return exc
    return None


def _group_by_scene(objects: Iterable[ObjectInfo], scene_prefix: str) -> dict[str, dict[str, ObjectInfo]]:
    """Scenes are the distinct ``<prefix>/<id>/`` folders; a bare object at ``<prefix>/<id>`` is not one."""
    scenes: dict[str, dict[str, ObjectInfo]] = {}
    root = scene_prefix + "/"
    for info in objects:
        rest = info.key[len(root) :]
        scene_id, sep, _ = rest.partition("/")
        if sep and scene_id:
            scenes.setdefault(scene_id, {})[info.key] = info
    return scenes


def cleanup(
    bucket: Bucket,
    policy: RetentionPolicy,
    now: datetime,
    dry_run: bool,
    scene_prefix: str = SCENE_PREFIX,
) -> Counts:
    """Clean every scene, then log the summary (or a ``root_missing`` skip when there are no scenes)."""
    root = f"{bucket.url.rstrip('/')}/{scene_prefix}"
    scenes = _group_by_scene(bucket.list(scene_prefix + "/"), scene_prefix)
    total = Counts()
    if not scenes:
        log_json(
            action="skip", reason="root_missing", root=root, retention=policy.as_dict(), checked_at=now.isoformat()
        )
        return total
    for scene_id in sorted(scenes):
        total.add(cleanup_scene(bucket, scene_id, scenes[scene_id], policy, now, dry_run, scene_prefix))
    log_json(
        action="summary",
        root=root,
        retention=policy.as_dict(),
        dry_run=dry_run,
        scenes=len(scenes),
        completed_at=now.isoformat(),
        **asdict(total),
    )
    return total


def _run() -> int:
    policy = RetentionPolicy.from_env()
    dry_run = dry_run_from_env()
    now = now_from_env()
    bucket = job_bucket()
    try:
        cleanup(bucket, policy, now, dry_run)
    finally:
        bucket.close()
    return 0


def main() -> int:
    return run_main(_run)


if __name__ == "__main__":
    sys.exit(main())
