"""genie-sim-import-job: a completed Genie Sim job's episodes → a filtered LeRobot v3.0 dataset.

Env (the reference's): ``BUCKET``, ``SCENE_ID``, ``GENIE_SIM_JOB_ID`` (required),
``OUTPUT_PREFIX`` (``scenes/{scene}/episodes``), ``JOB_METADATA_PATH``,
``LOCAL_EPISODES_PREFIX`` (bucket key or ``gs://bucket/key``), ``MIN_QUALITY_SCORE`` (0.85),
``ENABLE_VALIDATION`` (true), ``FILTER_LOW_QUALITY`` (true), ``ENABLE_FIREBASE_UPLOAD`` (true:
deliver, i.e. write the delivery marker), ``ALLOW_IDEMPOTENT_RETRY``, ``RUN_ID`` /
``GENIE_SIM_RUN_ID`` / ``GENIESIM_RUN_ID``.

Output dir = ``LOCAL_EPISODES_PREFIX`` or ``{OUTPUT_PREFIX}/geniesim_{job_id}``: reads ``raw/``,
writes ``lerobot/`` and ``import_manifest.json`` (counts, quality, LeRobot summary, checksums of
every dataset file, ``delivery``). Delivery marker ``scenes/{scene}/geniesim/delivery/{run_id}.json``
is create-only: when it already exists (a duplicate delivery) the job does nothing and reports
``skipped``, unless ``ALLOW_IDEMPOTENT_RETRY=true``, which re-imports and keeps the stored marker.
A concurrent creator winning the race ends this job with ``delivery_marker_exists`` (exit 2).
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from bpflow.core.config import parse_bool
from bpflow.core.errors import PreconditionFailed, ValidationFailed
from bpflow.core.jobkit import env_bool, env_str, job_bucket, log_json, require_env, run_main, scene_prefix
from bpflow.core.storage import Bucket, object_uri
from bpflow.domain.geniesim.contracts import sha256_json
from bpflow.domain.usd.workspace import Workspace
from bpflow.state.cas_json import iso_z, utc_now

CONTENT_TYPES = {".json": "application/json", ".parquet": "application/vnd.apache.parquet", ".mp4": "video/mp4"}


class DeliveryMarkerExists(ValidationFailed):
    code = "delivery_marker_exists"


def bucket_key(value: str, bucket_name: str, field: str) -> str:
    """A ``gs://bucket/key`` URI or a plain key → the key (the reference used URIs as keys).
    Scene keys start with ``scenes/``, which also finds the key when the bucket "name" is a
    local path."""
    value = value.strip()
    if "://" in value:  # gs://bucket/key, or the bucket's own file:// / s3:// URL + key
        at = value.find("/scenes/")
        if at < 0:
            raise ValidationFailed(
                f"{field}={value!r} does not name an object under scenes/ (bucket {bucket_name!r})", field=field
            )
        value = value[at + 1 :]
    return value.rstrip("/")


def delivery_key(scene: str, run_id: str) -> str:
    return f"scenes/{scene}/geniesim/delivery/{run_id}.json"


def _float(name: str, default: float) -> float:
    raw = env_str(name)
    try:
        return default if raw is None else float(raw)
    except ValueError:
        raise ValidationFailed(f"{name}={raw!r} is not a number", field=name) from None


def _job_metadata(bucket: Bucket, key: str | None) -> dict[str, Any]:
    if not key or not bucket.exists(key):
        return {}
    try:
        body = json.loads(bucket.read(key))
    except ValueError as exc:
        raise ValidationFailed(
            f"{key} is not JSON: {exc}", code="job_metadata_invalid", field="JOB_METADATA_PATH"
        ) from None
    return body if isinstance(body, dict) else {}


def _main() -> int:
    from bpflow.domain.geniesim.importer import checksums, convert

    bucket = job_bucket()
    scene = require_env("SCENE_ID")
    job_id = require_env("GENIE_SIM_JOB_ID")
    bucket_name = env_str("BUCKET", "local") or "local"
    output_prefix = scene_prefix(
        scene,
        "OUTPUT_PREFIX",
        bucket_key(env_str("OUTPUT_PREFIX", f"scenes/{scene}/episodes"), bucket_name, "OUTPUT_PREFIX"),
    )
    local = env_str("LOCAL_EPISODES_PREFIX")
    if local:
        out = scene_prefix(scene, "LOCAL_EPISODES_PREFIX", bucket_key(local, bucket_name, "LOCAL_EPISODES_PREFIX"))
    else:  # the job id is part of the path: one that would leave the scene is refused by its name
        out = scene_prefix(scene, "GENIE_SIM_JOB_ID", f"{output_prefix}/geniesim_{job_id}")
    meta_key = scene_prefix(
        scene,
        "JOB_METADATA_PATH",
        bucket_key(env_str("JOB_METADATA_PATH", f"scenes/{scene}/geniesim/job.json"), bucket_name, "JOB_METADATA_PATH"),
    )
    min_score = _float("MIN_QUALITY_SCORE", 0.85)
    if not 0.0 <= min_score <= 1.0:
        raise ValidationFailed(f"MIN_QUALITY_SCORE must be within 0..1, not {min_score}", field="MIN_QUALITY_SCORE")
    run_id = env_str("RUN_ID") or env_str("GENIE_SIM_RUN_ID") or env_str("GENIESIM_RUN_ID") or job_id
    deliver = env_bool("ENABLE_FIREBASE_UPLOAD", True)
    allow_retry = parse_bool(env_str("ALLOW_IDEMPOTENT_RETRY"), False, strict=False)
    marker_key = delivery_key(scene, run_id)
    existing = bucket.read_json_or_none(marker_key) if deliver and bucket.exists(marker_key) else None
    # A marker without a manifest is a crashed import of this run: finish it (reusing the marker).
    if existing is not None and not allow_retry and bucket.exists(f"{out}/import_manifest.json"):
        log_json(
            action="delivery_skipped",
            status="SKIPPED",
            scene_id=scene,
            job_id=job_id,
            run_id=run_id,
            marker=marker_key,
            message="delivery marker exists: this run was delivered already. Set ALLOW_IDEMPOTENT_RETRY=true to re-import.",
        )
        return 0
    job = _job_metadata(bucket, meta_key)
    if job and job.get("job_id") not in (None, job_id):
        raise ValidationFailed(
            f"{meta_key} describes job {job.get('job_id')!r}, not {job_id!r}",
            code="job_id_mismatch",
            field="GENIE_SIM_JOB_ID",
        )
    if not bucket.exists(f"{out}/raw/lerobot/meta/info.json"):
        raise ValidationFailed(
            f"no episodes for job {job_id} at {out}/raw/ (is the job complete?)",
            code="episodes_missing",
            field="LOCAL_EPISODES_PREFIX",
        )
    with Workspace(bucket) as ws:
        ws.fetch_prefix(f"{out}/raw")
        dest = Path(tempfile.mkdtemp(prefix="lerobot-", dir=ws.root))
        result = convert(
            ws.path(f"{out}/raw"),
            dest,
            min_score=min_score,
            validate=env_bool("ENABLE_VALIDATION", True),
            filter_low=env_bool("FILTER_LOW_QUALITY", True),
        )
        if not result["passed_validation"]:
            raise ValidationFailed(
                f"no episode of job {job_id} passed validation and the quality filter (min score {min_score}; {result['downloaded']} recorded)",
                code="no_episodes_passed",
                field="MIN_QUALITY_SCORE",
            )
        sums = checksums(dest)
        for info in list(bucket.list(f"{out}/lerobot/")):
            bucket.delete(info.key)  # a re-import replaces the dataset wholesale
        for rel in sums:
            bucket.write(
                f"{out}/lerobot/{rel}",
                (dest / rel).read_bytes(),
                content_type=CONTENT_TYPES.get(Path(rel).suffix, "application/octet-stream"),
            )
    idem = idem_doc if isinstance(idem_doc := job.get("idempotency"), dict) else {}
    manifest: dict[str, Any] = {
        "schema_version": "1.0",
        "scene_id": scene,
        "run_id": run_id,
        "job_id": job_id,
        "status": "completed",
        "success": True,
        "robot_types": (job.get("generation_params") or {}).get("robot_types", ["franka"]),
        "job_idempotency": {
            "key": idem.get("key"),
            "first_submitted_at": idem.get("first_submitted_at"),
            "job_metadata_path": meta_key,
        },
        "episodes": {
            k: result[k] for k in ("downloaded", "passed_validation", "failed_validation", "filtered_low_quality")
        }
        | {"results": result["results"]},
        "quality": {
            **result["quality"],
            "filter_low_quality": env_bool("FILTER_LOW_QUALITY", True),
            "validation_enabled": env_bool("ENABLE_VALIDATION", True),
        },
        "lerobot": {**result["lerobot"], "path": f"{out}/lerobot"},
        "output_dir": out,
        "gcs_output_path": object_uri(bucket_name, f"{out}/lerobot"),
        "checksums": {"files": sums},
        "imported_at": iso_z(utc_now()),
    }
    _write_manifest(bucket, f"{out}/import_manifest.json", manifest)
    if deliver:  # after the manifest: a delivered run always has one
        manifest["delivery"] = write_delivery_marker(
            bucket, scene, job_id, run_id, idem.get("key"), bucket_name, existing
        )
        _write_manifest(bucket, f"{out}/import_manifest.json", manifest)
    if job:
        job["job_summary"] = {
            "imported_at": manifest["imported_at"],
            "episodes_imported": result["passed_validation"],
            "average_quality_score": result["quality"]["average_score"],
            "import_manifest": f"{out}/import_manifest.json",
        }
        bucket.write_json(meta_key, job)
    log_json(
        action="geniesim_import_complete",
        scene_id=scene,
        job_id=job_id,
        downloaded=result["downloaded"],
        passed=result["passed_validation"],
        average_score=result["quality"]["average_score"],
        output=f"{out}/lerobot",
    )
    return 0


def _write_manifest(bucket: Bucket, key: str, manifest: dict[str, Any]) -> None:
    """With its own checksum: SHA-256 of its canonical JSON without that entry."""
    manifest["checksums"].pop("import_manifest.json", None)
    manifest["checksums"]["import_manifest.json"] = {"sha256": sha256_json(manifest)}
    bucket.write_json(key, manifest)


def write_delivery_marker(
    bucket: Bucket,
    scene: str,
    job_id: str,
    run_id: str,
    key: str | None,
    bucket_name: str,
    existing: dict[str, Any] | None,
) -> dict[str, Any]:
    path = delivery_key(scene, run_id)
    uri = object_uri(bucket_name, path)
    if existing is not None:  # ALLOW_IDEMPOTENT_RETRY=true, or finishing a crashed import
        log_json(action="delivery_marker_reused", marker=path)
        return {
            "marker": existing,
            "gcs_uri": uri,
            "local_path": None,
            "marker_exists": True,
            "recorded_at": iso_z(utc_now()),
        }
    payload = {
        "scene_id": scene,
        "job_id": job_id,
        "run_id": run_id,
        "idempotency_key": key,
        "timestamp": iso_z(utc_now()),
    }
    try:
        bucket.create_json(path, payload)
    except PreconditionFailed:
        raise DeliveryMarkerExists(
            f"delivery marker {path} was created by another import meanwhile. Set ALLOW_IDEMPOTENT_RETRY=true to proceed.",
            field="RUN_ID",
        ) from None
    return {
        "marker": payload,
        "gcs_uri": uri,
        "local_path": None,
        "marker_exists": False,
        "recorded_at": payload["timestamp"],
    }


def main() -> int:
    return run_main(_main)


if __name__ == "__main__":
    raise SystemExit(main())
